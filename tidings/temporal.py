"""Connecting to Temporal the same way everywhere (API, worker, tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

#: Set on every notification execution so the Temporal UI finds it by transactionId.
TRANSACTION_ID = SearchAttributeKey.for_keyword("TransactionId")


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
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    try:
        resp = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except Exception:  # noqa: BLE001 - a cluster that hides its attributes: start without them
        return False
    return name in resp.custom_attributes
