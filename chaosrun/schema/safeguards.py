"""The `abort_when` list of the chaosrun block: stop conditions, parsed into Safeguards.

abort_when:
  - availability_below: 0.9          # live SLI over a trailing window ...
    for_s: 1                         # ... breached for this long (default 1 s)
    window_s: 1                      # trailing window (default 1 s)
    endpoint: /api/play              # default: every endpoint of the load
  - latency_ms_above: {p99: 1500}
  - error_budget_burned_above: 2.0   # fraction of the budget from slo.availability
  - probe: {type: probe, name: ..., provider: ..., tolerance: ...}
    every_s: 1                       # how often the probe runs (default 1 s)
    for_s: 0                         # out of tolerance this long (default: first failure)
"""

from __future__ import annotations

from typing import Any, cast

from chaosrun.model import PERCENTILES, ProbeGuard, Safeguard, SliGuard
from chaosrun.schema.activities import Activities
from chaosrun.schema.common import (
    Ctx,
    check_keys,
    join,
    one_of,
    show,
    want_list,
    want_mapping,
    want_number,
    want_str,
)

__all__ = ["CONDITIONS", "safeguards"]

CONDITIONS = ("availability_below", "latency_ms_above", "error_budget_burned_above", "probe")
_SLI_OPTIONS = ("name", "for_s", "window_s", "endpoint")
_PROBE_OPTIONS = ("name", "every_s", "for_s")
_MAX_S = 3600.0


def safeguards(ctx: Ctx, path: str, value: object) -> tuple[Safeguard, ...]:
    if not want_list(ctx, path, value, "a list of stop conditions"):
        return ()
    result: list[Safeguard] = []
    names: dict[str, int] = {}
    for i, item in enumerate(cast(list[object], value)):
        where = f"{path}[{i}]"
        guard = _safeguard(ctx, where, item)
        if guard is None:
            continue
        if guard.name in names:
            ctx.err(
                where,
                f"duplicate safeguard name {show(guard.name)} (also {path}[{names[guard.name]}])",
            )
            continue
        names[guard.name] = i
        result.append(guard)
    return tuple(result)


def _safeguard(ctx: Ctx, path: str, value: object) -> Safeguard | None:
    if not want_mapping(ctx, path, value, "a stop condition mapping"):
        return None
    block = cast(dict[str, Any], value)
    conditions = [key for key in CONDITIONS if key in block]
    if len(conditions) != 1:
        unknown = [k for k in block if k not in CONDITIONS + _SLI_OPTIONS + _PROBE_OPTIONS]
        if unknown and not conditions:
            check_keys(ctx, path, block, CONDITIONS + _SLI_OPTIONS + _PROBE_OPTIONS)
            return None
        found = " and ".join(conditions) if conditions else "none"
        ctx.err(path, f"expected exactly one of {', '.join(CONDITIONS)}; found {found}")
        return None
    condition = conditions[0]
    if condition == "probe":
        return _probe_guard(ctx, path, block)
    check_keys(ctx, path, block, (condition, *_SLI_OPTIONS))
    ok = True
    options: dict[str, Any] = {}
    for key, default, low in (("for_s", 1.0, 0.0), ("window_s", 1.0, 0.0)):
        raw = block.get(key, default)
        if want_number(
            ctx, join(path, key), raw, low=low, strict=key == "window_s", maximum=_MAX_S
        ):
            options[key] = float(raw)
        else:
            ok = False
    if "endpoint" in block:
        endpoint = want_str(ctx, join(path, "endpoint"), block["endpoint"])
        if endpoint is not None and not endpoint.startswith("/"):
            ctx.err(
                join(path, "endpoint"), f"expected a path starting with '/', got {show(endpoint)}"
            )
            ok = False
        elif endpoint is None:
            ok = False
        else:
            options["endpoint"] = endpoint
    metric_threshold = _condition(ctx, join(path, condition), condition, block[condition])
    name, named_ok = _name(ctx, path, block)
    if metric_threshold is None or not ok or not named_ok:
        return None
    metric, threshold = metric_threshold
    default_name = _default_name(condition, metric, threshold, options.get("endpoint", ""))
    return SliGuard(name or default_name, metric, threshold, **options)


def _condition(ctx: Ctx, path: str, condition: str, raw: object) -> tuple[str, float] | None:
    if condition == "availability_below":
        if not want_number(ctx, path, raw, low=0, maximum=1):
            return None
        return "availability", float(cast(float, raw))
    if condition == "error_budget_burned_above":
        if not want_number(ctx, path, raw, low=0, maximum=1_000_000):
            return None
        return "error_budget", float(cast(float, raw))
    if not want_mapping(
        ctx, path, raw, "a mapping of one percentile to milliseconds, e.g. {p99: 800}"
    ):
        return None
    latency = cast(dict[str, Any], raw)
    if len(latency) != 1:
        ctx.err(
            path, f"expected exactly one percentile (one stop condition each), got {len(latency)}"
        )
        return None
    ((percentile, ms),) = latency.items()
    if not one_of(ctx, join(path, str(percentile)), percentile, PERCENTILES, "percentile"):
        return None
    if not want_number(ctx, join(path, percentile), ms, low=0, strict=True, maximum=3_600_000):
        return None
    return percentile, float(ms)


def _probe_guard(ctx: Ctx, path: str, block: dict[str, Any]) -> ProbeGuard | None:
    check_keys(ctx, path, block, ("probe", *_PROBE_OPTIONS))
    errors_before = len(ctx.errors)
    probe = block["probe"]
    where = join(path, "probe")
    if want_mapping(ctx, where, probe, "a Chaos Toolkit probe with a tolerance"):
        if cast(dict[str, Any], probe).get("type") == "action":
            ctx.err(join(where, "type"), "a safeguard runs a probe, not an action")
        else:
            Activities(ctx).activity(where, probe, "hypothesis")
    options: dict[str, float] = {}
    for key, default, strict in (("every_s", 1.0, True), ("for_s", 0.0, False)):
        raw = block.get(key, default)
        if want_number(ctx, join(path, key), raw, low=0, strict=strict, maximum=_MAX_S):
            options[key] = float(raw)
    name, named_ok = _name(ctx, path, block)
    if len(ctx.errors) > errors_before or not named_ok:
        return None
    probe_map = cast(dict[str, Any], probe)
    return ProbeGuard(name or f"probe {probe_map['name']}", probe_map, **options)


def _name(ctx: Ctx, path: str, block: dict[str, Any]) -> tuple[str | None, bool]:
    """(the declared name or None when absent, whether it is valid)."""
    if "name" not in block:
        return None, True
    name = want_str(ctx, join(path, "name"), block["name"])
    return name, name is not None


def _default_name(condition: str, metric: str, threshold: float, endpoint: str) -> str:
    on = f" on {endpoint}" if endpoint else ""
    if condition == "availability_below":
        return f"availability{on} below {threshold:g}"
    if condition == "error_budget_burned_above":
        return f"error budget burned above {threshold:g}"
    return f"{metric}{on} above {threshold:g} ms"
