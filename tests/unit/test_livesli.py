"""chaosrun.engine.livesli: one reading a second over the trailing second, shown not judged."""

from __future__ import annotations

from chaosrun.engine.livesli import LiveSli
from tests.unit.timelines import T0, failed, ok


def test_one_reading_per_second_over_the_trailing_second() -> None:
    live = LiveSli(rate=100)
    records = [ok(T0 + i / 100, degraded=i >= 150) for i in range(200)]
    records[120] = failed(T0 + 1.2)
    assert live.reading(T0 + 1.0, records[:100]) is None  # not a full window yet
    first = live.reading(T0 + 1.25, records[100:125])
    assert first is not None
    # [0.0, 1.0): 100 requests, all ok and fast
    assert (first.at_s, first.requests, first.availability, first.degraded) == (1.0, 100, 1.0, 0)
    assert live.reading(T0 + 2.0, records[125:]) is None  # the next one is due at 2.25
    second = live.reading(T0 + 2.25, [])
    assert second is not None
    # [1.0, 2.0): 100 requests, the one at 1.2 failed, 50 degraded from 1.5
    assert (second.at_s, second.requests, second.availability) == (2.0, 100, 0.99)
    assert second.degraded == 50
    assert second.to_event()["event"] == "sli"


def test_no_reading_before_the_load_answers() -> None:
    assert LiveSli(rate=100).reading(T0 + 5.0, []) is None
