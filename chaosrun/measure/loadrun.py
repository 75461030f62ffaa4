"""One run of the open-loop load (wrk2 model): the scheduler, the request tasks, the timeline.

`chaosrun.measure.load` opens the timeline and runs an `OpenLoopRun` (`run_load`).

- The schedule is `chaosrun.measure.schedule.plan_requests`: request i is due at i / rate. The
  scheduler sleeps until each due time; when it is behind it sends at once, without sleeping: it
  never skips a slot and never backs off (open loop). Each request runs in its own task.
- Latency is measured from the *scheduled* time to the end of reading the body (or the error), so
  a stalled service cannot hide its stall (no coordinated omission). `sent - scheduled` is the
  scheduler lag.
- Every request is appended to the timeline (`chaosrun.measure.timeline` format), flushed at least
  every 100 ms while it runs (the supervisor reads it live) and once more at the end.
- The schedule starts at `--start-at` (wall-clock epoch; when that is already past, the slots
  already due are sent at once, late, and their lag says so), or at once when it is absent, and
  stops at the end of the duration. A scheduler still behind then gets `LATE_GRACE_S` more to
  send its backlog; what it could not send is not sent (and the run is flagged short).
- SIGTERM/SIGINT: stop scheduling at once; then, as at the end of the duration, await requests in
  flight up to the plan's `timeout_s`, record those still unfinished as timeouts, flush the
  timeline and return the summary (`chaosrun.measure.loadsummary`). A signal that came before the
  event loop took over (`early_signals`) stops the run as soon as it starts.
- Error kinds: timeout (client timeout), connect (refused/unreachable), reset (disconnected or
  reset by the server, truncated body), other.
- A response carrying a non-empty ``X-Chaosrun-Degraded`` header is recorded as degraded.
- Every request carries ``X-Chaosrun-Request: <run token>-<n>``: a service that passes request
  headers on (a reverse proxy does) lets the recording relay count each request's attempts.
- One aiohttp session (keep-alive pool of up to `CONNECTION_LIMIT` connections, no cookies, no
  decompression).

Wall-clock timestamps are ``t0_wall + (perf_counter() - t0_mono)`` from one anchor: monotonic and
precise, yet joinable with other processes' wall-clock records.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import secrets
import signal
import time
from array import array
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO

from chaosrun.measure.loadspec import LoadSummary
from chaosrun.measure.loadsummary import cpu_schedstat, run_summary
from chaosrun.measure.schedule import LoadPlan, plan_requests
from chaosrun.measure.timeline import RequestRecord, format_record

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

__all__ = ["DEGRADED_HEADER", "LATE_GRACE_S", "OpenLoopRun", "early_signals", "error_kind"]

DEGRADED_HEADER = "X-Chaosrun-Degraded"
REQUEST_HEADER = "X-Chaosrun-Request"
FLUSH_EVERY_S = 0.05
LATE_GRACE_S = 0.25
CONNECTION_LIMIT = 2000
CHUNK = 1024  # schedule slots computed ahead at a time
MAX_BURST = 32  # slots sent back to back while behind before letting the tasks run
DRAIN_MARGIN_S = 0.1
# Re-sleeping for just the remainder after an early wake-up would spin through 0 ms uvloop timers
# (measured at 2000 req/s: 1.7x the CPU); the slack rounds it up to the next timer tick.
EARLY_SLACK_S = 0.0005
GC_THRESHOLDS = (50_000, 20, 100)

_perf_counter = time.perf_counter
# Signals received before the event loop took over (the command line's first handler appends).
early_signals: list[int] = []


def error_kind(exc: BaseException) -> str:
    """The timeline error kind of an exception raised by a request."""
    import aiohttp

    if isinstance(exc, TimeoutError):  # includes aiohttp's ServerTimeoutError family
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect"
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientOSError
        | ConnectionError,
    ):
        return "reset"
    return "other"


class OpenLoopRun:
    """One run: the scheduler, the request tasks, the timeline buffer and the counters."""

    def __init__(
        self, plan: LoadPlan, base_url: str, timeline: BinaryIO, timeline_name: str, loop: str
    ) -> None:
        self.plan = plan
        self.loop_name = loop
        self.base_url = base_url.rstrip("/")
        self.timeline = timeline
        self.timeline_name = timeline_name
        self.t0_wall = time.time()
        self.t0_mono = _perf_counter()
        self.lines: list[str] = []
        self.lags_ms = array("d")
        self.completed = 0
        self.ok = 0
        self.degraded = 0
        self.unfinished = 0
        self.errors: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        self.sent_by_endpoint: dict[str, int] = {}
        self.reached: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._token = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self.start_mono = 0.0
        self.last_send_mono = 0.0
        self.stop_mono: float | None = None
        self.stopped_by = "duration"
        self.session: aiohttp.ClientSession | None = None
        self.scheduler: asyncio.Task[None] | None = None
        self.urls: dict[str, URL] = {}
        self.cpu_run_ms: float | None = None
        self.cpu_wait_ms: float | None = None

    def wall(self, mono: float) -> float:
        return self.t0_wall + (mono - self.t0_mono)

    # -- the hot path ------------------------------------------------------------------------

    async def schedule(self) -> None:
        now = _perf_counter()
        if self.start_mono > now:
            await asyncio.sleep(self.start_mono - now)
        start = self.start_mono
        deadline = start + self.plan.duration_s + LATE_GRACE_S
        urls = self.urls
        loop = asyncio.get_running_loop()
        create_task = loop.create_task
        tasks = self.tasks
        discard = tasks.discard
        request = self.request
        sleep = asyncio.sleep
        requests = plan_requests(self.plan)
        burst = 0
        while chunk := [(start + offset, path) for offset, path in islice(requests, CHUNK)]:
            for due, path in chunk:
                now = _perf_counter()
                if due > now:
                    burst = 0
                    await sleep(due - now)
                    # uvloop's millisecond timers may fire up to ~1 ms early: never send early.
                    while (early := due - _perf_counter()) > 0:
                        await sleep(early + EARLY_SLACK_S)
                elif now > deadline:
                    return  # still behind at the end: the backlog is not sent (run is short)
                else:
                    burst += 1
                    if burst >= MAX_BURST:
                        burst = 0
                        await sleep(0)
                task = create_task(request(due, urls[path], path))
                tasks.add(task)
                task.add_done_callback(discard)
                self.last_send_mono = due if due > now else now

    async def request(self, due: float, url: URL, path: str) -> None:
        sent = _perf_counter()
        status = 0
        error = ""
        degraded = False
        assert self.session is not None
        request_id = f"{self._token}-{next(self._ids)}"
        try:
            headers = {REQUEST_HEADER: request_id}
            async with self.session.get(url, allow_redirects=False, headers=headers) as response:
                await response.read()
                status = response.status
                degraded = bool(response.headers.get(DEGRADED_HEADER))
        except asyncio.CancelledError:
            self.unfinished += 1
            self.record(due, sent, 0, "timeout", path, False, request_id)
            raise
        except Exception as exc:
            error = error_kind(exc)
        self.record(due, sent, status, error, path, degraded, request_id)

    def record(
        self,
        due: float,
        sent: float,
        status: int,
        error: str,
        path: str,
        degraded: bool,
        request_id: str,
    ) -> None:
        end = _perf_counter()
        record = RequestRecord(
            scheduled=self.wall(due),
            sent=self.wall(sent),
            latency_ms=(end - due) * 1000.0,
            status=status,
            error=error,
            endpoint=path,
            degraded=degraded,
            request_id=request_id,
        )
        self.lines.append(format_record(record))
        self.lags_ms.append((sent - due) * 1000.0)
        self.sent_by_endpoint[path] = self.sent_by_endpoint.get(path, 0) + 1
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1
        else:
            self.completed += 1
            self.reached[path] = self.reached.get(path, 0) + 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.ok += record.ok
            self.degraded += degraded

    # -- the rest ------------------------------------------------------------------------------

    def flush(self) -> None:
        if self.lines:
            data = "".join(self.lines).encode()
            self.lines.clear()
            self.timeline.write(data)
            self.timeline.flush()

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self.flush()

    def on_signal(self) -> None:
        if self.stop_mono is None:
            self.stop_mono = _perf_counter()
            self.stopped_by = "signal"
        if self.scheduler is not None:
            self.scheduler.cancel()

    async def run(self, start_at: float | None) -> LoadSummary:
        import aiohttp
        from yarl import URL

        plan = self.plan
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(
            limit=CONNECTION_LIMIT, ttl_dns_cache=300, keepalive_timeout=30.0
        )
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=plan.timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        ) as session:
            self.session = session
            self.urls = {p: URL(self.base_url + p, encoded=True) for p, _ in plan.endpoints}
            # Objects made so far live to the end: keep the collector from walking them again,
            # and collect young objects less often (fewer pauses inside the schedule).
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            now = _perf_counter()
            # Anchored at --start-at even when that is already past: the slots already due are
            # sent at once and their lag shows it (the schedule never shifts to hide a late start).
            self.start_mono = now if start_at is None else self.t0_mono + (start_at - self.t0_wall)
            flusher = loop.create_task(self.flusher())
            self.scheduler = loop.create_task(self.schedule())
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.on_signal)
            if early_signals:
                self.on_signal()
            cpu_before = cpu_schedstat()
            await asyncio.wait([self.scheduler])
            cpu_after = cpu_schedstat()
            if cpu_before and cpu_after:
                self.cpu_run_ms = round(cpu_after[0] - cpu_before[0], 1)
                self.cpu_wait_ms = round(cpu_after[1] - cpu_before[1], 1)
            failure = None if self.scheduler.cancelled() else self.scheduler.exception()
            if failure is not None:
                raise failure
            end_mono = self.stop_mono if self.stop_mono is not None else _perf_counter()
            await self.drain()
            flusher.cancel()
            self.flush()
        return run_summary(self, end_mono)

    async def drain(self) -> None:
        if not self.tasks:
            return
        _, pending = await asyncio.wait(
            set(self.tasks), timeout=self.plan.timeout_s + DRAIN_MARGIN_S
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
