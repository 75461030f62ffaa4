"""`chaosrun history` on the console: per experiment, one line per night (UTC day) with the
medians of its runs, and the arrow of each figure against the night before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chaosrun.history.trends import Night

__all__ = ["history_data", "render_history"]


def _arrow(value: float | None, before: float | None) -> str:
    if value is None or before is None or value == before:
        return ""
    return " ↑" if value > before else " ↓"  # up is worse for every figure shown


def _figure(value: float | None, before: float | None, unit: str) -> Text:
    if value is None:
        return Text("-", style="dim")
    arrow = _arrow(value, before)
    text = f"{value * 100:.0f} %" if unit == "%" else f"{value:.2f} s"
    style = "red" if arrow == " ↑" else "green" if arrow == " ↓" else ""
    return Text(text + arrow, style=style)


def render_history(console: Console, by_experiment: Mapping[str, Sequence[Night]]) -> None:
    for name, nights in by_experiment.items():
        table = Table(title=name, title_justify="left", box=None, header_style="bold")
        for column, justify in (
            ("night", "left"),
            ("runs", "right"),
            ("passed", "right"),
            ("RTO", "right"),
            ("TTD", "right"),
            ("budget burned", "right"),
        ):
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        previous: Night | None = None
        for night in nights:
            table.add_row(
                night.day,
                str(night.runs),
                Text(str(night.passed), style="green" if night.passed == night.runs else "red"),
                _figure(night.rto_s, previous.rto_s if previous else None, "s"),
                _figure(night.ttd_s, previous.ttd_s if previous else None, "s"),
                _figure(night.budget_burned, previous.budget_burned if previous else None, "%"),
            )
            previous = night
        console.print(table)
        console.print()


def history_data(
    by_experiment: Mapping[str, Sequence[Night]],
) -> dict[str, list[dict[str, object]]]:
    return {
        name: [
            {
                "night": n.day,
                "runs": n.runs,
                "passed": n.passed,
                "rto_s": n.rto_s,
                "ttd_s": n.ttd_s,
                "budget_burned": n.budget_burned,
            }
            for n in nights
        ]
        for name, nights in by_experiment.items()
    }
