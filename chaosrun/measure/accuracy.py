"""Ground-truth accuracy of recovery measurement (shared by the test and `make bench`).

The lab dependency fails for exactly X ms from inside its own process while the open-loop load
hits it through its proxy; the impact measured from the timeline is compared with X.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from chaosrun.engine.loadproc import start_load
from chaosrun.lab.failure import start_failure
from chaosrun.lab.lab import LabInfo
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.measure.sli import impact_window
from chaosrun.measure.timeline import read_timeline
from chaosrun.model import LoadSpec

__all__ = ["Trial", "measure_outage"]


@dataclass(frozen=True, slots=True)
class Trial:
    true_s: float  # the dependency's own failure window
    measured_s: float | None  # first bad -> first good after the last bad (scheduled times)
    interval_s: float  # one request interval: the resolution
    bad_requests: int
    load_short: bool

    @property
    def error_s(self) -> float | None:
        return None if self.measured_s is None else self.measured_s - self.true_s


def measure_outage(
    lab: LabInfo, run_dir: Path, duration_ms: int, rate: float = 200.0, proxy: str = "catalog"
) -> Trial:
    """Load the dependency through its proxy, fail it for `duration_ms`, measure the impact."""
    run_dir.mkdir(parents=True, exist_ok=True)
    listen = next(p.listen for p in lab.proxies if p.name == proxy)
    spec = LoadSpec(rate=rate, endpoints=(("/item", 1.0),), seed=1, timeout_s=1.0)
    lead_s, tail_s = 0.5, 0.5
    load = start_load(spec, f"http://{listen}", run_dir, lead_s + duration_ms / 1000 + tail_s + 1)
    try:
        if not load.wait_first_records(10.0):
            raise RuntimeError(f"load produced nothing; see {run_dir / 'load.log'}")
        time.sleep(lead_s)
        window = start_failure(ToxiproxyClient(lab.toxiproxy_url), proxy, duration_ms)
        time.sleep(duration_ms / 1000 + tail_s)
    finally:
        summary = load.stop()
    records = read_timeline(load.timeline)
    impact = impact_window(records, window["start"] - 0.2, window["end"] + tail_s)
    return Trial(
        true_s=float(window["end"]) - float(window["start"]),
        measured_s=None if impact is None else impact.duration_s,
        interval_s=1.0 / rate,
        bad_requests=0 if impact is None else impact.bad,
        load_short=bool(summary.get("short")),
    )
