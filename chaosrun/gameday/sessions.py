"""Where game-day sessions live ($CHAOSRUN_HOME/gamedays/<plan>-<time>/) and which one a
`gameday run` continues: the newest of its plan whose timeline did not end and whose process
is gone. A session whose process still runs is not touched."""

from __future__ import annotations

import json
import time
from pathlib import Path

from chaosrun.atomic import write_atomic
from chaosrun.engine.rundir import me
from chaosrun.errors import TargetBusy
from chaosrun.gameday.plan import Plan
from chaosrun.gameday.timeline import TIMELINE_FILE, read_events, replay
from chaosrun.lab.procs import ProcessRef

__all__ = ["OWNER_FILE", "claim", "new_session", "resumable"]

OWNER_FILE = "session.json"


def _owner(directory: Path) -> ProcessRef | None:
    try:
        data = json.loads((directory / OWNER_FILE).read_text())
        return ProcessRef("gameday", int(data["pid"]), data.get("start_time"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resumable(home: Path, plan: Plan) -> Path | None:
    base = home / "gamedays"
    if not base.is_dir():
        return None
    order = [s.name for s in plan.scenarios]
    for directory in sorted(base.glob(f"{plan.path.stem}-*"), reverse=True):
        events = read_events(directory / TIMELINE_FILE)
        if not events or replay(events, order).finished:
            continue
        owner = _owner(directory)
        if owner is not None and owner.alive():
            raise TargetBusy(f"game day session {directory} runs in process {owner.pid}")
        return directory
    return None


def new_session(home: Path, plan: Plan) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = home / "gamedays"
    base.mkdir(parents=True, exist_ok=True)
    for n in range(100):
        directory = base / (f"{plan.path.stem}-{stamp}" + (f"-{n}" if n else ""))
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        return directory
    raise TargetBusy(f"{base}: cannot create a session directory")


def claim(directory: Path) -> None:
    ref = me()
    write_atomic(directory / OWNER_FILE, json.dumps({"pid": ref.pid, "start_time": ref.start_time}))
