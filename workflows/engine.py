"""The step engine: runs a notification workflow's steps for a cohort of subscribers.

Both authoring paths end in :meth:`StepRunner.execute`: Python catalog functions call the step API
(which builds :class:`StepSpec` objects), REST definitions are turned into the same specs by
:mod:`workflows.interpreter`. Each step type has one handler in :mod:`workflows.steps`.
A cohort is a list of internal subscriber ids that a channel step delivers to in one activity call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.catalog import code_workflow
    from workflows.details import Detail, DetailSource, DetailStatus, detail_record
    from workflows.dsl import DuplicateStepId, StepBuilder, StepResult, typed_result
    from workflows.models import (
        CHANNELS,
        CHECK_CONDITIONS,
        ConditionsInput,
        ConditionsResult,
        DetailRecord,
        RunInput,
        StepSpec,
    )

from workflows import interpreter
from workflows.steps import HANDLERS


class StepRunner(StepBuilder[Any]):
    """Executes steps inside the Temporal workflow for ``cohort``; deterministic by construction."""

    def __init__(self, run: RunInput, cohort: list[str], payload: Any) -> None:
        super().__init__(payload, dict(run.resume.results) if run.resume else {})
        self.run_input = run
        self.context = run.context
        #: What step activities (deliver, conditions, throttle) get: the context minus the step list.
        self.step_context = run.context.for_step_activity()
        self.cohort = list(cohort)
        self.resume = run.resume
        self.digest_state: dict[str, Any] | None = None
        self.summary: dict[str, dict[str, int]] = {}
        self.pending_details: list[DetailRecord] = []
        self.window_open_step: str | None = None

    async def _run(self, spec: StepSpec) -> Any:
        if self.resume is not None and self.resume.at_step_id == spec.step_id:
            # This run was started when the step's send window opened: run the step itself now.
            if isinstance(self.resume.result, dict):
                self.digest_state = self.resume.result  # the digest's events, when the step follows one
            self.resume, self.window_open_step = None, spec.step_id
        elif self.resume is not None:
            # Steps up to the resume point already ran in the execution that handed over to this one.
            if spec.step_id == self.resume.after_step_id:
                value, self.resume = self.resume.result, None
                if spec.type == "digest":
                    self.digest_state = value  # later steps render with step.events / total_count
                return typed_result(spec.type, value)
            return typed_result(spec.type, self.results.get(spec.step_id))
        if not self.cohort or not spec.active:
            # No one left (or an inactive REST step, for which Novu creates no job): nothing is recorded.
            return StepResult(skipped=True) if spec.type in CHANNELS else None
        if spec.type not in CHANNELS and spec.filters and not await self.conditions_pass(spec):
            return None
        if spec.skip:
            for sid in self.cohort:
                self.detail(spec, Detail.FILTER_STEPS, subscriber_id=sid, raw={"skip": True})
            self.summary[spec.step_id] = {"sent": 0, "filtered": len(self.cohort), "failed": 0}
            return StepResult(skipped=True, filtered=len(self.cohort)) if spec.type in CHANNELS else None
        return await HANDLERS[spec.type](self, spec)

    async def conditions_pass(self, spec: StepSpec) -> bool:
        """An action step runs unless its conditions filter out the whole cohort. Channel steps decide per
        subscriber at delivery; an action step (a timer, a digest) is shared by the cohort, so a cohort where
        only some pass runs it for all of them."""
        checked = await workflow.execute_local_activity(
            CHECK_CONDITIONS,
            ConditionsInput(context=self.step_context, step=spec, subscriber_ids=self.cohort),
            result_type=ConditionsResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=retries.DATABASE,
        )
        if checked.passed:
            return True
        self.summary[spec.step_id] = {"sent": 0, "filtered": len(checked.filtered), "failed": 0}
        return False

    async def execute(self, spec: StepSpec) -> Any:
        try:
            return await super().execute(spec)
        except DuplicateStepId as exc:
            # A definition error: fail this execution instead of retrying its workflow task forever.
            raise ApplicationError(str(exc), type="DuplicateStepId", non_retryable=True) from exc

    def detail(
        self,
        spec: StepSpec | None,
        detail: str,
        *,
        status: str = DetailStatus.SUCCESS,
        source: str = DetailSource.INTERNAL,
        subscriber_id: str | None = None,
        raw: Any = None,
    ) -> None:
        """Queue an execution detail; they are written with the next activity (or at the end)."""
        self.pending_details.append(
            detail_record(
                self.context,
                detail,
                status=status,
                source=source,
                subscriber_id=subscriber_id,
                step_id=spec.step_id if spec else None,
                channel=spec.type if spec else None,
                raw=raw,
            )
        )

    def take_details(self) -> list[DetailRecord]:
        details, self.pending_details = self.pending_details, []
        return details

    async def run_definition(self) -> None:
        """Run the notification workflow's body: the Python function, or the stored step JSON."""
        snapshot = self.context.workflow
        if snapshot.origin == "code":
            entry = code_workflow(snapshot.identifier)
            if entry is None:
                raise workflow.NondeterminismError(
                    f"code workflow {snapshot.identifier!r} is not in this worker"
                )
            await entry.fn(self, self.payload)
        else:
            await interpreter.run_steps(self, snapshot.steps)
