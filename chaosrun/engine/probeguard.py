"""Stop conditions that run a Chaos Toolkit probe on a timer, in a supervisor thread.

Each probe runs in its own daemon thread every `every_s` seconds; the supervisor's loop reads the
latest verdicts with `poll`. A probe that raises (an HTTP timeout, a refused connection) is out of
tolerance. A probe stuck longer than `every_s + timeout` counts as out of tolerance too, so a hung
dependency cannot keep a safeguard silent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaosrun.engine.safeguards import BreachClock, Firing
from chaosrun.model import ProbeGuard

__all__ = ["ProbeMonitor"]

_STUCK_SLACK_S = 5.0


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    text: str
    at: float


class _ProbeLoop(threading.Thread):
    def __init__(
        self,
        guard: ProbeGuard,
        configuration: dict[str, Any],
        secrets: dict[str, Any],
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"safeguard {guard.name}", daemon=True)
        self.guard = guard
        self.configuration = configuration
        self.secrets = secrets
        self.stop_event = stop
        self.latest: _Verdict | None = None
        self.started_check: float | None = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.started_check = time.time()
            self.latest = self._check()
            self.started_check = None
            self.stop_event.wait(self.guard.every_s)

    def _check(self) -> _Verdict:
        from chaoslib.activity import run_activity
        from chaoslib.hypothesis import within_tolerance

        probe = dict(self.guard.probe)
        try:
            value = run_activity(probe, self.configuration, self.secrets)
        except Exception as exc:  # any failure of the probe is a failed check
            return _Verdict(False, f"probe failed: {type(exc).__name__}: {exc}", time.time())
        try:
            ok = bool(within_tolerance(probe["tolerance"], value, self.configuration, self.secrets))
        except Exception as exc:
            return _Verdict(False, f"tolerance check failed: {exc}", time.time())
        shown = str(value)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        return _Verdict(ok, f"probe returned {shown}, outside its tolerance", time.time())


class ProbeMonitor:
    def __init__(
        self,
        guards: tuple[ProbeGuard, ...],
        document: Mapping[str, Any],
        configuration: dict[str, Any],
    ) -> None:
        from chaoslib.configuration import load_configuration
        from chaoslib.secret import load_secrets

        config = load_configuration({**dict(document.get("configuration") or {}), **configuration})
        secrets = load_secrets(dict(document.get("secrets") or {}), config)
        self._stop = threading.Event()
        self._loops = [_ProbeLoop(g, config, secrets, self._stop) for g in guards]
        self._clock = BreachClock()

    def start(self) -> None:
        for loop in self._loops:
            loop.start()

    def poll(self, now: float) -> Firing | None:
        for loop in self._loops:
            guard = loop.guard
            verdict = loop.latest
            began = loop.started_check
            timeout = float(guard.probe.get("provider", {}).get("timeout") or 0) or 3.0
            if began is not None and now - began > guard.every_s + timeout + _STUCK_SLACK_S:
                verdict = _Verdict(False, f"probe stuck for {now - began:.1f} s", now)
            if verdict is None:
                continue
            since = self._clock.update(guard.name, not verdict.ok, verdict.at, guard.for_s)
            if since is not None:
                return Firing(guard.name, "probe", verdict.text, since, now)
        return None

    def close(self) -> None:
        self._stop.set()
