"""The lab's database on real Redis and Sentinel processes, every link through Toxiproxy: the
replica follows the primary through the primary's proxy; cutting region a (its Toxiproxy's
proxies disabled, its processes still running) makes region b's two Sentinels promote the
replica, and a write is acknowledged there; restoring region a brings the old primary back as a
replica (or, when region a's Sentinel wins a later election, the database fails back), with
nothing written lost. Needs redis-server and redis-sentinel (installed by `make setup`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.sentinel import Sentinel

from chaosrun.lab.database import MASTER_NAME, database_profile
from chaosrun.lab.lab import LabInfo, lab_down, start_lab
from chaosrun.lab.toxiproxy import ToxiproxyClient

TIMEOUT_S = 0.5  # every client call is bounded (a cut link must not hang a test)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabInfo]:
    info = start_lab(tmp_path / "lab", database_profile(), "healthy")
    try:
        yield info
    finally:
        assert lab_down(info) == []


def _port(info: LabInfo, proxy: str) -> int:
    return int(next(p.listen for p in info.proxies if p.name == proxy).rsplit(":", 1)[1])


def _client(info: LabInfo, proxy: str) -> redis.Redis:
    return redis.Redis(
        "127.0.0.1", _port(info, proxy), socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )


def _until(condition: Callable[[], Any], timeout_s: float) -> float:
    """Seconds until `condition()` is truthy (errors count as not yet); fails after timeout_s."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except redis.RedisError:
            pass
        assert time.monotonic() - started < timeout_s, "timed out"
        time.sleep(0.02)


def test_cutting_region_a_fails_the_database_over_to_region_b(lab: LabInfo) -> None:
    primary, replica = _client(lab, "redis-a"), _client(lab, "redis-b")
    assert primary.set("before", "1")
    _until(lambda: replica.info("replication")["master_link_status"] == "up", 15)
    _until(lambda: replica.get("before") == b"1", 5)
    sentinel = Sentinel(
        [("127.0.0.1", _port(lab, "sentinel-2")), ("127.0.0.1", _port(lab, "sentinel-3"))],
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
    )
    assert sentinel.discover_master(MASTER_NAME) == ("127.0.0.1", _port(lab, "redis-a"))
    for known in sentinel.sentinels:  # each knows the other two and both replicas
        _until(lambda k=known: len(k.sentinel_sentinels(MASTER_NAME)) == 2, 15)
        _until(lambda k=known: len(k.sentinel_slaves(MASTER_NAME)) == 2, 15)

    region_a = ToxiproxyClient(lab.regions[0].toxiproxy_url, timeout_s=1.0)
    cut = [p.name for p in lab.proxies if p.region == "a"]
    assert cut == ["redis-a", "sentinel-1"]
    for name in cut:
        region_a.set_enabled(name, False)
    promoted = _until(
        lambda: sentinel.discover_master(MASTER_NAME) == ("127.0.0.1", _port(lab, "redis-b")), 20
    )
    written = _until(lambda: replica.set("during", "1"), 10)
    print(f"\nfailover: promoted after {promoted:.2f} s, first write +{written:.2f} s")
    assert promoted > 0.9  # not before down-after-milliseconds (1 s): a real detection

    for name in cut:
        region_a.set_enabled(name, True)

    # The database heals: one primary, the other two its replicas, all three holding what was
    # written before and during the outage. Usually the old primary rejoins as a replica; in CI,
    # once region a's Sentinel, back from its partition, won a second election and failed back
    # to it, and once a second failover went to redis-b2: any one primary will do.
    nodes = {name: _client(lab, name) for name in ("redis-a", "redis-b", "redis-b2")}
    seen: dict[str, object] = {}

    def healed() -> bool:
        seen.clear()
        for name, node in nodes.items():
            try:
                role = node.info("replication")["role"]
                seen[name] = (role, node.get("before"), node.get("during"))
            except redis.RedisError as error:
                seen[name] = repr(error)
        roles = sorted(str(v[0]) for v in seen.values() if isinstance(v, tuple))
        complete = all(isinstance(v, tuple) and v[1:] == (b"1", b"1") for v in seen.values())
        return roles == ["master", "slave", "slave"] and complete

    try:
        _until(healed, 45)
    except AssertionError:
        pytest.fail(f"the database did not heal in 45 s: {seen}")
