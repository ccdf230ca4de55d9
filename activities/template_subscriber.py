"""The subscriber as templates and step conditions read it (``{{subscriber.firstName}}``, ``on: subscriber``).

Novu compiles templates with the subscriber's document, so the variables carry the same names as the API's
subscriber (``_id``, ``firstName``, ``createdAt``). The API's ``SubscriberResponseDto`` (``api.views.subscriber_view``)
is this document with ``_organizationId`` added, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from store.db import iso
from store.models import Subscriber, SubscriberRecord


def template_subscriber(sub: Subscriber | SubscriberRecord) -> dict[str, Any]:
    """``subscriber`` in a template's context (and the actor, read from the actor's row); unset fields are
    left out, as in Novu's document."""
    variables = {
        "_id": sub.id,
        "_environmentId": sub.environment_id,
        "subscriberId": sub.subscriber_id,
        "firstName": sub.first_name,
        "lastName": sub.last_name,
        "email": sub.email,
        "phone": sub.phone,
        "avatar": sub.avatar,
        "locale": sub.locale,
        "timezone": sub.timezone,
        "data": sub.data,
        "channels": sub.channels or [],
        "isOnline": sub.is_online,
        "lastOnlineAt": iso(sub.last_online_at),
        "deleted": sub.deleted,
        "createdAt": iso(sub.created_at),
        "updatedAt": iso(sub.updated_at),
        "__v": 0,
    }
    return {k: v for k, v in variables.items() if v is not None}
