"""The `{name: chaosrun}` extension block: target, SLO and deadline, parsed into a ChaosrunSpec."""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlsplit

from chaosrun.model import (
    KNOWN_PROFILES,
    PERCENTILES,
    PROFILE_VARIANTS,
    ChaosrunSpec,
    ClusterTarget,
    LabTarget,
    Safeguard,
    SliGuard,
    Slo,
    Target,
    UrlTarget,
)
from chaosrun.schema.common import (
    Ctx,
    check_keys,
    join,
    one_of,
    show,
    want_mapping,
    want_number,
    want_str,
)
from chaosrun.schema.measurement import expectations, load_spec, rto_spec
from chaosrun.schema.safeguards import safeguards

__all__ = ["chaosrun_spec"]

_MAX_DEADLINE_S = 86400.0
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def chaosrun_spec(ctx: Ctx, doc: dict[str, Any]) -> ChaosrunSpec:
    """The `{name: chaosrun}` extension as a ChaosrunSpec (defaults when there is none)."""
    extensions = doc.get("extensions")
    if not isinstance(extensions, list):
        return ChaosrunSpec()
    found = [
        i
        for i, ext in enumerate(extensions)
        if isinstance(ext, dict) and ext.get("name") == "chaosrun"
    ]
    if not found:
        return ChaosrunSpec()
    for i in found[1:]:
        ctx.err(
            f"extensions[{i}]", f"a second chaosrun extension (the first is extensions[{found[0]}])"
        )
    path = f"extensions[{found[0]}]"
    block: dict[str, Any] = extensions[found[0]]
    keys = ("name", "target", "slo", "deadline_s", "load", "rto", "expect", "abort_when")
    check_keys(ctx, path, block, keys)
    target = _target(ctx, join(path, "target"), block["target"]) if "target" in block else None
    slo = _slo(ctx, join(path, "slo"), block["slo"]) if "slo" in block else None
    deadline = block.get("deadline_s", 300.0)
    where = join(path, "deadline_s")
    if not want_number(ctx, where, deadline, low=0, maximum=_MAX_DEADLINE_S):
        deadline = 300.0
    load = load_spec(ctx, join(path, "load"), block["load"]) if "load" in block else None
    rto = rto_spec(ctx, join(path, "rto"), block["rto"]) if "rto" in block else None
    expect: tuple[object, ...] = ()
    if "expect" in block:
        from chaosrun.checks.expectations import EXPECTATION_KINDS

        expect = expectations(ctx, join(path, "expect"), block["expect"], EXPECTATION_KINDS)
    if (rto or expect) and load is None and "load" not in block:
        ctx.err(path, "'rto' and 'expect' are measured from the load: declare 'load' too")
    if rto is not None and slo is None and "slo" not in block:
        ctx.err(join(path, "rto"), "an RTO is measured against the SLO: declare 'slo' too")
    guards = (
        safeguards(ctx, join(path, "abort_when"), block["abort_when"])
        if "abort_when" in block
        else ()
    )
    _check_guard_needs(
        ctx, join(path, "abort_when"), guards, load is not None or "load" in block, slo
    )
    return ChaosrunSpec(target or LabTarget(), slo, float(deadline), load, rto, expect, guards)


def _check_guard_needs(
    ctx: Ctx, path: str, guards: tuple[Safeguard, ...], has_load: bool, slo: Slo | None
) -> None:
    for i, guard in enumerate(guards):
        if not isinstance(guard, SliGuard):
            continue
        if not has_load:
            ctx.err(f"{path}[{i}]", "this stop condition reads the live load: declare 'load' too")
        elif guard.metric == "error_budget" and (slo is None or slo.availability is None):
            ctx.err(
                f"{path}[{i}]",
                "the error budget comes from the SLO: declare 'slo.availability' too",
            )


