"""A tiny backend HTTP server for the external accuracy target (not part of chaosrun or its lab).

    python bench/external/backend.py --name b1 --port N [--latency-ms 2]

Listens on 127.0.0.1 only. Prints ``READY <port>`` once listening; SIGTERM/SIGINT -> exit 0.

- ``GET /health``: 200 ``ok``, or 503 while the outage is on (HAProxy's active check).
- ``GET /{anything}``: 200 JSON after ``--latency-ms``, or 503 at once while the outage is on.
- ``POST /_fail?start=EPOCH&end=EPOCH``: the outage schedule, set from outside. The backend fails
  every request (data and health check) that *arrives* at wall-clock time t with start <= t < end.
- ``GET /_log``: every request received since the last reset, in arrival order:
  ``[[arrival_epoch, path, ok], ...]`` (health checks included; control requests not).
- ``POST /_log/reset``: forget the log.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections import deque

from aiohttp import web

LOG_KEPT = 200_000


class Backend:
    def __init__(self, name: str, latency_ms: float) -> None:
        self.name = name
        self.latency_s = latency_ms / 1000.0
        self.fail_start = 0.0
        self.fail_end = 0.0
        self.log: deque[tuple[float, str, bool]] = deque(maxlen=LOG_KEPT)

    def failing(self, now: float) -> bool:
        return self.fail_start <= now < self.fail_end

    async def health(self, request: web.Request) -> web.Response:
        now = time.time()
        ok = not self.failing(now)
        self.log.append((now, request.path, ok))
        return web.Response(text="ok" if ok else "down", status=200 if ok else 503)

    async def data(self, request: web.Request) -> web.Response:
        now = time.time()
        ok = not self.failing(now)
        self.log.append((now, request.path, ok))
        if not ok:
            return web.json_response({"error": "outage", "backend": self.name}, status=503)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return web.json_response({"backend": self.name, "item": "title-1"})

    async def set_fail(self, request: web.Request) -> web.Response:
        try:
            start = float(request.query["start"])
            end = float(request.query["end"])
        except (KeyError, ValueError):
            raise web.HTTPBadRequest(text="start and end (epoch seconds) are required") from None
        self.fail_start, self.fail_end = start, end
        return web.json_response({"backend": self.name, "start": start, "end": end})

    async def get_log(self, _request: web.Request) -> web.Response:
        return web.json_response([list(entry) for entry in self.log])

    async def reset_log(self, _request: web.Request) -> web.Response:
        self.log.clear()
        return web.json_response({"reset": True})


async def serve(backend: Backend, port: int) -> None:
    app = web.Application()
    app.router.add_get("/health", backend.health)
    app.router.add_post("/_fail", backend.set_fail)
    app.router.add_get("/_log", backend.get_log)
    app.router.add_post("/_log/reset", backend.reset_log)
    app.router.add_get("/{tail:.*}", backend.data)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {runner.addresses[0][1]}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(serve(Backend(args.name, args.latency_ms), args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
