"""Fault kinds. Each kind is a module `chaosrun.faults.<kind>` with keyword-only `inject` and
`revert` functions, usable directly as Chaos Toolkit python actions:

    provider: {type: python, module: chaosrun.faults.latency, func: inject,
               arguments: {proxy: catalog, latency_ms: 800}}

Each module also declares `LIMITS` (argument -> inclusive bounds) and, for a kind that adds a
Toxiproxy toxic, `TOXIC` (a `ToxicSpec`: toxic type and attribute -> argument map).

A new kind is one module here, one test and one example experiment.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chaosrun.faults._toxic import ToxicSpec, toxic_name

__all__ = ["KIND_NAMES", "REGISTRY", "FaultKind", "ToxicSpec", "toxic_name"]

KIND_NAMES = (
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
    "proxy_down",
    "fail_for",
)


@dataclass(frozen=True, slots=True)
class FaultKind:
    name: str
    inject: Callable[..., dict[str, Any]]
    revert: Callable[..., dict[str, Any]]
    limits: Mapping[str, tuple[int, int]]  # argument -> inclusive (min, max)
    summary: str
    toxic: ToxicSpec | None = None  # None: the kind acts on the proxy or inside the dependency


def _load(name: str) -> FaultKind:
    module = importlib.import_module(f"chaosrun.faults.{name}")
    summary = (module.__doc__ or "").strip().splitlines()[0]
    toxic = getattr(module, "TOXIC", None)
    return FaultKind(name, module.inject, module.revert, module.LIMITS, summary, toxic)


REGISTRY: Mapping[str, FaultKind] = {name: _load(name) for name in KIND_NAMES}
