"""Run a suite: start children as the schedule allows, follow them, collect their results.

Everything happens on the calling (main) thread: children are started from it, so their
death signal (`chaosrun.suite.child`) is tied to the suite process itself. An interruption
(`StopFlag`, set by the caller's SIGINT/SIGTERM handler) is forwarded to every running
experiment, queued ones are marked skipped, and the suite waits until each child has reverted
its faults and written its journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaosrun.admission.burn import Admission
from chaosrun.suite.child import Child, interrupt, read_document, spawn
from chaosrun.suite.collect import SuiteEntry
from chaosrun.suite.results import ExperimentResult, SuiteResult, result_from_child
from chaosrun.suite.schedule import startable

__all__ = ["StopFlag", "SuiteConfig", "run_suite"]

_POLL_S = 0.2

Admit = Callable[[SuiteEntry], Admission | None]  # None: no SLO covers its target
Update = Callable[[tuple[ExperimentResult, ...]], None]


@dataclass
class StopFlag:
    """Set by a signal handler; each new request is forwarded to the running experiments."""

    requests: int = 0
    reason: str = "not run: the suite was interrupted"


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    parallel: int
    log_dir: Path
    extra_args: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)  # added to each run's
    admit: Admit | None = None
    on_finished: Callable[[ExperimentResult], None] | None = None
    clock: Callable[[], float] = field(default=time.time)


def run_suite(
    entries: Sequence[SuiteEntry], config: SuiteConfig, stop: StopFlag, on_update: Update
) -> SuiteResult:
    config.log_dir.mkdir(parents=True, exist_ok=True)
    started_at = config.clock()
    results = [ExperimentResult(e.file, e.title, e.lane) for e in entries]
    queued = list(range(len(entries)))
    running: dict[int, Child] = {}
    forwarded = 0

    def finish(index: int, result: ExperimentResult) -> None:
        results[index] = result
        if config.on_finished is not None:
            config.on_finished(result)

    on_update(tuple(results))
    while queued or running:
        if stop.requests > forwarded:
            forwarded = stop.requests
            for child in running.values():
                interrupt(child)
            for index in queued:
                finish(index, replace(results[index], state="skipped", reason=stop.reason))
            queued = []
        for pick in startable(
            [entries[i].lane for i in queued], [entries[i].lane for i in running], config.parallel
        ):
            index = queued[pick]
            decision = config.admit(entries[index]) if config.admit else None
            admission = decision.to_dict() if decision is not None else None
            results[index] = replace(results[index], admission=admission)
            now = config.clock()
            if decision is not None and not decision.admitted:
                skipped = replace(results[index], state="skipped", reason=decision.reason)
                finish(index, replace(skipped, started_at=now, ended_at=now))
                continue
            stem = config.log_dir / f"{index + 1:02d}-{Path(entries[index].file).stem}"
            running[index] = spawn(
                entries[index].file, stem, now, config.extra_args, config.environ
            )
            results[index] = replace(results[index], state="running", started_at=now)
        queued = [i for i in queued if results[i].state == "queued"]
        for index, child in list(running.items()):
            code = child.process.poll()
            if code is None:
                continue
            del running[index]
            document = read_document(child.stdout_path)
            finish(index, result_from_child(results[index], code, document, config.clock()))
        on_update(tuple(results))
        if queued or running:
            time.sleep(_POLL_S)
    return SuiteResult(tuple(results), started_at, config.clock(), interrupted=stop.requests > 0)
