"""chaosrun.record.read: the relay's JSON lines -> arrivals and concurrency per dependency."""

from __future__ import annotations

import json

from chaosrun.checks.observation import Arrival
from chaosrun.record.read import RouteRecord, read_recording


def _line(**fields: object) -> str:
    return json.dumps(fields)


def test_exchanges_become_arrivals_per_route_in_arrival_order() -> None:
    lines = [
        _line(route="catalog", open=1, at=9.0),
        _line(
            route="catalog",
            connection=1,
            started=10.2,
            method="GET",
            path="/catalog",
            request_id="r-1",
            attempt=2,
            status=503,
            ended=10.25,
        ),
        _line(
            route="catalog",
            connection=1,
            started=10.0,
            method="GET",
            path="/catalog",
            request_id="r-1",
            attempt=1,
            status=200,
            ended=10.1,
        ),
        _line(route="auth", open=2, at=9.5),
    ]
    found = read_recording(lines)
    assert found == {
        "catalog": RouteRecord(
            arrivals=(
                Arrival(10.0, "/catalog", False, "r-1", 1, 10.1),
                Arrival(10.2, "/catalog", True, "r-1", 2, 10.25),
            ),
            max_in_flight=1,
            connections=1,
        ),
        "auth": RouteRecord((), 0, 1),
    }


def test_chaosrun_control_calls_torn_lines_and_routeless_lines_are_left_out() -> None:
    lines = [
        _line(
            route="catalog",
            connection=1,
            started=1.0,
            path="/_fail",
            status=200,
            ended=1.1,
            control=True,
        ),
        '{"route": "catalog", "connection": 1, "started": 2.0, "pa',
        _line(connection=1, started=3.0, path="/x", status=200, ended=3.1),
        "not json",
    ]
    assert read_recording(lines) == {}


def test_an_unanswered_request_failed_and_counts_in_flight_until_its_connection_closed() -> None:
    lines = [
        _line(route="d", open=1, at=0.9),
        _line(route="d", open=2, at=0.9),
        # Connection 1: a request never answered; its connection closes at 3.0.
        _line(route="d", connection=1, started=1.0, path="/a", status=None, ended=None),
        _line(route="d", close=1, at=3.0),
        # Connection 2: answered between 2.0 and 2.5: overlaps the unanswered one.
        _line(route="d", connection=2, started=2.0, path="/b", status=200, ended=2.5),
        # Then one starting exactly when the answered one ended: its slot was freed first.
        _line(route="d", connection=2, started=2.5, path="/c", status=200, ended=2.6),
    ]
    record = read_recording(lines)["d"]
    assert [(a.path, a.failed) for a in record.arrivals] == [
        ("/a", True),
        ("/b", False),
        ("/c", False),
    ]
    assert (record.max_in_flight, record.connections) == (2, 2)


def test_concurrency_is_the_most_answers_outstanding_at_once() -> None:
    spans = [(0.0, 1.0), (0.1, 0.5), (0.2, 0.3), (0.6, 0.9), (1.5, 1.6)]
    lines = [
        _line(route="d", connection=i, started=s, path="/", status=200, ended=e)
        for i, (s, e) in enumerate(spans)
    ]
    assert read_recording(lines)["d"].max_in_flight == 3


def test_fields_are_read_strictly_and_status_500_is_the_first_failure() -> None:
    lines = [
        _line(
            route="d", connection=1, started=1.0, path="/_fail", status=200, ended=1.1, control=True
        ),  # chaosrun's own call: left out, the lines after it still read
        _line(route="d", connection=1, started=2.0, status=500, ended=2.1, request_id=5, attempt=0),
        _line(
            route="d",
            connection=1,
            started=3.0,
            path="/x",
            status=499,
            ended=3.1,
            request_id="r",
            attempt=1,
        ),
    ]
    (first, second) = read_recording(lines)["d"].arrivals
    assert first == Arrival(2.0, "", True, None, None, 2.1)
    assert second == Arrival(3.0, "/x", False, "r", 1, 3.1)


def test_an_unanswered_request_counts_in_flight_until_its_own_connection_closed() -> None:
    lines = [
        _line(route="d", connection=1, started=1.0, path="/a", status=None, ended=None),
        _line(route="d", close=1, at=1.5),
        _line(route="d", close=9, at=1.6),  # another connection's close changes nothing
        _line(route="d", connection=2, started=2.0, path="/b", status=200, ended=2.5),
        _line(route="d", connection=3, started=2.1, path="/c", status=200, ended=2.6),
        _line(route="d", open=4, at=3.0),
    ]
    assert read_recording(lines)["d"].max_in_flight == 2  # not 3: connection 1 closed at 1.5


def test_an_unanswered_request_on_a_connection_never_closed_counts_to_the_last_record() -> None:
    lines = [
        _line(route="d", open=1, at=0.9),
        _line(route="d", connection=1, started=1.0, path="/a", status=None, ended=None),
        _line(route="d", connection=2, started=4.0, path="/b", status=200, ended=5.0),
    ]
    assert read_recording(lines)["d"].max_in_flight == 2  # /a was still open at 4.0


def test_each_answer_frees_one_slot() -> None:
    spans = [(0.0, 1.0), (2.0, 3.0), (2.1, 3.1), (2.2, 3.2)]
    lines = [
        _line(route="d", connection=i, started=s, path="/", status=200, ended=e)
        for i, (s, e) in enumerate(spans)
    ]
    assert read_recording(lines)["d"].max_in_flight == 3


def test_a_torn_line_in_the_middle_does_not_end_the_reading() -> None:
    lines = [
        '{"route": "d", "connection": 1, "started": 1.0, "pa',
        _line(route="d", connection=1, started=2.0, path="/x", status=200, ended=2.1),
    ]
    assert [a.at for a in read_recording(lines)["d"].arrivals] == [2.0]
