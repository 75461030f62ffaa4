"""The lab as data: a profile's checks, its command templates, and the streaming app's profile
(the same processes the lab always started)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from chaosrun.lab.profile import (
    LabProfile,
    ProxySpec,
    Readiness,
    ServiceSpec,
    expand,
    streaming_profile,
)
from chaosrun.lab.readiness import is_ready
from chaosrun.lab.topology import DEFAULT_TOPOLOGY


def test_the_streaming_profile_is_the_lab_it_always_was() -> None:
    profile = streaming_profile(DEFAULT_TOPOLOGY, "healthy")
    assert [s.name for s in profile.services] == ["catalog", "recommendations", "auth", "gateway"]
    assert [(p.name, p.to, p.region) for p in profile.proxies] == [
        ("catalog", "catalog", "a"),
        ("recommendations", "recommendations", "a"),
        ("auth", "auth", "a"),
    ]
    assert profile.entry == "gateway" and profile.regions == ("a",)
    assert all(s.readiness == Readiness("http", "/health") and s.kept for s in profile.services)
    catalog = expand(profile.services[0].command, {"python": "py", "dir": "/l", "port": "1"}, {})
    assert catalog == [
        "py", "-m", "chaosrun.lab.services.dependency", "--name", "catalog",
        "--host", "127.0.0.1", "--port", "1", "--latency-ms", "3",
        "--max-connections", "64", "--keepalive-requests", "50",
    ]  # fmt: skip
    listens = {"catalog": "127.0.0.1:11", "recommendations": "127.0.0.1:12", "auth": "127.0.0.1:13"}
    gateway = expand(
        profile.services[3].command, {"python": "py", "dir": "/l", "port": "2"}, listens
    )
    assert gateway == [
        "py", "-m", "chaosrun.lab.services.gateway", "--host", "127.0.0.1", "--port", "2",
        "--topology", "/l/topology.json", "--variant", "healthy", "--data-dir", "/l/data/gateway",
        "--dep", "catalog=http://127.0.0.1:11", "--dep", "recommendations=http://127.0.0.1:12",
        "--dep", "auth=http://127.0.0.1:13",
    ]  # fmt: skip


def _svc(name: str, *command: str, region: str = "a") -> ServiceSpec:
    return ServiceSpec(name, command or ("{python}",), region=region)


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (lambda: LabProfile("p", (_svc("x"), _svc("x")), (), "x"), "duplicate service name"),
        (lambda: LabProfile("p", (_svc("x"),), (), "y"), "entry 'y' is not a service"),
        (
            lambda: LabProfile("p", (_svc("x"),), (ProxySpec("a", "x"), ProxySpec("a", "x")), "x"),
            "duplicate proxy name",
        ),
        (
            lambda: LabProfile("p", (_svc("x"),), (ProxySpec("a", "nobody"),), "x"),
            "proxy a is in front of unknown service 'nobody'",
        ),
        (
            lambda: LabProfile("p", (_svc("x", "--to", "{proxy:db}"),), (), "x"),
            "service x uses unknown proxy 'db'",
        ),
    ],
)
def test_a_profile_that_does_not_hold_together_is_refused(profile, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        profile()


def test_regions_in_first_seen_order() -> None:
    profile = LabProfile(
        "two",
        (_svc("db", region="b"), _svc("edge", region="c")),
        (ProxySpec("db-b", "db", "b"), ProxySpec("db-a", "db", "a")),
        "edge",
    )
    assert profile.regions == ("b", "a", "c")


@pytest.fixture
def answering() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on a free port that answers its first read with +PONG (as Redis does)."""
    server = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(64)
                got.append(data)
                if data:
                    conn.sendall(b"+PONG\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    server.close()


def test_tcp_and_redis_readiness(answering: tuple[int, list[bytes]]) -> None:
    port, got = answering
    assert is_ready(Readiness("tcp"), "127.0.0.1", port)
    assert is_ready(Readiness("redis"), "127.0.0.1", port)
    assert b"PING\r\n" in got
    closed = socket.create_server(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    assert not is_ready(Readiness("tcp"), "127.0.0.1", free)
    assert not is_ready(Readiness("redis"), "127.0.0.1", free)
    assert not is_ready(Readiness("http"), "127.0.0.1", free)


def test_the_database_reaches_everything_through_its_regions_proxies() -> None:
    from chaosrun.lab.database import database_profile

    profile = database_profile()
    assert [(s.name, s.region, s.readiness.kind) for s in profile.services] == [
        ("redis-a", "a", "redis"),
        ("redis-b", "b", "redis-replica"),
        ("redis-b2", "b", "redis-replica"),
        ("sentinel-1", "a", "sentinel"),
        ("sentinel-2", "b", "sentinel"),
        ("sentinel-3", "b", "sentinel"),
    ]
    # a Sentinel starts once both replicas are linked, and is ready once it knows both
    assert all(s.after == ("redis-b", "redis-b2") for s in profile.services[3:])
    assert {s.readiness.count for s in profile.services[3:]} == {2}
    assert [(p.name, p.to, p.region) for p in profile.proxies] == [
        (s.name, s.name, s.region) for s in profile.services
    ]
    listens = {p.name: f"127.0.0.1:{2000 + i}" for i, p in enumerate(profile.proxies)}
    values = {"python": "py", "dir": "/l", "port": "1"}
    replica = expand(profile.services[1].command, values, listens)
    assert replica[replica.index("--replicaof") + 1 :] == ["127.0.0.1", "2000"]
    assert replica[replica.index("--replica-announce-port") + 1] == "2001"
    assert replica[replica.index("--save") + 1] == ""  # no snapshots
    ((name, content),) = profile.services[4].files
    assert name == "sentinel-2/sentinel.conf"
    config = expand((content,), values, listens)[0].splitlines()
    assert "sentinel monitor lab 127.0.0.1 2000 2" in config  # the primary's proxy, quorum 2
    assert "sentinel announce-port 2004" in config
    assert "port 1" in config and "sentinel down-after-milliseconds lab 1000" in config


def test_proxy_port_tokens_need_a_known_proxy_in_files_too() -> None:
    bad = ServiceSpec("x", ("{python}",), files=(("x.conf", "port {proxy_port:db}"),))
    with pytest.raises(ValueError, match="service x uses unknown proxy 'db'"):
        LabProfile("p", (bad,), (), "x")
