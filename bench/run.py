"""Benchmarks (printed figures, not timed tests).

1. Lab cold start to ready: N trials, median and max (goal: median <= 1.5 s); the same for the
   k8s lab (`--k8s-trials`).
2. Harness overhead: wall time of `chaosrun run` minus the experiment's declared pauses, against a
   running lab, side by side with plain `chaos run` of the same experiment (goal: ratio <= 2).
3. RTO accuracy: bench/accuracy.py (`make bench-accuracy`, part of `make bench`): the reported
   ttd/rto/recovery-after-clear against ground-truth outages on the lab and on an external target
   (HAProxy + two backends), for several SLO windows (goal: p95 |error| <= 25 ms).

    python bench/run.py [--trials N] [--runs N] [--k8s-trials N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chaosrun.lab.lab import lab_down, lab_up
from chaosrun.load import load_experiment

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def declared_pauses_s(document: Any) -> float:
    total = 0.0
    activities = list(document.get("method") or []) + list(document.get("rollbacks") or [])
    for activity in activities:
        pauses = activity.get("pauses") or {}
        total += float(pauses.get("before", 0)) + float(pauses.get("after", 0))
    return total


def bench_cold_start(trials: int, workdir: Path, profile: str = "streaming") -> list[float]:
    times = []
    for i in range(trials):
        start = time.perf_counter()
        info = lab_up(workdir / f"cold-{profile}-{i}", profile=profile)
        times.append(time.perf_counter() - start)
        left = lab_down(info)
        assert not left, f"ports left listening: {left}"
    return times


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    return time.perf_counter() - start, proc.returncode


def bench_overhead(experiment: Path, runs: int, workdir: Path) -> dict[str, list[float]]:
    home = workdir / "home"
    env = {**os.environ, "CHAOSRUN_HOME": str(home)}
    info = lab_up(home / "lab")
    try:
        chaos_env = {
            **env,
            "CHAOSRUN_SERVICE_URL": info.service_url,
            "CHAOSRUN_TOXIPROXY_URL": info.toxiproxy_url,
        }
        results: dict[str, list[float]] = {"chaosrun": [], "chaos": []}
        for _ in range(runs):
            wall, code = _timed([str(BIN / "chaosrun"), "run", str(experiment)], env)
            assert code == 0, f"chaosrun run exited {code}"
            results["chaosrun"].append(wall)
            wall, code = _timed(
                [
                    str(BIN / "chaos"),
                    "--no-log-file",
                    "run",
                    "--rollback-strategy",
                    "always",
                    "--journal-path",
                    str(workdir / "chaos-journal.json"),
                    str(experiment),
                ],
                chaos_env,
            )
            assert code == 0, f"chaos run exited {code}"
            results["chaos"].append(wall)
        return results
    finally:
        lab_down(info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--k8s-trials", type=int, default=5)
    parser.add_argument(
        "--experiment", type=Path, default=REPO / "experiments" / "latency-injection.yaml"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaosrun-bench-") as tmp:
        workdir = Path(tmp)
        cold = bench_cold_start(args.trials, workdir)
        print(
            f"lab cold start to ready ({args.trials} trials): median "
            f"{statistics.median(cold):.3f} s, min {min(cold):.3f} s, max {max(cold):.3f} s "
            f"(goal: median <= 1.5 s)"
        )
        k8s = bench_cold_start(args.k8s_trials, workdir, "k8s") if args.k8s_trials else []
        if k8s:
            print(
                f"k8s lab cold start to ready ({args.k8s_trials} trials: control plane, nodes "
                "Ready, four pods running ready processes): median "
                f"{statistics.median(k8s):.3f} s, min {min(k8s):.3f} s, max {max(k8s):.3f} s "
                "(of which 2 s is the pods' readiness delay)"
            )
        pauses = declared_pauses_s(load_experiment(args.experiment).document)
        walls = bench_overhead(args.experiment, args.runs, workdir)
        over = {k: [w - pauses for w in v] for k, v in walls.items()}
        med = {k: statistics.median(v) for k, v in over.items()}
        print(
            f"harness overhead on {args.experiment.name} ({args.runs} runs each, "
            f"declared pauses {pauses:g} s subtracted):"
        )
        for name in ("chaosrun", "chaos"):
            print(
                f"  {name:<9} wall median {statistics.median(walls[name]):.3f} s, "
                f"overhead median {med[name]:.3f} s"
            )
        print(f"  ratio chaosrun/chaos overhead: {med['chaosrun'] / med['chaos']:.2f} (goal <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
