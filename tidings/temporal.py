"""Connecting to Temporal the same way everywhere (API, worker, tests, benchmarks), and preparing a
namespace for Tidings (``tidings temporal setup``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("tidings.temporal")

#: Set on every notification execution so the Temporal UI finds it by transactionId.
TRANSACTION_ID = SearchAttributeKey.for_keyword("TransactionId")

#: Every custom search attribute Tidings needs in its namespace, with its type.
SEARCH_ATTRIBUTES = {TRANSACTION_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}

SETUP_HINT = "run `tidings temporal setup` once per namespace (the deploy files do it before the API starts)"


class SetupIncomplete(RuntimeError):
    """The Temporal namespace is not ready for Tidings; the message says what is missing."""


async def connect(
    address: str, namespace: str, *, runtime: Runtime | None = None, interceptors: Sequence[Any] = ()
) -> Client:
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=interceptors,
    )


async def has_search_attribute(client: Client, name: str) -> bool:
    """Whether the namespace knows the custom search attribute (the dev server is started with it)."""
    try:
        resp = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except Exception:  # noqa: BLE001 - a cluster that hides its attributes: start without them
        return False
    return name in resp.custom_attributes


async def missing_search_attributes(client: Client) -> list[str]:
    """The search attributes Tidings needs that the namespace lacks (raises if it cannot be asked)."""
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return [name for name in SEARCH_ATTRIBUTES if name not in resp.custom_attributes]


async def require_search_attributes(client: Client) -> None:
    """Refuse to serve when the namespace lacks Tidings' search attributes (the reason is the message)."""
    missing = await missing_search_attributes(client)
    if missing:
        raise SetupIncomplete(
            f"Temporal namespace {client.namespace!r} lacks the search attribute(s) {', '.join(missing)}: "
            + SETUP_HINT
        )


@dataclass
class SetupReport:
    namespace_created: bool = False
    retention_changed: bool = False
    attributes_added: list[str] = field(default_factory=list)


async def setup_namespace(
    client: Client, *, retention: timedelta, attempts: int = 30, delay: float = 1.0
) -> SetupReport:
    """Create the namespace with ``retention`` (or bring its retention to it) and add the search
    attributes; idempotent. Retries while a just-registered namespace propagates through the cluster."""
    report = SetupReport()
    ns = client.namespace
    ttl = Duration()
    ttl.FromTimedelta(retention)
    try:
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=ns))
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(namespace=ns, workflow_execution_retention_period=ttl)
            )
            report.namespace_created = True
        except RPCError as exists:
            if exists.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    else:
        current = described.config.workflow_execution_retention_ttl.ToTimedelta()
        if current != retention:
            await client.workflow_service.update_namespace(
                UpdateNamespaceRequest(
                    namespace=ns, config=NamespaceConfig(workflow_execution_retention_ttl=ttl)
                )
            )
            report.retention_changed = True
    for attempt in range(attempts):
        try:
            missing = await missing_search_attributes(client)
            if missing:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(
                        namespace=ns, search_attributes={name: SEARCH_ATTRIBUTES[name] for name in missing}
                    )
                )
                report.attributes_added += missing
            if not await missing_search_attributes(client):
                return report
        except RPCError as err:
            # A fresh namespace is unknown to the other services until their namespace caches refresh.
            if (
                err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNAVAILABLE)
                or attempt == attempts - 1
            ):
                raise
        await asyncio.sleep(delay)
    raise SetupIncomplete(f"search attributes still missing in {ns!r} after {attempts} attempts")
