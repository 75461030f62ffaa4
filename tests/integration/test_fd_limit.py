"""fd_limit on the lab's catalog: with its soft RLIMIT_NOFILE 8 above what it has open, a burst
of 100 concurrent /api/browse needs more connections to it than it may accept; the gateway's
per-attempt timeout and fallback keep every answer a fast 200. Revert (or replaying the undo
log) puts the limit back; a catalog that died under the limit leaves nothing to revert.

Measured (fresh lab, 7 fds open in the catalog, limit 15): accept() fails with EMFILE, asyncio
stops accepting for 1 s, the connections it did not accept wait in the listen backlog, the
gateway's attempts on them time out (150 ms) and its fallback answers: 100 x 200 within
0.2-0.35 s. The same burst without the limit: no timeouts (the bulkhead of 10 rejects the rest).
On a lab whose gateway already holds 10 keep-alive connections to the catalog the limit has
no visible effect: no new descriptor is needed.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.faults import REGISTRY
from chaosrun.faults._host import pid_listening_on
from chaosrun.faults.fd_limit import open_fds
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.lab.procs import ProcessRef, process_start_time
from chaosrun.lab.services.gateway import DEGRADED_HEADER

NOFILE = resource.RLIMIT_NOFILE
BURST = 100
CLIENT_TIMEOUT_S = 5.0


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabInfo]:
    """A fresh lab per test: the gateway has no connection to the catalog yet."""
    info = lab_up(tmp_path / "lab")
    try:
        yield info
    finally:
        assert lab_down(info) == []


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(path))
    return path


def _config(info: LabInfo) -> dict[str, str]:
    return {"chaosrun_service_url": info.service_url, "chaosrun_toxiproxy_url": info.toxiproxy_url}


def _catalog(info: LabInfo) -> int:
    """The catalog service itself (the lab records its keeper)."""
    upstream = next(p.upstream for p in info.proxies if p.name == "catalog")
    pid = pid_listening_on(int(upstream.rsplit(":", 1)[1]))
    assert pid is not None
    return pid


def _soft_limit_line(pid: int) -> list[str]:
    """The 'Max open files' row of /proc/PID/limits: [soft, hard]."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return line.split()[3:5]
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def _settled_fds(pid: int) -> int:
    """The catalog's open descriptors once the lab's readiness checks' connections are closed."""
    deadline = time.monotonic() + 5
    last = open_fds(pid)
    while True:
        time.sleep(0.2)
        now = open_fds(pid)
        assert now is not None and time.monotonic() < deadline, f"fds {last} -> {now}"
        if now == last:
            return now
        last = now


def _get(url: str) -> tuple[int | str, str | None, float]:
    """(status or exception name, the degraded header, seconds)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT_S) as response:
            status: int | str = response.status
            degraded = response.headers.get(DEGRADED_HEADER)
    except urllib.error.HTTPError as exc:
        status, degraded = exc.code, exc.headers.get(DEGRADED_HEADER)
    except OSError as exc:
        status, degraded = type(exc).__name__, None
    return status, degraded, time.perf_counter() - start


def _burst(info: LabInfo) -> list[tuple[int | str, str | None, float]]:
    assert info.service_url.startswith("http://127.0.0.1:")
    url = f"{info.service_url}/api/browse"
    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(lambda _: _get(url), range(BURST)))


def _catalog_state(info: LabInfo) -> dict[str, int]:
    with urllib.request.urlopen(f"{info.service_url}/state", timeout=2) as response:
        state = json.load(response)["dependencies"]["catalog"]
    return {k: state[k] for k in ("calls", "attempts", "timeouts", "failures", "fallbacks")}


def test_the_catalog_out_of_descriptors_is_answered_by_the_fallback_in_time(
    lab: LabInfo, log: Path
) -> None:
    config, pid = _config(lab), _catalog(lab)
    soft, hard = resource.prlimit(pid, NOFILE)
    in_use = _settled_fds(pid)
    assert _catalog_state(lab)["attempts"] == 0  # no connection to the catalog yet
    result = REGISTRY["fd_limit"].inject(proxy="catalog", max_open=in_use + 8, configuration=config)
    try:
        assert (result["pid"], result["open_fds"]) == (pid, in_use)
        assert result["new_limits"] == [in_use + 8, hard]
        assert _soft_limit_line(pid) == [str(in_use + 8), str(hard)]
        (entry,) = undolog.pending_entries(log)
        assert entry.params["soft"] == soft and entry.params["proxy"] == "catalog"

        answers = _burst(lab)
        state = _catalog_state(lab)
        held = open_fds(pid)
    finally:
        reverted = REGISTRY["fd_limit"].revert(proxy="catalog", configuration=config)

    statuses = {status for status, _, _ in answers}
    slowest = max(seconds for _, _, seconds in answers)
    degraded = sum("catalog" in (header or "").split(",") for _, header, _ in answers)
    assert statuses == {200}, answers
    assert slowest < 1.0, f"slowest answer {slowest:.3f} s"
    assert degraded > 0
    # The limit, not only the bulkhead, made calls fail: attempts on connections the catalog
    # could not accept timed out, and the catalog saw EMFILE at accept.
    assert state["timeouts"] > 0, state
    assert held is not None and held <= in_use + 8
    catalog_log = (Path(lab.directory) / "logs" / "catalog.log").read_text()
    assert "Too many open files" in catalog_log

    assert reverted == {"proxy": "catalog", "reverted": True}
    assert resource.prlimit(pid, NOFILE) == (soft, hard)
    assert undolog.pending_entries(log) == []
    # Back to normal once asyncio accepts again (1 s after EMFILE) and the breaker closes.
    deadline = time.monotonic() + 10
    while (answer := _get(f"{lab.service_url}/api/browse"))[:2] != (200, None):
        assert time.monotonic() < deadline, f"still {answer} after revert"
        time.sleep(0.1)


def test_replaying_the_undo_log_puts_the_limit_back_after_a_killed_run(
    lab: LabInfo, log: Path
) -> None:
    pid = _catalog(lab)
    before = resource.prlimit(pid, NOFILE)
    REGISTRY["fd_limit"].inject(proxy="catalog", max_open=64, configuration=_config(lab))
    assert resource.prlimit(pid, NOFILE) == (64, before[1])
    (outcome,) = undo.replay(log)  # as the supervisor, `cleanup` or the next run would
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (
        True,
        None,
        "restore_rlimit",
    )
    assert resource.prlimit(pid, NOFILE) == before
    assert undo.replay(log) == []


def test_a_catalog_killed_under_the_limit_leaves_nothing_to_revert(lab: LabInfo, log: Path) -> None:
    config, pid = _config(lab), _catalog(lab)
    REGISTRY["fd_limit"].inject(proxy="catalog", max_open=32, configuration=config)
    os.kill(pid, signal.SIGKILL)  # its keeper restarts it: a new process, its own limits
    ref = ProcessRef("catalog", pid, process_start_time(pid))
    deadline = time.monotonic() + 5
    while ref.alive():
        assert time.monotonic() < deadline, "the catalog outlived SIGKILL"
        time.sleep(0.01)
    assert REGISTRY["fd_limit"].revert(proxy="catalog", configuration=config) == {
        "proxy": "catalog",
        "reverted": False,
    }
    assert undolog.pending_entries(log) == []
