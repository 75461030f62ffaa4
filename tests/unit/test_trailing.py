"""chaosrun.measure.trailing: the live trailing window, with unanswered requests counted as slow.

Times are T0 plus binary fractions, so every window edge below is exact.
"""

from __future__ import annotations

from chaosrun.measure.timeline import RequestRecord
from chaosrun.measure.trailing import TrailingSli, trailing_sli
from tests.unit.timelines import T0

NOW = T0 + 10.0  # window_s=1, margin_s=0.5: the window is [T0 + 8.5, T0 + 9.5)


def _record(
    rel: float,
    latency_ms: float,
    *,
    status: int = 200,
    endpoint: str = "/a",
    degraded: bool = False,
) -> RequestRecord:
    return RequestRecord(T0 + rel, T0 + rel, latency_ms, status, "", endpoint, degraded)


RECORDS = [
    _record(8.25, 900.0),  # before the window
    _record(8.5, 30.0),  # on its start: in
    _record(9.0, 10.0, status=503),
    _record(9.25, 20.0, endpoint="/b", degraded=True),
    _record(9.5, 800.0),  # on its end: out (not answered yet as far as the window is concerned)
]


def test_all_endpoints_without_a_rate() -> None:
    sli = trailing_sli(RECORDS, NOW, 1.0, 0.5, None)
    assert sli == TrailingSli(
        start=T0 + 8.5,
        end=T0 + 9.5,
        requests=3,
        expected=None,  # no rate: nothing is known to be missing
        ok=2,
        degraded=1,
        latencies_ms=(10.0, 20.0, 30.0),
    )
    assert (sli.unanswered, sli.errors, sli.availability) == (0, 1, 2 / 3)
    assert sli.percentile_ms(0.5) == 20.0  # rank ceil(1.5) = 2


def test_one_endpoint_has_no_expected_count_even_with_a_rate() -> None:
    sli = trailing_sli(RECORDS, NOW, 1.0, 0.5, 4.0, endpoint="/b")
    assert sli == TrailingSli(T0 + 8.5, T0 + 9.5, 1, None, 1, 1, (20.0,))
    assert sli.unanswered == 0


def test_missing_requests_count_as_the_margin_in_latency_only() -> None:
    # 4 req/s over the 1 s window: 4 expected, 3 arrived; the missing one is 500 ms slow so far.
    sli = trailing_sli(RECORDS, NOW, 1.0, 0.5, 4.0)
    assert sli == TrailingSli(T0 + 8.5, T0 + 9.5, 3, 4, 2, 1, (10.0, 20.0, 30.0, 500.0))
    assert (sli.unanswered, sli.availability) == (1, 2 / 3)
    assert sli.percentile_ms(1.0) == 500.0


def test_load_started_inside_the_window_shortens_the_expected_span() -> None:
    # The load began at T0 + 9.0: only 0.5 s of the window can hold requests, 4 req/s x 0.5 = 2.
    sli = trailing_sli(RECORDS, NOW, 1.0, 0.5, 4.0, load_started=T0 + 9.0)
    assert (sli.expected, sli.unanswered, sli.latencies_ms) == (2, 0, (10.0, 20.0, 30.0))


def test_an_empty_window_has_no_percentile_or_availability() -> None:
    sli = trailing_sli([], NOW, 1.0, 0.5, None)
    assert sli == TrailingSli(T0 + 8.5, T0 + 9.5, 0, None, 0, 0, ())
    assert (sli.percentile_ms(0.99), sli.availability, sli.errors) == (None, None, 0)
