"""The open-loop load process (wrk2 model): requests on a fixed schedule, every one recorded.

CLI::

    python -m chaosrun.measure.load --base-url http://127.0.0.1:P --rate 200 --duration-s 10
        --endpoint /api/play:3 --endpoint /api/browse:1 [--seed 7] [--timeout-s 2]
        --timeline OUT.csv --summary OUT.json [--start-at EPOCH] [--loop auto|uvloop|asyncio]
        [--nice N]

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
- `--nice N` (default -5): the process asks to run at niceness N, best effort (a lower niceness
  needs root or CAP_SYS_NICE; without it the niceness stays as it is). On a small box shared with
  the lab it measures, this keeps the scheduler from being starved for tens of ms by its
  neighbours; the summary records the niceness in effect.
- The summary also says how long the scheduling thread ran (`cpu_run_ms`) and how long it was
  runnable but waiting for a CPU (`cpu_wait_ms`, Linux schedstat) while it scheduled: a run short
  on lag with a large `cpu_wait_ms` was starved by its host, not slow on its own.
- SIGTERM/SIGINT: stop scheduling at once; then, as at the end of the duration, await requests in
  flight up to `--timeout-s`, record those still unfinished as timeouts, flush the timeline, write
  the summary (`chaosrun.measure.loadspec`, atomically) and exit 0.
- Error kinds: timeout (client timeout), connect (refused/unreachable), reset (disconnected or
  reset by the server, truncated body), other.
- A response carrying a non-empty ``X-Chaosrun-Degraded`` header is recorded as degraded.
- One aiohttp session (keep-alive pool of up to `CONNECTION_LIMIT` connections, no cookies, no
  decompression); uvloop when it is installed (``--loop auto``), else asyncio's loop.

Exit codes: 0 the run went to its end (or was stopped by a signal) and the summary is written;
2 bad arguments (one line on stderr); 1 the process itself failed (one line on stderr).
Wall-clock timestamps are ``t0_wall + (perf_counter() - t0_mono)`` from one anchor: monotonic and
precise, yet joinable with other processes' wall-clock records.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn
from urllib.parse import urlsplit

from chaosrun.atomic import write_atomic
from chaosrun.measure.loadspec import LoadSummary, summarize
from chaosrun.measure.schedule import LoadPlan, plan_requests
from chaosrun.measure.timeline import HEADER, RequestRecord, format_record

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

__all__ = [
    "DEGRADED_HEADER",
    "LATE_GRACE_S",
    "cpu_schedstat",
    "error_kind",
    "event_loop_factory",
    "main",
    "run_load",
    "set_niceness",
]

DEGRADED_HEADER = "X-Chaosrun-Degraded"
FLUSH_EVERY_S = 0.05
LATE_GRACE_S = 0.25
CONNECTION_LIMIT = 2000
CHUNK = 1024  # schedule slots computed ahead at a time
MAX_BURST = 32  # slots sent back to back while behind before letting the tasks run
DRAIN_MARGIN_S = 0.1
# Re-sleeping for just the remainder after an early wake-up would spin through 0 ms uvloop timers
# (measured at 2000 req/s: 1.7x the CPU); the slack rounds it up to the next timer tick.
EARLY_SLACK_S = 0.0005
MAX_START_DELAY_S = 3600.0
GC_THRESHOLDS = (50_000, 20, 100)
DEFAULT_NICE = -5

_perf_counter = time.perf_counter
_early_signal: list[int] = []


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


class _Run:
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
        try:
            async with self.session.get(url, allow_redirects=False) as response:
                await response.read()
                status = response.status
                degraded = bool(response.headers.get(DEGRADED_HEADER))
        except asyncio.CancelledError:
            self.unfinished += 1
            self.record(due, sent, 0, "timeout", path, False)
            raise
        except Exception as exc:
            error = error_kind(exc)
        self.record(due, sent, status, error, path, degraded)

    def record(
        self, due: float, sent: float, status: int, error: str, path: str, degraded: bool
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
            if _early_signal:
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
        return self.summary(end_mono)

    async def drain(self) -> None:
        if not self.tasks:
            return
        _, pending = await asyncio.wait(
            set(self.tasks), timeout=self.plan.timeout_s + DRAIN_MARGIN_S
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def summary(self, end_mono: float) -> LoadSummary:
        plan = self.plan
        if self.stopped_by == "signal":
            elapsed = max(0.0, end_mono - self.start_mono)
            due = int(elapsed * plan.rate) + 1 if end_mono >= self.start_mono else 0
            scheduled = min(plan.count, due)
        else:
            elapsed = max(plan.duration_s, self.last_send_mono - self.start_mono)
            scheduled = plan.count
        return summarize(
            plan,
            start=round(self.wall(self.start_mono), 6),
            elapsed_s=elapsed,
            stopped_by=self.stopped_by,
            scheduled=scheduled,
            lags_ms=self.lags_ms,
            completed=self.completed,
            ok=self.ok,
            degraded=self.degraded,
            unfinished=self.unfinished,
            errors=self.errors,
            statuses=self.statuses,
            sent_by_endpoint=self.sent_by_endpoint,
            reached=self.reached,
            timeline=self.timeline_name,
            extra={
                "base_url": self.base_url,
                "seed": plan.seed,
                "timeout_s": plan.timeout_s,
                "loop": self.loop_name,
                "nice": os.getpriority(os.PRIO_PROCESS, 0),
                "cpu_run_ms": self.cpu_run_ms,
                "cpu_wait_ms": self.cpu_wait_ms,
            },
        )


async def run_load(
    plan: LoadPlan,
    base_url: str,
    timeline: Path,
    start_at: float | None = None,
    *,
    loop: str = "asyncio",
) -> LoadSummary:
    """Run `plan` against `base_url`, appending to `timeline`; return the summary.

    `loop` only names the running event loop in the summary.
    """
    timeline.parent.mkdir(parents=True, exist_ok=True)
    with open(timeline, "ab") as out:
        if out.tell() == 0:
            out.write((HEADER + "\n").encode())
            out.flush()
        run = _Run(plan, base_url, out, str(timeline), loop)
        try:
            return await run.run(start_at)
        finally:
            run.flush()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _endpoint(text: str) -> tuple[str, float]:
    path, sep, weight = text.rpartition(":")
    if not sep:
        return text, 1.0
    try:
        return path, float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PATH[:WEIGHT], got {text!r}") from None


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, LoadPlan]:
    parser = _Parser(
        prog="python -m chaosrun.measure.load",
        description="Open-loop HTTP load on a fixed schedule; every request goes to a timeline.",
    )
    parser.add_argument("--base-url", required=True, help="http://HOST:PORT")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument(
        "--endpoint",
        type=_endpoint,
        action="append",
        required=True,
        metavar="PATH[:WEIGHT]",
        help="once per endpoint; weight defaults to 1",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the endpoint mix")
    parser.add_argument("--timeout-s", type=float, default=2.0, help="client timeout per request")
    parser.add_argument("--timeline", type=Path, required=True, help="CSV file (appended)")
    parser.add_argument("--summary", type=Path, required=True, help="JSON written at the end")
    parser.add_argument("--start-at", type=float, default=None, help="wall-clock epoch start")
    parser.add_argument(
        "--nice",
        type=int,
        default=DEFAULT_NICE,
        help=f"niceness to run at, best effort (default {DEFAULT_NICE})",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="event loop; auto = uvloop when installed",
    )
    args = parser.parse_args(argv)
    url = urlsplit(args.base_url)
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        parser.error(f"--base-url must be http://HOST:PORT, got {args.base_url!r}")
    try:
        url.port  # noqa: B018  # raises on a bad port
    except ValueError:
        parser.error(f"--base-url has a bad port: {args.base_url!r}")
    if args.start_at is not None and not (
        args.start_at - time.time() < MAX_START_DELAY_S
    ):  # also rejects NaN
        parser.error(f"--start-at {args.start_at} is not within the next hour")
    try:
        plan = LoadPlan(
            rate=args.rate,
            duration_s=args.duration_s,
            endpoints=tuple(args.endpoint),
            seed=args.seed,
            timeout_s=args.timeout_s,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args, plan


def cpu_schedstat() -> tuple[float, float] | None:
    """(ms on a CPU, ms runnable but waiting for one) of this thread so far; None off Linux."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as handle:
            run_ns, wait_ns, _ = handle.read().split()
        return int(run_ns) / 1e6, int(wait_ns) / 1e6
    except (OSError, ValueError):
        return None


