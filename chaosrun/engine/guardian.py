"""Everything the supervisor watches while the worker runs, polled from its loop.

The declared stop conditions (live SLIs, probes) and the infrastructure (Toxiproxy, the target)
each may fire; the first `Firing` aborts the run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaosrun.engine.livesli import LiveReading, LiveSli
from chaosrun.engine.probeguard import ProbeMonitor
from chaosrun.engine.safeguards import Firing, SliMonitor
from chaosrun.engine.target import Target
from chaosrun.engine.watchdog import (
    ConnectionRefusals,
    ToxiproxyWatch,
    load_process_exited,
    relay_exited,
)
from chaosrun.lab.procs import ProcessRef
from chaosrun.measure.timeline import TimelineTail
from chaosrun.model import Experiment, ProbeGuard, SliGuard

__all__ = ["Guardian"]


class Guardian:
    def __init__(
        self,
        experiment: Experiment,
        target: Target,
        timeline: Path | None,
        rate: float,
        configuration: dict[str, Any],
        load: ProcessRef | None = None,
        relay: ProcessRef | None = None,
    ) -> None:
        spec = experiment.chaosrun
        now = time.time()
        self.target = target
        self.load = load
        self.relay = relay
        self._tail = TimelineTail(timeline) if timeline is not None else None
        sli_guards = tuple(g for g in spec.abort_when if isinstance(g, SliGuard))
        probe_guards = tuple(g for g in spec.abort_when if isinstance(g, ProbeGuard))
        availability = spec.slo.availability if spec.slo else None
        self._sli = SliMonitor(sli_guards, rate, availability, now) if sli_guards else None
        self._probes = (
            ProbeMonitor(probe_guards, experiment.document, configuration) if probe_guards else None
        )
        self._refusals = ConnectionRefusals(target.service_url)
        self._live = LiveSli(rate) if timeline is not None else None
        self.readings: list[LiveReading] = []  # taken by the supervisor's loop after each poll
        self._toxiproxies = [ToxiproxyWatch(url) for url in target.toxiproxy_urls]

    def start(self) -> None:
        for watch in self._toxiproxies:
            watch.start()
        if self._probes is not None:
            self._probes.start()

    def poll(self, now: float) -> Firing | None:
        fresh = self._tail.read_new() if self._tail is not None else []
        self._refusals.add(fresh)
        reading = self._live.reading(now, fresh) if self._live is not None else None
        if reading is not None:
            self.readings.append(reading)
        return (
            self.target.watch(now)
            or (load_process_exited(self.load, now) if self.load is not None else None)
            or (relay_exited(self.relay, now) if self.relay is not None else None)
            or next((f for w in self._toxiproxies if (f := w.poll(now)) is not None), None)
            or self._refusals.poll(now)
            or (self._sli.poll(now, fresh) if self._sli is not None else None)
            or (self._probes.poll(now) if self._probes is not None else None)
        )

    def close(self) -> None:
        for watch in self._toxiproxies:
            watch.close()
        if self._probes is not None:
            self._probes.close()
