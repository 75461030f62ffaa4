"""region_outage: every proxy of a region's Toxiproxy goes dark at once -- its network is gone,
its processes keep running (a partition, not a crash).

Forms: ``disable`` (each proxy disabled: connections refused, open ones dropped),
``blackhole`` (a timeout-0 toxic on both streams: connections open, nothing gets through),
``brownout`` (``latency_ms`` +- ``jitter_ms`` on every answer, and ``loss_percent`` of the
connections blackholed). The region's Toxiproxy is named by the target (configuration key
``chaosrun_toxiproxy_regions``: ``a=URL,b=URL``); `proxies` narrows the cut to some of them.

One undo entry names the region, its server and the proxies it changed, written before the
first one changes; the revert enables them and removes the toxics (a proxy someone else had
disabled before the outage stays as it was).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ToxiproxyError
from chaosrun.faults._toxic import mark_reverted, region_urls
from chaosrun.lab.toxiproxy import Proxy, Toxic, ToxiproxyClient

__all__ = ["describe", "inject", "left", "revert", "undo"]

LIMITS: dict[str, tuple[int, int]] = {
    "latency_ms": (0, 60000),
    "jitter_ms": (0, 60000),
    "loss_percent": (0, 100),
}
UNDO_OP = "restore_region"
IN_TOXIPROXY = True  # Toxiproxy's /reset undoes it
FORMS = ("disable", "blackhole", "brownout")
TOXIC_PREFIX = "chaosrun_region_outage_"
TIMEOUT_S = 2.0


def _toxics(form: str, latency_ms: int, jitter_ms: int, loss_percent: int) -> list[Toxic]:
    if form == "blackhole":
        hole = {"timeout": 0}
        return [
            Toxic(f"{TOXIC_PREFIX}blackhole_{s}", "timeout", s, 1.0, hole)
            for s in ("upstream", "downstream")
        ]
    if form == "brownout":
        slow = {"latency": latency_ms, "jitter": jitter_ms}
        toxics = [Toxic(f"{TOXIC_PREFIX}latency", "latency", "downstream", 1.0, slow)]
        if loss_percent > 0:
            lost = loss_percent / 100
            toxics.append(Toxic(f"{TOXIC_PREFIX}loss", "timeout", "upstream", lost, {"timeout": 0}))
        return toxics
    return []


def inject(
    *,
    region: str,
    form: str = "disable",
    latency_ms: int = 1000,
    jitter_ms: int = 0,
    loss_percent: int = 0,
    proxies: list[str] | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    urls = region_urls(configuration)
    if region not in urls:
        known = ", ".join(sorted(urls)) or "none"
        raise ToxiproxyError(f"the target has no region {region!r} (its regions: {known})")
    client = ToxiproxyClient(urls[region], timeout_s=TIMEOUT_S)
    present = client.proxies()
    names = sorted(present) if proxies is None else list(proxies)
    if missing := [n for n in names if n not in present]:
        raise ToxiproxyError(f"region {region} has no proxy {', '.join(missing)}")
    if form == "disable":
        names = [n for n in names if present[n].enabled]  # one disabled already is not ours
    log = undolog.log_from_env()
    params = {"toxiproxy_url": client.url, "region": region, "form": form, "proxies": names}
    entry = undolog.record(log, "region_outage", **params) if log else None
    toxics = _toxics(form, latency_ms, jitter_ms, loss_percent)
    for name in names:
        if form == "disable":
            client.set_enabled(name, False)
        for toxic in toxics:
            client.add_toxic(name, toxic)
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "region": region,
        "form": form,
        "proxies": names,
        "undo_id": entry.id if entry else None,
    }


def revert(*, region: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    urls = region_urls(configuration)
    if region not in urls:
        raise ToxiproxyError(f"the target has no region {region!r}")
    log = undolog.log_from_env()
    restored: list[str] = []
    for entry in undolog.pending_entries(log) if log else []:
        if entry.fault == "region_outage" and entry.params.get("region") == region:
            undo(entry.params, TIMEOUT_S)
            restored += list(entry.params.get("proxies") or [])
    if not restored:  # run outside chaosrun (no log): put the whole region back
        client = ToxiproxyClient(urls[region], timeout_s=TIMEOUT_S)
        restored = sorted(client.proxies())
        undo({"toxiproxy_url": client.url, "form": "disable", "proxies": restored}, TIMEOUT_S)
    mark_reverted("region_outage", region=region)
    return {"region": region, "restored": sorted(set(restored))}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Enable the region's proxies and remove its outage toxics; True when anything changed."""
    client = ToxiproxyClient(str(params["toxiproxy_url"]), timeout_s=timeout_s)
    present = client.proxies()
    changed = False
    for name in params.get("proxies") or []:
        proxy = present.get(str(name))
        if proxy is None:
            continue
        if not proxy.enabled:
            client.set_enabled(proxy.name, True)
            changed = True
        for toxic in proxy.toxics:
            if toxic.name.startswith(TOXIC_PREFIX):
                changed = client.remove_toxic(proxy.name, toxic.name) or changed
    return changed


def left(params: Mapping[str, Any], proxy: Proxy) -> str | None:
    if not proxy.enabled and params.get("form") == "disable":
        return f"{proxy.name}: disabled (region {params.get('region')})"
    ours = [t.name for t in proxy.toxics if t.name.startswith(TOXIC_PREFIX)]
    return f"{proxy.name}: toxic {', '.join(ours)}" if ours else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    region = args.get("region")
    which = ", ".join(args["proxies"]) if args.get("proxies") else "every proxy"
    if func == "revert":
        return f"restore region {region}: {which} enabled, outage toxics removed", f"PATCH {base}"
    form = args.get("form", "disable")
    effect = {
        "disable": "disabled (connections refused, open ones dropped)",
        "blackhole": "blackholed (connections open, nothing gets through)",
        "brownout": (
            f"slowed by {args.get('latency_ms', 1000)} ms, "
            f"{args.get('loss_percent', 0)}% of connections blackholed"
        ),
    }.get(str(form), str(form))
    return f"region {region} outage: {which} {effect}", f"PATCH/POST {base}"
