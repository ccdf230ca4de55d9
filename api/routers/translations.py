"""``/v2/translations``: Novu's translations API (a paid feature there), so its SDKs manage Tidings' texts.

Shapes follow ``novu-py`` 3.x (``TranslationResponseDto``, ``TranslationGroupDto``, master JSON import and
export, file uploads). How texts are used in templates: ``activities/translations.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from fastapi import File, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile as StarletteUpload

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.responses_v2 import (
    ImportResultOut,
    MasterJsonOut,
    TranslationGroupOut,
    TranslationOut,
    UploadResultOut,
)
from api.views import translation_group_view, translation_view
from api.wire import Data, WireRouter, ok
from store.definitions import get_definition
from store.layouts import get_layout, layout_by_identifier
from store.models import Layout, Translation
from store.translations import (
    delete_translations,
    get_translation,
    locale_translations,
    put_translation,
    resource_translations,
)

router = WireRouter(prefix="/v2/translations", tags=["translations"])

ResourceType = Literal["workflow", "layout"]
LOCALE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?$")
MAX_DEPTH = 8
MAX_CONTENT_BYTES = 256 * 1024
MAX_FILES = 50


def valid_locale(value: str) -> str:
    if not LOCALE.match(value):
        raise ValueError(f"locale must look like fr_FR or fr, not {value[:20]!r}")
    language, _, region = value.replace("-", "_").partition("_")
    return f"{language}_{region.upper()}" if region else language


def check_content(value: Any, path: str = "content", depth: int = 0) -> None:
    """A JSON object whose values are strings or (nested) objects of strings; a plural key is an object of
    CLDR categories (``one``, ``other`` …)."""
    if not isinstance(value, dict):
        raise ValueError(f"{path} must be a JSON object of strings")
    if depth >= MAX_DEPTH:
        raise ValueError(f"{path} is nested more than {MAX_DEPTH} levels deep")
    for key, item in value.items():
        if not key:
            raise ValueError(f"{path} has an empty key")
        if isinstance(item, dict):
            check_content(item, f"{path}.{key}", depth + 1)
        elif not isinstance(item, str):
            raise ValueError(
                f"{path}.{key} must be a string or an object of strings, not {type(item).__name__}"
            )


def content_ok(value: Any) -> dict[str, Any]:
    check_content(value)
    if len(json.dumps(value)) > MAX_CONTENT_BYTES:
        raise ValueError(f"content must be at most {MAX_CONTENT_BYTES // 1024} KB")
    return value


class CreateTranslationBody(BaseModel):
    """Novu's ``CreateTranslationRequestDto``: creates or replaces the locale's content. Field rules are
    checked by :meth:`checked`, so a bad resource is a plain 400 naming the field."""

    model_config = ConfigDict(extra="forbid")
    resourceId: str = Field(min_length=1, max_length=200)
    resourceType: str
    locale: str
    content: Any

    def checked(self) -> CreateTranslationBody:
        try:
            if self.resourceType not in ("workflow", "layout"):
                raise ValueError("resourceType must be one of the following values: workflow, layout")
            locale = valid_locale(self.locale)
            content = content_ok(self.content)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return self.model_copy(update={"locale": locale, "content": content})


class ImportMasterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locale: str
    masterJson: dict[str, Any]


async def resource(session: Any, env_id: str, resource_type: str, resource_id: str) -> tuple[str, str]:
    """(canonical id, display name) of the workflow (trigger identifier) or layout (identifier)."""
    if resource_type == "workflow":
        definition = await get_definition(session=session, environment_id=env_id, key=resource_id)
        if definition is None:
            raise NotFound(f"Workflow with identifier {resource_id} not found")
        return definition.trigger_identifier, definition.name
    if resource_type != "layout":
        raise BadRequest(["resourceType must be one of the following values: workflow, layout"])
    layout: Layout | None = await get_layout(session=session, environment_id=env_id, layout_id=resource_id)
    if layout is None:
        layout = await layout_by_identifier(session=session, environment_id=env_id, identifier=resource_id)
    if layout is None:
        raise NotFound(f"Layout with id {resource_id} not found")
    return layout.identifier or layout.id, layout.name


@router.post("", status_code=200, response_model=Data[TranslationOut])
async def create(body: CreateTranslationBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    body = body.checked()
    async with db.session() as session:
        resource_id, _ = await resource(session, env.id, body.resourceType, body.resourceId)
        row = await put_translation(
            session=session,
            environment_id=env.id,
            resource_type=body.resourceType,
            resource_id=resource_id,
            locale=body.locale,
            content=body.content,
        )
        return ok(translation_view(row))


@router.get("/master-json", response_model=Data[MasterJsonOut])
async def master_json(env: CurrentEnv, db: DbDep, locale: str = Query("en_US")) -> dict[str, Any]:
    """Every resource's content in one locale: ``{workflows: {id: content}, layouts: {id: content}}``."""
    try:
        locale = valid_locale(locale)
    except ValueError as exc:
        raise BadRequest([str(exc)]) from exc
    async with db.session() as session:
        rows = await locale_translations(session=session, environment_id=env.id, locale=locale)
    master: dict[str, dict[str, Any]] = {"workflows": {}, "layouts": {}}
    for row in rows:
        master["workflows" if row.resource_type == "workflow" else "layouts"][row.resource_id] = row.content
    return ok(master)


