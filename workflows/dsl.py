"""Notification workflows written in Python: the ``@workflow`` decorator and the step API authors call.

A catalog workflow is an async function ``(step, payload)``. It runs *inside* a Temporal workflow, so it
must be deterministic: no I/O, clocks or randomness — work with the payload and earlier step results,
and leave per-subscriber data to templates (``{{ subscriber.firstName }}``), which are rendered in
activities. Content arguments take a template string, or a callable ``(payload, results) -> value``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from workflows.models import CHANNELS, StepSpec
from workflows.step_json import variant_from_code

P = TypeVar("P", bound=BaseModel)
Content = Any  # str | dict | Callable[[payload, results], str | dict]
Skip = bool | Callable[..., bool] | None


class DuplicateStepId(ValueError):
    """Two steps of one workflow share an id (results and resume points are keyed by it)."""


class StepResult(BaseModel):
    """What a channel step reports to later steps: how many subscribers it reached."""

    model_config = ConfigDict(extra="allow")
    sent: int = 0
    filtered: int = 0
    failed: int = 0
    skipped: bool = False


class DigestEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    transaction_id: str | None = None
    payload: dict[str, Any] = {}


class DigestResult(BaseModel):
    """The events a digest window collected, in arrival order."""

    events: list[dict[str, Any]] = []
    total_count: int = 0


def typed_result(step_type: str, value: Any) -> Any:
    """Give a stored (plain JSON) step result back its type, for steps replayed on resume."""
    if value is None:
        return StepResult(skipped=True) if step_type in CHANNELS else None
    if step_type == "digest":
        return DigestResult.model_validate(value)
    if step_type in CHANNELS:
        return StepResult.model_validate(value)
    return value


class AnyPayload(BaseModel):
    """The payload model of a workflow that declares none: accepts any fields."""

    model_config = ConfigDict(extra="allow")


def _call(fn: Callable[..., Any], payload: Any, results: dict[str, Any]) -> Any:
    arity = len(inspect.signature(fn).parameters)
    return fn() if arity == 0 else fn(payload) if arity == 1 else fn(payload, results)


class StepBuilder(Generic[P]):
    """The step API. Each method turns its arguments into a :class:`StepSpec` and hands it to ``_run``.

    The engine's runner and the discovery recorder subclass this, so authoring has one implementation.
    """

    def __init__(self, payload: P, results: dict[str, Any] | None = None) -> None:
        self.payload = payload
        self.results: dict[str, Any] = results if results is not None else {}
        self._seen_ids: set[str] = set()

    async def _run(self, spec: StepSpec) -> Any:  # overridden
        raise RuntimeError("StepBuilder._run must be overridden")

    def _resolve(self, value: Any) -> Any:
        return _call(value, self.payload, self.results) if callable(value) else value

    async def _step(self, type_: str, step_id: str, skip: Skip, **fields: Any) -> Any:
        skip_now = bool(self._resolve(skip)) if skip is not None else False
        variants = fields.pop("variants", None)
        resolved = {k: self._resolve(v) for k, v in fields.items() if v is not None}
        if variants:
            resolved["variants"] = [variant_from_code(v, self._resolve) for v in variants]
        spec = StepSpec(step_id=step_id, type=type_, skip=skip_now, **resolved)  # type: ignore[arg-type]
        return await self.execute(spec)

    async def execute(self, spec: StepSpec) -> Any:
        """Run one step spec; both authoring paths (code and REST JSON) end here."""
        if spec.step_id in self._seen_ids:
            raise DuplicateStepId(f"step id {spec.step_id!r} is used twice in one workflow")
        self._seen_ids.add(spec.step_id)
        result = await self._run(spec)
        self.results[spec.step_id] = result.model_dump() if isinstance(result, BaseModel) else result
        return result

    async def in_app(
        self,
        step_id: str,
        *,
        body: Content,
        subject: Content = None,
        avatar: Content = None,
        cta: Content = None,
        data: Content = None,
        feed_id: str | None = None,
        conditions: list[dict[str, Any]] | None = None,
        variants: list[dict[str, Any]] | None = None,
        skip: Skip = None,
        should_stop_on_fail: bool = False,
        send_window: dict[str, Any] | None = None,
    ) -> StepResult:
        return await self._step(  # type: ignore[no-any-return]
            "in_app",
            step_id,
            skip,
            content=body,
            subject=subject,
            avatar=avatar,
            cta=cta,
            data=data,
            feed_id=feed_id,
            filters=conditions,
            variants=variants,
            should_stop_on_fail=should_stop_on_fail,
            metadata={"sendWindow": send_window} if send_window else None,
        )

    async def email(
        self,
        step_id: str,
        *,
        subject: Content,
        body: Content,
        preheader: Content = None,
        sender_name: Content = None,
        layout_id: str | None = None,
        conditions: list[dict[str, Any]] | None = None,
        variants: list[dict[str, Any]] | None = None,
        skip: Skip = None,
        should_stop_on_fail: bool = False,
        send_window: dict[str, Any] | None = None,
    ) -> StepResult:
        return await self._step(  # type: ignore[no-any-return]
            "email",
            step_id,
            skip,
            subject=subject,
            content=body,
            preheader=preheader,
            sender_name=sender_name,
            layout_id=layout_id,
            filters=conditions,
            variants=variants,
            should_stop_on_fail=should_stop_on_fail,
            metadata={"sendWindow": send_window} if send_window else None,
        )

    async def sms(
        self,
        step_id: str,
        *,
        body: Content,
        conditions: list[dict[str, Any]] | None = None,
        variants: list[dict[str, Any]] | None = None,
        skip: Skip = None,
        should_stop_on_fail: bool = False,
        send_window: dict[str, Any] | None = None,
    ) -> StepResult:
        return await self._step(  # type: ignore[no-any-return]
            "sms",
            step_id,
            skip,
            content=body,
            filters=conditions,
            variants=variants,
            should_stop_on_fail=should_stop_on_fail,
            metadata={"sendWindow": send_window} if send_window else None,
        )

    async def chat(
        self,
        step_id: str,
        *,
        body: Content,
        conditions: list[dict[str, Any]] | None = None,
        variants: list[dict[str, Any]] | None = None,
        skip: Skip = None,
        should_stop_on_fail: bool = False,
        send_window: dict[str, Any] | None = None,
    ) -> StepResult:
        return await self._step(  # type: ignore[no-any-return]
            "chat",
            step_id,
            skip,
            content=body,
            filters=conditions,
            variants=variants,
            should_stop_on_fail=should_stop_on_fail,
            metadata={"sendWindow": send_window} if send_window else None,
        )

    async def push(
        self,
        step_id: str,
        *,
        title: Content,
        body: Content,
        data: Content = None,
        conditions: list[dict[str, Any]] | None = None,
        variants: list[dict[str, Any]] | None = None,
        skip: Skip = None,
        should_stop_on_fail: bool = False,
        send_window: dict[str, Any] | None = None,
    ) -> StepResult:
        return await self._step(  # type: ignore[no-any-return]
            "push",
            step_id,
            skip,
            title=title,
            content=body,
            data=data,
            filters=conditions,
            variants=variants,
            should_stop_on_fail=should_stop_on_fail,
            metadata={"sendWindow": send_window} if send_window else None,
        )

    async def delay(
        self,
        step_id: str,
        *,
        amount: float | None = None,
        unit: str | None = None,
        delay_path: str | None = None,
        at_local_time: str | None = None,
        skip: Skip = None,
    ) -> dict[str, Any]:
        """Wait ``amount unit``; or until the ISO date at ``delay_path`` in the payload; or until the next
        ``at_local_time`` ("HH:MM") in the subscriber's timezone."""
        if delay_path:
            metadata: dict[str, Any] = {"type": "scheduled", "delayPath": delay_path}
        elif at_local_time:
            metadata = {"type": "local_time", "atTime": at_local_time}
        else:
            metadata = {"type": "regular", "amount": amount, "unit": unit}
        return await self._step("delay", step_id, skip, metadata=metadata)  # type: ignore[no-any-return]

    async def digest(
        self,
        step_id: str,
        *,
        amount: float | None = None,
        unit: str | None = None,
        digest_key: str | None = None,
        look_back: tuple[float, str] | None = None,
        cron: str | None = None,
        at_time: str | None = None,
        week_days: list[str] | None = None,
        month_days: list[int] | None = None,
        skip: Skip = None,
    ) -> DigestResult:
        """Collect events per subscriber (and ``digest_key``) and run the following steps once per window."""
        metadata: dict[str, Any] = {"type": "regular", "amount": amount, "unit": unit}
        if look_back is not None:
            metadata.update(
                type="backoff", backoff=True, backoffAmount=look_back[0], backoffUnit=look_back[1]
            )
        if cron or at_time or week_days or month_days:
            timed = {
                k: v
                for k, v in {
                    "cronExpression": cron,
                    "atTime": at_time,
                    "weekDays": week_days,
                    "monthDays": month_days,
                }.items()
                if v
            }
            metadata.update(type="timed", timed=timed)
        if digest_key:
            metadata["digestKey"] = digest_key
        return await self._step("digest", step_id, skip, metadata=metadata)  # type: ignore[no-any-return]

    async def throttle(
        self,
        step_id: str,
        *,
        limit: int,
        amount: float | None = None,
        unit: str | None = None,
        window_path: str | None = None,
        throttle_key: str | None = None,
        skip: Skip = None,
    ) -> dict[str, Any]:
        """Let at most ``limit`` executions per subscriber (and key) through in each window."""
        metadata: dict[str, Any] = {"threshold": limit, "amount": amount, "unit": unit}
        if window_path:
            metadata["windowPath"] = window_path
        if throttle_key:
            metadata["throttleKey"] = throttle_key
        return await self._step("throttle", step_id, skip, metadata=metadata)  # type: ignore[no-any-return]

    async def custom(
        self,
        step_id: str,
        *,
        activity: str | Callable[..., Any],
        input: Content = None,
        skip: Skip = None,
        timeout_seconds: float = 300.0,
        max_attempts: int = 3,
        should_stop_on_fail: bool = False,
    ) -> Any:
        """Run a ``@step_activity`` (by function or name) with ``input``; its JSON result is returned and
        is available to later steps as ``results[step_id]`` (and ``{{ steps.<id> }}`` in templates)."""
        name = activity if isinstance(activity, str) else getattr(activity, "step_activity_name", None)
        if not name:
            raise TypeError("custom steps take a @step_activity function or its name")
        return await self._step(
            "custom",
            step_id,
            skip,
            custom_activity=name,
            custom_input=input,
            custom_timeout_seconds=timeout_seconds,
            custom_max_attempts=max_attempts,
            should_stop_on_fail=should_stop_on_fail,
        )


