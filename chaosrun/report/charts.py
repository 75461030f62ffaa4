"""Plotly figures of one run: latency percentiles and error rate over time with the fault
windows shaded, detection and recovery marked, each breaker's state as a band; and the RTO
against its objective. Plotly draws them (the page carries plotly.js inline: no external
asset); this module only decides what is drawn."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chaosrun.report.rundata import RunData
from chaosrun.report.series import (
    Band,
    Bins,
    Marks,
    bin_timeline,
    breaker_bands,
    marks_from_journal,
)

__all__ = ["BIN_S", "BREAKER_COLOURS", "rto_figure", "run_timeline_figure", "timeline_figure"]

BIN_S = 0.25  # the timeline chart's bins

BREAKER_COLOURS = {"closed": "#2e7d32", "half-open": "#f9a825", "open": "#c62828"}
_FAULT_FILL = "rgba(198, 40, 40, 0.12)"
_FONT = {"family": "system-ui, sans-serif", "size": 12}


def _latency_traces(fig: go.Figure, bins: Bins) -> None:
    for name, values, colour in (
        ("p50", bins.p50_ms, "#1565c0"),
        ("p95", bins.p95_ms, "#6a1b9a"),
        ("p99", bins.p99_ms, "#ef6c00"),
    ):
        fig.add_trace(
            go.Scatter(
                x=bins.starts,
                y=values,
                name=f"{name} latency",
                mode="lines",
                line={"color": colour, "width": 1.6},
                connectgaps=False,
                hovertemplate="%{x:.2f} s: %{y:.1f} ms<extra>" + name + "</extra>",
            ),
            row=1,
            col=1,
            secondary_y=False,
        )
    for name, values, colour, what in (
        ("errors %", bins.error_pct, "#c62828", "failed"),
        ("degraded %", bins.degraded_pct, "#8d6e63", "answered by a fallback"),
    ):
        fig.add_trace(
            go.Scatter(
                x=bins.starts,
                y=values,
                name=name,
                mode="lines",
                line={"color": colour, "width": 1.4, "dash": "dot"},
                hovertemplate="%{x:.2f} s: %{y:.1f} % " + what + "<extra></extra>",
            ),
            row=1,
            col=1,
            secondary_y=True,
        )


def _breaker_traces(fig: go.Figure, bands: Sequence[Band]) -> None:
    shown: set[str] = set()
    for band in bands:
        for start, end, state in band.segments:
            fig.add_trace(
                go.Bar(
                    x=[end - start],
                    base=[start],
                    y=[band.dependency],
                    orientation="h",
                    name=f"breaker {state}",
                    legendgroup=state,
                    showlegend=state not in shown,
                    marker={"color": BREAKER_COLOURS.get(state, "#9e9e9e")},
                    hovertemplate=f"{band.dependency}: {state} %{{base:.2f}} to {end:.2f} s"
                    "<extra></extra>",
                ),
                row=2,
                col=1,
            )
            shown.add(state)


def _marks(fig: go.Figure, marks: Marks, rows: int) -> None:
    for start, end, label in marks.windows:
        fig.add_vrect(
            x0=start,
            x1=end,
            fillcolor=_FAULT_FILL,
            line_width=0,
            layer="below",
            row="all",
            col=1,
        )
        fig.add_annotation(
            x=start, y=1.0, xref="x", yref="paper", text=label, showarrow=False,
            xanchor="left", yanchor="bottom", font={"size": 10, "color": "#b71c1c"},
        )  # fmt: skip
    for at, text, colour in (
        (marks.detect, "detected", "#ef6c00"),
        (marks.recover, "recovered", "#2e7d32"),
    ):
        if at is None:
            continue
        for row in range(1, rows + 1):
            fig.add_vline(
                x=at, line={"color": colour, "dash": "dash", "width": 1.5}, row=row, col=1
            )
        fig.add_annotation(
            x=at, y=1.0, xref="x", yref="paper", text=f"{text} {at:+.2f} s", showarrow=False,
            xanchor="left", yanchor="bottom", yshift=14, font={"size": 10, "color": colour},
        )  # fmt: skip


def timeline_figure(bins: Bins, marks: Marks, bands: Sequence[Band], title: str) -> go.Figure:
    rows = 2 if bands else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.78, 0.22] if bands else [1.0],
        specs=[[{"secondary_y": True}]] + ([[{}]] if bands else []),
    )
    _latency_traces(fig, bins)
    if bands:
        _breaker_traces(fig, bands)
        fig.update_yaxes(title_text="breaker", row=2, col=1, automargin=True)
    _marks(fig, marks, rows)
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero", row=1, col=1, secondary_y=False)
    fig.update_yaxes(
        title_text="errors, degraded (%)",
        range=[0, 100],
        dtick=25,
        row=1,
        col=1,
        secondary_y=True,
        showgrid=False,
    )
    fig.update_xaxes(title_text="seconds from injection", row=rows, col=1)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        barmode="overlay",
        height=420 if bands else 340,
        margin={"l": 60, "r": 60, "t": 80, "b": 70},
        legend={"orientation": "h", "y": -0.25},
        font=_FONT,
        template="plotly_white",
    )
    return fig


def run_timeline_figure(run: RunData, title: str) -> go.Figure | None:
    """The timeline chart of a finished run, from its recorded requests and journal; None
    when it recorded no request (an experiment without load)."""
    if not run.records:
        return None
    scheduled = [r.scheduled for r in run.records]
    marks = marks_from_journal(run.chaosrun, min(scheduled), max(scheduled))
    bins = bin_timeline(run.records, marks.origin, BIN_S)
    start = bins.starts[0] if bins.starts else 0.0
    bands = breaker_bands(run.chaosrun.get("breakers") or {}, marks.origin, start, marks.end)
    return timeline_figure(bins, marks, bands, title)


def rto_figure(rto_s: float | None, objective_s: float | None, recovered: bool) -> go.Figure:
    """A bullet bar: the measured RTO against its objective (red when over it)."""
    value = rto_s if rto_s is not None else 0.0
    over = objective_s is not None and ((rto_s is None and not recovered) or value > objective_s)
    label = "no SLO breach" if rto_s is None and recovered else f"{value:.2f} s"
    if rto_s is None and not recovered:
        label = "did not recover"
    fig = go.Figure(
        go.Bar(
            x=[value],
            y=["RTO"],
            orientation="h",
            marker={"color": "#c62828" if over else "#2e7d32"},
            text=[label],
            textposition="outside",
            hovertemplate="RTO %{x:.2f} s<extra></extra>",
        )
    )
    if objective_s is not None:
        fig.add_vline(
            x=objective_s,
            line={"color": "#212121", "width": 2},
            annotation_text=f"objective {objective_s:g} s",
            annotation_position="top",
        )
    top = max(value, objective_s or 0.0, 0.5) * 1.35
    fig.update_xaxes(range=[0, top], title_text="seconds")
    fig.update_layout(
        height=150, margin={"l": 50, "r": 30, "t": 30, "b": 40}, font=_FONT, template="plotly_white"
    )
    return fig