async def import_master(env_id: str, db: Any, locale: str, master: dict[str, Any]) -> dict[str, Any]:
    successful: list[str] = []
    failed: list[str] = []
    async with db.session() as session:
        for section, resource_type in (("workflows", "workflow"), ("layouts", "layout")):
            entries = master.get(section) or {}
            if not isinstance(entries, dict):
                raise BadRequest([f"masterJson.{section} must be an object of resource id → content"])
            for resource_id, content in entries.items():
                try:
                    content_ok(content)
                    canonical, _ = await resource(session, env_id, resource_type, str(resource_id))
                except (ValueError, NotFound):
                    failed.append(str(resource_id))
                    continue
                await put_translation(
                    session=session,
                    environment_id=env_id,
                    resource_type=resource_type,
                    resource_id=canonical,
                    locale=locale,
                    content=content,
                )
                successful.append(str(resource_id))
    message = f"Imported {len(successful)} resource(s) for {locale}" + (
        f"; {len(failed)} failed" if failed else ""
    )
    return {"success": not failed, "message": message, "successful": successful, "failed": failed}


@router.post("/master-json", status_code=200, response_model=Data[ImportResultOut])
async def import_master_json(body: ImportMasterBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    try:
        locale = valid_locale(body.locale)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return ok(await import_master(env.id, db, locale, body.masterJson))


def file_locale(name: str | None) -> str:
    """``fr_FR.json`` → ``fr_FR``."""
    stem = (name or "").rsplit("/", 1)[-1].removesuffix(".json")
    return valid_locale(stem)


async def read_json(file: StarletteUpload) -> Any:
    raw = await file.read(MAX_CONTENT_BYTES + 1)
    if len(raw) > MAX_CONTENT_BYTES:
        raise ValueError(f"{file.filename} is larger than {MAX_CONTENT_BYTES // 1024} KB")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{file.filename} is not valid JSON") from exc


@router.post("/master-json/upload", status_code=200, response_model=Data[ImportResultOut])
async def upload_master_json(env: CurrentEnv, db: DbDep, file: UploadFile = File(...)) -> dict[str, Any]:
    """A master JSON file named after its locale (``fr_FR.json``)."""
    try:
        locale = file_locale(file.filename)
        master = await read_json(file)
    except ValueError as exc:
        raise BadRequest([str(exc)]) from exc
    if not isinstance(master, dict):
        raise BadRequest(["the master JSON file must hold an object with workflows and layouts"])
    return ok(await import_master(env.id, db, locale, master))


@router.post("/upload", status_code=200, response_model=Data[UploadResultOut])
async def upload_files(env: CurrentEnv, db: DbDep, request: Request) -> dict[str, Any]:
    """One file per locale (``fr_FR.json``) for one resource: form fields ``resourceId``, ``resourceType``
    and ``files`` (or ``files[]``, as Novu accepts both)."""
    form = await request.form(max_files=MAX_FILES, max_fields=10)
    resource_id, resource_type = form.get("resourceId"), form.get("resourceType")
    if not isinstance(resource_id, str) or not resource_id:
        raise BadRequest(["resourceId should not be empty"])
    if resource_type not in ("workflow", "layout"):
        raise BadRequest(["resourceType must be one of the following values: workflow, layout"])
    files = [f for f in [*form.getlist("files"), *form.getlist("files[]")] if isinstance(f, StarletteUpload)]
    if not files:
        raise BadRequest(["files should not be empty"])
    errors: list[str] = []
    done = 0
    async with db.session() as session:
        canonical, _ = await resource(session, env.id, resource_type, resource_id)
        for file in files:
            try:
                locale = file_locale(file.filename)
                content = content_ok(await read_json(file))
            except ValueError as exc:
                errors.append(f"{file.filename}: {exc}")
                continue
            await put_translation(
                session=session,
                environment_id=env.id,
                resource_type=resource_type,
                resource_id=canonical,
                locale=locale,
                content=content,
            )
            done += 1
    return ok(
        {"totalFiles": len(files), "successfulUploads": done, "failedUploads": len(errors), "errors": errors}
    )


@router.get("/group/{resource_type}/{resource_id}", response_model=Data[TranslationGroupOut])
async def group(resource_type: str, resource_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        canonical, name = await resource(session, env.id, resource_type, resource_id)
        rows = await resource_translations(
            session=session, environment_id=env.id, resource_type=resource_type, resource_id=canonical
        )
    if not rows:
        raise NotFound(f"No translations for {resource_type} {resource_id}")
    return ok(translation_group_view(canonical, resource_type, name, rows))


@router.delete("/{resource_type}/{resource_id}", status_code=204)
async def delete_group(resource_type: str, resource_id: str, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        canonical, _ = await resource(session, env.id, resource_type, resource_id)
        rows = await resource_translations(
            session=session, environment_id=env.id, resource_type=resource_type, resource_id=canonical
        )
        if not rows:
            raise NotFound(f"No translations for {resource_type} {resource_id}")
        await delete_translations(session=session, rows=rows)
    return Response(status_code=204)


@router.get("/{resource_type}/{resource_id}/{locale}", response_model=Data[TranslationOut])
async def get_one(
    resource_type: str, resource_id: str, locale: str, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    async with db.session() as session:
        row = await find(session, env.id, resource_type, resource_id, locale)
    return ok(translation_view(row))


@router.delete("/{resource_type}/{resource_id}/{locale}", status_code=204)
async def delete_one(
    resource_type: str, resource_id: str, locale: str, env: CurrentEnv, db: DbDep
) -> Response:
    async with db.session() as session:
        row = await find(session, env.id, resource_type, resource_id, locale)
        await delete_translations(session=session, rows=[row])
    return Response(status_code=204)


async def find(session: Any, env_id: str, resource_type: str, resource_id: str, locale: str) -> Translation:
    try:
        locale = valid_locale(locale)
    except ValueError as exc:
        raise BadRequest([str(exc)]) from exc
    canonical, _ = await resource(session, env_id, resource_type, resource_id)
    row = await get_translation(
        session=session,
        environment_id=env_id,
        resource_type=resource_type,
        resource_id=canonical,
        locale=locale,
    )
    if row is None:
        raise NotFound(f"Translation for {resource_type} {resource_id} in {locale} not found")
    return row
