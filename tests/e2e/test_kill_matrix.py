"""A sample of the kill matrix in `make test`: every kind of kill once, at a random moment.

`make bench` runs many more trials (bench/killmatrix.py) and prints the worst time-to-restore.
The seed is printed in every failure; KILL_MATRIX_SEED=N replays it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.engine.rundir import list_runs
from chaosrun.lab.procs import owned_processes

from .conftest import REPO, run_cli, wait_for
from .killmatrix import EXPERIMENT, K8S_EXPERIMENT, KINDS, REGION_EXPERIMENT, run_trial

SEED = int(os.environ.get("KILL_MATRIX_SEED", time.time_ns() % 1_000_000))
# Four faults held 1 s each after ~1.5 s of start-up (lab, load, hypothesis): anywhere in it.
DELAYS = random.Random(SEED)


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("killhome")
    up = run_cli(home, "lab", "up")
    assert up.returncode == 0, up.stderr
    yield home
    down = run_cli(home, "lab", "down")
    assert down.returncode == 0, down.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_outlives_a_killed_run(kind: str, lab_home: Path, tmp_path: Path) -> None:
    delay = round(DELAYS.uniform(1.0, 6.5), 2)
    ephemeral = kind in ("sigkill-supervisor+cleanup", "sigint-supervisor")
    home = tmp_path / "ephemeral" if ephemeral else lab_home
    trial = run_trial(kind, delay, home, ephemeral)
    where = f"seed {SEED}, delay {delay} s, {'ephemeral lab' if ephemeral else 'lab up'}"
    assert not trial.before_run, f"killed before the run began: {where}"
    assert trial.leftovers == [], where
    assert trial.clean, where
    assert trial.restore_s is not None


@pytest.fixture(scope="module")
def region_lab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("killregionhome")
    up = run_cli(home, "lab", "up", "--profile", "two-region")
    assert up.returncode == 0, up.stderr
    yield home
    down = run_cli(home, "lab", "down")
    assert down.returncode == 0, down.stderr


# Region outages: two kinds here (a running two-region lab, and an ephemeral one whose HAProxy,
# Redis and Sentinels must all go); bench/safety.py --regions runs every kind.
@pytest.mark.parametrize(
    ("kind", "ephemeral"), [("sigkill-supervisor+next-run", False), ("sigint-supervisor", True)]
)
def test_nothing_outlives_a_killed_region_outage(
    kind: str, ephemeral: bool, region_lab_home: Path, tmp_path: Path
) -> None:
    delay = round(DELAYS.uniform(1.5, 6.0), 2)
    home = tmp_path / "ephemeral" if ephemeral else region_lab_home
    trial = run_trial(kind, delay, home, ephemeral, REGION_EXPERIMENT)
    where = f"seed {SEED}, delay {delay} s, {'ephemeral lab' if ephemeral else 'lab up'}"
    assert not trial.before_run, f"killed before the run began: {where}"
    assert trial.leftovers == [], where
    assert trial.clean, where
    assert trial.restore_s is not None


@pytest.fixture(scope="module")
def k8s_lab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("killk8shome")
    up = run_cli(home, "lab", "up", "--profile", "k8s")
    assert up.returncode == 0, up.stderr
    yield home
    down = run_cli(home, "lab", "down")
    assert down.returncode == 0, down.stderr


# Kubernetes changes (cordon, scale, taint, NetworkPolicy, drain) on a running k8s lab, each
# asked of its API server afterwards; bench/safety.py --k8s-trials runs more.
@pytest.mark.parametrize(
    "kind",
    ["sigkill-supervisor+next-run", pytest.param("sigint-supervisor", marks=pytest.mark.slow)],
)
def test_nothing_outlives_a_killed_kubernetes_run(
    kind: str, k8s_lab_home: Path, tmp_path: Path
) -> None:
    delay = round(DELAYS.uniform(1.5, 6.0), 2)
    trial = run_trial(kind, delay, k8s_lab_home, False, K8S_EXPERIMENT)
    where = f"seed {SEED}, delay {delay} s, lab up --profile k8s"
    assert not trial.before_run, f"killed before the run began: {where}"
    assert trial.leftovers == [], where
    assert trial.clean, where
    assert trial.restore_s is not None


def test_supervisor_killed_while_its_ephemeral_lab_starts(tmp_path: Path) -> None:
    """The lab is recorded (and its processes marked) before it is ready: cleanup finds it."""
    real = os.environ.get("TOXIPROXY_SERVER") or str(REPO / ".tools" / "bin" / "toxiproxy-server")
    slow = tmp_path / "slow-toxiproxy"
    slow.write_text(f'#!/bin/sh\nsleep 3\nexec "{real}" "$@"\n')
    slow.chmod(0o755)
    home = tmp_path / "home"
    env = {**os.environ, "CHAOSRUN_HOME": str(home), "TOXIPROXY_SERVER": str(slow)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaosrun", "run", str(EXPERIMENT)],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: list(home.glob("runs/*/lab/logs/gateway.log")), 20, "the lab to spawn")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        proc.kill()
    (run_dir,) = list_runs(home)
    lab_dir = run_dir / "lab"
    assert owned_processes(str(lab_dir)), "the lab's processes carry the run's marker"
    cleanup = run_cli(home, "cleanup")
    assert cleanup.returncode == 0, cleanup.stderr
    assert owned_processes(str(lab_dir)) == []
    assert owned_processes(str(run_dir)) == []
    assert json.loads((run_dir / "journal.json").read_text())["status"] == "aborted"