WorkflowFn = Callable[[Any, Any], Awaitable[None]]


@dataclass
class CodeWorkflow:
    """A notification workflow defined in Python."""

    identifier: str
    fn: WorkflowFn
    payload_model: type[BaseModel] = AnyPayload
    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    critical: bool = False
    preferences: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(CHANNELS, True))
    listed: bool = True  # False: not added to environments automatically (test fixtures)

    async def outline(self) -> list[StepSpec]:
        """The steps the function calls, found by running it once against a recorder (Novu's *discover*)."""
        recorder = _Recorder(self.payload_model.model_construct())
        try:
            await self.fn(recorder, recorder.payload)
        except DuplicateStepId:
            raise
        except Exception:  # noqa: BLE001 - a function that needs real data still lists the steps it reached
            pass
        return recorder.specs


class _Recorder(StepBuilder[Any]):
    def __init__(self, payload: Any) -> None:
        super().__init__(payload)
        self.specs: list[StepSpec] = []

    async def _run(self, spec: StepSpec) -> Any:
        self.specs.append(spec)
        if spec.type == "digest":
            return DigestResult(events=[], total_count=0)
        if spec.type in CHANNELS:
            return StepResult()
        return {}

    def _resolve(self, value: Any) -> Any:
        try:
            return super()._resolve(value)
        except Exception:  # noqa: BLE001 - placeholder payloads lack fields; keep the outline going
            return None


REGISTRY: dict[str, CodeWorkflow] = {}


def workflow(
    identifier: str,
    *,
    payload: type[BaseModel] | None = None,
    name: str | None = None,
    description: str = "",
    tags: list[str] | None = None,
    critical: bool = False,
    preferences: dict[str, bool] | None = None,
    listed: bool = True,
) -> Callable[[WorkflowFn], WorkflowFn]:
    """Register an async ``(step, payload)`` function as the notification workflow ``identifier``."""

    def register(fn: WorkflowFn) -> WorkflowFn:
        if identifier in REGISTRY and REGISTRY[identifier].fn is not fn:
            raise ValueError(f"workflow {identifier!r} is defined twice")
        prefs = dict.fromkeys(CHANNELS, True)
        prefs.update(preferences or {})
        REGISTRY[identifier] = CodeWorkflow(
            identifier=identifier,
            fn=fn,
            payload_model=payload or AnyPayload,
            name=name or identifier,
            description=description,
            tags=list(tags or []),
            critical=critical,
            preferences=prefs,
            listed=listed,
        )
        return fn

    return register
