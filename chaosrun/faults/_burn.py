"""A CPU stressor worker: ``python -m chaosrun.faults._burn --share P --cpu N --tag T``.

Busy for P% of every 10 ms slice (a duty cycle), sleeping the rest, pinned to CPU N when that CPU
exists; runs until SIGTERM/SIGINT/SIGKILL. `--tag` only marks its command line (the undo entry
that owns it). Started by `chaosrun.faults.cpu_stress`, never by hand.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

SLICE_S = 0.01


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaosrun.faults._burn")
    parser.add_argument("--share", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[args.cpu % len(cpus)]})
    busy = SLICE_S * max(1, min(100, args.share)) / 100.0
    while True:
        start = time.perf_counter()
        while time.perf_counter() - start < busy:
            pass
        rest = SLICE_S - (time.perf_counter() - start)
        if rest > 0:
            time.sleep(rest)


if __name__ == "__main__":
    raise SystemExit(main())
