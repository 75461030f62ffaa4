"""The suite summary as GitHub-flavoured Markdown (pure): for a CI job summary
(`$GITHUB_STEP_SUMMARY`) or a pull-request comment. The same figures as the HTML report's top."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaosrun.suite.results import ExperimentResult, SuiteResult

__all__ = ["suite_markdown"]

_MARK = {
    "passed": "✅",
    "failed": "❌",
    "error": "❌",
    "not-judged": "⚠️",
    "aborted": "⚠️",
    "interrupted": "⚠️",
    "skipped": "⏭️",
    "queued": "…",
    "running": "…",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _seconds(value: object) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "-"


def _row(number: int, result: ExperimentResult) -> str:
    recovery = result.recovery
    cells = [
        str(number),
        f"{_MARK[result.state]} {result.state}",
        f"`{Path(result.file).name}`",
        _seconds(recovery.get("ttd_s")),
        _seconds(recovery.get("rto_s")),
        _cell(result.rto_expected or "-"),
        _seconds(result.duration_s),
    ]
    return "| " + " | ".join(cells) + " |"


def _failures(results: Sequence[ExperimentResult]) -> list[str]:
    lines: list[str] = []
    for number, result in enumerate(results, 1):
        if result.state == "passed":
            continue
        lines.append(
            f"- **{number}. {_cell(result.title)}** — {_cell(result.reason or result.state)}"
        )
        for check in result.checks:
            if check.get("status") != "passed":
                lines.append(
                    f"  - `{check.get('check')}` {check.get('status')}: observed "
                    f"{_cell(check.get('observed'))}; expected {_cell(check.get('expected'))}"
                )
    return lines


def suite_markdown(suite: SuiteResult, reports: Sequence[str] = ()) -> str:
    counts = suite.counts_text()
    took = suite.ended_at - suite.started_at
    verdict = "passed" if suite.exit_code == 0 else f"not passed (exit code {suite.exit_code})"
    lines = [
        f"## chaosrun suite: {verdict}",
        "",
        f"{len(suite.results)} experiments — {counts or 'nothing ran'} — in {took:.1f} s.",
        "",
        "| # | state | experiment | TTD | RTO | RTO objective | run time |",
        "|--:|:--|:--|--:|--:|:--|--:|",
        *(_row(n, r) for n, r in enumerate(suite.results, 1)),
    ]
    failures = _failures(suite.results)
    if failures:
        lines += ["", "### Not passed", "", *failures]
    if suite.regressions:
        lines += ["", "### Regressions", "", *(f"- {_cell(r)}" for r in suite.regressions)]
    if reports:
        lines += ["", "Reports: " + ", ".join(f"`{r}`" for r in reports)]
    return "\n".join(lines) + "\n"
