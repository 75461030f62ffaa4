"""Every run, appended to a SQLite database: $CHAOSRUN_HOME/history.sqlite3.

One row per `chaosrun run` (a suite's experiments are runs too, tagged with the suite's id).
Parallel runs append at once: SQLite's own locking serialises them (busy timeout 10 s), and
each append is one transaction. The experiment's key is its file name (`latency-injection.yaml`)
so a suite run from another directory or checkout adds to the same trend.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "HISTORY_FILE",
    "SUITE_ID_ENV",
    "HistoryRow",
    "append_run",
    "read_history",
    "row_from_run",
]

HISTORY_FILE = "history.sqlite3"
SUITE_ID_ENV = "CHAOSRUN_SUITE_ID"  # set by a suite for its runs: their rows carry its id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment TEXT NOT NULL,
    title TEXT,
    file TEXT,
    run_id TEXT,
    suite_id TEXT,
    started_at REAL NOT NULL,
    duration_s REAL,
    verdict TEXT,
    exit_code INTEGER,
    ttd_s REAL,
    rto_s REAL,
    rto_objective_s REAL,
    requests INTEGER,
    failed_requests INTEGER,
    availability_objective REAL,
    budget_burned REAL,
    target TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, started_at);
"""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    experiment: str
    title: str | None
    file: str | None
    run_id: str | None
    suite_id: str | None
    started_at: float
    duration_s: float | None
    verdict: str | None
    exit_code: int | None
    ttd_s: float | None
    rto_s: float | None
    rto_objective_s: float | None
    requests: int | None  # the run's whole timeline, for error-budget admission
    failed_requests: int | None
    availability_objective: float | None
    budget_burned: float | None  # share of the run's own allowed errors it used (1.0 = all)
    target: str | None = None  # "lab", or the explicit target's service URL (admission's key)


_COLUMNS = tuple(f.name for f in fields(HistoryRow))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _section(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _epoch(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def row_from_run(
    summary: Mapping[str, Any], journal: Mapping[str, Any], suite_id: str | None
) -> HistoryRow:
    """A row from a run's summary (`chaosrun.report.summary`) and journal (pure)."""
    chaosrun = _section(journal, "chaosrun")
    recovery = _section(chaosrun, "recovery")
    budget = _section(recovery, "error_budget")
    started = _epoch(journal.get("start"))
    file = chaosrun.get("experiment_file") or summary.get("journal")
    return HistoryRow(
        experiment=Path(str(file)).name,
        title=summary.get("title"),
        file=str(file) if file else None,
        run_id=chaosrun.get("run_id"),
        suite_id=suite_id,
        started_at=started if started is not None else time.time(),
        duration_s=_number(summary.get("duration_s")),
        verdict=summary.get("verdict"),
        exit_code=_int(summary.get("exit_code")),
        ttd_s=_number(recovery.get("ttd_s")),
        rto_s=_number(recovery.get("rto_s")),
        rto_objective_s=_number(summary.get("rto_objective_s")),
        requests=_int(budget.get("requests")),
        failed_requests=_int(budget.get("failed")),
        availability_objective=_number(budget.get("availability")),
        budget_burned=_number(budget.get("burned")),
        target=_target_key(chaosrun.get("target")),
    )


def _target_key(target: Any) -> str | None:
    if not isinstance(target, Mapping):
        return None
    if target.get("lab") is not None:
        return "lab"
    url = target.get("service_url")
    return str(url) if url else None


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10.0)
    try:
        connection.executescript(_SCHEMA)
        known = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
        for column in _COLUMNS:
            if column not in known:  # a history written by an earlier chaosrun
                connection.execute(f"ALTER TABLE runs ADD COLUMN {column}")
        yield connection
        connection.commit()
    finally:
        connection.close()


def append_run(home: Path, row: HistoryRow) -> None:
    names = ", ".join(_COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    with _connect(home / HISTORY_FILE) as db:
        db.execute(
            f"INSERT INTO runs ({names}) VALUES ({marks})", [getattr(row, c) for c in _COLUMNS]
        )


def read_history(
    home: Path,
    experiment: str | None = None,
    since: float | None = None,
    target: str | None = None,
) -> list[HistoryRow]:
    """Rows oldest first; `experiment`: a file name (`x.yaml`) or its stem (`x`)."""
    path = home / HISTORY_FILE
    if not path.exists():
        return []
    query = f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE 1 = 1"
    args: list[Any] = []
    if experiment is not None:
        query += " AND (experiment = ? OR experiment = ? OR experiment = ? OR experiment = ?)"
        stem = Path(experiment).stem
        args += [experiment, f"{stem}.yaml", f"{stem}.yml", f"{stem}.json"]
    if since is not None:
        query += " AND started_at >= ?"
        args.append(since)
    if target is not None:
        query += " AND target = ?"
        args.append(target)
    with _connect(path) as db:
        rows = db.execute(query + " ORDER BY started_at, id", args).fetchall()
    return [HistoryRow(*row) for row in rows]
