"""The error-budget file (`chaosrun suite --budget FILE`), validated as strictly as an
experiment: every problem is one line naming the file, line and key path.

    slos:
      - name: playback availability
        target: lab                 # experiments on the lab; or an explicit target's service_url
        objective: 0.999            # share of requests that succeed, below 1
        window_days: 30
        prometheus:                 # optional; without it chaosrun's own run history is read
          url: http://127.0.0.1:9090
          errors: sum(increase(gateway_requests_total{status=~"5.."}[$window]))
          total: sum(increase(gateway_requests_total[$window]))
    fast_burn: {share: 0.02, hours: 1}   # the defaults
    slow_burn: {share: 0.05, hours: 6}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.admission.burn import BurnLimit
from chaosrun.errors import InputError
from chaosrun.schema.common import (
    Ctx,
    check_keys,
    join,
    required_str,
    want_list,
    want_mapping,
    want_number,
)
from chaosrun.schema.source import read_text
from chaosrun.schema.yamlmap import parse

__all__ = ["WINDOW_MARK", "BudgetPolicy", "PrometheusSource", "SloBudget", "load_budget"]

WINDOW_MARK = "$window"
_FAST = BurnLimit(0.02, 1.0)
_SLOW = BurnLimit(0.05, 6.0)


@dataclass(frozen=True, slots=True)
class PrometheusSource:
    url: str
    errors: str  # PromQL with $window, e.g. sum(increase(x{status=~"5.."}[$window]))
    total: str


@dataclass(frozen=True, slots=True)
class SloBudget:
    name: str
    target: str  # "lab" or a service URL
    objective: float
    window_days: float
    prometheus: PrometheusSource | None = None


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    slos: tuple[SloBudget, ...]
    fast_burn: BurnLimit = _FAST
    slow_burn: BurnLimit = _SLOW

    def for_target(self, target: str) -> SloBudget | None:
        return next((s for s in self.slos if s.target == target), None)


def load_budget(path: str | Path) -> BudgetPolicy:
    """Raise every problem of the file as one InputError (the first; the rest in `.others`)."""
    name = str(path)
    ctx = Ctx(name)
    doc = parse(read_text(Path(path), name), Path(path).suffix.lower() == ".json", ctx)
    policy = _policy(ctx, doc) if want_mapping(ctx, "", doc, "a mapping with 'slos'") else None
    if ctx.errors or policy is None:
        errors = sorted(ctx.errors, key=lambda e: e.line or 0)
        raise errors[0] if errors else InputError(name, "", None, "no SLO")
    return policy


def _policy(ctx: Ctx, doc: dict[str, Any]) -> BudgetPolicy | None:
    check_keys(ctx, "", doc, ("slos", "fast_burn", "slow_burn"))
    if "slos" not in doc:
        ctx.missing("", "slos")
        return None
    slos = doc["slos"]
    if not want_list(ctx, "slos", slos, "a list of SLOs") or not slos:
        if isinstance(slos, list):
            ctx.err("slos", "expected at least one SLO")
        return None
    parsed = [_slo(ctx, f"slos[{i}]", item) for i, item in enumerate(slos)]
    seen: set[str] = set()
    for i, slo in enumerate(parsed):
        if slo is not None and slo.target in seen:
            ctx.err(f"slos[{i}].target", f"target '{slo.target}' has more than one SLO")
        elif slo is not None:
            seen.add(slo.target)
    fast = _limit(ctx, "fast_burn", doc.get("fast_burn"), _FAST)
    slow = _limit(ctx, "slow_burn", doc.get("slow_burn"), _SLOW)
    if ctx.errors:
        return None
    return BudgetPolicy(tuple(s for s in parsed if s is not None), fast, slow)


def _slo(ctx: Ctx, path: str, item: Any) -> SloBudget | None:
    if not want_mapping(ctx, path, item):
        return None
    check_keys(ctx, path, item, ("name", "target", "objective", "window_days", "prometheus"))
    name = required_str(ctx, path, item, "name")
    target = required_str(ctx, path, item, "target")
    objective = item.get("objective")
    if "objective" not in item:
        ctx.missing(path, "objective")
    elif want_number(ctx, join(path, "objective"), objective, low=0) and objective >= 1:
        ctx.err(join(path, "objective"), f"expected a share below 1 (no budget at {objective})")
    window = item.get("window_days", 30)
    want_number(ctx, join(path, "window_days"), window, low=0, maximum=366)
    prometheus = _prometheus(ctx, join(path, "prometheus"), item.get("prometheus"))
    if name is None or target is None or ctx.errors:
        return None
    return SloBudget(name, target, float(objective), float(window), prometheus)


def _prometheus(ctx: Ctx, path: str, value: Any) -> PrometheusSource | None:
    if value is None or not want_mapping(ctx, path, value):
        return None
    check_keys(ctx, path, value, ("url", "errors", "total"))
    url = required_str(ctx, path, value, "url")
    if url is not None and not url.startswith(("http://", "https://")):
        ctx.err(join(path, "url"), f"expected an http(s) URL, got '{url}'")
    queries = []
    for key in ("errors", "total"):
        query = required_str(ctx, path, value, key)
        if query is not None and WINDOW_MARK not in query:
            ctx.err(join(path, key), f"expected a PromQL query with {WINDOW_MARK} in its range")
        queries.append(query)
    if url is None or None in queries:
        return None
    return PrometheusSource(url.rstrip("/"), str(queries[0]), str(queries[1]))


def _limit(ctx: Ctx, path: str, value: Any, default: BurnLimit) -> BurnLimit:
    if value is None:
        return default
    if not want_mapping(ctx, path, value):
        return default
    check_keys(ctx, path, value, ("share", "hours"))
    share = value.get("share", default.share)
    hours = value.get("hours", default.hours)
    good = want_number(ctx, join(path, "share"), share, low=0, maximum=1)
    good = want_number(ctx, join(path, "hours"), hours, low=0, maximum=24 * 366) and good
    return BurnLimit(float(share), float(hours)) if good else default
