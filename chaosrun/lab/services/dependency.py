"""A lab dependency (catalog, recommendations, auth, ...): a small aiohttp service.

CLI::

    python -m chaosrun.lab.services.dependency --name NAME --port N [--latency-ms 3] [--host IP]
        [--max-connections N] [--keepalive-requests K]

``--host`` defaults to 127.0.0.1 and is bound exactly.

Readiness: once the socket listens, the process prints exactly one line ``READY <port>`` on stdout
(flushed) and nothing else ever; ``--port 0`` lets the kernel pick a free port, and that line is
how the caller learns it. ``GET /health`` answers 200 from the same moment. SIGTERM/SIGINT -> exit 0
within a second. Logs go to stderr through `logging`.

Endpoints:

- ``GET /health`` -> ``{"status": "ok", "name": ...}``
- ``GET /{anything}`` -> the dependency's JSON answer after its base latency (a 500 while failing).
- ``GET /_stats[?limit=N]`` -> requests, in_flight, max_in_flight, failed, and the recent arrivals
  (ring buffer of the last 10000: ``{"mono", "wall", "path", "failed", "request_id", "attempt"}``;
  ``mono`` is `time.monotonic`, comparable across processes on one Linux host; ``request_id`` and
  ``attempt`` are the gateway's ``X-Chaosrun-Request`` / ``X-Chaosrun-Attempt`` headers, null when
  absent or, for the attempt, not a positive integer) so checks can see retries, their count per
  request and their gaps from the far side. ``dropped`` counts arrivals the ring buffer let go.
- ``POST /_stats/reset`` -> zero the counters and arrivals (in-flight requests stay counted).
- ``POST /_fail?duration_ms=X&mode=error`` -> every data request arriving in the next X ms gets a
  500 at once, decided inside the process: ground truth for recovery-time measurements. The answer
  gives the window (``start``/``end`` epoch seconds, ``start_mono``/``end_mono``). ``duration_ms=0``
  ends a window early.

``--max-connections N``: at most N connections are served at once, as by a worker-per-connection
server; further ones wait unread until one closes (`_slots`). ``--keepalive-requests K``: a
connection is closed after its K-th answer (``Connection: close``), as nginx's
``keepalive_requests`` does, so clients' connections turn over.

Handlers are cancelled when their client disconnects, so ``in_flight`` counts requests a client
is still waiting for (an attempt abandoned by a client timeout stops counting).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from chaosrun.lab.services._serve import exit_now, run_service, setup_logging
from chaosrun.lab.services._slots import ConnectionSlots

__all__ = ["DependencyState", "build_app", "main"]

log = logging.getLogger("chaosrun.lab.dependency")

ARRIVALS_KEPT = 10_000
REQUEST_HEADER = "X-Chaosrun-Request"
ATTEMPT_HEADER = "X-Chaosrun-Attempt"

# (mono, wall, path, failed, request id header, attempt header): raw header strings are stored
# as they came; parsing waits until /_stats is read, so an arrival costs one tuple.
_Arrival = tuple[float, float, str, bool, str | None, str | None]


class DependencyState:
    """Counters and the failure window of one dependency process (single event loop, no locks)."""

    def __init__(self, name: str, latency_ms: float) -> None:
        self.name = name
        self.latency_s = latency_ms / 1000.0
        self.requests = 0
        self.failed = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: deque[_Arrival] = deque(maxlen=ARRIVALS_KEPT)
        self.dropped = 0
        self.fail_until_mono = 0.0
        self.served = 0

    def reset(self) -> None:
        self.requests = 0
        self.failed = 0
        self.served = 0
        self.max_in_flight = self.in_flight
        self.arrivals.clear()
        self.dropped = 0

    def answer(self) -> dict[str, Any]:
        n = self.served
        if self.name == "catalog":
            return {
                "item": {"id": f"title-{n % 500}", "title": f"Title {n % 500}", "cached": False}
            }
        if self.name == "recommendations":
            return {"items": [f"title-{(n + k) % 500}" for k in range(5)]}
        if self.name == "auth":
            return {"token": f"user-{n % 1000}", "user": f"user-{n % 1000}", "guest": False}
        return {"service": self.name, "ok": True}


_STATE = web.AppKey("state", DependencyState)


async def _data(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    mono, wall = time.monotonic(), time.time()
    failing = mono < state.fail_until_mono
    state.requests += 1
    if len(state.arrivals) == ARRIVALS_KEPT:
        state.dropped += 1
    rid, attempt = request.headers.get(REQUEST_HEADER), request.headers.get(ATTEMPT_HEADER)
    state.arrivals.append((mono, wall, request.path, failing, rid, attempt))
    if failing:
        state.failed += 1
        return web.json_response(
            {"error": "injected failure", "dependency": state.name}, status=500
        )
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        state.served += 1
        return web.json_response(state.answer())
    finally:
        state.in_flight -= 1


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "name": request.app[_STATE].name})


async def _stats(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    try:
        limit = int(request.query.get("limit", ARRIVALS_KEPT))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be an integer") from None
    arrivals = list(state.arrivals)[-limit:] if limit > 0 else []
    return web.json_response(
        {
            "name": state.name,
            "requests": state.requests,
            "failed": state.failed,
            "in_flight": state.in_flight,
            "max_in_flight": state.max_in_flight,
            "failing": time.monotonic() < state.fail_until_mono,
            "dropped": state.dropped,
            "arrivals": [
                {
                    "mono": m,
                    "wall": w,
                    "path": p,
                    "failed": f,
                    "request_id": rid,
                    "attempt": _attempt_number(att),
                }
                for m, w, p, f, rid, att in arrivals
            ],
        }
    )


def _attempt_number(raw: str | None) -> int | None:
    if raw is None or not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return None
    number = int(raw)
    return number if number >= 1 else None


async def _stats_reset(request: web.Request) -> web.Response:
    request.app[_STATE].reset()
    return web.json_response({"reset": True})


async def _fail(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    mode = request.query.get("mode", "error")
    if mode != "error":
        raise web.HTTPBadRequest(text=f"unknown mode {mode!r}; expected 'error'")
    try:
        duration_ms = float(request.query["duration_ms"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(text="duration_ms (a number >= 0) is required") from None
    if not duration_ms >= 0:
        raise web.HTTPBadRequest(text="duration_ms must be >= 0")
    mono, wall = time.monotonic(), time.time()
    state.fail_until_mono = mono + duration_ms / 1000.0
    log.info("%s: failing every request for %.0f ms", state.name, duration_ms)
    return web.json_response(
        {
            "mode": mode,
            "duration_ms": duration_ms,
            "start": wall,
            "end": wall + duration_ms / 1000.0,
            "start_mono": mono,
            "end_mono": state.fail_until_mono,
        }
    )


def _closing_after(requests: int) -> Any:
    answered: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()

    @web.middleware
    async def close_after(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        conn = request.transport
        if conn is None:
            return response
        answered[conn] = answered.get(conn, 0) + 1
        if answered[conn] >= requests:
            response.force_close()
        return response

    return close_after


def build_app(
    name: str, latency_ms: float, keepalive_requests: int | None = None
) -> web.Application:
    middlewares = [_closing_after(keepalive_requests)] if keepalive_requests else []
    app = web.Application(middlewares=middlewares)
    app[_STATE] = DependencyState(name, latency_ms)
    app.router.add_get("/health", _health)
    app.router.add_get("/_stats", _stats)
    app.router.add_post("/_stats/reset", _stats_reset)
    app.router.add_post("/_fail", _fail)
    app.router.add_get("/{tail:.*}", _data)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.lab.services.dependency")
    parser.add_argument("--name", required=True, help="dependency name, e.g. catalog")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 = pick a free port")
    parser.add_argument("--latency-ms", type=float, default=3.0, help="base service time")
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--keepalive-requests", type=int, default=None)
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    for flag in ("max_connections", "keepalive_requests"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1")
    setup_logging(f"dependency:{args.name}")
    app = build_app(args.name, args.latency_ms, args.keepalive_requests)
    slots = ConnectionSlots(args.max_connections) if args.max_connections else None
    return run_service(app, args.host, args.port, cancel_on_disconnect=True, slots=slots)


if __name__ == "__main__":
    exit_now(main())
