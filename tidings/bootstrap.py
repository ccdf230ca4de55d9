"""Creating organizations and environments with their defaults, and listing code workflows in them."""

from __future__ import annotations

from typing import Any

from store.db import Database
from store.definitions import sync_code_definitions
from store.tenancy import (
    create_api_key,
    environment_by_name,
    get_environment,
    get_or_create_environment,
    get_or_create_organization,
    list_environments,
)
from tidings.settings import Settings
from workflows.catalog import code_workflows
from workflows.step_json import spec_to_novu


def default_integrations(settings: Settings) -> list[dict[str, Any]]:
    """Every new environment gets the in-app inbox and an SMTP email integration from the settings.

    The operator's SMTP user and password are not copied into it (a tenant could read them back through
    a changed host): the worker adds them at send time, only for the operator's own host and port."""
    cipher = settings.credential_cipher()
    smtp = {
        "host": settings.smtp_host,
        "port": str(settings.smtp_port),  # Novu credentials are strings (novu-py rejects a number)
        "secure": settings.smtp_secure,
        "from": settings.smtp_from,
        "senderName": settings.smtp_sender_name,
    }
    return [
        {
            "name": "Novu In-App",
            "identifier": None,
            "provider_id": "novu",
            "channel": "in_app",
            "credentials_encrypted": cipher.encrypt({}),
            "active": True,
        },
        {
            "name": "SMTP",
            "identifier": None,
            "provider_id": "nodemailer",
            "channel": "email",
            "credentials_encrypted": cipher.encrypt(smtp),
            "active": True,
            "primary": True,
        },
    ]


async def code_definitions(identifiers: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows describing the catalog workflows (every listed one, or those named), with the step outline
    found by a discovery run."""
    rows = []
    for identifier, entry in sorted(code_workflows().items()):
        if (identifier not in identifiers) if identifiers is not None else not entry.listed:
            continue
        outline = await entry.outline()
        steps = [spec_to_novu(spec) for spec in outline]
        rows.append(
            {
                "name": entry.name,
                "trigger_identifier": identifier,
                "description": entry.description,
                "origin": "code",
                "active": True,
                "critical": entry.critical,
                "tags": entry.tags,
                "preference_settings": entry.preferences,
                "steps": steps,
                "triggers": [
                    {"type": "event", "identifier": identifier, "variables": [], "subscriberVariables": []}
                ],
                "payload_schema": entry.payload_model.model_json_schema(),
            }
        )
    return rows


async def sync_catalog(db: Database) -> None:
    """List the catalog workflows in every environment (run when the API starts)."""
    definitions = await code_definitions()
    async with db.session() as session:
        for env in await list_environments(session=session):
            await sync_code_definitions(session=session, environment_id=env.id, definitions=definitions)


async def create_environment_key(
    db: Database, settings: Settings, *, organization: str = "Tidings", environment: str = "Development"
) -> tuple[str, str, bool]:
    """Create the environment if needed and a new API key for it → (environment id, key, created)."""
    async with db.session() as session:
        org = await get_or_create_organization(session=session, name=organization)
        specs = default_integrations(settings)
        for spec in specs:
            spec["identifier"] = f"{spec['provider_id']}-{org.id[-6:]}-{environment.lower()}"
        env, created = await get_or_create_environment(
            session=session, organization=org, name=environment, default_integrations=specs
        )
        if created:
            await sync_code_definitions(
                session=session, environment_id=env.id, definitions=await code_definitions()
            )
        key = await create_api_key(session=session, environment=env, cipher=settings.credential_cipher())
    return env.id, key, created


async def application_identifier(db: Database, environment_id: str = "", name: str = "Development") -> str:
    """An environment's public identifier (the Inbox's ``applicationIdentifier``): by id, else by name."""
    async with db.session() as session:
        if environment_id:
            env = await get_environment(session=session, environment_id=environment_id)
        else:
            env = await environment_by_name(session=session, name=name)
    return env.identifier if env is not None else ""
