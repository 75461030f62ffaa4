"""The suite as one self-contained HTML file: the summary on top, then per experiment its
verdict table, its RTO against the objective and its timeline chart (`chaosrun.report.charts`).

No external asset: plotly.js is inlined once, styles are inline, nothing is fetched. The page
counts the charts it drew and any script error on `<html data-charts data-errors>`, which the
headless-browser test reads (tests/e2e/test_suite_report.py).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from chaosrun.report.suiteview import figure_text
from chaosrun.suite.results import ExperimentResult, SuiteResult

__all__ = ["experiment_section", "suite_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#212121;
padding:0 16px} h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 4px;border-top:1px solid #ddd;padding-top:18px}
table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#fafafa} td.num{text-align:right;white-space:nowrap} .muted{color:#616161}
.state{font-weight:600;white-space:nowrap} .passed{color:#2e7d32} .failed,.error{color:#c62828}
.not-judged,.aborted,.interrupted,.skipped{color:#ef6c00} .regression{color:#ef6c00}
.reason{margin:4px 0 8px} code{font-size:12px}
"""
_ERROR_HOOK = """<script>
window.chaosrunErrors=[];
window.addEventListener('error',function(e){window.chaosrunErrors.push(String(e.message));
document.documentElement.setAttribute('data-errors',String(window.chaosrunErrors.length));});
</script>"""
_COUNT_CHARTS = """<script>
document.documentElement.setAttribute('data-charts',
  String(document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 ?
  document.querySelectorAll('.js-plotly-plot').length : 0));
</script>"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _seconds(value: object) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "-"


def _summary_table(suite: SuiteResult) -> str:
    rows = []
    for number, result in enumerate(suite.results, 1):
        recovery = result.recovery
        rows.append(
            f"<tr><td class=num>{number}</td>"
            f"<td><a href='#exp-{number}'>{_e(result.title)}</a><br>"
            f"<code class=muted>{_e(result.file)}</code></td>"
            f"<td class='state {_e(result.state)}'>{_e(result.state)}</td>"
            f"<td class=num>{_seconds(recovery.get('ttd_s'))}</td>"
            f"<td class=num>{_seconds(recovery.get('rto_s'))}</td>"
            f"<td>{_e(result.rto_expected or '-')}</td>"
            f"<td class=num>{_seconds(result.duration_s)}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th>experiment</th><th>state</th><th>TTD</th><th>RTO</th>"
        "<th>RTO objective</th><th>run time</th></tr>"
    )
    return f"<table id=summary>{head}{''.join(rows)}</table>"


def _verdict_table(result: ExperimentResult) -> str:
    if not result.checks:
        return "<p class=muted>No resilience verdict was declared or judged.</p>"
    rows = []
    for check in result.checks:
        status = str(check.get("status"))
        account = check.get("account")
        own = (
            f"<br><span class=muted>service's own account: {_e(account)}</span>" if account else ""
        )
        rows.append(
            f"<tr><td><code>{_e(check.get('check'))}</code></td>"
            f"<td class='state {_e(status)}'>{_e(status)}</td>"
            f"<td>{_e(check.get('observed'))}{own}</td><td>{_e(check.get('expected'))}</td></tr>"
        )
    head = "<tr><th>check</th><th>status</th><th>observed</th><th>expected</th></tr>"
    return f"<table class=verdicts>{head}{''.join(rows)}</table>"


def _charts(result: ExperimentResult, number: int) -> str:
    from chaosrun.report.charts import rto_figure, run_timeline_figure
    from chaosrun.report.rundata import read_run

    if not result.run_dir:
        return ""
    run = read_run(Path(result.run_dir))
    timeline = run_timeline_figure(run, "latency and errors over time") if run else None
    if timeline is None:
        return "<p class=muted>No timeline was recorded for this run.</p>"
    parts = []
    recovery = result.recovery
    objective = result.rto_objective_s
    if objective is not None or recovery.get("rto_s") is not None:
        recovered = recovery.get("state") in ("recovered", "no-impact")
        figure = rto_figure(recovery.get("rto_s"), objective, recovered)
        parts.append(_figure_html(figure, f"rto-{number}"))
    parts.append(_figure_html(timeline, f"timeline-{number}"))
    return "".join(parts)


def _figure_html(figure: Any, div_id: str) -> str:
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def experiment_section(result: ExperimentResult, number: int) -> str:
    figure = figure_text(result)
    lines = [
        f"<section id='exp-{number}'><h2>{number}. {_e(result.title)}</h2>",
        f"<p><code>{_e(result.file)}</code> — <span class='state {_e(result.state)}'>"
        f"{_e(result.state)}</span>"
        + (f" (verdict {_e(result.verdict)})" if result.verdict else "")
        + (f" — {_e(figure)}" if figure else "")
        + "</p>",
    ]
    if result.reason:
        lines.append(f"<p class=reason>{_e(result.reason)}</p>")
    lines.append(_charts(result, number))
    lines.append(_verdict_table(result))
    notes = (result.summary or {}).get("measurement_notes") or []
    lines += [f"<p class=muted>{_e(n)}</p>" for n in notes]
    lines.append("</section>")
    return "\n".join(lines)


def suite_html(suite: SuiteResult, name: str = "chaosrun suite") -> str:
    from plotly.offline import get_plotlyjs

    counts = suite.counts_text()
    verdict = "passed" if suite.exit_code == 0 else f"not passed (exit code {suite.exit_code})"
    regressions = "".join(f"<p class=regression>regression: {_e(r)}</p>" for r in suite.regressions)
    sections = "\n".join(experiment_section(r, n) for n, r in enumerate(suite.results, 1))
    took = suite.ended_at - suite.started_at
    state = "passed" if suite.exit_code == 0 else "failed"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(name)}: {_e(verdict)}</title><style>{_STYLE}</style>
{_ERROR_HOOK}
<script>{get_plotlyjs()}</script>
</head><body>
<h1>{_e(name)}: <span class='state {state}'>{_e(verdict)}</span></h1>
<p class=muted>{len(suite.results)} experiments - {_e(counts or "nothing ran")} - {took:.1f} s</p>
{regressions}
{_summary_table(suite)}
{sections}
{_COUNT_CHARTS}
<script type="application/json" id="chaosrun-suite">{_json(suite)}</script>
</body></html>
"""


def _json(suite: SuiteResult) -> str:
    data = {"exit_code": suite.exit_code, "results": [r.to_dict() for r in suite.results]}
    return json.dumps(data, default=str).replace("</", "<\\/")
