"""A sample of the kill matrix in `make test`: every kind of kill once, at a random moment.

`make bench` runs many more trials (bench/killmatrix.py) and prints the worst time-to-restore.
The seed is printed in every failure; KILL_MATRIX_SEED=N replays it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import run_cli
from .killmatrix import KINDS, run_trial

SEED = int(os.environ.get("KILL_MATRIX_SEED", time.time_ns() % 1_000_000))
# Three faults held 1 s each after ~1.5 s of lab/load start-up: the kill lands anywhere in it.
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
    delay = round(DELAYS.uniform(0.3, 5.0), 2)
    ephemeral = kind in ("sigkill-supervisor+cleanup", "sigint-supervisor")
    home = tmp_path / "ephemeral" if ephemeral else lab_home
    trial = run_trial(kind, delay, home, ephemeral)
    where = f"seed {SEED}, delay {delay} s, {'ephemeral lab' if ephemeral else 'lab up'}"
    assert trial.leftovers == [], where
    assert trial.clean, where
    assert trial.restore_s is not None
