"""The CLI as a user runs it: real subprocesses, a real lab on free ports, one home per module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from chaosrun.lab.lab import listening_ports, load_lab_info
from chaosrun.lab.toxiproxy import ToxiproxyClient

REPO = Path(__file__).resolve().parents[2]
CHAOSRUN = [sys.executable, "-m", "chaosrun"]


def run_cli(
    home: Path, *args: str, timeout: float = 120, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`environ` replaces this process's environment (default) as the base of the child's."""
    env = {**(os.environ if environ is None else environ), "CHAOSRUN_HOME": str(home)}
    return subprocess.run(
        [*CHAOSRUN, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def start_cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CHAOSRUN_HOME": str(home)}
    return subprocess.Popen(
        [*CHAOSRUN, *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def is_clean(client: ToxiproxyClient) -> bool:
    return all(p.enabled and not p.toxics for p in client.proxies().values())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`chaosrun lab up` in a private home; `lab down` afterwards leaves no port listening."""
    home = tmp_path_factory.mktemp("home")
    up = run_cli(home, "lab", "up", "--json")
    assert up.returncode == 0, up.stderr
    endpoints = json.loads(up.stdout)
    endpoints["home"] = home
    info = load_lab_info(home / "lab")
    assert info is not None
    try:
        yield endpoints
    finally:
        down = run_cli(home, "lab", "down")
        assert down.returncode == 0, down.stderr
        assert listening_ports(info.ports()) == []
