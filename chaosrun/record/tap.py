"""Follow one relayed connection's HTTP/1.x exchanges from the bytes that pass each way (pure).

The relay forwards bytes verbatim; the tap only reads them, with h11 (a sans-I/O HTTP/1.1
parser): a server-role parser over what the client sent, a client-role one over what the
upstream answered (each request seen is "sent" on it, so it knows which response to expect).
An exchange is complete when its response ended; a connection closed before that leaves it with
no status. Traffic that is not HTTP stops the parsing for that connection (the bytes still flow).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import h11

__all__ = ["ATTEMPT_HEADER", "CONTROL_HEADER", "REQUEST_HEADER", "Exchange", "HttpTap"]

_METHOD = re.compile(rb"[A-Z]{1,16}( .*)?", re.S)  # how an HTTP/1.x request starts
REQUEST_HEADER = b"x-chaosrun-request"
ATTEMPT_HEADER = b"x-chaosrun-attempt"
CONTROL_HEADER = b"x-chaosrun-control"  # chaosrun's own calls (a lab failure window), not traffic


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request as it reached the upstream, and its response as it went back."""

    connection: int
    started: float  # the request's first byte passed the relay (epoch s)
    method: str
    path: str
    request_id: str | None
    attempt: int | None
    status: int | None  # None: the connection closed before a response
    ended: float | None  # the response's last byte passed the relay
    control: bool = False  # sent by chaosrun itself (`CONTROL_HEADER`), not by the service

    def to_json(self) -> dict[str, object]:
        extra: dict[str, object] = {"control": True} if self.control else {}
        return {
            **extra,
            "connection": self.connection,
            "started": round(self.started, 6),
            "method": self.method,
            "path": self.path,
            "request_id": self.request_id,
            "attempt": self.attempt,
            "status": self.status,
            "ended": None if self.ended is None else round(self.ended, 6),
        }


@dataclass(slots=True)
class _Pending:
    started: float
    request: h11.Request
    status: int | None = None


class HttpTap:
    def __init__(self, connection: int, clock: Callable[[], float]) -> None:
        self.connection = connection
        self._clock = clock
        self._requests = h11.Connection(h11.SERVER)
        self._responses = h11.Connection(h11.CLIENT)
        self._pending: list[_Pending] = []
        self._first_byte: float | None = None
        self._seen = 0
        self.parsing = True

    def from_client(self, data: bytes) -> None:
        if not self.parsing:
            return
        if self._seen == 0 and data and not _METHOD.fullmatch(data[:17]):
            self.parsing = False  # not HTTP (h11 would wait for a blank line that never comes)
            return
        self._seen += len(data)
        if self._first_byte is None and data:
            self._first_byte = self._clock()
        try:
            self._requests.receive_data(data)
            self._drain_requests()
        except (h11.ProtocolError, ValueError):
            self.parsing = False

    def from_upstream(self, data: bytes) -> list[Exchange]:
        if not self.parsing:
            return []
        try:
            self._responses.receive_data(data)
            return self._drain_responses()
        except (h11.ProtocolError, ValueError):
            self.parsing = False
            return []

    def closed(self) -> list[Exchange]:
        """Exchanges the connection's end cut short: requests that got no complete response."""
        left = [self._exchange(p, None) for p in self._pending]
        self._pending.clear()
        return left

    def _drain_requests(self) -> None:
        while True:
            if self._responses.our_state is h11.DONE and self._pending:
                return  # the previous request's response is still on its way
            event = self._requests.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                started = self._first_byte if self._first_byte is not None else self._clock()
                self._pending.append(_Pending(started, event))
                self._first_byte = None
            if isinstance(event, h11.Request | h11.Data | h11.EndOfMessage):
                self._responses.send(event)
            if isinstance(event, h11.ConnectionClosed):
                return

    def _drain_responses(self) -> list[Exchange]:
        done: list[Exchange] = []
        while True:
            event = self._responses.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return done
            if isinstance(event, h11.Response | h11.InformationalResponse) and self._pending:
                if isinstance(event, h11.Response):
                    self._pending[0].status = event.status_code
            elif isinstance(event, h11.EndOfMessage) and self._pending:
                pending = self._pending.pop(0)
                done.append(self._exchange(pending, self._clock()))
                self._next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return done

    def _next_cycle(self) -> None:
        """Both parsers move to the next exchange of a kept-alive connection."""
        if self._responses.our_state is h11.DONE and self._responses.their_state is h11.DONE:
            self._responses.start_next_cycle()
        if self._requests.their_state is h11.DONE:
            self._requests.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
            self._requests.send(h11.EndOfMessage())
            if self._requests.our_state is h11.DONE:
                self._requests.start_next_cycle()
        self._drain_requests()

    def _exchange(self, pending: _Pending, ended: float | None) -> Exchange:
        headers = dict(pending.request.headers)
        attempt = headers.get(ATTEMPT_HEADER)
        request_id = headers.get(REQUEST_HEADER)
        return Exchange(
            connection=self.connection,
            started=pending.started,
            method=pending.request.method.decode("ascii", "replace"),
            path=pending.request.target.decode("ascii", "replace"),
            request_id=request_id.decode("ascii", "replace") if request_id else None,
            attempt=int(attempt) if attempt and attempt.isdigit() else None,
            status=pending.status if ended is not None else None,
            ended=ended,
            control=CONTROL_HEADER in headers,
        )
