"""Infrastructure the run depends on: the Toxiproxy API and the target service.

- Toxiproxy: a thread lists the proxies (the call that takes the server's lock, so an API wedged
  like Toxiproxy issue #558 shows up) every `every_s`; no answer for `unreachable_after_s` fires.
  A lab's server process that exited fires at once.
- Target: a lab process that exited fires at once; for any target with load, a streak of refused
  connections from the load over `refused_for_s` fires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from chaosrun.engine.safeguards import Firing
from chaosrun.lab.lab import LabInfo
from chaosrun.lab.procs import ProcessRef
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.measure.timeline import RequestRecord

__all__ = ["ConnectionRefusals", "ToxiproxyWatch", "lab_process_exited", "load_process_exited"]


class ToxiproxyWatch(threading.Thread):
    def __init__(self, url: str, every_s: float = 0.25, unreachable_after_s: float = 2.0) -> None:
        super().__init__(name="toxiproxy watch", daemon=True)
        self.url = url
        self.every_s = every_s
        self.unreachable_after_s = unreachable_after_s
        self._client = ToxiproxyClient(url, timeout_s=max(0.5, unreachable_after_s / 2))
        self._stop = threading.Event()
        self.last_ok = time.time()
        self.last_error = ""

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._client.proxies()
                self.last_ok = time.time()
            except Exception as exc:  # refused, timed out, garbage: all mean unreachable
                self.last_error = str(exc)
            self._stop.wait(self.every_s)

    def poll(self, now: float) -> Firing | None:
        silent = now - self.last_ok
        if silent < self.unreachable_after_s:
            return None
        detail = f" ({self.last_error})" if self.last_error else ""
        observed = f"toxiproxy unreachable: no answer from {self.url} for {silent:.1f} s{detail}"
        return Firing("toxiproxy reachable", "toxiproxy", observed, self.last_ok, now)

    def close(self) -> None:
        self._stop.set()


def lab_process_exited(lab: LabInfo, now: float) -> Firing | None:
    for ref in lab.processes:
        if not ref.alive():
            if ref.name == "toxiproxy":
                observed = f"toxiproxy unreachable: its server (pid {ref.pid}) exited"
                return Firing("toxiproxy reachable", "toxiproxy", observed, now, now)
            observed = f"target crashed: lab process {ref.name} (pid {ref.pid}) exited"
            return Firing("target alive", "target", observed, now, now)
    return None


def load_process_exited(load: ProcessRef, now: float) -> Firing | None:
    """Without its load the run is blind: no live SLI, no stop condition, no measurement."""
    if load.alive():
        return None
    observed = f"load process (pid {load.pid}) exited: live SLIs and stop conditions are blind"
    return Firing("load alive", "load", observed, now, now)


def relay_exited(relay: ProcessRef, now: float) -> Firing | None:
    """The proxies point at the recording relay: without it the dependencies are cut off."""
    if relay.alive():
        return None
    observed = f"recording relay (pid {relay.pid}) exited: the dependencies behind it are cut off"
    return Firing("relay alive", "relay", observed, now, now)


class ConnectionRefusals:
    """Whether every request completed over the last `refused_for_s` had its connection refused."""

    def __init__(self, service_url: str, refused_for_s: float = 1.0, min_requests: int = 3) -> None:
        self.service_url = service_url
        self.refused_for_s = refused_for_s
        self.min_requests = min_requests
        self._streak_since: float | None = None
        self._streak = 0

    def add(self, records: Iterable[RequestRecord]) -> None:
        for r in records:
            if r.error == "connect":
                if self._streak_since is None:
                    self._streak_since = r.scheduled
                self._streak += 1
            else:
                self._streak_since, self._streak = None, 0

    def poll(self, now: float) -> Firing | None:
        since = self._streak_since
        if since is None or self._streak < self.min_requests or now - since < self.refused_for_s:
            return None
        observed = (
            f"target unreachable: {self.service_url} refused every connection "
            f"for {now - since:.1f} s ({self._streak} requests)"
        )
        return Firing("target alive", "target", observed, since, now)
