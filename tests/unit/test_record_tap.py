"""chaosrun.record.tap: HTTP/1.x exchanges followed from the bytes each way (no sockets)."""

from __future__ import annotations

import itertools

from chaosrun.record.tap import Exchange, HttpTap


def _tap() -> HttpTap:
    ticks = itertools.count(100)
    return HttpTap(7, lambda: float(next(ticks)))


GET = (
    b"GET /catalog/1 HTTP/1.1\r\nHost: x\r\nX-Chaosrun-Request: r-1\r\n"
    b"X-Chaosrun-Attempt: 2\r\n\r\n"
)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_a_kept_alive_connection_records_each_exchange_with_its_headers() -> None:
    tap = _tap()
    tap.from_client(GET)
    assert tap.from_upstream(OK[:10]) == []  # the response is not over yet
    first = tap.from_upstream(OK[10:])
    assert first == [Exchange(7, 100.0, "GET", "/catalog/1", "r-1", 2, 200, 101.0)]
    tap.from_client(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    second = tap.from_upstream(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
    assert second == [Exchange(7, 102.0, "GET", "/health", None, None, 503, 103.0)]
    assert tap.closed() == []


def test_request_bodies_chunked_responses_and_split_bytes() -> None:
    tap = _tap()
    post = b"POST /play HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    for i in range(len(post)):  # one byte at a time
        tap.from_client(post[i : i + 1])
    chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    done = tap.from_upstream(chunked)
    assert [(e.method, e.path, e.status) for e in done] == [("POST", "/play", 201)]
    assert done[0].started == 100.0  # the first byte, not the last


def test_pipelined_requests_are_matched_to_their_responses_in_order() -> None:
    tap = _tap()
    tap.from_client(GET + b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
    done = tap.from_upstream(OK + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert [(e.path, e.status) for e in done] == [("/catalog/1", 200), ("/two", 404)]


def test_a_connection_closed_before_the_response_leaves_an_exchange_without_status() -> None:
    tap = _tap()
    tap.from_client(GET)
    tap.from_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    (cut,) = tap.closed()
    assert (cut.path, cut.status, cut.ended) == ("/catalog/1", None, None)


def test_traffic_that_is_not_http_stops_the_parsing_only() -> None:
    tap = _tap()
    tap.from_client(b"*1\r\n$4\r\nPING\r\n")  # Redis
    assert tap.parsing is False
    assert tap.from_upstream(b"+PONG\r\n") == []
    assert tap.closed() == []
