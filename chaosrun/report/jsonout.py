"""The one JSON document `--json` prints, whatever happened (pure).

Every document is an object that opens with the same five fields:

- `schema`: `chaosrun/<kind>`, what the rest of the document is. Kinds: `validate` (per file:
  valid or not, each problem), `run` (a run's summary), `plan` (`run --dry-run`), `lab`
  (`lab up`, `lab status`), `cleanup` (what `cleanup` reverted), `error` (the command could not
  do its job: usage, invalid input, refused target, lab unavailable, interrupted...).
- `schema_version`: `SCHEMA_VERSION`, raised when a field changes meaning or goes away (never
  for a new field).
- `command`: the command as typed after `chaosrun` (`run`, `lab status`); None for a usage
  error before any command was recognised.
- `exit_code`: the process's exit code (`chaosrun.errors`), and `ok`: whether it is 0.

Every field is described in `docs/chaosrun-output.schema.json`; a test validates the CLI's
documents against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chaosrun.errors import EXIT_INTERRUPTED, EXIT_OK, ChaosrunError, InputError

if TYPE_CHECKING:
    from chaosrun.suite.results import SuiteResult

__all__ = [
    "SCHEMA_VERSION",
    "Kind",
    "Located",
    "cleanup_document",
    "document",
    "error_document",
    "history_document",
    "lab_document",
    "plan_document",
    "run_document",
    "suite_document",
    "validate_document",
]

SCHEMA_VERSION = 1

Kind = Literal["validate", "run", "plan", "lab", "cleanup", "error", "suite", "history"]


class Located(Protocol):
    """A problem found at a place in a file (a validation warning); `str()` is its one line."""

    @property
    def file(self) -> str: ...
    @property
    def key_path(self) -> str: ...
    @property
    def line(self) -> int | None: ...


class _RunResult(Protocol):  # chaosrun.engine.reconcile.Reconciled
    @property
    def run_dir(self) -> Any: ...
    @property
    def active(self) -> int: ...
    @property
    def reverted(self) -> int: ...
    @property
    def errors(self) -> tuple[str, ...]: ...
    @property
    def stopped_lab(self) -> bool: ...
    @property
    def pending(self) -> int: ...


def document(
    kind: Kind, command: str | None, exit_code: int, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """The common head, then `fields` (which may repeat `exit_code`, not redefine it)."""
    head = {
        "schema": f"chaosrun/{kind}",
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "ok": exit_code == EXIT_OK,
        "exit_code": exit_code,
    }
    clash = set(head).intersection(fields) - {"exit_code"}
    if clash or fields.get("exit_code", exit_code) != exit_code:
        raise ValueError(f"fields redefine the document head: {sorted(clash) or 'exit_code'}")
    return {**head, **fields}


def validate_document(
    files: Sequence[str],
    errors: Iterable[InputError],
    exit_code: int,
    warnings: Iterable[Located] = (),
) -> dict[str, Any]:
    """One entry per file, in the order given; each problem under the file it names."""
    errors_of: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
    warnings_of: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
    for error in errors:
        errors_of.setdefault(error.file, []).append(_problem(error))
    for warning in warnings:
        warnings_of.setdefault(warning.file, []).append(_warning(warning))
    entries = [
        {
            "file": name,
            "ok": not problems,
            "errors": problems,
            "warnings": warnings_of.get(name, []),
        }
        for name, problems in errors_of.items()
    ]
    return document("validate", "validate", exit_code, {"files": entries})


def run_document(summary: Mapping[str, Any], journal: Mapping[str, Any]) -> dict[str, Any]:
    """`summary` is `chaosrun.report.summary.summarise_run` of `journal` (its `exit_code` is
    the run's); `run_id` names the run directory under $CHAOSRUN_HOME/runs."""
    run_id = (journal.get("chaosrun") or {}).get("run_id")
    return document("run", "run", int(summary["exit_code"]), {"run_id": run_id, **summary})


def suite_document(suite: SuiteResult, log_dir: str) -> dict[str, Any]:
    return document(
        "suite",
        "suite",
        suite.exit_code,
        {
            "log_dir": log_dir,
            "started_at": suite.started_at,
            "ended_at": suite.ended_at,
            "interrupted": suite.interrupted,
            "regressions": list(suite.regressions),
            "results": [r.to_dict() for r in suite.results],
        },
    )


def history_document(trends: Mapping[str, Any]) -> dict[str, Any]:
    """`trends`: per experiment, its nights (`chaosrun.report.historyview.history_data`)."""
    return document("history", "history", EXIT_OK, {"experiments": dict(trends)})


def plan_document(plan: Mapping[str, Any]) -> dict[str, Any]:
    """`plan` is `chaosrun.report.plan.plan_data` (masked by the caller)."""
    return document("plan", "run", EXIT_OK, plan)


def lab_document(
    command: str | None, endpoints: Mapping[str, Any] | None, exit_code: int
) -> dict[str, Any]:
    """`endpoints` is `LabInfo.endpoints()`, or None when no lab runs."""
    if endpoints is None:
        return document("lab", command, exit_code, {"running": False})
    return document("lab", command, exit_code, {"running": True, **endpoints})


def cleanup_document(results: Sequence[_RunResult], exit_code: int) -> dict[str, Any]:
    runs = [
        {
            "run_dir": str(r.run_dir),
            "active": r.active,
            "reverted": r.reverted,
            "pending": r.pending,
            "stopped_lab": r.stopped_lab,
            "errors": list(r.errors),
        }
        for r in results
    ]
    return document("cleanup", "cleanup", exit_code, {"runs": runs})


def error_document(
    command: str | None, errors: Sequence[ChaosrunError | KeyboardInterrupt]
) -> dict[str, Any]:
    """What stopped the command: `error` is the first problem (its exit code is the process's),
    `errors` every one (a target may be refused for several URLs), in document order."""
    if not errors:
        raise ValueError("an error document needs at least one error")
    problems = [_problem(e) for e in errors]
    first = problems[0]
    return document("error", command, first["exit_code"], {"error": first, "errors": problems})


def _problem(error: ChaosrunError | KeyboardInterrupt) -> dict[str, Any]:
    if isinstance(error, KeyboardInterrupt):
        kind, message, exit_code = "Interrupted", "interrupted", EXIT_INTERRUPTED
    else:
        kind, message, exit_code = type(error).__name__, str(error), error.exit_code
    at = error if isinstance(error, InputError) else None  # only input errors have a place
    return {
        "type": kind,
        "message": message,
        "file": at.file if at else None,
        "line": at.line if at else None,
        "key_path": (at.key_path or None) if at else None,
        "expected": at.expected if at else None,
        "exit_code": exit_code,
    }


def _warning(warning: Located) -> dict[str, Any]:
    return {
        "message": str(warning),
        "file": warning.file,
        "line": warning.line,
        "key_path": warning.key_path or None,
    }
