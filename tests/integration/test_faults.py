"""Each fault observably changes traffic through its proxy, and its revert restores it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from chaosrun.engine import undo
from chaosrun.faults import REGISTRY
from chaosrun.lab.ports import free_ports
from chaosrun.lab.toxiproxy import ToxiproxyClient


def _proxy(client: ToxiproxyClient, upstream: str) -> tuple[str, int]:
    (port,) = free_ports(1)
    client.create_proxy("dep", f"127.0.0.1:{port}", upstream)
    return "dep", port


def _fetch(port: int, size: int = 2, timeout_s: float = 3.0) -> tuple[float, bytes]:
    """One HTTP/1.0 GET over a raw socket, read to EOF: (seconds, body)."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(f"GET /bytes/{size} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    return time.perf_counter() - start, raw.partition(b"\r\n\r\n")[2]


@pytest.fixture
def config(toxiproxy: ToxiproxyClient) -> dict[str, str]:
    return {"chaosrun_toxiproxy_url": toxiproxy.url}


def test_latency_adds_delay_and_revert_removes_it(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    base, _ = _fetch(port)
    REGISTRY["latency"].inject(proxy=name, latency_ms=300, configuration=config)
    slow, body = _fetch(port)
    assert body == b"ok"
    assert slow >= base + 0.28
    REGISTRY["latency"].revert(proxy=name, configuration=config)
    fast, _ = _fetch(port)
    assert fast < 0.2
    assert toxiproxy.toxics(name) == []


def test_bandwidth_slows_a_large_body(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["bandwidth"].inject(proxy=name, rate_kbps=200, configuration=config)
    elapsed, body = _fetch(port, size=100_000)
    assert len(body) == 100_000
    assert elapsed >= 0.4  # 100 KB at 200 KB/s
    REGISTRY["bandwidth"].revert(proxy=name, configuration=config)
    elapsed, _ = _fetch(port, size=100_000)
    assert elapsed < 0.3


def test_slow_close_delays_the_close(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["slow_close"].inject(proxy=name, delay_ms=400, configuration=config)
    elapsed, body = _fetch(port)
    assert body == b"ok"
    assert elapsed >= 0.38
    REGISTRY["slow_close"].revert(proxy=name, configuration=config)
    assert _fetch(port)[0] < 0.2


def test_timeout_zero_is_a_blackhole(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["timeout"].inject(proxy=name, timeout_ms=0, configuration=config)
    # Data is dropped: the client either waits in vain or, once the upstream closes, sees EOF
    # without a single byte of the response.
    try:
        _, body = _fetch(port, timeout_s=0.5)
    except TimeoutError:
        body = b""
    assert body == b""
    REGISTRY["timeout"].revert(proxy=name, configuration=config)
    assert _fetch(port)[1] == b"ok"


def test_reset_peer_resets_the_connection(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["reset_peer"].inject(proxy=name, timeout_ms=0, configuration=config)
    with pytest.raises((ConnectionResetError, ConnectionAbortedError)):
        _fetch(port, timeout_s=2.0)
    REGISTRY["reset_peer"].revert(proxy=name, configuration=config)
    assert _fetch(port)[1] == b"ok"


def test_slicer_spreads_the_body_over_time(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["slicer"].inject(
        proxy=name, average_size_bytes=100, delay_us=2000, configuration=config
    )
    elapsed, body = _fetch(port, size=10_000)
    assert len(body) == 10_000
    assert elapsed >= 0.15  # ~100 slices, 2 ms apart
    REGISTRY["slicer"].revert(proxy=name, configuration=config)
    assert _fetch(port, size=10_000)[0] < 0.1


def test_limit_data_truncates_the_stream(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["limit_data"].inject(proxy=name, limit_bytes=500, configuration=config)
    try:
        _, body = _fetch(port, size=10_000)
    except ConnectionResetError:
        body = b""
    assert len(body) < 10_000
    REGISTRY["limit_data"].revert(proxy=name, configuration=config)
    assert len(_fetch(port, size=10_000)[1]) == 10_000


def test_proxy_down_refuses_connections(toxiproxy, upstream, config) -> None:
    name, port = _proxy(toxiproxy, upstream)
    REGISTRY["proxy_down"].inject(proxy=name, configuration=config)
    with pytest.raises(ConnectionRefusedError):
        _fetch(port)
    REGISTRY["proxy_down"].revert(proxy=name, configuration=config)
    assert _fetch(port)[1] == b"ok"


def test_upstream_stream_and_toxicity_reach_toxiproxy(toxiproxy, upstream, config) -> None:
    name, _ = _proxy(toxiproxy, upstream)
    REGISTRY["latency"].inject(
        proxy=name, latency_ms=5, stream="upstream", toxicity=0.5, configuration=config
    )
    (toxic,) = toxiproxy.toxics(name)
    assert (toxic.stream, toxic.toxicity, toxic.attributes["latency"]) == ("upstream", 0.5, 5)


def test_undo_entry_is_written_before_the_fault_and_replay_reverts(
    toxiproxy, upstream, config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, _ = _proxy(toxiproxy, upstream)
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undo.UNDO_LOG_ENV, str(log))
    REGISTRY["latency"].inject(proxy=name, latency_ms=200, configuration=config)
    REGISTRY["proxy_down"].inject(proxy=name, configuration=config)
    assert [(e.fault, undo.journal_op(e)) for e in undo.pending_entries(log)] == [
        ("latency", "remove_toxic"),
        ("proxy_down", "enable_proxy"),
    ]
    outcomes = undo.replay(log)
    assert [o.reverted for o in outcomes] == [True, True]
    assert undo.pending_entries(log) == []
    state = toxiproxy.proxy(name)
    assert state.enabled and state.toxics == ()
    assert undo.replay(log) == []


def test_undo_entry_survives_a_failed_inject(
    toxiproxy, upstream, config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undo.UNDO_LOG_ENV, str(log))
    with pytest.raises(Exception, match="404"):
        REGISTRY["latency"].inject(proxy="missing", latency_ms=1, configuration=config)
    (entry,) = undo.pending_entries(log)
    assert (entry.proxy, entry.params["toxic"]) == ("missing", "chaosrun_latency_downstream")
    (outcome,) = undo.replay(log)
    assert (outcome.reverted, outcome.error) == (False, None)  # nothing was there to revert
    assert undo.pending_entries(log) == []


def test_a_fault_applied_after_an_early_revert_is_swept_by_replaying_everything(
    toxiproxy, upstream, config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop condition reverts while the worker still runs: the worker's in-flight inject can
    land after that revert (its entry is already marked done). The final sweep must catch it."""
    name, _ = _proxy(toxiproxy, upstream)
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undo.UNDO_LOG_ENV, str(log))
    toxic = "chaosrun_latency_downstream"
    undo.record(log, "latency", toxiproxy_url=toxiproxy.url, proxy=name, toxic=toxic)
    assert [o.reverted for o in undo.replay(log)] == [False]  # early revert: nothing there yet
    REGISTRY["latency"].inject(proxy=name, latency_ms=200, configuration=config)  # lands late
    undo.mark_done(log, undo.pending_entries(log)[0].id)  # as if the worker's rollback failed
    assert undo.replay(log) == []  # pending-only replay cannot see it ...
    assert toxiproxy.proxy(name).toxics != ()
    outcomes = undo.replay(log, everything=True)  # ... the sweep does
    assert [o.entry.id for o in outcomes if o.reverted] != []
    assert toxiproxy.proxy(name).toxics == ()
