"""Shared inject/revert for Toxiproxy-backed faults: undo entry first, then act.

Each toxic fault module declares `TOXIC = ToxicSpec(type, {toxic attribute: fault argument})`;
`inject_toxic` builds what it sends from it, and so does the dry-run plan (`chaosrun.engine.plan`),
so that the two cannot disagree.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.engine import undo
from chaosrun.errors import ToxiproxyError
from chaosrun.lab.toxiproxy import Toxic, ToxiproxyClient
from chaosrun.names import TOXIPROXY_URL_ENV, TOXIPROXY_URL_KEY

__all__ = [
    "STREAMS",
    "TOXIPROXY_URL_ENV",
    "ToxicSpec",
    "client_for",
    "inject_toxic",
    "revert_toxic",
    "toxic_name",
    "undo_log",
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


def client_for(configuration: Configuration) -> ToxiproxyClient:
    """The Toxiproxy API from chaosrun's configuration key or the environment (`chaosrun.names`)."""
    url = (configuration or {}).get(TOXIPROXY_URL_KEY) or os.environ.get(TOXIPROXY_URL_ENV)
    if not url:
        raise ToxiproxyError(
            f"no Toxiproxy API: set configuration.{TOXIPROXY_URL_KEY} or ${TOXIPROXY_URL_ENV}"
        )
    return ToxiproxyClient(str(url))


def undo_log() -> Path | None:
    path = os.environ.get(undo.UNDO_LOG_ENV)
    return Path(path) if path else None


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
    client = client_for(configuration)
    name = toxic_name(kind, stream)
    log = undo_log()
    entry = undo.record(log, "remove_toxic", client.url, proxy, name, kind) if log else None
    attributes = spec.values(arguments)
    toxic = client.add_toxic(proxy, Toxic(name, spec.type, stream, toxicity, attributes))
    if log and entry:
        undo.mark_applied(log, entry.id, time.time())
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
    client = client_for(configuration)
    name = toxic_name(kind, stream)
    removed = client.remove_toxic(proxy, name, missing_ok=True)
    log = undo_log()
    if log:
        for entry in undo.pending_entries(log):
            if entry.op == "remove_toxic" and (entry.proxy, entry.toxic) == (proxy, name):
                undo.mark_done(log, entry.id)
    return {"proxy": proxy, "toxic": name, "removed": removed}
