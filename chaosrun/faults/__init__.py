"""Fault kinds. Each kind is a module `chaosrun.faults.<kind>` with keyword-only `inject` and
`revert` functions, usable directly as Chaos Toolkit python actions:

    provider: {type: python, module: chaosrun.faults.latency, func: inject,
               arguments: {proxy: catalog, latency_ms: 800}}

Each module also declares `LIMITS` (argument -> inclusive bounds). Its inject writes an undo
entry (`chaosrun.undolog`: its kind and the parameters its revert needs) before it acts, and the
module reverts from that entry alone. A kind that adds a Toxiproxy toxic declares `TOXIC` (a
`ToxicSpec`: toxic type and attribute -> argument map) and gets the rest from `_toxic`; any
other kind defines `undo(params, timeout_s) -> bool` (True: it put something back),
`describe(func, proxy, args, base, upstream) -> (effect, API call)` for the dry-run plan,
`UNDO_OP` (how the journal names its revert), `IN_TOXIPROXY` (Toxiproxy's /reset undoes it) and,
when that is true, `left(params, proxy) -> str | None` (what of it is still on the proxy), else
`remains(params) -> str | None` (what of it is still in effect on this host); a
kind that needs something of the host (root, cgroups) defines `requires() -> str | None`, which
the run checks before it starts, and `ON_HOST = True` when its change outlives a stopped lab.

A new kind is one module here, its name in KIND_NAMES, one test and one example experiment; the
engine replays, plans and checks it through this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chaosrun.faults._toxic import (
    ToxicSpec,
    describe_toxic,
    toxic_left,
    toxic_name,
    undo_toxic,
)
from chaosrun.lab.toxiproxy import Proxy

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
    "cpu_quota",
    "cpu_stress",
    "fd_limit",
    "disk_full",
    "disk_fill",
    "memory_pressure",
    "hold_connections",
    "region_outage",
)

Describe = Callable[[str, str, Mapping[str, Any], str, str | None], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class FaultKind:
    name: str
    inject: Callable[..., dict[str, Any]]
    revert: Callable[..., dict[str, Any]]
    limits: Mapping[str, tuple[int, int]]  # argument -> inclusive (min, max)
    summary: str
    undo: Callable[[Mapping[str, Any], float], bool]  # revert from its undo entry's parameters
    describe: Describe  # (func, proxy, args, base, upstream) -> (effect, API call)
    undo_op: str  # how the journal names its revert
    in_toxiproxy: bool  # Toxiproxy's /reset undoes it, and `left` checks it there
    left: Callable[[Mapping[str, Any], Proxy], str | None] | None = None
    toxic: ToxicSpec | None = None  # None: the kind acts on the proxy or inside the dependency
    requires: Callable[[], str | None] | None = None  # what the host lacks for it (None: ok)
    on_host: bool = False  # its change lives on this host (a cgroup), not in the target's
    # processes or its Toxiproxy: it outlives a lab that is stopped
    remains: Callable[[Mapping[str, Any]], str | None] | None = None  # still in effect here


def _load(name: str) -> FaultKind:
    module = importlib.import_module(f"chaosrun.faults.{name}")
    summary = (module.__doc__ or "").strip().splitlines()[0]
    toxic: ToxicSpec | None = getattr(module, "TOXIC", None)
    if toxic is not None:

        def describe(
            func: str, proxy: str, args: Mapping[str, Any], base: str, _up: str | None
        ) -> tuple[str, str]:
            return describe_toxic(name, toxic, func, proxy, args, base)

        return FaultKind(
            name, module.inject, module.revert, module.LIMITS, summary,
            undo_toxic, describe, "remove_toxic", True, toxic_left, toxic,
        )  # fmt: skip
    return FaultKind(
        name, module.inject, module.revert, module.LIMITS, summary,
        module.undo, module.describe, module.UNDO_OP, module.IN_TOXIPROXY,
        getattr(module, "left", None), None, getattr(module, "requires", None),
        getattr(module, "ON_HOST", False), getattr(module, "remains", None),
    )  # fmt: skip


REGISTRY: Mapping[str, FaultKind] = {name: _load(name) for name in KIND_NAMES}
