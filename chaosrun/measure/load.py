"""The open-loop load process (wrk2 model): requests on a fixed schedule, every one recorded.

CLI::

    python -m chaosrun.measure.load --base-url http://127.0.0.1:P --rate 200 --duration-s 10
        --endpoint /api/play:3 --endpoint /api/browse:1 [--seed 7] [--timeout-s 2]
        --timeline OUT.csv --summary OUT.json [--start-at EPOCH] [--loop auto|uvloop|asyncio]
        [--nice N]

The run itself (the schedule, latency from the scheduled time, the timeline, signals, error kinds)
is `chaosrun.measure.loadrun`; the summary it ends with, `chaosrun.measure.loadsummary`. This
module is the process around it: its command line, the timeline file, and:

- `--nice N` (default -5): the process asks to run at niceness N, best effort (a lower niceness
  needs root or CAP_SYS_NICE; without it the niceness stays as it is). On a small box shared with
  the lab it measures, this keeps the scheduler from being starved for tens of ms by its
  neighbours; the summary records the niceness in effect.
- uvloop when it is installed (``--loop auto``), else asyncio's loop.
- SIGTERM/SIGINT: the run stops as at the end of its duration; then the process writes the
  summary (`chaosrun.measure.loadspec`, atomically) and exits 0.

Exit codes: 0 the run went to its end (or was stopped by a signal) and the summary is written;
2 bad arguments (one line on stderr); 1 the process itself failed (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from chaosrun.atomic import write_atomic
from chaosrun.measure.loadrun import (
    DEGRADED_HEADER,
    LATE_GRACE_S,
    OpenLoopRun,
    early_signals,
    error_kind,
)
from chaosrun.measure.loadspec import LoadSummary
from chaosrun.measure.loadsummary import cpu_schedstat
from chaosrun.measure.schedule import LoadPlan
from chaosrun.measure.timeline import HEADER

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

MAX_START_DELAY_S = 3600.0
DEFAULT_NICE = -5


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
        run = OpenLoopRun(plan, base_url, out, str(timeline), loop)
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
        signal.signal(sig, lambda signum, _frame: early_signals.append(signum))
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
