"""Where error counts come from: chaosrun's own run history, or a Prometheus server.

History: the failed and total requests of every run against the SLO's target within the
window (chaos runs spend the budget they measure). Prometheus: the SLO's two PromQL queries,
`$window` replaced by the window (`30d`, `1h`, `6h`), through the HTTP query API
(`GET /api/v1/query`), each call bounded; an empty result is 0. A Prometheus that cannot be read
is an `AdmissionError`: admission fails closed (the experiment is not run).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from chaosrun.admission.burn import Admission, Counts, decide
from chaosrun.admission.spec import WINDOW_MARK, BudgetPolicy, PrometheusSource, SloBudget
from chaosrun.errors import ChaosrunError
from chaosrun.history.store import read_history

__all__ = ["AdmissionError", "admit", "history_counts", "prometheus_counts", "promql_window"]

_TIMEOUT_S = 5.0
Counter = Callable[[float], Counts]  # hours back from now -> counts


class AdmissionError(ChaosrunError):
    """The budget could not be read."""


def promql_window(hours: float) -> str:
    """A PromQL range: whole days as `30d`, whole hours as `6h`, else minutes."""
    if hours % 24 == 0:
        return f"{int(hours // 24)}d"
    if float(hours).is_integer():
        return f"{int(hours)}h"
    return f"{max(round(hours * 60), 1)}m"


def history_counts(home: Path, target: str, now: float, longest_h: float) -> Counter:
    """Counts over any window up to `longest_h` hours, from one read of the history."""
    rows = read_history(home, since=now - longest_h * 3600, target=target)

    def counts(hours: float) -> Counts:
        since = now - hours * 3600
        within = [r for r in rows if r.started_at >= since]
        return Counts(
            errors=float(sum(r.failed_requests or 0 for r in within)),
            total=float(sum(r.requests or 0 for r in within)),
        )

    return counts


def _query(url: str, promql: str) -> float:
    address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    request = urllib.request.Request(address, headers={"User-Agent": "chaosrun"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise AdmissionError(f"Prometheus {url}: cannot query {promql!r}: {exc}") from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        raise AdmissionError(f"Prometheus {url}: query {promql!r} failed: {body}")
    result = (body.get("data") or {}).get("result") or []
    try:
        return sum(float(sample["value"][1]) for sample in result)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise AdmissionError(f"Prometheus {url}: unexpected answer to {promql!r}") from exc


def prometheus_counts(source: PrometheusSource) -> Counter:
    def counts(hours: float) -> Counts:
        window = promql_window(hours)
        errors = _query(source.url, source.errors.replace(WINDOW_MARK, window))
        total = _query(source.url, source.total.replace(WINDOW_MARK, window))
        return Counts(errors, total)

    return counts


def admit(
    policy: BudgetPolicy, target: str, home: Path, now: float | None = None
) -> Admission | None:
    """The decision for an experiment on `target`; None when no SLO covers it."""
    slo: SloBudget | None = policy.for_target(target)
    if slo is None:
        return None
    if slo.prometheus is not None:
        counter, source = prometheus_counts(slo.prometheus), f"prometheus {slo.prometheus.url}"
    else:
        longest = max(slo.window_days * 24, policy.fast_burn.hours, policy.slow_burn.hours)
        counter = history_counts(home, target, now or time.time(), longest)
        source = "history"
    try:
        window = counter(slo.window_days * 24)
        fast, slow = counter(policy.fast_burn.hours), counter(policy.slow_burn.hours)
    except AdmissionError as exc:  # fail closed: no budget figures, no experiment
        reason = f"not admitted by SLO '{slo.name}': the budget could not be read: {exc}"
        return Admission(False, slo.name, source, reason)
    limits = (policy.fast_burn, policy.slow_burn)
    return decide(slo.name, slo.objective, slo.window_days, window, fast, slow, limits, source)
