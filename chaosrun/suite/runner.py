"""Run a suite: start children as the schedule allows, follow them, collect their results.

Everything happens on the calling (main) thread: children are started from it, so their
death signal (`chaosrun.suite.child`) is tied to the suite process itself. An interruption
(`StopFlag`, set by the caller's SIGINT/SIGTERM handler) is forwarded to every running
experiment, queued ones are marked skipped, and the suite waits until each child has reverted
its faults and written its journal. A failure seen while others ran on a saturated host is run
again alone once the rest is done (`chaosrun.suite.recheck`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaosrun.admission.burn import Admission
from chaosrun.suite.child import Child, interrupt, read_document, spawn
from chaosrun.suite.collect import SuiteEntry
from chaosrun.suite.hostcpu import CpuTicks, busy_share, cpu_ticks
from chaosrun.suite.recheck import needs_recheck, settle
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
    recheck: bool = True  # run again alone what failed on a saturated host beside others


@dataclass
class _Running:
    child: Child
    cpu_at_start: CpuTicks | None
    first: ExperimentResult | None = None  # set when this is the run again alone


class _Suite:
    def __init__(self, entries: Sequence[SuiteEntry], config: SuiteConfig, stop: StopFlag):
        self.entries = entries
        self.config = config
        self.stop = stop
        self.results = [ExperimentResult(e.file, e.title, e.lane) for e in entries]
        self.queued = list(range(len(entries)))
        self.running: dict[int, _Running] = {}
        self.rechecks: dict[int, ExperimentResult] = {}  # index -> the first attempt
        self.forwarded = 0

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.running or self.rechecks)

    def finish(self, index: int, result: ExperimentResult) -> None:
        self.results[index] = result
        if self.config.on_finished is not None:
            self.config.on_finished(result)

    def forward_stop(self) -> None:
        if self.stop.requests <= self.forwarded:
            return
        self.forwarded = self.stop.requests
        for run in self.running.values():
            interrupt(run.child)
        for index in self.queued:
            self.finish(
                index, replace(self.results[index], state="skipped", reason=self.stop.reason)
            )
        for index, first in self.rechecks.items():
            self.finish(index, first)  # not confirmed alone: the first attempt stands
        self.queued, self.rechecks = [], {}

    def spawn(self, index: int, first: ExperimentResult | None = None) -> None:
        now = self.config.clock()
        suffix = "-alone" if first is not None else ""
        stem = (
            self.config.log_dir / f"{index + 1:02d}-{Path(self.entries[index].file).stem}{suffix}"
        )
        child = spawn(
            self.entries[index].file, stem, now, self.config.extra_args, self.config.environ
        )
        self.running[index] = _Running(child, cpu_ticks(), first)
        self.results[index] = replace(
            self.results[index], state="running", started_at=now, ended_at=None, alongside=0
        )

    def start_ready(self) -> None:
        lanes = [self.entries[i].lane for i in self.queued]
        for pick in startable(
            lanes, [self.entries[i].lane for i in self.running], self.config.parallel
        ):
            index = self.queued[pick]
            decision = self.config.admit(self.entries[index]) if self.config.admit else None
            admission = decision.to_dict() if decision is not None else None
            self.results[index] = replace(self.results[index], admission=admission)
            if decision is not None and not decision.admitted:
                now = self.config.clock()
                skipped = replace(self.results[index], state="skipped", reason=decision.reason)
                self.finish(index, replace(skipped, started_at=now, ended_at=now))
                continue
            self.spawn(index)
        self.queued = [i for i in self.queued if self.results[i].state == "queued"]
        if not self.queued and not self.running and self.rechecks:
            index = next(iter(self.rechecks))
            self.spawn(index, self.rechecks.pop(index))

    def collect_finished(self) -> None:
        for index in self.running:  # who ran beside whom
            others = len(self.running) - 1
            if others > self.results[index].alongside:
                self.results[index] = replace(self.results[index], alongside=others)
        for index, run in list(self.running.items()):
            code = run.child.process.poll()
            if code is None:
                continue
            del self.running[index]
            document = read_document(run.child.stdout_path)
            done = result_from_child(self.results[index], code, document, self.config.clock())
            done = replace(done, host_cpu_busy=busy_share(run.cpu_at_start, cpu_ticks()))
            if run.first is not None:
                self.finish(index, settle(run.first, done))
            elif self.config.recheck and self.stop.requests == 0 and needs_recheck(done):
                self.results[index] = replace(done, state="queued", reason="to be run again alone")
                self.rechecks[index] = done
            else:
                self.finish(index, done)


def run_suite(
    entries: Sequence[SuiteEntry], config: SuiteConfig, stop: StopFlag, on_update: Update
) -> SuiteResult:
    config.log_dir.mkdir(parents=True, exist_ok=True)
    started_at = config.clock()
    suite = _Suite(entries, config, stop)
    on_update(tuple(suite.results))
    while suite.busy:
        suite.forward_stop()
        suite.start_ready()
        suite.collect_finished()
        on_update(tuple(suite.results))
        if suite.busy:
            time.sleep(_POLL_S)
    return SuiteResult(
        tuple(suite.results), started_at, config.clock(), interrupted=stop.requests > 0
    )
