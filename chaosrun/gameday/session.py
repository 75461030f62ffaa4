"""A game-day session: the checklist, then each scenario briefed, injected, watched, marked and
closed, everything appended to the session's timeline as it happens.

Each scenario's experiment runs as its own `chaosrun run --json` child (its supervisor reverts
every fault whatever happens; the running lab is used when the experiment's profile matches,
else an ephemeral one), in a process group of its own and with the kernel's death signal tied
to the session: an abort is SIGINT to that group (the faults are reverted at once), and a
session killed outright still has its running scenario revert. A session started again on a
timeline that did not end resumes: scenarios that ended stay ended, the one the session died in
is marked lost (its run reverted itself; `reconcile_dead_runs` makes sure) and offered again.

The people at the keyboard are a `Facilitator`: the terminal one (`chaosrun.gameday.console`)
or the rehearsal one here, which confirms everything and types nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from chaosrun.engine.reconcile import reconcile_dead_runs
from chaosrun.engine.rundir import list_runs, read_record
from chaosrun.gameday.live import Snapshot, snapshot
from chaosrun.gameday.observer import Feed
from chaosrun.gameday.plan import Plan, Scenario
from chaosrun.gameday.timeline import SessionState, Timeline, read_events, replay
from chaosrun.suite.child import Child, interrupt, read_document, spawn

__all__ = ["Command", "Facilitator", "Rehearsal", "run_session"]

_POLL_S = 0.2

Brief = Literal["inject", "skip", "stop"]


@dataclass(frozen=True, slots=True)
class Command:
    kind: Literal["observation", "detected", "mitigated", "action", "abort", "next"]
    text: str = ""
    owner: str = ""


class Facilitator(Protocol):
    def confirm(self, item: str, number: int, total: int) -> bool: ...

    def brief(self, scenario: Scenario, number: int, total: int) -> Brief: ...

    def watch(self, scenario: Scenario, live: Snapshot, state: Mapping[str, Any]) -> list[Command]:
        """Non-blocking: what was typed since the last call (`state`: marks, run ended...)."""
        ...

    def close(self) -> None: ...


class Rehearsal:
    """Confirms every item, injects every scenario, types nothing, moves on when a run ends."""

    def __init__(self, say: Callable[[str], None] = lambda line: None) -> None:
        self.say = say

    def confirm(self, item: str, number: int, total: int) -> bool:
        self.say(f"checklist {number}/{total}: {item} (rehearsal: confirmed)")
        return True

    def brief(self, scenario: Scenario, number: int, total: int) -> Brief:
        self.say(f"scenario {number}/{total}: {scenario.name} - {scenario.hypothesis}")
        return "inject"

    def watch(self, scenario: Scenario, live: Snapshot, state: Mapping[str, Any]) -> list[Command]:
        ended = state.get("ended")
        if not ended:
            return []
        rto = ended.get("rto_s")
        figure = (
            f", RTO {rto:.2f} s (target {scenario.rto_target_s:g} s)" if rto is not None else ""
        )
        reason = (
            f": {ended['reason']}" if ended.get("state") != "passed" and ended.get("reason") else ""
        )
        self.say(f"  {scenario.name}: {ended.get('state')}{figure}{reason}")
        return [Command("next")]

    def close(self) -> None:
        return None


def _run_dir_of(home: Path, child: Child, before: set[Path]) -> Path | None:
    for run_dir in list_runs(home):
        if run_dir in before:
            continue
        record = read_record(run_dir)
        if record is not None and record.supervisor.pid == child.process.pid:
            return run_dir
    return None


def _ended_fields(document: Mapping[str, Any] | None, code: int) -> dict[str, Any]:
    if document is None:
        return {"state": "error", "exit_code": code, "reason": "the run printed no result"}
    if document.get("schema") == "chaosrun/error":
        error = document.get("error") or {}
        return {"state": "error", "exit_code": code, "reason": error.get("message")}
    recovery = document.get("recovery") or {}
    return {
        "state": "passed" if document.get("verdict") == "passed" else str(document.get("verdict")),
        "verdict": document.get("verdict"),
        "exit_code": code,
        "reason": document.get("reason"),
        "rto_s": recovery.get("rto_s"),
        "ttd_s": recovery.get("ttd_s"),
        "recovery": recovery.get("state"),  # None: the experiment measures no SLO
        "checks": document.get("checks") or [],
        "run_dir": document.get("run_dir"),
    }


class _Scenario:
    """One scenario from injection to closing."""

    def __init__(self, session: _Session, scenario: Scenario) -> None:
        self.session = session
        self.scenario = scenario
        self.timeline = session.timeline
        self.run_dir: Path | None = None
        self.ended: dict[str, Any] | None = None
        self.marks: dict[str, Any] = {"detected": None, "mitigated": None, "aborted": False}
        self.before: set[Path] = set()

    def _apply(self, command: Command, child: Child | None) -> bool:
        """Record one command; True when the scenario is closed ("next" after the run)."""
        name = self.scenario.name
        if command.kind == "observation" and command.text.strip():
            self.timeline.append("observation", scenario=name, text=command.text.strip())
        elif command.kind == "action" and command.text.strip():
            self.timeline.append("action", scenario=name, owner=command.owner, text=command.text)
        elif command.kind in ("detected", "mitigated") and self.marks[command.kind] is None:
            self.marks[command.kind] = self.timeline.append(command.kind, scenario=name)["t"]
        elif command.kind == "abort" and child is not None and self.ended is None:
            if not self.marks["aborted"]:
                self.timeline.append("abort-requested", scenario=name)
                self.marks["aborted"] = True
            interrupt(child)  # the run's supervisor reverts every fault at once
        elif command.kind == "next":
            return self.ended is not None
        return False

    def run(self) -> None:
        name = self.scenario.name
        self.before = set(list_runs(self.session.home))
        self.timeline.append("injection-confirmed", scenario=name)
        self.timeline.append("scenario-started", scenario=name)
        stem = self.session.directory / f"{self.session.number(name):02d}-{name}"
        child = spawn(str(self.scenario.experiment), stem, time.time(), own_lab=False)
        try:
            self._follow(child)
        except KeyboardInterrupt:  # Ctrl-C where no facilitator caught it: abort, then stop
            self._apply(Command("abort"), child)
            child.process.wait()
            if self.ended is None:
                fields = _ended_fields(read_document(child.stdout_path), child.process.returncode)
                self.ended = self.timeline.append(
                    "scenario-ended", scenario=self.scenario.name, **{**fields, "state": "aborted"}
                )
            raise

    def _follow(self, child: Child) -> None:
        name = self.scenario.name
        home = self.session.home
        closed = False
        while not closed:
            if self.run_dir is None:
                self.run_dir = _run_dir_of(home, child, self.before)
                if self.run_dir is not None:
                    self.timeline.append("scenario-run", scenario=name, run_dir=str(self.run_dir))
            code = child.process.poll()
            if code is not None and self.ended is None:
                document = read_document(child.stdout_path)
                fields = _ended_fields(document, code)
                if self.marks["aborted"]:
                    fields["state"] = "aborted"
                self.ended = self.timeline.append("scenario-ended", scenario=name, **fields)
            view = {**self.marks, "ended": self.ended}
            live = snapshot(self.run_dir, time.time())
            if self.session.feed is not None:
                status = "running" if self.ended is None else str(self.ended.get("state"))
                self.session.feed.update(
                    scenario={
                        "name": name,
                        "title": self.scenario.title,
                        "number": self.session.number(name),
                        "status": "aborting"
                        if self.marks["aborted"] and not self.ended
                        else status,
                    },
                    live=live.to_dict(),
                    marks=dict(self.marks),
                )
            for command in self.session.facilitator.watch(self.scenario, live, view):
                closed = self._apply(command, child) or closed
            if not closed:
                time.sleep(_POLL_S)


class _Session:
    def __init__(
        self,
        plan: Plan,
        directory: Path,
        home: Path,
        facilitator: Facilitator,
        feed: Feed | None = None,
    ):
        self.plan = plan
        self.feed = feed
        self.directory = directory
        self.home = home
        self.facilitator = facilitator
        self.timeline = Timeline(directory)
        self.order = [s.name for s in plan.scenarios]

    def number(self, name: str) -> int:
        return self.order.index(name) + 1

    def state(self) -> SessionState:
        return replay(read_events(self.timeline.path), self.order)

    def run(self, rehearsal: bool) -> SessionState:
        state = self.state()
        if state.state == "new":
            self.timeline.append(
                "session-started", plan=str(self.plan.path), title=self.plan.title,
                rehearsal=rehearsal,
            )  # fmt: skip
        else:
            reconcile_dead_runs(self.home, by="the resumed game day")
            for name in state.unfinished():
                self.timeline.append("scenario-lost", scenario=name)
            self.timeline.append("session-resumed")
        total = len(self.plan.checklist)
        for number, item in enumerate(self.plan.checklist, 1):
            if item in state.checklist:
                continue
            if not self.facilitator.confirm(item, number, total):
                self.timeline.append("no-go", item=item)
                return self.state()
            self.timeline.append("checklist-confirmed", item=item)
        for scenario in self.plan.scenarios:
            if self.state().scenarios[scenario.name].done:
                continue
            self.timeline.append("scenario-briefed", scenario=scenario.name)
            choice = self.facilitator.brief(scenario, self.number(scenario.name), len(self.order))
            if choice == "stop":
                self.timeline.append("session-ended", state="stopped")
                return self.state()
            if choice == "skip":
                self.timeline.append("scenario-skipped", scenario=scenario.name, reason="skipped")
                continue
            _Scenario(self, scenario).run()
        self.timeline.append("session-ended", state="completed")
        return self.state()


def run_session(
    plan: Plan,
    directory: Path,
    home: Path,
    facilitator: Facilitator,
    rehearsal: bool = False,
    feed: Feed | None = None,
) -> SessionState:
    """Run (or resume) the session recorded in `directory`; `feed`: what observers see."""
    try:
        return _Session(plan, directory, home, facilitator, feed).run(rehearsal)
    finally:
        facilitator.close()
