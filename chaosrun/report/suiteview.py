"""The suite on the console: a live table on a terminal, one line per change in a log.

Fits an 80-column terminal: the file name is the experiment's name (titles are long), the
reason of a result that did not pass is printed once under the table, wrapped at words.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from chaosrun.report.wrap import wrap_line
from chaosrun.suite.results import ExperimentResult, SuiteResult

__all__ = ["STATE_STYLE", "SuiteView", "figure_text", "render_suite"]

STATE_STYLE = {
    "queued": "dim",
    "running": "cyan",
    "passed": "bold green",
    "failed": "bold red",
    "not-judged": "bold yellow",
    "aborted": "bold yellow",
    "error": "bold red",
    "interrupted": "bold yellow",
    "skipped": "yellow",
}


def figure_text(result: ExperimentResult) -> str:
    """RTO and TTD when the run measured them, else its verdict's word."""
    recovery = result.recovery
    parts = []
    if recovery.get("rto_s") is not None:
        parts.append(f"RTO {recovery['rto_s']:.2f} s")
    if recovery.get("ttd_s") is not None:
        parts.append(f"TTD {recovery['ttd_s']:.2f} s")
    return ", ".join(parts)


def _elapsed(result: ExperimentResult, now: float) -> str:
    if result.started_at is None:
        return ""
    end = result.ended_at if result.ended_at is not None else now
    return f"{end - result.started_at:5.1f} s"


def _table(results: Sequence[ExperimentResult], now: float) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("experiment", overflow="fold", ratio=1)
    table.add_column("state", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("recovery", no_wrap=True)
    for number, result in enumerate(results, 1):
        table.add_row(
            str(number),
            Path(result.file).name,
            Text(result.state, style=STATE_STYLE[result.state]),
            _elapsed(result, now),
            figure_text(result),
        )
    return table


class SuiteView:
    """Called with every snapshot of the results; draws a live table on a terminal, else
    logs each start and end as one line (CI logs stay readable)."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self._seen: dict[int, str] = {}
        self._live: Live | None = None
        if console.is_terminal:
            self._live = Live(console=console, auto_refresh=False, transient=True)
            self._live.start()

    def __call__(self, results: tuple[ExperimentResult, ...]) -> None:
        now = time.time()
        if self._live is not None:
            done = sum(1 for r in results if r.finished)
            heading = Text(f"suite: {done}/{self.total} done", style="bold")
            self._live.update(Group(heading, _table(results, now)), refresh=True)
            return
        for number, result in enumerate(results, 1):
            if self._seen.get(number) == result.state or result.state == "queued":
                continue
            self._seen[number] = result.state
            name = Path(result.file).name
            figure = figure_text(result)
            tail = f" {_elapsed(result, now).strip()}" if result.finished else ""
            tail += f" ({figure})" if figure else ""
            self.console.print(
                f"[{number}/{self.total}] {result.state} {name}{tail}",
                highlight=False,
                soft_wrap=True,
            )

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def render_suite(console: Console, suite: SuiteResult, reports: Sequence[str] = ()) -> None:
    console.print(_table(suite.results, suite.ended_at))
    width = max(console.width - 1, 20)
    for number, result in enumerate(suite.results, 1):
        if result.reason and (result.state != "passed" or result.first_attempt):
            said = f"{number}. {Path(result.file).name}: {result.reason}"
            for line in wrap_line(said, width, hang=len(f"{number}. ")):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
    for regression in suite.regressions:
        for line in wrap_line(f"regression: {regression}", width, hang=4):
            console.print(Text(line, style="yellow"), soft_wrap=True)
    took = suite.ended_at - suite.started_at
    style = "bold green" if suite.exit_code == 0 else "bold red"
    console.print(
        Text(f"suite: {suite.counts_text() or 'nothing ran'} in {took:.1f} s", style=style)
    )
    for report in reports:
        console.print(f"  {report}", highlight=False, soft_wrap=True)
