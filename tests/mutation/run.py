"""``make mutation``: cosmic-ray over the modules that hold Tidings' invariants, each with a fast,
targeted test selection, in a scratch copy of the tree (the work tree is never mutated).

Writes the score and every surviving mutant to ``docs/mutation-results.md``; the explanations of the
survivors live in ``docs/mutation-report.md``. Not part of ``make test``: run it before a release.

    python tests/mutation/run.py                   # the default targets
    python tests/mutation/run.py store/digests.py  # some targets (also: make mutation MODULES=...)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTEST = f"{sys.executable} -m pytest -x -q -p no:randomly -p no:cacheprovider"

#: module → the tests that guard it (fast: no Temporal server unless the module needs one).
TARGETS: dict[str, str] = {
    "activities/senders/selection.py": "--noconftest tests/unit/test_selection_rules.py",
    "activities/preferences.py": "tests/integration/test_invariant_store.py -k 'preferences or channel'",
    "store/digests.py": "tests/integration/test_invariant_store.py",
    "activities/senders/channel.py": "tests/integration/test_sender_store.py",
    "store/idempotency.py": "tests/integration/test_idempotency_store.py",
    "api/trigger_checks.py": "tests/integration/test_trigger_checks_store.py",
    # A Temporal dev server per mutant (the session stack): about a minute a mutant on a busy machine.
    "api/triggering.py": " ".join(
        [
            "tests/integration/test_invariants.py::test_duplicate_transaction_never_starts_a_second_run_of_a_delay",
            "tests/integration/test_invariants.py::test_duplicate_transaction_never_starts_a_second_run_of_a_digest",
            "tests/integration/test_trigger.py::test_duplicate_transaction_delivers_once",
            "tests/integration/test_engine_trigger.py::test_statuses",
            "tests/integration/test_api_basics.py::test_unknown_workflow_is_422",
            "tests/integration/test_api_basics.py::test_trigger_generates_transaction_id_and_upserts_actor",
            "tests/integration/test_digest_front.py::test_front_door_digest_sends_once_without_trigger_executions",
            "tests/integration/test_digest_front.py::test_duplicate_transaction_is_counted_once_across_continue_as_new",
            "tests/integration/test_broadcast.py::test_broadcast_reaches_every_subscriber",
            "tests/integration/test_front_door_cache.py::test_warm_trigger_reads_nothing_and_sees_other_process_writes",
            "tests/integration/test_api_basics.py::test_a_workflow_is_triggered_by_its_identifier_not_its_id",
            "tests/integration/test_readable_executions.py::test_summaries_and_temporal_link",
            "tests/integration/test_digest_front.py::test_the_accumulator_names_its_workflow_and_subscriber_in_200_characters",
        ]
    ),
    "api/routers/cancel.py": " ".join(
        [
            "tests/integration/test_cancel.py",
            "tests/integration/test_hostile_cancel.py",
            "tests/integration/test_digest_front.py::test_cancel_removes_events_from_the_open_window",
            "tests/integration/test_delay.py::test_cancel_reaches_a_fork_after_the_main_execution_finished",
        ]
    ),
}
DEFAULT = [
    "activities/senders/selection.py",
    "activities/preferences.py",
    "store/digests.py",
    "activities/senders/channel.py",
    "store/idempotency.py",
    "api/trigger_checks.py",
    "api/triggering.py",
    "api/routers/cancel.py",
]
#: Where a module's invariant lives, when that is not the whole module: mutants in other functions
#: (constructor defaults, metric labels, small helpers with their own tests) are reported "out of scope".
SCOPE: dict[str, set[str]] = {
    "activities/senders/channel.py": {
        "idempotency_key",
        "deliver",
        "deliver_one",
        "resumable",
        "send_all",
        "try_integration",
        "settle",
    },
    # Accepting a trigger and starting it once; not the bulk/validation wrappers, the definition snapshot,
    # or the Temporal UI summary text (``recipients_text``, ``execution_summary``).
    "api/triggering.py": {"trigger", "load", "read", "start", "start_digest", "broadcast"},
}
OUT_OF_SCOPE = "Out of the invariant's scope (SCOPE in tests/mutation/run.py)"
#: ``TIDINGS_MUTATION_BUDGET_SECONDS``: stop a module's run after this long and report what ran (the rest
#: "pending"), so a run on a busy machine still ends with a report.
BUDGET = float(os.environ.get("TIDINGS_MUTATION_BUDGET_SECONDS", "0")) or None
#: ``TIDINGS_MUTATION_RERUN=survivors``: run again only the mutants that survived, were killed only by a
#: timeout, or were not run in the stored results (after tests were added for them); the others keep
#: their stored outcome. The module's source must be unchanged since, so the mutants are the same.
RERUN = os.environ.get("TIDINGS_MUTATION_RERUN") == "survivors"
KEPT = "Kept from the stored results (TIDINGS_MUTATION_RERUN=survivors)"
#: Operators left out, so a run fits in an hour on a small machine: arithmetic/bitwise swaps (here they
#: hit ``X | None`` annotations and string building, not decisions), ``==``/``!=`` turned into an
#: ordering or identity test, orderings turned into equality, and ``-x`` → ``~x`` (the same order).
#: What stays: negation, and/or, True/False, ==↔!=, boundary and direction of orderings, is↔is not,
#: unary operators, loops that never run, break for continue, exceptions replaced, numbers changed.
EXCLUDED = [
    "core/ReplaceBinaryOperator_",
    "core/ReplaceComparisonOperator_(Eq|NotEq)_(Gt|GtE|Lt|LtE|Is|IsNot)$",
    "core/ReplaceComparisonOperator_(Gt|GtE|Lt|LtE)_(Eq|NotEq|Is|IsNot)$",
    "core/ReplaceUnaryOperator_USub_Invert$",
]
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "data", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules"
)


PG_ADMIN = os.environ.get("TIDINGS_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def migrated_database() -> tuple[str, str]:
    """One database for the whole run, migrated once (``TIDINGS_TEST_PG_URL`` for the tests)."""
    from store.migrate import upgrade

    name = f"tidings_mutation_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    upgrade(url)
    return name, url


Key = tuple[int, str, int]


def mutant_key(line: object, operator: object, occurrence: object) -> Key:
    return int(str(line)), str(operator), int(str(occurrence))


def settled(result: dict[str, object]) -> bool:
    """A stored outcome a re-run of the survivors keeps (a real kill, or left out)."""
    return result["outcome"] not in ("survived", "pending") and not in_doubt(result)


def doubt(result: dict[str, str] | None) -> str:
    """Why a kill may be the machine's doing rather than the tests' (empty when it is not in doubt)."""
    output = (result or {}).get("output") or ""
    if result is None or result.get("test_outcome") != "killed":
        return ""
    if output == "timeout":
        return "timeout"
    if "too many clients" in output or "TooManyConnectionsError" in output:
        return "PostgreSQL refused connections"
    return ""


def run_target(
    module: str, tests: str, scratch: Path, pg_url: str, previous: dict[Key, dict[str, object]]
) -> list[dict[str, object]]:
    tree = scratch / module.replace("/", "_")
    shutil.copytree(ROOT, tree, ignore=IGNORE)
    config = tree / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        "timeout = 180.0\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(f'{PYTEST} {tests}')}\n"
        '[cosmic-ray.distributor]\nname = "local"\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(EXCLUDED)}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "TIDINGS_TEST_PG_URL": pg_url}
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cosmic, "init", str(config), "session.sqlite"], cwd=tree, env=env, check=True)
    subprocess.run(
        [sys.executable, "-m", "cosmic_ray.tools.filters.operators_filter", "session.sqlite", str(config)],
        cwd=tree,
        env=env,
        check=True,
    )
    if module in SCOPE:
        skip_out_of_scope(tree / "session.sqlite", SCOPE[module])
    if previous:
        keep_settled(tree / "session.sqlite", previous)
    subprocess.run([*cosmic, "baseline", str(config)], cwd=tree, env=env, check=True)
    try:
        subprocess.run(
            [*cosmic, "exec", str(config), "session.sqlite"], cwd=tree, env=env, check=True, timeout=BUDGET
        )
    except subprocess.TimeoutExpired:
        print(f"{module}: budget of {BUDGET:.0f} s spent; the mutants not run are reported pending")
    return session_results(module, tree / "session.sqlite", previous)


def session_results(
    module: str, session: Path, previous: dict[Key, dict[str, object]]
) -> list[dict[str, object]]:
    """The outcome of every mutant in a cosmic-ray session (what the results files keep)."""
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    dump = subprocess.run([*cosmic, "dump", str(session)], check=True, capture_output=True, text=True).stdout
    results = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        mutation = item["mutations"][0]
        if (result or {}).get("output") == KEPT:
            results.append(
                previous[
                    mutant_key(mutation["start_pos"][0], mutation["operator_name"], mutation["occurrence"])
                ]
            )
            continue
        results.append(
            {
                "module": module,
                "line": mutation["start_pos"][0],
                "operator": mutation["operator_name"],
                "occurrence": mutation["occurrence"],
                "outcome": outcome(result),
                # A kill by cosmic-ray's timeout, or by PostgreSQL refusing connections, may be the loaded
                # machine, not the tests: reported apart, and run again by TIDINGS_MUTATION_RERUN.
                "timeout": (result or {}).get("output") == "timeout",
                "doubt": doubt(result),
                "diff": (result or {}).get("diff", ""),
            }
        )
    return results


def skip_out_of_scope(session: Path, functions: set[str]) -> None:
    """Mark the mutants outside ``functions`` skipped (as cosmic-ray's operator filter does)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            if any(m.definition_name not in functions for m in item.mutations):
                db.set_result(
                    item.job_id, WorkResult(output=OUT_OF_SCOPE, worker_outcome=WorkerOutcome.SKIPPED)
                )


def keep_settled(session: Path, previous: dict[Key, dict[str, object]]) -> None:
    """Skip the mutants whose stored outcome is settled; the dump puts that outcome back."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            m = item.mutations[0]
            stored = previous.get(mutant_key(m.start_pos[0], m.operator_name, m.occurrence))
            if stored is not None and settled(stored):
                db.set_result(item.job_id, WorkResult(output=KEPT, worker_outcome=WorkerOutcome.SKIPPED))


def in_doubt(r: dict[str, object]) -> str:
    return str(r.get("doubt") or ("timeout" if r.get("timeout") else ""))


def outcome(result: dict[str, str] | None) -> str:
    if result is None:
        return "pending"
    if result.get("worker_outcome") == "skipped":
        return "out of scope" if result.get("output") == OUT_OF_SCOPE else "skipped"
    return str(result.get("test_outcome"))


def report(kept: dict[str, dict[str, object]]) -> str:
    results: list[dict[str, object]] = [r for m in kept.values() for r in m["results"]]  # type: ignore[attr-defined]
    lines = [
        "# Mutation results (generated by `make mutation`)",
        "",
        "cosmic-ray over the invariant modules; explanations of survivors: "
        "[mutation-report.md](mutation-report.md).",
        "",
        "| module | run | mutants | skipped | out of scope | killed | of which in doubt | survived "
        "| incompetent | not run | score |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for module in kept:
        counts = Counter(str(r["outcome"]) for r in results if r["module"] == module)
        judged = counts["killed"] + counts["survived"]
        score = f"{100 * counts['killed'] / judged:.1f}%" if judged else "-"
        lines.append(
            f"| `{module}` | {kept[module]['run']} | {sum(counts.values())} | {counts['skipped']} "
            f"| {counts['out of scope']} | {counts['killed']} "
            f"| {sum(1 for r in results if r['module'] == module and in_doubt(r))} "
            f"| {counts['survived']} "
            f"| {counts['incompetent']} | {counts['pending']} | {score} |"
        )
    lines += [
        "",
        "(`skipped`: operators left out by `EXCLUDED` in `tests/mutation/run.py`; `out of scope`: mutants "
        "outside the functions `SCOPE` names; `not run`: left when the run's time budget was spent; "
        "`in doubt`: killed by cosmic-ray's timeout or while PostgreSQL refused connections, so perhaps by "
        "the loaded machine; listed below.)",
    ]
    doubtful = [r for r in results if in_doubt(r)]
    if doubtful:
        lines += ["", "## Kills in doubt (the machine, not the tests, may have failed them)", ""]
        lines += [
            f"- `{r['module']}`:{r['line']} — {r['operator']} #{r['occurrence']}: {in_doubt(r)}"
            for r in doubtful
        ]
    lines += ["", "## Surviving mutants", ""]
    for r in results:
        if r["outcome"] == "survived":
            lines += [f"### `{r['module']}`:{r['line']} — {r['operator']} #{r['occurrence']}", "", "```diff"]
            lines += [str(r["diff"]).strip(), "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    chosen = argv or DEFAULT
    started = datetime.now(UTC)
    # Results are kept per module, so a run of some modules updates only their part of the report.
    store = ROOT / "docs" / "mutation-results.json"
    kept = json.loads(store.read_text()) if store.exists() else {}
    sources = {m: hashlib.sha256((ROOT / m).read_bytes()).hexdigest()[:16] for m in chosen}
    results: list[dict[str, object]] = []
    sys.path.insert(0, str(ROOT))
    database, pg_url = migrated_database()
    try:
        with tempfile.TemporaryDirectory(prefix="tidings-mutation-") as scratch:
            for module in chosen:
                stored = kept.get(module, {}).get("results", []) if RERUN else []
                if stored and kept[module].get("source") != sources[module]:
                    print(f"{module}: changed since its stored results; all its mutants run again")
                    stored = []
                previous = {mutant_key(r["line"], r["operator"], r["occurrence"]): r for r in stored}
                results += run_target(module, TARGETS[module], Path(scratch), pg_url, previous)
    finally:
        from asyncpg import PostgresError

        try:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        except (OSError, PostgresError) as exc:  # a full server must not cost the run's results
            print(f"could not drop {database} ({exc}); drop it by hand")
    kept = json.loads(store.read_text()) if store.exists() else {}  # again: another run may have written
    for module in chosen:
        run = f"{started:%Y-%m-%d %H:%M} UTC"
        if RERUN and module in kept:
            run = f"{str(kept[module]['run']).split(';')[0]}; survivors re-run {run}"
        kept[module] = {
            "run": run,
            "source": sources[module],  # the module's text the mutants were made from
            "results": [r for r in results if r["module"] == module],
        }
    store.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    out = ROOT / "docs" / "mutation-results.md"
    out.write_text(report(kept))
    print(out.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
