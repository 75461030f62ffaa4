"""Shared inject/revert for Toxiproxy-backed faults: undo entry first, then act.

Each toxic fault module declares `TOXIC = ToxicSpec(type, {toxic attribute: fault argument})`;
`inject_toxic` builds what it sends from it, and so do the dry-run plan's `describe_toxic`, so
that the two cannot disagree. `undo_toxic` reverts a toxic from its undo entry's parameters
(`toxiproxy_url`, `proxy`, `toxic`), `toxic_left` tells whether it is still on its proxy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ToxiproxyError
from chaosrun.lab.toxiproxy import Proxy, Toxic, ToxiproxyClient
from chaosrun.names import (
    TOXIPROXY_REGIONS_ENV,
    TOXIPROXY_REGIONS_KEY,
    TOXIPROXY_URL_ENV,
    TOXIPROXY_URL_KEY,
)

__all__ = [
    "STREAMS",
    "TOXIPROXY_URL_ENV",
    "ToxicSpec",
    "client_for",
    "describe_toxic",
    "inject_toxic",
    "mark_reverted",
    "region_urls",
    "revert_toxic",
    "toxic_left",
    "toxic_name",
    "undo_toxic",
]

STREAMS = ("downstream", "upstream")
Configuration = dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ToxicSpec:
    """The Toxiproxy toxic a fault adds: its type and {toxic attribute: fault argument}."""

    type: str
    attributes: Mapping[str, str]

    def values(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The toxic's attributes from the fault's arguments (None for a missing argument)."""
        return {attr: arguments.get(arg) for attr, arg in self.attributes.items()}


def client_for(configuration: Configuration, proxy: str | None = None) -> ToxiproxyClient:
    """The Toxiproxy API from chaosrun's configuration key or the environment (`chaosrun.names`).

    On a target with several regions (one Toxiproxy each), the server that holds `proxy`."""
    url = (configuration or {}).get(TOXIPROXY_URL_KEY) or os.environ.get(TOXIPROXY_URL_ENV)
    if not url:
        raise ToxiproxyError(
            f"no Toxiproxy API: set configuration.{TOXIPROXY_URL_KEY} or ${TOXIPROXY_URL_ENV}"
        )
    regions = region_urls(configuration)
    if proxy is not None and len(regions) > 1:
        for region_url in regions.values():
            client = ToxiproxyClient(region_url)
            if client.find_proxy(proxy) is not None:
                return client
    return ToxiproxyClient(str(url))


def region_urls(configuration: Configuration) -> dict[str, str]:
    """Region -> Toxiproxy API ("a=URL,b=URL" in the configuration key or the environment)."""
    text = (configuration or {}).get(TOXIPROXY_REGIONS_KEY) or os.environ.get(
        TOXIPROXY_REGIONS_ENV, ""
    )
    pairs = (item.partition("=") for item in str(text).split(",") if item.strip())
    return {name.strip(): url.strip() for name, _, url in pairs if url.strip()}


def mark_reverted(fault: str, **matching: Any) -> None:
    """Mark done the run's pending entries of `fault` whose parameters match (a revert action
    put back what they record)."""
    log = undolog.log_from_env()
    if log is None:
        return
    for entry in undolog.pending_entries(log):
        if entry.fault == fault and all(entry.params.get(k) == v for k, v in matching.items()):
            undolog.mark_done(log, entry.id)


def toxic_name(kind: str, stream: str) -> str:
    return f"chaosrun_{kind}_{stream}"


def _check_common(stream: str, toxicity: float) -> None:
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {', '.join(STREAMS)}, got {stream!r}")
    if not 0.0 <= toxicity <= 1.0:
        raise ValueError(f"toxicity must be within [0, 1], got {toxicity}")


def inject_toxic(
    kind: str,
    spec: ToxicSpec,
    proxy: str,
    stream: str,
    toxicity: float,
    arguments: Mapping[str, int],
    configuration: Configuration,
) -> dict[str, Any]:
    """Add the toxic `spec` describes; `arguments` are the fault's own, by argument name."""
    _check_common(stream, toxicity)
    client = client_for(configuration, proxy)
    name = toxic_name(kind, stream)
    log = undolog.log_from_env()
    params = {"toxiproxy_url": client.url, "proxy": proxy, "toxic": name}
    entry = undolog.record(log, kind, **params) if log else None
    attributes = spec.values(arguments)
    toxic = client.add_toxic(proxy, Toxic(name, spec.type, stream, toxicity, attributes))
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "proxy": proxy,
        "toxic": toxic.name,
        "type": toxic.type,
        "stream": toxic.stream,
        "toxicity": toxic.toxicity,
        "attributes": toxic.attributes,
        "undo_id": entry.id if entry else None,
    }


def revert_toxic(
    kind: str, proxy: str, stream: str, configuration: Configuration
) -> dict[str, Any]:
    client = client_for(configuration, proxy)
    name = toxic_name(kind, stream)
    removed = client.remove_toxic(proxy, name, missing_ok=True)
    mark_reverted(kind, proxy=proxy, toxic=name)
    return {"proxy": proxy, "toxic": name, "removed": removed}


def undo_toxic(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Remove the toxic an undo entry records; False when it was gone already."""
    client = ToxiproxyClient(str(params["toxiproxy_url"]), timeout_s=timeout_s)
    return client.remove_toxic(str(params["proxy"]), str(params["toxic"]), missing_ok=True)


def toxic_left(params: Mapping[str, Any], proxy: Proxy) -> str | None:
    """What is left on `proxy` of the toxic an undo entry records, None when nothing."""
    name = params.get("toxic")
    return f"{proxy.name}: toxic {name}" if any(t.name == name for t in proxy.toxics) else None


def describe_toxic(
    kind: str, spec: ToxicSpec, func: str, proxy: str, args: Mapping[str, Any], base: str
) -> tuple[str, str]:
    """What inject/revert of a toxic kind would do to `proxy`, and the API call it would make
    (`base`: the proxy's URL on the Toxiproxy API)."""
    stream = str(args.get("stream"))
    name = toxic_name(kind, stream)
    if func == "revert":
        return f"remove toxic {name} from proxy {proxy}", f"DELETE {base}/toxics/{name}"
    shown = " ".join(f"{k}={v}" for k, v in spec.values(args).items())
    effect = (
        f"add toxic {name} to proxy {proxy}: type {spec.type}, stream {stream}, "
        f"toxicity {args.get('toxicity')}, {shown}"
    )
    return effect, f"POST {base}/toxics"
