"""A memory allocation worker: ``python -m chaosrun.faults._hog --mb N --cgroup DIR --tag T``.

Moves itself into the memory cgroup DIR (when given), then allocates N MiB in 1 MiB blocks whose
every page is written (resident, not just reserved), spread evenly over ``--ramp-ms``, and holds
them until SIGTERM/SIGKILL. Its own OOM score adjustment is -999 when it may set it: the OOM
killer then picks the service it shares the cgroup with, not the allocation standing in for that
service's growth -- yet can still kill the allocation when it is alone (-1000 would leave a
cgroup over its limit with nothing to kill, stuck). `--tag` only marks its command line (the
undo entry that owns it). Started by `chaosrun.faults.memory_pressure`, never by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from pathlib import Path

MIB = 1024 * 1024
PAGE = 4096


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaosrun.faults._hog")
    parser.add_argument("--mb", type=int, required=True)
    parser.add_argument("--cgroup", default="")
    parser.add_argument("--ramp-ms", type=int, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("-999")
    if args.cgroup:
        (Path(args.cgroup) / "cgroup.procs").write_text(str(os.getpid()))
    blocks: list[bytearray] = []
    pause = args.ramp_ms / 1000.0 / max(args.mb, 1)
    for _ in range(args.mb):
        block = bytearray(MIB)
        for offset in range(0, MIB, PAGE):
            block[offset] = 1
        blocks.append(block)
        if pause:
            time.sleep(pause)
    print(f"holding {len(blocks)} MiB", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    raise SystemExit(main())
