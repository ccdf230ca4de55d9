"""``welcome``: greet a new user in the in-app inbox and by email."""

from pydantic import BaseModel

from workflows.dsl import StepBuilder, workflow


class WelcomePayload(BaseModel):
    name: str
    app_name: str = "Tidings"


@workflow(
    "welcome",
    payload=WelcomePayload,
    name="Welcome",
    description="Greets a new user in the inbox and by email.",
    tags=["onboarding"],
)
async def welcome(step: StepBuilder[WelcomePayload], payload: WelcomePayload) -> None:
    await step.in_app("welcome-inbox", body="Welcome to {{ app_name }}, {{ name }}!")
    await step.email(
        "welcome-email",
        subject="Welcome to {{ app_name }}, {{ name }}",
        body=(
            "<p>Hi {{ subscriber.firstName or name }},</p>"
            "<p>Thanks for joining {{ app_name }}. We are glad you are here.</p>"
        ),
    )
