"""Safety benchmarks (printed figures, not timed tests).

1. Stop condition -> fault reverted, measured at the proxy: a lab without fallbacks loses
   availability when a dependency goes down (proxy disabled) or is blackholed (timeout toxic);
   the availability stop condition fires and the supervisor reverts. A poller watching the proxy
   every 5 ms records when the fault disappears; the journal says when the condition fired.
   Goal: p95 <= 250 ms.
2. Kill matrix: `--kill-trials` kills of a run at random moments (SIGINT / SIGTERM to the
   supervisor, SIGKILL to the worker, to the load, to the supervisor then `chaosrun cleanup` or the
   next run), half against a running lab, half with an ephemeral one. After each: leftovers
   (toxics, disabled proxies, processes, listeners, journal) and the time to restore.
3. The same with `--region-trials` kills of region outages (tests/e2e/experiments/
   kill-region.yaml) on the two-region lab: both regions' proxies, and an ephemeral lab's
   HAProxy, Redis and Sentinels, checked after each.
4. `--suite-trials` suites of two kill-target runs side by side (each on its own lab), killed
   with SIGINT, SIGTERM or SIGKILL once both runs began: every run restored, no leftovers.
5. `--k8s-trials` kills of Kubernetes changes (tests/e2e/experiments/kill-k8s.yaml: cordon,
   scale, taint, NetworkPolicy, drain) on the k8s lab: every change asked of the API server after
   each, and an ephemeral k8s lab's control plane and pod processes gone.

    .venv/bin/python bench/safety.py [--abort-trials N] [--kill-trials N]
        [--region-trials N] [--suite-trials N] [--k8s-trials N] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chaosrun.lab.toxiproxy import ToxiproxyClient  # noqa: E402
from chaosrun.measure.percentile import nearest_rank  # noqa: E402
from tests.e2e.killmatrix import (  # noqa: E402
    EXPERIMENT,
    K8S_EXPERIMENT,
    KINDS,
    REGION_EXPERIMENT,
    SUITE_KINDS,
    run_suite_trial,
    run_trial,
)

ABORT = REPO / "tests" / "e2e" / "experiments" / "abort-on-availability.yaml"
FAULTS = {
    "proxy_down": ({"proxy": "recommendations"}, lambda p: not p.enabled),
    "timeout": ({"proxy": "recommendations", "timeout_ms": 0}, lambda p: bool(p.toxics)),
}


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaosrun", *args],
        env={**os.environ, "CHAOSRUN_HOME": str(home)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _abort_experiment(directory: Path, fault: str) -> Path:
    document = yaml.safe_load(ABORT.read_text())
    arguments, _ = FAULTS[fault]
    for phase, func in (("method", "inject"), ("rollbacks", "revert")):
        provider = document[phase][0]["provider"]
        provider["module"] = f"chaosrun.faults.{fault}"
        provider["func"] = func
        provider["arguments"] = arguments if func == "inject" else {"proxy": "recommendations"}
    path = directory / f"abort-{fault}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


class ProxyWatch(threading.Thread):
    """Polls one proxy every 5 ms; records when the fault appeared and when it went away."""

    def __init__(self, url: str, proxy: str, faulty: Any) -> None:
        super().__init__(daemon=True)
        self.client = ToxiproxyClient(url, timeout_s=1.0)
        self.proxy, self.faulty = proxy, faulty
        self.appeared: float | None = None
        self.gone: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            state = self.faulty(self.client.proxy(self.proxy))
            now = time.time()
            if state and self.appeared is None:
                self.appeared = now
            elif not state and self.appeared is not None and self.gone is None:
                self.gone = now
            time.sleep(0.005)


def abort_latency(trials: int) -> None:
    print(f"\n1. stop condition -> fault reverted at the proxy ({trials} trials, 100 req/s)")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        up = _cli(home, "lab", "up", "--variant", "no-fallback", "--json")
        if up.returncode != 0:
            print(f"  lab up failed: {up.stderr.strip()}")
            return
        api = json.loads(up.stdout)["toxiproxy_url"]
        figures: dict[str, list[float]] = {}
        detect: list[float] = []
        try:
            for i in range(trials):
                fault = list(FAULTS)[i % len(FAULTS)]
                watch = ProxyWatch(api, "recommendations", FAULTS[fault][1])
                watch.start()
                result = _cli(home, "run", str(_abort_experiment(Path(tmp), fault)), "--json")
                watch.stop.set()
                watch.join()
                if result.returncode != 4 or watch.gone is None:
                    print(f"  trial {i}: exit {result.returncode}, not aborted/reverted; skipped")
                    continue
                journal = json.loads(Path(json.loads(result.stdout)["journal"]).read_text())
                fired = journal["chaosrun"]["safeguard"]["fired_at"]
                figures.setdefault(fault, []).append((watch.gone - fired) * 1000)
                if watch.appeared is not None:
                    detect.append((fired - watch.appeared) * 1000)
        finally:
            _cli(home, "lab", "down")
    every = sorted(v for values in figures.values() for v in values)
    for fault, values in figures.items():
        print(
            f"  {fault:11s} n={len(values):2d}  median {statistics.median(values):6.1f} ms  "
            f"max {max(values):6.1f} ms"
        )
    if every:
        p95 = nearest_rank(every, 0.95)
        verdict = "ok" if p95 <= 250 else "MISSED"
        print(
            f"  all         n={len(every):2d}  median {statistics.median(every):6.1f} ms  "
            f"p95 {p95:6.1f} ms  max {every[-1]:6.1f} ms   (goal p95 <= 250 ms: {verdict})"
        )
    if detect:
        print(
            f"  fault applied -> condition fired (window 0.5 s + for 0.5 s): median "
            f"{statistics.median(detect):.0f} ms, max {max(detect):.0f} ms"
        )


_PROFILES = {  # profile -> (section, what is killed, experiment)
    "streaming": (2, "trials", EXPERIMENT),
    "two-region": (3, "region outages on the two-region lab", REGION_EXPERIMENT),
    "k8s": (5, "Kubernetes changes on the k8s lab", K8S_EXPERIMENT),
}


def kill_matrix(trials: int, seed: int, profile: str = "streaming") -> None:
    section, what, experiment = _PROFILES[profile]
    print(f"\n{section}. kill matrix ({trials} {what} at random moments, seed {seed})")
    rng = random.Random(seed)
    results = []
    # Region outages and Kubernetes changes record nothing between proxies and dependencies: no
    # relay to kill.
    kinds = [k for k in KINDS if not (profile != "streaming" and k == "sigkill-relay")]
    with tempfile.TemporaryDirectory() as tmp:
        lab_home = Path(tmp) / "lab-home"
        up = _cli(
            lab_home, "lab", "up", *(["--profile", profile] if profile != "streaming" else [])
        )
        if up.returncode != 0:
            print(f"  lab up failed: {up.stderr.strip()}")
            return
        try:
            for i in range(trials):
                kind = kinds[i % len(kinds)]
                ephemeral = (i // len(kinds)) % 2 == 1
                home = Path(tmp) / f"eph-{i}" if ephemeral else lab_home
                delay = round(rng.uniform(0.3, 6.5), 2)
                trial = run_trial(kind, delay, home, ephemeral, experiment)
                results.append(trial)
                mark = "clean" if trial.clean else "LEFTOVERS: " + "; ".join(trial.leftovers)
                restore = "-" if trial.restore_s is None else f"{trial.restore_s:.2f} s"
                print(
                    f"  {i + 1:3d} {kind:28s} {'ephemeral' if ephemeral else 'lab-up':9s} "
                    f"at {trial.delay_s:4.2f} s  exit {trial.exit_code}  restore {restore}  "
                    f"{'(run had ended) ' if trial.missed else ''}"
                    f"{'(killed before the run began) ' if trial.before_run else ''}{mark}"
                )
        finally:
            _cli(lab_home, "lab", "down")
    print("  per kind:   trials  clean  worst restore  median restore")
    for kind in kinds:
        mine = [t for t in results if t.kind == kind]
        times = [t.restore_s for t in mine if t.restore_s is not None]
        worst = f"{max(times):.2f} s" if times else "-"
        median = f"{statistics.median(times):.2f} s" if times else "-"
        clean = sum(t.clean for t in mine)
        print(f"  {kind:28s} {len(mine):3d} {clean:6d}  {worst:>13s}  {median:>14s}")
    times = [t.restore_s for t in results if t.restore_s is not None]
    leftovers = sum(len(t.leftovers) for t in results)
    early = sum(t.before_run for t in results)
    ended = sum(t.missed for t in results)
    worst = f"{max(times):.2f} s" if times else "-"
    print(
        f"  total: {len(results)} trials ({early} killed before the run began, {ended} after it "
        f"ended), {sum(t.clean for t in results)} clean, {leftovers} leftovers, "
        f"worst time-to-restore {worst}"
    )


def suite_kill_matrix(trials: int, seed: int) -> None:
    print(f"\n4. suite kill matrix ({trials} suites of 2 runs side by side, seed {seed})")
    rng = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for name in ("one", "two"):
            copies.append(Path(tmp) / f"kill-{name}.yaml")
            shutil.copy(EXPERIMENT, copies[-1])
        for i in range(trials):
            kind = SUITE_KINDS[i % len(SUITE_KINDS)]
            delay = round(rng.uniform(0.3, 5.0), 2)
            trial = run_suite_trial(kind, delay, Path(tmp) / f"home-{i}", copies, parallel=2)
            results.append(trial)
            clean = not trial.leftovers
            restore = "-" if trial.restore_s is None else f"{trial.restore_s:.2f} s"
            print(
                f"  {i + 1:3d} {kind:14s} at {delay:4.2f} s  exit {trial.exit_code}  "
                f"restore {restore}  journals {trial.journal_statuses}  "
                f"{'clean' if clean else 'LEFTOVERS: ' + '; '.join(trial.leftovers)}"
            )
    times = [t.restore_s for t in results if t.restore_s is not None]
    print(
        f"  total: {len(results)} suites, {sum(not t.leftovers for t in results)} clean, worst "
        f"time-to-restore {max(times):.2f} s, median {statistics.median(times):.2f} s"
        if times
        else "  no trial restored"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--abort-trials", type=int, default=20)
    parser.add_argument("--kill-trials", type=int, default=36)
    parser.add_argument("--region-trials", type=int, default=14)
    parser.add_argument("--suite-trials", type=int, default=9)
    parser.add_argument("--k8s-trials", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    args = parser.parse_args()
    if args.abort_trials:
        abort_latency(args.abort_trials)
    if args.kill_trials:
        kill_matrix(args.kill_trials, args.seed)
    if args.region_trials:
        kill_matrix(args.region_trials, args.seed, "two-region")
    if args.suite_trials:
        suite_kill_matrix(args.suite_trials, args.seed)
    if args.k8s_trials:
        kill_matrix(args.k8s_trials, args.seed, "k8s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
