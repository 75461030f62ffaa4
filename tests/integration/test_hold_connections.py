"""hold_connections against a real dependency process with a connection limit, through a real
Toxiproxy: the held connections take every slot, so a client's request waits unanswered; revert
(or replaying the undo log after a killed run) releases them and the waiting request is served.
The limit and the keep-alive budget of the dependency itself are checked on the same process.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY, hold_connections
from chaosrun.faults._host import processes_tagged
from chaosrun.lab.ports import free_ports
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.names import TOXIPROXY_URL_KEY

LIMIT = 4


@pytest.fixture
def dependency(tmp_path: Path) -> Iterator[int]:
    """A lab dependency serving at most LIMIT connections, each closed after 3 answers."""
    (port,) = free_ports(1)
    argv = [sys.executable, "-m", "chaosrun.lab.services.dependency", "--name", "catalog"]
    argv += ["--port", str(port), "--max-connections", str(LIMIT), "--keepalive-requests", "3"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().decode().startswith("READY")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def proxied(toxiproxy: ToxiproxyClient, dependency: int) -> tuple[dict[str, str], int]:
    (listen,) = free_ports(1)
    toxiproxy.create_proxy("catalog", f"127.0.0.1:{listen}", f"127.0.0.1:{dependency}")
    return {TOXIPROXY_URL_KEY: toxiproxy.url}, listen


def _get(port: int, timeout_s: float) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", "/catalog")
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Connection")
    finally:
        conn.close()


def _waits(port: int) -> bool:
    """Whether a request gets no answer within 0.5 s."""
    try:
        _get(port, 0.5)
    except TimeoutError:
        return True
    return False


def test_held_connections_take_every_slot_until_revert(
    proxied: tuple[dict[str, str], int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, listen = proxied
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(tmp_path / "undo.log"))
    assert _get(listen, 2.0)[0] == 200
    result = REGISTRY["hold_connections"].inject(
        proxy="catalog", connections=LIMIT, configuration=config
    )
    assert result["to"] == f"127.0.0.1:{listen}" and result["connections"] == LIMIT
    assert processes_tagged(hold_connections.MODULE, result["tag"]) == [result["pid"]]
    assert _waits(listen)
    reverted = REGISTRY["hold_connections"].revert(proxy="catalog", configuration=config)
    assert reverted == {"proxy": "catalog", "stopped": 1}
    assert _get(listen, 2.0)[0] == 200
    assert undolog.pending_entries(tmp_path / "undo.log") == []


def test_fewer_held_connections_than_slots_leave_room(
    proxied: tuple[dict[str, str], int],
) -> None:
    config, listen = proxied
    REGISTRY["hold_connections"].inject(
        proxy="catalog", connections=LIMIT - 1, configuration=config
    )
    try:
        assert _get(listen, 2.0)[0] == 200
    finally:
        REGISTRY["hold_connections"].revert(proxy="catalog", configuration=config)


def test_replaying_the_undo_log_releases_them_after_a_killed_run(
    proxied: tuple[dict[str, str], int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, listen = proxied
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    result = REGISTRY["hold_connections"].inject(
        proxy="catalog", connections=LIMIT, configuration=config
    )
    (outcome,) = undo.replay(log)  # as the supervisor, `cleanup` or the next run would
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (
        True,
        None,
        "stop_holders",
    )
    assert processes_tagged(hold_connections.MODULE, result["tag"]) == []
    assert _get(listen, 2.0)[0] == 200
    assert undo.replay(log) == []


def test_a_holder_that_cannot_connect_fails_the_inject_and_leaves_nothing(
    toxiproxy: ToxiproxyClient,
) -> None:
    (listen, nowhere) = free_ports(2)
    toxiproxy.create_proxy("catalog", f"127.0.0.1:{listen}", f"127.0.0.1:{nowhere}")
    toxiproxy.set_enabled("catalog", False)  # nothing listens on its port
    with pytest.raises(ChaosrunError, match="could not open 2 connections"):
        REGISTRY["hold_connections"].inject(
            proxy="catalog",
            connections=2,
            configuration={TOXIPROXY_URL_KEY: toxiproxy.url},
        )
    assert processes_tagged(hold_connections.MODULE, "hold_connections-catalog-") == []


def test_the_dependency_closes_a_connection_after_its_keepalive_budget(dependency: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", dependency, timeout=2.0)
    try:
        headers = []
        for _ in range(3):
            conn.request("GET", "/catalog")
            response = conn.getresponse()
            response.read()
            headers.append(response.getheader("Connection"))
    finally:
        conn.close()
    assert headers[:2] == [None, None] and headers[2] == "close"


def test_the_dependency_serves_waiting_connections_in_turn(dependency: int) -> None:
    held = [socket.create_connection(("127.0.0.1", dependency)) for _ in range(LIMIT)]
    try:
        started = time.monotonic()
        assert _waits(dependency)
        held.pop().close()  # one slot frees: the next connection is served
        assert _get(dependency, 2.0)[0] == 200
        assert time.monotonic() - started < 3.0
    finally:
        for sock in held:
            sock.close()
