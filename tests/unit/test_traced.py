"""chaosrun.checks._traced: a dependency's calls traced from the load's request ids."""

from __future__ import annotations

from chaosrun.checks._traced import ANSWER_S, TracedCalls, trace_calls
from chaosrun.checks.observation import Arrival
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0


def _request(at: float, latency_ms: float, request_id: str, path: str = "/a") -> RequestRecord:
    return RequestRecord(T0 + at, T0 + at, latency_ms, 200, "", path, request_id=request_id)


def test_a_call_spans_its_first_arrival_to_just_before_the_answer_at_the_client() -> None:
    timeline = [_request(0.0, 500.0, "t-1"), _request(0.1, 150.0, "t-2")]
    arrivals = [
        Arrival(T0 + 0.25, "/x", True, "t-1", attempt=2),  # a retry, recorded first
        Arrival(T0 + 0.01, "/x", True, "t-1", attempt=1),
        Arrival(T0 + 0.11, "/x", False, "t-2"),
        Arrival(T0 + 0.3, "/x", False, "gateway-own-9"),  # no request of the load
        Arrival(T0 + 0.31, "/x", False, None),  # no id at all
    ]
    traced = trace_calls(timeline, arrivals, ["/a"])
    assert traced == TracedCalls(
        reached={"t-1": T0 + 0.01, "t-2": T0 + 0.11, "gateway-own-9": T0 + 0.3},
        starts=(T0 + 0.01, T0 + 0.11),
        ends=(T0 + 0.1 + 0.15 - ANSWER_S, T0 + 0.5 - ANSWER_S),
    )
    assert [traced.in_flight(T0 + x) for x in (0.0, 0.01, 0.11, 0.2, 0.449, 0.45)] == [
        0,
        1,
        2,
        1,
        1,
        0,
    ]
    assert traced.max_in_flight == 2


def test_requests_on_other_endpoints_are_not_its_calls() -> None:
    timeline = [_request(0.0, 500.0, "t-1", "/other"), _request(0.1, 150.0, "t-2")]
    arrivals = [Arrival(T0 + 0.01, "/x", False, "t-1"), Arrival(T0 + 0.11, "/x", False, "t-2")]
    traced = trace_calls(timeline, arrivals, ["/a"])
    assert traced is not None
    assert (traced.starts, traced.max_in_flight) == ((T0 + 0.11,), 1)


def test_a_span_never_ends_before_it_starts() -> None:
    # An answer within ANSWER_S of the arrival (or two processes' clocks read a hair apart).
    traced = trace_calls(
        [_request(0.0, 1.0, "t-1")], [Arrival(T0 + 0.002, "/x", False, "t-1")], ["/a"]
    )
    assert traced is not None and traced.ends == (T0 + 0.002,)


def test_arrivals_without_any_request_id_of_the_load_cannot_be_traced() -> None:
    timeline = [_request(0.0, 5.0, "t-1")]
    assert trace_calls(timeline, [Arrival(T0 + 0.001, "/x", False, None)], ["/a"]) is None
    assert trace_calls(timeline, [Arrival(T0 + 0.001, "/x", False, "own-1")], ["/a"]) is None


def test_nothing_reached_is_traceable_with_nothing_in_flight() -> None:
    traced = trace_calls([_request(0.0, 5.0, "t-1")], [], ["/a"])
    assert traced == TracedCalls({}, (), ())
    assert traced.max_in_flight == 0