def _target(ctx: Ctx, path: str, value: object) -> Target | None:
    if not want_mapping(ctx, path, value):
        return None
    target = cast(dict[str, Any], value)
    check_keys(ctx, path, target, ("lab", "service_url", "toxiproxy_url", "kubernetes"))
    urls = [key for key in ("service_url", "toxiproxy_url") if key in target]
    forms = ["lab" in target, bool(urls), "kubernetes" in target]
    if sum(forms) > 1:
        ctx.err(
            path,
            "target is one of 'lab', 'service_url' + 'toxiproxy_url' or 'kubernetes', not several",
        )
        return None
    if "kubernetes" in target:
        return _cluster(ctx, join(path, "kubernetes"), target["kubernetes"])
    if urls:
        for key in ("service_url", "toxiproxy_url"):
            if key not in target:
                ctx.missing(path, key, " (service_url and toxiproxy_url go together)")
        service = _url(ctx, join(path, "service_url"), target.get("service_url"))
        proxy = _url(ctx, join(path, "toxiproxy_url"), target.get("toxiproxy_url"))
        return UrlTarget(service, proxy) if service and proxy else None
    lab, where = target.get("lab"), join(path, "lab")
    if lab is None:
        return LabTarget()
    if not want_mapping(ctx, where, lab):
        return None
    check_keys(ctx, where, lab, ("variant", "profile"))
    profile: str | None = "streaming"
    if "profile" in lab:
        profile = one_of(ctx, join(where, "profile"), lab["profile"], KNOWN_PROFILES, "profile")
    if profile is None:
        return None
    if "variant" not in lab:
        return LabTarget(profile=profile)
    known = PROFILE_VARIANTS[profile]
    given = lab["variant"]
    owners = [p for p, names in PROFILE_VARIANTS.items() if given in names and p != profile]
    if given not in known and owners:
        ctx.err(
            join(where, "variant"),
            f"variant '{given}' is one of the {owners[0]} lab's: add 'profile: {owners[0]}'",
        )
        return None
    variant = one_of(ctx, join(where, "variant"), given, known, "variant")
    return LabTarget(variant, profile) if variant else None


def _cluster(ctx: Ctx, path: str, value: object) -> ClusterTarget | None:
    if not want_mapping(ctx, path, value):
        return None
    cluster = cast(dict[str, Any], value)
    check_keys(ctx, path, cluster, ("namespace", "service_url", "context"))
    for key in ("namespace", "service_url"):
        if key not in cluster:
            ctx.missing(path, key, "")
    namespace = want_str(ctx, join(path, "namespace"), cluster.get("namespace"))
    if namespace is not None and not _DNS_LABEL.fullmatch(namespace):
        ctx.err(
            join(path, "namespace"),
            f"expected a namespace name (lower-case letters, digits, '-'), got {show(namespace)}",
        )
        namespace = None
    service = _url(ctx, join(path, "service_url"), cluster.get("service_url"))
    context = None
    if "context" in cluster:
        context = want_str(ctx, join(path, "context"), cluster["context"])
        if context is None:
            return None
    if namespace is None or service is None:
        return None
    return ClusterTarget(namespace, service, context)


def _url(ctx: Ctx, path: str, value: object) -> str | None:
    if value is None or want_str(ctx, path, value) is None:
        return None
    url = cast(str, value)
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        ctx.err(path, f"expected an http:// or https:// URL, got {show(url)}")
    return url if ok else None


def _slo(ctx: Ctx, path: str, value: object) -> Slo | None:
    if not want_mapping(ctx, path, value):
        return None
    slo = cast(dict[str, Any], value)
    check_keys(ctx, path, slo, ("availability", "latency_ms", "window_s", "max_degraded"))
    availability: float | None = None
    if "availability" in slo:
        where, fraction = join(path, "availability"), slo["availability"]
        if want_number(ctx, where, fraction):
            if 0 < fraction <= 1:
                availability = float(fraction)
            elif 1 < fraction <= 100:
                hint = f"did you mean {fraction / 100:g}?"
                ctx.err(where, f"availability is a fraction in (0, 1]; {hint}")
            else:
                ctx.err(where, f"availability is a fraction in (0, 1], got {show(fraction)}")
    latency: list[tuple[str, float]] = []
    where = join(path, "latency_ms")
    if "latency_ms" in slo and want_mapping(ctx, where, slo["latency_ms"]):
        for name, ms in slo["latency_ms"].items():
            if one_of(ctx, join(where, name), name, PERCENTILES, "percentile") and want_number(
                ctx, join(where, name), ms, low=0
            ):
                latency.append((name, float(ms)))
    latency.sort(key=lambda item: PERCENTILES.index(item[0]))
    window = slo.get("window_s", 1.0)
    if not want_number(ctx, join(path, "window_s"), window, low=0, maximum=3600):
        window = 1.0
    max_degraded: float | None = None
    if "max_degraded" in slo:
        where, ceiling = join(path, "max_degraded"), slo["max_degraded"]
        if want_number(ctx, where, ceiling):
            if 0 <= ceiling < 1:
                max_degraded = float(ceiling)
            else:
                ctx.err(where, f"max_degraded is a fraction in [0, 1), got {show(ceiling)}")
    return Slo(availability, tuple(latency), float(window), max_degraded)