def set_niceness(nice: int) -> int:
    """Ask for niceness `nice` (best effort); return the niceness in effect."""
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, 0) != nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


def event_loop_factory(name: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    """(loop name, factory) for --loop: "uvloop", "asyncio", or "auto" (uvloop when installed).

    uvloop is not required. Measured on a quiet 2-core box at 2000 req/s, it spent ~30 % less
    CPU per request than asyncio's loop (on a busy box the difference drowns in the noise);
    `bench/load.py` prints both.
    """
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return "uvloop", uvloop.new_event_loop
    return "asyncio", asyncio.new_event_loop


async def _main(plan: LoadPlan, args: argparse.Namespace) -> None:
    summary = await run_load(plan, args.base_url, args.timeline, args.start_at, loop=args.loop)
    # Written while the loop still owns SIGTERM/SIGINT: a late signal cannot cut it.
    write_atomic(args.summary, summary.to_json())


def main(argv: Sequence[str] | None = None) -> int:
    # Until the event loop takes over, a signal only asks the run to stop at once.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: _early_signal.append(signum))
    args, plan = _parse(argv)
    try:
        loop_name, factory = event_loop_factory(args.loop)
    except ImportError:
        print(
            "python -m chaosrun.measure.load: error: --loop uvloop: uvloop is not installed",
            file=sys.stderr,
        )
        return 2
    args.loop = loop_name
    set_niceness(args.nice)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_main(plan, args))
    except Exception as exc:
        print(f"chaosrun.measure.load: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
