"""What a report reads back from a finished run's directory: its timeline and journal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.engine.journal import JOURNAL_FILE, read_json_object
from chaosrun.engine.loadproc import TIMELINE_FILE
from chaosrun.measure.timeline import RequestRecord, read_timeline

__all__ = ["RunData", "read_run"]


@dataclass(frozen=True, slots=True)
class RunData:
    records: tuple[RequestRecord, ...]
    journal: Mapping[str, Any]

    @property
    def chaosrun(self) -> Mapping[str, Any]:
        section = self.journal.get("chaosrun")
        return section if isinstance(section, Mapping) else {}


def read_run(run_dir: Path) -> RunData | None:
    """None when the run left no journal (killed before it could write one)."""
    journal = read_json_object(run_dir / JOURNAL_FILE)
    if journal is None:
        return None
    timeline = run_dir / TIMELINE_FILE
    records = tuple(read_timeline(timeline)) if timeline.exists() else ()
    return RunData(records, journal)
