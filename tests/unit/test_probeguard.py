"""Probe stop conditions: a real Chaos Toolkit python probe, run on a timer in a thread."""

from __future__ import annotations

import time

from chaosrun.engine.probeguard import ProbeMonitor
from chaosrun.model import ProbeGuard

STATE = {"value": 0}


def current_value() -> int:
    """The probe under test (Chaos Toolkit imports this module and calls it)."""
    return STATE["value"]


def failing_probe() -> int:
    raise ConnectionError("refused")


def _guard(func: str, for_s: float = 0.0) -> ProbeGuard:
    probe = {
        "type": "probe",
        "name": "value",
        "tolerance": {"type": "range", "range": [0, 10]},
        "provider": {"type": "python", "module": __name__, "func": func},
    }
    return ProbeGuard(f"probe {func}", probe, every_s=0.05, for_s=for_s)


def _poll_for(monitor: ProbeMonitor, seconds: float) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        firing = monitor.poll(time.time())
        if firing is not None:
            return firing
        time.sleep(0.02)
    return None


def test_in_tolerance_stays_quiet_and_out_of_tolerance_fires() -> None:
    STATE["value"] = 5
    monitor = ProbeMonitor((_guard("current_value"),), {}, {})
    monitor.start()
    try:
        assert _poll_for(monitor, 0.5) is None
        STATE["value"] = 50
        firing = _poll_for(monitor, 2.0)
    finally:
        monitor.close()
    assert firing is not None
    assert firing.kind == "probe"  # type: ignore[attr-defined]
    assert firing.reason == (  # type: ignore[attr-defined]
        "safeguard 'probe current_value' fired: probe returned 50, outside its tolerance"
    )


def test_a_probe_that_raises_is_out_of_tolerance() -> None:
    monitor = ProbeMonitor((_guard("failing_probe"),), {}, {})
    monitor.start()
    try:
        firing = _poll_for(monitor, 2.0)
    finally:
        monitor.close()
    assert firing is not None
    assert "probe failed: ActivityFailed: ConnectionError: refused" in firing.reason  # type: ignore[attr-defined]


def test_for_s_needs_failures_spanning_that_long() -> None:
    STATE["value"] = 50
    monitor = ProbeMonitor((_guard("current_value", for_s=0.4),), {}, {})
    monitor.start()
    started = time.monotonic()
    try:
        firing = _poll_for(monitor, 3.0)
    finally:
        monitor.close()
    assert firing is not None
    assert time.monotonic() - started >= 0.4
