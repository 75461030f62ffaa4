"""The load process's interface, without its machinery: its command line and its summary.

The supervisor builds the command with `load_command`, and reads the summary JSON the process
writes at its end with `read_summary`. `summarize` is the pure function that turns the process's
counts and scheduler lags into that summary, and decides whether the load fell short:

- `achieved_rate` < 95 % of `target_rate`, or
- p99 scheduler lag (sent - scheduled) > 25 ms.

A short run is flagged (`short`, `short_reason`), not silently trusted: a run whose verdicts rest
on it is inconclusive. The lag bound is the accuracy goal of the reported moments: a request sent
L ms late can misplace a detection or a recovery by at most L (moments are scheduled times, and
latencies count from them, so lag never hides a stall). On a busy 2-core box a run at 100 req/s
sees a few stalls of 10-25 ms: p99 near 11 ms, which says nothing against the figures.

Summary fields: `target_rate`, `duration_s` (planned), `elapsed_s` (scheduling time covered),
`stopped_by` ("duration" | "signal"), `start` (wall-clock epoch of the first slot), `planned`
(requests in the plan), `scheduled` (slots that fell due before scheduling stopped), `sent`
(requests started; every one has a timeline record), `completed` (ended with an HTTP response),
`ok` (response < 500), `degraded` (fallback answers), `unfinished` (cut at the end after
`timeout_s`, recorded as timeouts), `errors` {kind: n} (sent = completed + sum(errors)),
`statuses` {"200": n}, `sent_by_endpoint` {path: n}, `reached` {path: responses},
`achieved_rate` (sent / elapsed_s), `p50_lag_ms`, `p99_lag_ms`, `max_lag_ms`, `short`,
`short_reason` (null unless short), `timeline` (path).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaosrun.measure.percentile import nearest_rank as percentile
from chaosrun.measure.schedule import LoadPlan
from chaosrun.measure.timeline import ERROR_KINDS

__all__ = [
    "SHORT_P99_LAG_MS",
    "SHORT_RATE_FRACTION",
    "LoadSummary",
    "load_command",
    "percentile",
    "read_summary",
    "short_reason",
    "summarize",
]

SHORT_RATE_FRACTION = 0.95
SHORT_P99_LAG_MS = 25.0


@dataclass(frozen=True, slots=True)
class LoadSummary:
    target_rate: float
    duration_s: float
    elapsed_s: float
    stopped_by: str
    start: float
    planned: int
    scheduled: int
    sent: int
    completed: int
    ok: int
    degraded: int
    unfinished: int
    errors: dict[str, int]
    statuses: dict[str, int]
    sent_by_endpoint: dict[str, int]
    reached: dict[str, int]
    achieved_rate: float
    p50_lag_ms: float
    p99_lag_ms: float
    max_lag_ms: float
    short: bool
    short_reason: str | None
    timeline: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data.update(data.pop("extra"))
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadSummary:
        names = [name for name in cls.__dataclass_fields__ if name != "extra"]
        known = {name: data[name] for name in names if name in data}
        extra = {k: v for k, v in data.items() if k not in cls.__dataclass_fields__}
        return cls(**known, extra=extra)


def read_summary(path: Path) -> LoadSummary | None:
    """The summary a load process wrote, or None while it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LoadSummary.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def load_command(
    plan: LoadPlan,
    *,
    base_url: str,
    timeline: Path,
    summary: Path,
    start_at: float | None = None,
    python: str = sys.executable,
) -> list[str]:
    """argv of a load process running `plan` against `base_url`."""
    argv = [
        python,
        "-m",
        "chaosrun.measure.load",
        "--base-url",
        base_url,
        "--rate",
        repr(float(plan.rate)),
        "--duration-s",
        repr(float(plan.duration_s)),
        "--seed",
        str(plan.seed),
        "--timeout-s",
        repr(float(plan.timeout_s)),
        "--timeline",
        str(timeline),
        "--summary",
        str(summary),
    ]
    for path, weight in plan.endpoints:
        argv += ["--endpoint", f"{path}:{weight!r}"]
    if start_at is not None:
        argv += ["--start-at", repr(float(start_at))]
    return argv


def short_reason(target_rate: float, achieved_rate: float, p99_lag_ms: float) -> str | None:
    """Why a run's load fell short of its plan, or None when it did not."""
    reasons = []
    if achieved_rate < SHORT_RATE_FRACTION * target_rate:
        reasons.append(
            f"achieved {achieved_rate:.1f} req/s < {SHORT_RATE_FRACTION:.0%} of the "
            f"{target_rate:g} req/s target"
        )
    if p99_lag_ms > SHORT_P99_LAG_MS:
        reasons.append(f"scheduler lag p99 {p99_lag_ms:.2f} ms > {SHORT_P99_LAG_MS:g} ms")
    return "; ".join(reasons) or None


def summarize(
    plan: LoadPlan,
    *,
    start: float,
    elapsed_s: float,
    stopped_by: str,
    scheduled: int,
    lags_ms: Sequence[float],
    completed: int,
    ok: int,
    degraded: int,
    unfinished: int,
    errors: Mapping[str, int],
    statuses: Mapping[int, int],
    sent_by_endpoint: Mapping[str, int],
    reached: Mapping[str, int],
    timeline: str = "",
    extra: Mapping[str, Any] | None = None,
) -> LoadSummary:
    """The summary of one run; `lags_ms` has one scheduler lag per request sent (any order)."""
    lags = sorted(lags_ms)
    sent = len(lags)
    # A run stopped at its very start covered at most one interval, not zero time.
    covered = max(elapsed_s, 1.0 / plan.rate)
    # Decide on the figures as written, so a reader can check the verdict against them.
    achieved = round(sent / covered, 3)
    p99 = round(percentile(lags, 0.99), 3)
    reason = short_reason(plan.rate, achieved, p99)
    return LoadSummary(
        target_rate=plan.rate,
        duration_s=plan.duration_s,
        elapsed_s=round(elapsed_s, 6),
        stopped_by=stopped_by,
        start=start,
        planned=plan.count,
        scheduled=scheduled,
        sent=sent,
        completed=completed,
        ok=ok,
        degraded=degraded,
        unfinished=unfinished,
        errors={kind: int(errors.get(kind, 0)) for kind in ERROR_KINDS},
        statuses={str(status): n for status, n in sorted(statuses.items())},
        sent_by_endpoint={path: sent_by_endpoint.get(path, 0) for path, _ in plan.endpoints},
        reached={path: reached.get(path, 0) for path, _ in plan.endpoints},
        achieved_rate=achieved,
        p50_lag_ms=round(percentile(lags, 0.50), 3),
        p99_lag_ms=p99,
        max_lag_ms=round(lags[-1] if lags else 0.0, 3),
        short=reason is not None,
        short_reason=reason,
        timeline=timeline,
        extra=dict(extra or {}),
    )
