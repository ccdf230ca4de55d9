"""``comment-digest``: tell the author about each comment in the inbox at once, then email one summary
per post and hour with every comment collected in that window."""

from pydantic import BaseModel

from workflows.dsl import StepBuilder, workflow


class CommentPayload(BaseModel):
    post_id: str
    post_title: str
    author: str
    comment: str


SUMMARY = """\
<p>Hi {{ subscriber.firstName or "there" }},</p>
<p>{{ step.total_count }} new {{ pluralize(step.total_count, "comment", "comments") }} on
<strong>{{ post_title }}</strong>:</p>
<ul>
{% for event in step.events %}{% set e = event.payload or event %}
  <li><strong>{{ e.author }}</strong>: {{ e.comment }}</li>
{% endfor %}
</ul>"""


@workflow(
    "comment-digest",
    payload=CommentPayload,
    name="Comment digest",
    description="An in-app notice per comment, and an hourly email summary per post.",
    tags=["social"],
)
async def comment_digest(step: StepBuilder[CommentPayload], payload: CommentPayload) -> None:
    await step.in_app(
        "new-comment",
        body="{{ author }} commented on {{ post_title }}: {{ comment }}",
        cta={"type": "redirect", "data": {"url": "/posts/{{ post_id }}"}},
    )
    digest = await step.digest("collect", amount=1, unit="hours", digest_key="post_id")
    await step.email(
        "summary",
        subject="New comments on {{ post_title }}",
        body=SUMMARY,
        skip=lambda: digest.total_count == 0,
    )
