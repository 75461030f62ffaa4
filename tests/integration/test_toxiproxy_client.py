"""The Toxiproxy client against a real server: CRUD, PATCH, reset, error mapping, timeouts."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from chaosrun.errors import ToxiproxyError, ToxiproxyUnreachable
from chaosrun.lab.ports import free_ports
from chaosrun.lab.toxiproxy import Toxic, ToxiproxyClient


def test_version_and_proxy_crud(toxiproxy: ToxiproxyClient, upstream: str) -> None:
    assert toxiproxy.version()
    (port,) = free_ports(1)
    created = toxiproxy.create_proxy("catalog", f"127.0.0.1:{port}", upstream)
    assert created.enabled and created.upstream == upstream
    assert set(toxiproxy.proxies()) == {"catalog"}
    assert toxiproxy.set_enabled("catalog", False).enabled is False
    toxiproxy.delete_proxy("catalog")
    assert toxiproxy.proxies() == {}


def test_toxic_add_patch_remove_and_reset(toxiproxy: ToxiproxyClient, upstream: str) -> None:
    (port,) = free_ports(1)
    toxiproxy.create_proxy("auth", f"127.0.0.1:{port}", upstream)
    toxiproxy.add_toxic("auth", Toxic("slow", "latency", attributes={"latency": 100}))
    updated = toxiproxy.update_toxic("auth", "slow", attributes={"latency": 250})
    assert updated.attributes["latency"] == 250
    assert toxiproxy.remove_toxic("auth", "slow") is True
    assert toxiproxy.remove_toxic("auth", "slow") is False  # idempotent
    toxiproxy.add_toxic("auth", Toxic("slow", "latency", attributes={"latency": 100}))
    toxiproxy.set_enabled("auth", False)
    toxiproxy.reset()
    state = toxiproxy.proxy("auth")
    assert state.enabled and state.toxics == ()


def test_http_errors_map_to_toxiproxy_errors(toxiproxy: ToxiproxyClient, upstream: str) -> None:
    with pytest.raises(
        ToxiproxyError,
        match=r"^Toxiproxy refused: 404 proxy not found \(GET http://127\.0\.0\.1:\d+/proxies/nope\)$",
    ):
        toxiproxy.proxy("nope")
    (port,) = free_ports(1)
    toxiproxy.create_proxy("dup", f"127.0.0.1:{port}", upstream)
    toxiproxy.add_toxic("dup", Toxic("t", "latency", attributes={"latency": 1}))
    with pytest.raises(ToxiproxyError) as conflict:
        toxiproxy.add_toxic("dup", Toxic("t", "latency", attributes={"latency": 1}))
    assert conflict.value.status == 409


def test_refused_connection_is_unreachable() -> None:
    (port,) = free_ports(1)
    client = ToxiproxyClient(f"http://127.0.0.1:{port}")
    with pytest.raises(ToxiproxyUnreachable, match="unreachable"):
        client.proxies()
    assert client.is_up() is False


def test_a_hanging_api_is_bounded_by_the_timeout() -> None:
    """A server that accepts and never answers (Toxiproxy issue #558) must not hang us."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    client = ToxiproxyClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(ToxiproxyUnreachable, match=r"did not answer GET /proxies within 0.3 s"):
        client.proxies()
    assert time.monotonic() - start < 1.5
    for sock in accepted:
        sock.close()
    listener.close()


def test_parallel_clients_talk_to_their_own_servers(toxiproxy: ToxiproxyClient) -> None:
    other = ToxiproxyClient("http://127.0.0.1:1")
    assert other.url != toxiproxy.url
    assert toxiproxy.is_up() and not other.is_up()


def test_rejects_a_non_http_url() -> None:
    with pytest.raises(ToxiproxyError, match="must be http://host:port"):
        ToxiproxyClient("ftp://127.0.0.1:8474")
