"""The worker: one Chaos Toolkit run on this process's main thread.

    python -m chaosrun.engine.worker RUN_DIR

Reads RUN_DIR/experiment.json, runs it with `chaoslib.experiment.run_experiment`, with the
runtime strategies and variables of RUN_DIR/run-options.json (`chaosrun.engine.options`), streams
run events to RUN_DIR/events.jsonl and writes the Chaos Toolkit journal to
RUN_DIR/worker-journal.json. Faults record their undo entries in $CHAOSRUN_UNDO_LOG. The
supervisor owns everything else: deadlines, signals, reverting leftovers, the final journal.

Secrets (`chaosrun.engine.redact`) are masked in everything the worker writes: events, journal,
log records (worker.log) and its stdout/stderr (worker.out). Once read, RUN_DIR/experiment.json
is rewritten with its inline secrets masked (the run itself keeps the real values in memory).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.engine.options import OPTIONS_FILE, read_options, resolve_runtime
from chaosrun.engine.redact import RedactingStream, Redactor, redact_log_records

__all__ = ["EVENTS_FILE", "EXPERIMENT_FILE", "WORKER_JOURNAL_FILE", "main"]

EXPERIMENT_FILE = "experiment.json"
EVENTS_FILE = "events.jsonl"
WORKER_JOURNAL_FILE = "worker-journal.json"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _make_handler(events_path: Path, redactor: Redactor) -> Any:
    from chaoslib.run import RunEventHandler

    class EventStream(RunEventHandler):  # type: ignore[misc]
        """Appends one JSON line per run event so the supervisor can follow the run live."""

        def __init__(self) -> None:
            self._file = open(events_path, "a", encoding="utf-8")  # noqa: SIM115

        def _emit(self, event: str, **data: Any) -> None:
            payload = _jsonable({"event": event, "at": time.time(), **data})
            line = json.dumps(redactor.data(payload))
            self._file.write(line + "\n")
            self._file.flush()

        def start_hypothesis_before(self, experiment: Any) -> None:
            self._emit("hypothesis-before")

        def hypothesis_before_completed(self, experiment: Any, state: Any, journal: Any) -> None:
            self._emit("hypothesis-before-completed", state=_jsonable(state))

        def start_method(self, experiment: Any) -> None:
            self._emit("method")

        def start_hypothesis_after(self, experiment: Any) -> None:
            self._emit("hypothesis-after")

        def hypothesis_after_completed(self, experiment: Any, state: Any, journal: Any) -> None:
            self._emit("hypothesis-after-completed", state=_jsonable(state))

        def start_rollbacks(self, experiment: Any) -> None:
            self._emit("rollbacks")

        def start_activity(self, activity: Any) -> None:
            self._emit("activity-start", name=activity.get("name"), type=activity.get("type"))

        def activity_completed(self, activity: Any, run: Any) -> None:
            self._emit("activity", run=_jsonable(run))

        def interrupted(self, experiment: Any, journal: Any) -> None:
            self._emit("interrupted")

        def signal_exit(self) -> None:
            self._emit("signal-exit")

        def finish(self, journal: Any) -> None:
            self._emit("finish", status=journal.get("status"), deviated=journal.get("deviated"))
            self._file.close()

    return EventStream()


def _names_module(experiment: dict[str, Any], top: str) -> bool:
    """Whether a python provider of the experiment names module `top` or one under it."""
    steps = [
        *((experiment.get("steady-state-hypothesis") or {}).get("probes") or []),
        *(experiment.get("method") or []),
        *(experiment.get("rollbacks") or []),
    ]
    for step in steps:
        provider = step.get("provider") if isinstance(step, dict) else None
        module = provider.get("module") if isinstance(provider, dict) else None
        if isinstance(module, str) and (module == top or module.startswith(top + ".")):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m chaosrun.engine.worker RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    experiment = json.loads((run_dir / EXPERIMENT_FILE).read_text(encoding="utf-8"))
    options = read_options(run_dir / OPTIONS_FILE)
    # Secrets given by --var-file are masked like the experiment's own.
    scopes = {**(experiment.get("secrets") or {}), "chaosrun-var-file": dict(options.secret_vars)}
    redactor = Redactor.for_experiment({**experiment, "secrets": scopes}, os.environ)
    sys.stdout = RedactingStream(sys.stdout, redactor)
    sys.stderr = RedactingStream(sys.stderr, redactor)
    redact_log_records(redactor)
    write_atomic(run_dir / EXPERIMENT_FILE, json.dumps(redactor.data(experiment)))
    write_atomic(run_dir / OPTIONS_FILE, json.dumps(redactor.data(json.loads(options.to_json()))))
    logging.basicConfig(
        filename=run_dir / "worker.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    from chaoslib.experiment import run_experiment
    from chaoslib.types import Schedule, Strategy

    from chaosrun.engine import convert, tolerance_guard

    convert.install()  # "${name}" arguments from env strings become the int/float/bool declared
    tolerance_guard.install()  # a tolerance that cannot read the probe's value is not met
    if _names_module(experiment, "chaosk8s"):
        from chaosrun.k8s import guard

        guard.install()  # chaosk8s's changes write undo entries before they act

    runtime = resolve_runtime(experiment, options)
    settings = {
        **options.settings,
        "runtime": {
            "rollbacks": {"strategy": runtime.rollback_strategy},
            "hypothesis": {"strategy": runtime.hypothesis_strategy},
        },
    }
    handler = _make_handler(run_dir / EVENTS_FILE, redactor)
    journal = run_experiment(
        experiment,
        settings=settings,
        experiment_vars=(dict(options.config_vars), dict(options.secret_vars)),
        strategy=Strategy.from_string(runtime.hypothesis_strategy),
        schedule=Schedule(
            continuous_hypothesis_frequency=runtime.hypothesis_frequency,
            fail_fast=runtime.fail_fast,
        ),
        event_handlers=[handler],
    )
    text = json.dumps(redactor.data(_jsonable(journal)), indent=2)
    write_atomic(run_dir / WORKER_JOURNAL_FILE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
