"""Notification workflows written in Python. Import each module here so it registers itself.

What runs or lists code workflows (the engine, the trigger checks, bootstrap) imports this package and
reads :func:`code_workflow` / :func:`code_workflows`, so the catalog is complete wherever it is read —
not only after the worker happened to load it.
"""

from workflows.catalog import comment_digest, welcome
from workflows.dsl import REGISTRY, CodeWorkflow


def code_workflow(identifier: str) -> CodeWorkflow | None:
    """The Python notification workflow with this trigger identifier, if there is one."""
    return REGISTRY.get(identifier)


def code_workflows() -> dict[str, CodeWorkflow]:
    """Every registered Python notification workflow, by trigger identifier."""
    return REGISTRY


__all__ = ["code_workflow", "code_workflows", "comment_digest", "welcome"]
