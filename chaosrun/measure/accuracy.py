"""Accuracy of the reported recovery figures against ground truth from outside (test and bench).

An outage whose start S and end E are set from outside the measurement is driven under chaosrun's
own open-loop load; the figures a run reports (`analyse_recovery`: `ttd_s`, `rto_s`,
`recovery_after_clear_s`) are compared with a truth that does not share their definition (no SLO,
no trailing window), read from what the failing service itself saw:

- TTD truth: the first request the failing service failed at or after S, minus S (about 0);
- RTO truth: the moment the service served OK again, minus S. For a lab dependency failed with
  `fail_for` that is its own end E; behind a load balancer it is the first request a backend
  answered OK at or after E (health checks may hold the backends out of rotation after E: that
  delay is the service's);
- recovery-after-clear truth: that moment minus E.

`lab_outage` runs one such outage on a lab dependency (loaded through its Toxiproxy proxy);
`drive_outage` is the same loop for any target that can schedule its own outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.checks.observation import FaultWindow
from chaosrun.engine.loadproc import start_load
from chaosrun.fetch import fetch_json
from chaosrun.lab.failure import start_failure
from chaosrun.lab.lab import LabInfo
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.measure.recovery import analyse_recovery
from chaosrun.measure.sli import SloSpec
from chaosrun.measure.timeline import RequestRecord, read_timeline
from chaosrun.model import LoadSpec

__all__ = [
    "FIGURES",
    "Figures",
    "GroundTruth",
    "OutageRun",
    "drive_outage",
    "figure_errors",
    "lab_outage",
    "reported_figures",
    "truth_from_arrivals",
]

FIGURES = ("ttd_s", "rto_s", "recovery_after_clear_s")


@dataclass(frozen=True, slots=True)
class Figures:
    """Seconds; None when not measured (no breach seen, or not recovered within the timeline)."""

    ttd_s: float | None
    rto_s: float | None
    recovery_after_clear_s: float | None

    def get(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """An outage as the failing service saw it (epoch seconds)."""

    start: float  # S: the outage began (set from outside)
    end: float  # E: the outage's cause ended (set from outside)
    first_failed: float | None  # the first request failed at or after S
    served_ok: float | None  # the moment the service served OK again

    @property
    def figures(self) -> Figures:
        return Figures(
            ttd_s=None if self.first_failed is None else self.first_failed - self.start,
            rto_s=None if self.served_ok is None else self.served_ok - self.start,
            recovery_after_clear_s=None if self.served_ok is None else self.served_ok - self.end,
        )


def truth_from_arrivals(
    start: float,
    end: float,
    arrivals: Iterable[tuple[float, bool]],
    served_ok: float | None = None,
) -> GroundTruth:
    """`arrivals`: (arrival epoch, answered ok) of the data requests the failing service got.

    `served_ok` defaults to the first request answered OK at or after `end`."""
    ordered = sorted(arrivals)
    first_failed = next((at for at, ok in ordered if at >= start and not ok), None)
    if served_ok is None:
        served_ok = next((at for at, ok in ordered if at >= end and ok), None)
    return GroundTruth(start, end, first_failed, served_ok)


def reported_figures(
    records: Sequence[RequestRecord],
    truth: GroundTruth,
    window_s: float,
    *,
    kind: str = "outage",
    target: str = "service",
    availability: float = 0.99,
    stability_s: float = 2.0,
) -> Figures:
    """The figures exactly as a run reports them for a fault window [S, E)."""
    recovery = analyse_recovery(
        records,
        [FaultWindow(kind, target, injected_at=truth.start, cleared_at=truth.end)],
        SloSpec(availability=availability, latency=(), window_s=window_s),
        stability_s=stability_s,
    )
    return Figures(recovery.ttd_s, recovery.rto_s, recovery.recovery_after_clear_s)


def figure_errors(reported: Figures, truth: Figures) -> Figures:
    """reported - truth, per figure (None when either side is missing)."""
    values = []
    for name in FIGURES:
        r, t = reported.get(name), truth.get(name)
        values.append(None if r is None or t is None else r - t)
    return Figures(*values)


@dataclass(frozen=True, slots=True)
class OutageRun:
    records: list[RequestRecord]
    truth: GroundTruth
    interval_s: float  # one request interval: the resolution
    load: dict[str, Any]  # the load process's summary

    @property
    def load_short(self) -> bool:
        return bool(self.load.get("short"))


def drive_outage(
    base_url: str,
    path: str,
    run_dir: Path,
    inject: Callable[[], tuple[float, float]],
    *,
    rate: float,
    lead_s: float,
    tail_s: float,
    outage_s: float,
) -> tuple[list[RequestRecord], float, float, dict[str, Any]]:
    """Load `base_url + path` open-loop; after `lead_s`, `inject()` schedules the outage and
    returns its (S, E); keep loading until E + `tail_s`. Returns (timeline, S, E, load summary)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = LoadSpec(rate=rate, endpoints=((path, 1.0),), seed=1, timeout_s=1.0)
    load = start_load(spec, base_url, run_dir, lead_s + outage_s + tail_s + 3.0)
    try:
        if not load.wait_first_records(10.0):
            raise RuntimeError(f"load produced nothing; see {run_dir / 'load.log'}")
        time.sleep(lead_s)
        start, end = inject()
        time.sleep(max(0.0, end + tail_s - time.time()))
    finally:
        summary = load.stop()
    return read_timeline(load.timeline), start, end, summary


def lab_outage(
    lab: LabInfo,
    run_dir: Path,
    duration_ms: int,
    *,
    rate: float = 200.0,
    lead_s: float = 2.0,
    tail_s: float = 3.0,
    proxy: str = "catalog",
) -> OutageRun:
    """The lab dependency behind `proxy` fails for exactly `duration_ms` (`start_failure`, decided
    in its own process) while the load hits it through its proxy (`/item`); the truth is the
    window it reports and the arrivals it recorded (`/_stats`)."""
    client = ToxiproxyClient(lab.toxiproxy_url)
    listen = next(p.listen for p in lab.proxies if p.name == proxy)
    upstream = f"http://{client.proxy(proxy).upstream}"
    fetch_json(f"{upstream}/_stats/reset", "POST", timeout_s=5.0)

    def inject() -> tuple[float, float]:
        window = start_failure(client, proxy, duration_ms)
        return float(window["start"]), float(window["end"])

    records, start, end, summary = drive_outage(
        f"http://{listen}",
        "/item",
        run_dir,
        inject,
        rate=rate,
        lead_s=lead_s,
        tail_s=tail_s,
        outage_s=duration_ms / 1000.0,
    )
    stats = fetch_json(f"{upstream}/_stats", timeout_s=5.0)
    arrivals = [(float(a["wall"]), not a["failed"]) for a in stats["arrivals"]]
    truth = truth_from_arrivals(start, end, arrivals, served_ok=end)
    return OutageRun(records, truth, 1.0 / rate, summary)
