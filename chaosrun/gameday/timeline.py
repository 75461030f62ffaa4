"""A game-day session's timeline: every event appended to `timeline.jsonl` as it happens, and
the session's state replayed from it (pure), which is how a killed session resumes.

Events (each a JSON object with `t`, epoch seconds, and `event`):
session-started {plan, title, rehearsal} / session-resumed / checklist-confirmed {item} /
no-go {item} / scenario-briefed {scenario} / injection-confirmed {scenario} /
scenario-started {scenario} / scenario-run {scenario, run_dir} / observation {scenario, text} /
detected {scenario} / mitigated {scenario} / action {scenario, owner, text} /
abort-requested {scenario} / scenario-ended {scenario, state, verdict, reason, rto_s, ttd_s,
injected_at, run_dir} / scenario-lost {scenario} (the session died during it; written on resume) /
scenario-skipped {scenario, reason} / session-ended {state}.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "TIMELINE_FILE",
    "Marks",
    "ScenarioState",
    "SessionState",
    "Timeline",
    "read_events",
    "replay",
]

TIMELINE_FILE = "timeline.jsonl"


class Timeline:
    """Append-only, one fsync per event: what a killed session said is on disk."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / TIMELINE_FILE
        directory.mkdir(parents=True, exist_ok=True)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"t": round(time.time(), 6), "event": event, **fields}
        with open(self.path, "a+b") as handle:
            line = json.dumps(record, default=str).encode() + b"\n"
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a torn last line: keep this event off it
                    line = b"\n" + line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return record


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event; a torn last line (the process died mid-write) is ignored."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "event" in record and "t" in record:
            events.append(record)
    return events


@dataclass(frozen=True, slots=True)
class Marks:
    """What people saw and did during a scenario (epoch seconds)."""

    detected: float | None = None
    mitigated: float | None = None
    observations: tuple[tuple[float, str], ...] = ()
    actions: tuple[tuple[float, str, str], ...] = ()  # (t, owner, text)


@dataclass
class ScenarioState:
    name: str
    status: str = "pending"  # pending | briefed | running | ended | lost | skipped
    started_at: float | None = None
    ended: Mapping[str, Any] | None = None  # the scenario-ended event
    aborted: bool = False
    run_dir: str | None = None
    detected: float | None = None
    mitigated: float | None = None
    observations: list[tuple[float, str]] = field(default_factory=list)
    actions: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in ("ended", "skipped")

    def marks(self) -> Marks:
        return Marks(self.detected, self.mitigated, tuple(self.observations), tuple(self.actions))


@dataclass
class SessionState:
    scenarios: dict[str, ScenarioState]
    checklist: list[str] = field(default_factory=list)  # items confirmed
    state: str = "new"  # new | running | completed | no-go | stopped
    started_at: float | None = None
    ended_at: float | None = None
    rehearsal: bool = False
    general: list[tuple[float, str]] = field(default_factory=list)  # observations between

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "no-go", "stopped")

    def next_scenario(self, order: Sequence[str]) -> str | None:
        return next((n for n in order if not self.scenarios[n].done), None)

    def unfinished(self) -> list[str]:
        """Scenarios a dead session left started but not ended."""
        return [n for n, s in self.scenarios.items() if s.status in ("briefed", "running")]


def replay(events: Iterable[Mapping[str, Any]], order: Sequence[str]) -> SessionState:
    state = SessionState({name: ScenarioState(name) for name in order})
    for event in events:
        kind, t = event.get("event"), float(event.get("t") or 0.0)
        scenario = state.scenarios.get(str(event.get("scenario")))
        if kind == "session-started":
            state.state, state.started_at = "running", t
            state.rehearsal = bool(event.get("rehearsal"))
        elif kind == "checklist-confirmed":
            state.checklist.append(str(event.get("item")))
        elif kind == "no-go":
            state.state, state.ended_at = "no-go", t
        elif kind == "session-ended":
            state.state, state.ended_at = str(event.get("state") or "completed"), t
        elif kind == "observation" and scenario is None:
            state.general.append((t, str(event.get("text"))))
        elif scenario is not None:
            _scenario_event(scenario, kind, t, event)
    return state


def _scenario_event(scenario: ScenarioState, kind: Any, t: float, event: Mapping[str, Any]) -> None:
    if kind == "scenario-briefed":
        scenario.status = "briefed"
    elif kind == "scenario-started":
        scenario.status, scenario.started_at = "running", t
    elif kind == "scenario-run":
        scenario.run_dir = str(event.get("run_dir"))
    elif kind == "observation":
        scenario.observations.append((t, str(event.get("text"))))
    elif kind == "action":
        scenario.actions.append((t, str(event.get("owner")), str(event.get("text"))))
    elif kind == "detected" and scenario.detected is None:
        scenario.detected = t
    elif kind == "mitigated" and scenario.mitigated is None:
        scenario.mitigated = t
    elif kind == "abort-requested":
        scenario.aborted = True
    elif kind == "scenario-ended":
        scenario.status, scenario.ended = "ended", dict(event)
    elif kind == "scenario-lost":
        scenario.status = "lost"
    elif kind == "scenario-skipped":
        scenario.status, scenario.ended = "skipped", dict(event)
