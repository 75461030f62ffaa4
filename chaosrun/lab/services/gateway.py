"""The lab's edge gateway: serves the topology's endpoints by calling its dependencies.

CLI::

    python -m chaosrun.lab.services.gateway --port N --topology FILE.json
        --dep catalog=http://127.0.0.1:P1 --dep recommendations=... --dep auth=...
        [--variant NAME] [--host 127.0.0.1] [--data-dir DIR]

Every dependency of the topology needs exactly one ``--dep NAME=URL``. ``--variant`` is only
reported in /state (the topology file already has the variant applied).

Readiness: once the socket listens (and the client sessions exist), the process prints exactly one
line ``READY <port>`` on stdout (flushed) and nothing else ever; ``--port 0`` lets the kernel pick
a free port. ``GET /health`` answers 200 from the same moment. SIGTERM/SIGINT -> exit 0 within a
second. Logs go to stderr through `logging`.

Endpoints:

- each topology endpoint, e.g. ``GET /api/play``: calls its dependencies concurrently (see
  `resilience` for the call path). 200 ``{"endpoint", "degraded", "fallbacks", "data"}``; a failed
  dependency with fallback on gives its fallback value, ``"degraded": true`` and its name in
  ``"fallbacks"``; with fallback off: 502 ``{"error", "dependency", "reason", "endpoint"}``.
  A 200 served with fallbacks also has the header ``X-Chaosrun-Degraded: catalog,recommendations``
  (the fallbacks, in the endpoint's order); the header is absent otherwise. Each incoming request
  is known by its ``X-Chaosrun-Request`` header, passed on as a reverse proxy would (or, without
  one, by an id unique within this process and across restarts), sent to every dependency it
  calls (``X-Chaosrun-Request``, with ``X-Chaosrun-Attempt`` numbering the attempts).
  An endpoint that records plays (``records_play``) appends a line to ``DIR/play-history.log``
  for each answer (with ``--data-dir``); when that write fails (a full disk), the play is still
  answered, marked degraded with ``history`` in ``X-Chaosrun-Degraded`` -- or, with the
  topology's ``degrade_on_disk_full`` off, answered 500 ``{"error": "play history not written"}``.
- ``GET /health`` -> 200 ``{"status": "ok"}``
- ``GET /metrics`` -> Prometheus text (this process's own registry).
- ``GET /state`` -> ``{"variant", "endpoints": {path: [dependency, ...]}, "dependencies": {name:
  {"breaker": {"enabled", "state", "never_closes", "opened_at", "half_open_due",
  "transitions": [{"at", "from", "to"}]}, "bulkhead": {"limit", "in_flight", "max_in_flight",
  "rejected"}, "calls", "attempts", "retries", "timeouts", "failures", "fallbacks",
  "short_circuited"}}, "history": {"data_dir", "written", "dropped", "last_error"}}``: counts
  of calls (one per use of a dependency by a request), attempts (requests sent), failed calls,
  etc. A disabled breaker reports state "closed". Transitions carry
  epoch seconds; "state" is pybreaker's (lazy: "open" until the first call after the reset
  timeout, see `resilience`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest

from chaosrun.lab.services._bulkhead import Bulkhead
from chaosrun.lab.services._capacity import Capacity
from chaosrun.lab.services._history import PlayHistory
from chaosrun.lab.services._playstore import NotStored, PlayStore, parse_address
from chaosrun.lab.services._retry import REQUEST_HEADER
from chaosrun.lab.services._serve import exit_now, run_service, setup_logging
from chaosrun.lab.services.resilience import CallFailed, GatewayMetrics, ResilientDependency
from chaosrun.lab.topology import Endpoint, Topology

__all__ = ["DEGRADED_HEADER", "Gateway", "build_app", "main"]

log = logging.getLogger("chaosrun.lab.gateway")

DEGRADED_HEADER = "X-Chaosrun-Degraded"
REGION_HEADER = "X-Chaosrun-Region"

Handler = Callable[[web.Request], Awaitable[web.Response]]


class Gateway:
    """Owns the client sessions and the resilient dependency wrappers of one gateway process."""

    def __init__(
        self,
        topology: Topology,
        dep_urls: Mapping[str, str],
        variant: str | None,
        data_dir: Path | None = None,
        store: PlayStore | None = None,
        region: str | None = None,
    ) -> None:
        self.topology = topology
        self.history = PlayHistory(data_dir)
        self.store = store
        self.region = region
        self.dep_urls = dict(dep_urls)
        self.variant = variant
        self.metrics = GatewayMetrics()
        self.deps: dict[str, ResilientDependency] = {}
        self._sessions: list[aiohttp.ClientSession] = []
        # Request ids: a random per-process prefix + a counter (unique across restarts, cheap).
        self._id_prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)

    async def start(self) -> None:
        # The shared-pool variant: one set of bulkhead slots for every dependency marked so.
        sharing = [
            d.policy.bulkhead or 10 for d in self.topology.dependencies if d.policy.shared_pool
        ]
        shared = Bulkhead(max(sharing)) if sharing else None
        for dep in self.topology.dependencies:
            bulkhead = dep.policy.bulkhead
            connector = aiohttp.TCPConnector(
                # Pool >= bulkhead so the pool never queues what the bulkhead let through;
                # no bulkhead -> no pool limit either (the no-bulkhead variant must be unbounded).
                limit=0 if bulkhead is None else 2 * bulkhead,
                keepalive_timeout=30.0,
            )
            session = aiohttp.ClientSession(
                base_url=self.dep_urls[dep.name],
                connector=connector,
                timeout=aiohttp.ClientTimeout(),  # no session timeout: the policy owns timeouts
                skip_auto_headers=("User-Agent",),
            )
            self._sessions.append(session)
            self.deps[dep.name] = ResilientDependency(
                dep, session, self.metrics, shared if dep.policy.shared_pool else None
            )

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self._sessions), return_exceptions=True)
        if self.store is not None:
            await self.store.close()

    def endpoint_handler(self, endpoint: Endpoint) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            return await self._serve(endpoint, request.headers.get(REQUEST_HEADER))

        return handle

    async def _serve(self, endpoint: Endpoint, passed_on: str | None) -> web.Response:
        started = time.perf_counter()
        request_id = passed_on or f"{self._id_prefix}-{next(self._ids)}"
        results = await asyncio.gather(*(self._use(name, request_id) for name in endpoint.uses))
        data: dict[str, Any] = {}
        fallbacks: list[str] = []
        failure: CallFailed | None = None
        for name, value, failed in results:
            dep = self.deps[name]
            if failed is None:
                data[name] = value
            elif dep.policy.fallback:
                data[name] = dep.fallback()
                fallbacks.append(name)
            elif failure is None:
                failure = failed
        headers: dict[str, str] = {}
        if failure is None and endpoint.records_play:
            try:
                await self._record(endpoint.path, request_id)
            except (OSError, NotStored) as exc:
                if not self.topology.degrade_on_disk_full:
                    return self._answer(
                        endpoint,
                        started,
                        500,
                        {"error": "play history not written", "reason": str(exc)},
                        {},
                    )
                fallbacks.append("history")
        if failure is not None:
            status = 502
            body: dict[str, Any] = {
                "error": "dependency failed",
                "dependency": failure.dependency,
                "reason": failure.reason,
                "endpoint": endpoint.path,
            }
        else:
            status = 200
            body = {
                "endpoint": endpoint.path,
                "degraded": bool(fallbacks),
                "fallbacks": fallbacks,
                "data": data,
            }
            if fallbacks:
                headers[DEGRADED_HEADER] = ",".join(fallbacks)
        return self._answer(endpoint, started, status, body, headers)

    async def _record(self, path: str, request_id: str) -> None:
        if self.store is not None:
            await self.store.append(path, request_id)
        else:
            self.history.append(path, request_id)

    def _answer(
        self,
        endpoint: Endpoint,
        started: float,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> web.Response:
        self.metrics.requests.labels(endpoint.path, str(status)).inc()
        self.metrics.latency.labels(endpoint.path).observe(time.perf_counter() - started)
        if self.region is not None:
            headers[REGION_HEADER] = self.region
        return web.json_response(body, status=status, headers=headers)

    async def _use(self, name: str, request_id: str) -> tuple[str, Any, CallFailed | None]:
        try:
            return name, await self.deps[name].call(f"/{name}", request_id), None
        except CallFailed as failed:
            return name, None, failed

    def state(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "endpoints": {e.path: list(e.uses) for e in self.topology.endpoints},
            "dependencies": {name: dep.state() for name, dep in self.deps.items()},
            "history": self.store.state() if self.store is not None else self.history.state(),
            "region": self.region,
        }


_GATEWAY = web.AppKey("gateway", Gateway)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    payload = generate_latest(request.app[_GATEWAY].metrics.registry)
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[_GATEWAY].state())


def build_app(gateway: Gateway, capacity: Capacity | None = None) -> web.Application:
    app = web.Application(middlewares=[_shed_beyond(capacity)] if capacity else [])
    app[_GATEWAY] = gateway

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await gateway.start()
        yield
        await gateway.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/state", _state)
    for endpoint in gateway.topology.endpoints:
        app.router.add_get(endpoint.path, gateway.endpoint_handler(endpoint))
    return app


def _shed_beyond(capacity: Capacity) -> Any:
    """Requests to the API beyond the capacity get 503 at once (health and metrics never)."""

    @web.middleware
    async def shed(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/") and not capacity.take(time.monotonic()):
            return web.Response(status=503, text="overloaded\n", headers={"X-Chaosrun-Shed": "1"})
        response: web.StreamResponse = await handler(request)
        return response

    return shed


def _parse_deps(parser: argparse.ArgumentParser, pairs: Sequence[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name or not url.startswith("http://"):
            parser.error(f"--dep expects NAME=http://HOST:PORT, got {pair!r}")
        if name in urls:
            parser.error(f"--dep {name} given twice")
        urls[name] = url.rstrip("/")
    return urls


def _play_store(parser: argparse.ArgumentParser, args: argparse.Namespace) -> PlayStore:
    try:
        sentinels = tuple(parse_address(a) for a in args.history_sentinel)
        nat = {}
        for pair in args.history_nat:
            announced, sep, reached = pair.partition("=")
            if not sep:
                raise ValueError(f"--history-nat expects ANNOUNCED=REACHED, got {pair!r}")
            nat[parse_address(announced)] = parse_address(reached)
    except ValueError as exc:
        parser.error(str(exc))
    if args.history_wait_replicas < 0 or args.history_wait_ms < 1:
        parser.error("--history-wait-replicas must be >= 0 and --history-wait-ms >= 1")
    return PlayStore(
        sentinels, args.history_master, nat, args.history_wait_replicas, args.history_wait_ms
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.lab.services.gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 = pick a free port")
    parser.add_argument("--topology", required=True, help="topology JSON file")
    parser.add_argument("--dep", action="append", default=[], help="NAME=URL, once per dependency")
    parser.add_argument("--variant", default=None, help="lab variant name, reported in /state")
    parser.add_argument("--data-dir", default=None, help="where the play history is written")
    parser.add_argument("--region", default=None, help="named in X-Chaosrun-Region answers")
    db = parser.add_argument_group("play history in Redis, through Sentinel (instead of a file)")
    db.add_argument("--history-sentinel", action="append", default=[], metavar="HOST:PORT")
    db.add_argument("--history-master", default="lab", help="the name Sentinel monitors")
    db.add_argument(
        "--history-nat", action="append", default=[], metavar="ANNOUNCED=REACHED",
        help="reach a Redis Sentinel announces at HOST:PORT at another HOST:PORT",
    )  # fmt: skip
    db.add_argument("--history-wait-replicas", type=int, default=0, metavar="N")
    db.add_argument("--history-wait-ms", type=int, default=200)
    parser.add_argument(
        "--max-rps", type=float, default=None,
        help="serve at most this many API requests a second (burst: a quarter second's worth); "
        "shed the rest with 503",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        with open(args.topology, encoding="utf-8") as fh:
            topology = Topology.from_json(fh.read())
    except (OSError, ValueError) as exc:
        parser.error(f"--topology {args.topology}: {exc}")
    urls = _parse_deps(parser, args.dep)
    names = {d.name for d in topology.dependencies}
    if missing := sorted(names - set(urls)):
        parser.error(f"no --dep for dependencies {missing}")
    if unknown := sorted(set(urls) - names):
        parser.error(f"--dep for dependencies not in the topology: {unknown}")
    setup_logging("gateway")
    disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series are noise
    data_dir = Path(args.data_dir) if args.data_dir else None
    store = _play_store(parser, args) if args.history_sentinel else None
    capacity = Capacity(args.max_rps, max(1.0, args.max_rps / 4)) if args.max_rps else None
    app = build_app(Gateway(topology, urls, args.variant, data_dir, store, args.region), capacity)
    return run_service(app, args.host, args.port, cancel_on_disconnect=False)


if __name__ == "__main__":
    exit_now(main())
