"""Put the target back: replay the undo log, and when Toxiproxy will not answer, fall back.

Fallbacks, in order: `POST /reset` (removes every toxic, enables every proxy), then for the lab a
restart of its Toxiproxy server (proxies come back from its config file, clean). Entries that
nothing could revert stay pending in the undo log: `chaosrun cleanup` or the next run retries them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from chaosrun.engine import undo
from chaosrun.engine.target import Target
from chaosrun.errors import LabError, ToxiproxyError
from chaosrun.lab.lab import restart_toxiproxy
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = ["Restoration", "restore"]

_TOXIPROXY_OPS = ("remove_toxic", "enable_proxy")


@dataclass(frozen=True, slots=True)
class Restoration:
    outcomes: tuple[undo.ReplayOutcome, ...]
    fallback: str | None  # what restored Toxiproxy when replaying failed
    fallback_error: str | None
    unreverted: int  # entries still pending afterwards
    target: Target  # the target afterwards (a restarted lab server has a new PID)
    started: float
    finished: float


def restore(
    log: Path, target: Target, everything: bool = False, timeout_s: float = 1.0
) -> Restoration:
    started = time.time()
    outcomes = tuple(undo.replay(log, timeout_s, everything))
    fallback: str | None = None
    error: str | None = None
    stuck = [e for e in undo.pending_entries(log) if e.op in _TOXIPROXY_OPS]
    if stuck:
        fallback, error, target = _fallback(target, timeout_s)
        if fallback is not None:
            for entry in stuck:
                undo.mark_done(log, entry.id)
    return Restoration(
        outcomes=outcomes,
        fallback=fallback,
        fallback_error=error,
        unreverted=len(undo.pending_entries(log)),
        target=target,
        started=started,
        finished=time.time(),
    )


def _fallback(target: Target, timeout_s: float) -> tuple[str | None, str | None, Target]:
    server_alive = target.lab is None or all(
        p.alive() for p in target.lab.processes if p.name == "toxiproxy"
    )
    problems = []
    if server_alive:
        try:
            ToxiproxyClient(target.toxiproxy_url, timeout_s=timeout_s).reset()
            return "/reset", None, target
        except ToxiproxyError as exc:
            problems.append(f"/reset: {exc}")
    if target.lab is not None:
        try:
            owner = target.lab.directory if target.ephemeral else None
            lab = restart_toxiproxy(target.lab, owner)
            return "toxiproxy restarted", "; ".join(problems) or None, replace(target, lab=lab)
        except LabError as exc:
            problems.append(f"restart: {exc}")
    return None, "; ".join(problems), target
