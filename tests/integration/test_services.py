"""The lab's sample services as real processes on 127.0.0.1, without Toxiproxy.

Each test starts three dependency processes and a gateway pointed straight at them, all with
``--port 0``: a process prints ``READY <port>`` on stdout once it listens. Traffic is bounded
(at most ~100 requests at once) and every wait has a deadline. Teardown stops each process by PID
with SIGTERM, requires exit 0 within a second, and checks that no port is left listening.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chaosrun.lab.ports import is_listening
from chaosrun.lab.topology import DEFAULT_TOPOLOGY
from chaosrun.lab.variants import apply_variant

pytestmark = pytest.mark.timeout(30)

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 10.0
STOP_DEADLINE_S = 1.0
HTTP_TIMEOUT_S = 5.0


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0


@dataclass
class Lab:
    gateway: str
    deps: dict[str, str]
    procs: list[Proc] = field(default_factory=list)


def _spawn(name: str, module: str, args: list[str], log_dir: Path) -> Proc:
    log = log_dir / f"{name}.log"
    with log.open("wb") as err:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    return Proc(name, popen, log)


def _await_ready(proc: Proc, deadline: float) -> None:
    assert proc.popen.stdout is not None
    fd = proc.popen.stdout.fileno()
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                raise AssertionError(f"{proc.name} not READY in time: {proc.log.read_text()}")
            chunk = os.read(fd, 256)
            if not chunk:
                raise AssertionError(f"{proc.name} exited early: {proc.log.read_text()}")
            buf += chunk
    word, port = buf.split(b"\n", 1)[0].split()
    assert word == b"READY"
    proc.port = int(port)


def _stop(procs: list[Proc]) -> list[str]:
    """SIGTERM every process, wait for each; return what went wrong (slow, non-zero, listening)."""
    problems = []
    started = time.monotonic()
    for proc in procs:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            rc = proc.popen.wait(timeout=max(0.1, started + 3.0 - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(timeout=5)
            problems.append(f"{proc.name} ignored SIGTERM")
            continue
        took = time.monotonic() - started
        if rc != 0:
            problems.append(f"{proc.name} exited {rc}: {proc.log.read_text()[-2000:]}")
        if took > STOP_DEADLINE_S:
            problems.append(f"{proc.name} took {took:.2f} s to stop")
        if proc.popen.stdout is not None:
            proc.popen.stdout.close()
    problems += [f"{p.name} still listening on {p.port}" for p in procs if is_listening(p.port)]
    return problems


@pytest.fixture
def start_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    procs: list[Proc] = []

    def start(
        variant: str = "healthy", catalog_latency_ms: float | None = None, **policy: Any
    ) -> Lab:
        """Start the lab of `variant`; `policy` overrides fields of every dependency's policy."""
        topology = apply_variant(DEFAULT_TOPOLOGY, variant)
        topology = replace(
            topology,
            dependencies=tuple(
                replace(d, policy=replace(d.policy, **policy)) for d in topology.dependencies
            ),
        )
        topo_file = tmp_path / "topology.json"
        topo_file.write_text(topology.to_json())
        deadline = time.monotonic() + READY_TIMEOUT_S
        deps = []
        for dep in topology.dependencies:
            latency = dep.latency_ms
            if dep.name == "catalog" and catalog_latency_ms is not None:
                latency = catalog_latency_ms
            args = ["--name", dep.name, "--latency-ms", str(latency)]
            deps.append(_spawn(dep.name, "chaosrun.lab.services.dependency", args, tmp_path))
        procs.extend(deps)
        for proc in deps:
            _await_ready(proc, deadline)
        urls = {p.name: f"http://127.0.0.1:{p.port}" for p in deps}
        args = ["--topology", str(topo_file), "--variant", variant]
        args += [arg for name, url in urls.items() for arg in ("--dep", f"{name}={url}")]
        gateway = _spawn("gateway", "chaosrun.lab.services.gateway", args, tmp_path)
        procs.append(gateway)
        _await_ready(gateway, deadline)
        lab = Lab(gateway=f"http://127.0.0.1:{gateway.port}", deps=urls, procs=list(procs))
        assert _get(lab.gateway + "/health") == (200, {"status": "ok"})
        return lab

    try:
        yield start
    finally:
        problems = _stop(procs)
        assert not problems, problems


def _exchange(url: str, method: str = "GET") -> tuple[int, Any, dict[str, str]]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def _request(url: str, method: str = "GET") -> tuple[int, Any]:
    status, body, _headers = _exchange(url, method)
    return status, body


def _get(url: str) -> tuple[int, Any]:
    return _request(url)


def _degraded_header(url: str) -> tuple[int, Any, str | None]:
    status, body, headers = _exchange(url)
    return status, body, headers.get("X-Chaosrun-Degraded")


def _arrivals(lab: Lab, dep: str) -> list[dict[str, Any]]:
    arrivals: list[dict[str, Any]] = _get(lab.deps[dep] + "/_stats")[1]["arrivals"]
    return arrivals


def _post(url: str) -> Any:
    status, body = _request(url, "POST")
    assert status == 200, body
    return body


def _burst(url: str, n: int) -> list[tuple[int, Any]]:
    """`n` concurrent GETs, all sent at once; bounded by a 10 s deadline."""

    async def run() -> list[tuple[int, Any]]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one() -> tuple[int, Any]:
                async with session.get(url) as resp:
                    return resp.status, await resp.json()

            async with asyncio.timeout(10):
                return await asyncio.gather(*(one() for _ in range(n)))

    return asyncio.run(run())


def _catalog_state(lab: Lab) -> dict[str, Any]:
    status, state = _get(lab.gateway + "/state")
    assert status == 200
    result: dict[str, Any] = state["dependencies"]["catalog"]
    return result


def test_normal_requests_are_not_degraded(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab()
    status, body, degraded = _degraded_header(lab.gateway + "/api/play")
    assert status == 200, body
    assert body["degraded"] is False and body["fallbacks"] == [] and degraded is None
    assert set(body["data"]) == {"auth", "catalog"}
    assert _get(lab.gateway + "/api/profile")[1]["data"]["auth"]["guest"] is False

    status, state = _get(lab.gateway + "/state")
    assert state["variant"] == "healthy"
    catalog = state["dependencies"]["catalog"]
    assert state["endpoints"] == {
        "/api/play": ["auth", "catalog"],
        "/api/browse": ["catalog", "recommendations"],
        "/api/profile": ["auth"],
    }
    assert catalog["breaker"] == {
        "enabled": True,
        "state": "closed",
        "never_closes": False,
        "opened_at": None,
        "half_open_due": False,
        "transitions": [],
    }
    assert catalog["bulkhead"]["limit"] == 10
    assert (catalog["calls"], catalog["failures"], catalog["fallbacks"]) == (1, 0, 0)
    assert _get(lab.deps["auth"] + "/_stats")[1]["requests"] == 2

    # Each gateway request has one id, sent with every attempt to every dependency it calls.
    (auth_play, auth_profile), (catalog_play,) = _arrivals(lab, "auth"), _arrivals(lab, "catalog")
    assert set(auth_play) == {"mono", "wall", "path", "failed", "request_id", "attempt"}
    assert auth_play["request_id"] == catalog_play["request_id"] != auth_profile["request_id"]
    assert (auth_play["attempt"], catalog_play["attempt"], auth_profile["attempt"]) == (1, 1, 1)
    assert (auth_play["path"], catalog_play["path"]) == ("/auth", "/catalog")
    # Requests that do not come from the gateway have neither header: both null.
    _get(lab.deps["auth"] + "/direct")
    direct = _arrivals(lab, "auth")[-1]
    assert (direct["path"], direct["request_id"], direct["attempt"]) == ("/direct", None, None)

    with urllib.request.urlopen(lab.gateway + "/metrics", timeout=HTTP_TIMEOUT_S) as resp:
        text = resp.read().decode()
    assert 'gateway_requests_total{endpoint="/api/play",status="200"} 1.0' in text
    assert 'gateway_dependency_calls_total{dependency="catalog",outcome="ok"} 1.0' in text
    assert 'gateway_breaker_state{dependency="auth",gateway_breaker_state="closed"} 1.0' in text
    for name in ("bulkhead_in_flight", "bulkhead_rejections_total", "retries_total"):
        assert f"gateway_{name}" in text
    assert "gateway_request_duration_seconds_bucket" in text


def test_failing_dependency_degrades_opens_breaker_and_recovers(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab()
    window = _post(lab.deps["catalog"] + "/_fail?duration_ms=1000&mode=error")
    for _ in range(10):
        started = time.monotonic()
        status, body, degraded = _degraded_header(lab.gateway + "/api/browse")
        assert time.monotonic() - started < 0.5
        assert (status, body["degraded"], body["fallbacks"]) == (200, True, ["catalog"]), body
        assert degraded == "catalog"
        assert body["data"]["catalog"]["item"]["cached"] is True
        assert body["data"]["recommendations"]["items"]
        if _catalog_state(lab)["breaker"]["state"] == "open":
            break
    state = _catalog_state(lab)
    assert [(t["from"], t["to"]) for t in state["breaker"]["transitions"]] == [("closed", "open")]
    assert (state["attempts"], state["retries"], state["short_circuited"]) == (15, 10, 0)

    # Retries seen from the far side: 3 attempts per call, exponential backoff between them,
    # each call's attempts under one request id, numbered 1..3.
    seen = _arrivals(lab, "catalog")
    assert len(seen) == 15  # 5 calls x (1 + 2 retries) until the breaker opened
    ids = list(dict.fromkeys(a["request_id"] for a in seen))
    assert len(ids) == 5
    for request_id in ids:
        assert [a["attempt"] for a in seen if a["request_id"] == request_id] == [1, 2, 3]
    arrivals = [a["mono"] for a in seen]
    gaps = [b - a for a, b in itertools.pairwise(arrivals[:3])]
    assert 0.019 <= gaps[0] < 0.25 and 0.039 <= gaps[1] < 0.25, gaps

    opened_at = state["breaker"]["transitions"][0]["at"]
    assert state["breaker"]["opened_at"] == opened_at and not state["breaker"]["half_open_due"]
    time.sleep(max(window["end"], opened_at + 1.0) - time.time() + 0.1)
    # pybreaker half-opens lazily: past the reset timeout, and before any call, it is still open.
    state = _catalog_state(lab)
    assert (state["breaker"]["state"], state["breaker"]["half_open_due"]) == ("open", True)
    assert len(state["breaker"]["transitions"]) == 1
    status, body, degraded = _degraded_header(lab.gateway + "/api/browse")
    assert (status, body["degraded"], degraded) == (200, False, None), body
    state = _catalog_state(lab)
    assert [(t["from"], t["to"]) for t in state["breaker"]["transitions"]] == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]
    assert (state["breaker"]["state"], state["breaker"]["half_open_due"]) == ("closed", False)


@pytest.mark.parametrize("variant", ["healthy", "no-bulkhead"])
def test_bulkhead_bounds_concurrency_at_the_dependency(
    start_lab: Callable[..., Lab], variant: str
) -> None:
    # A generous timeout: this measures concurrency, not timeouts (a loaded CI box must not turn
    # slow connects into timeouts that hide concurrency).
    lab = start_lab(variant, catalog_latency_ms=300, timeout_ms=3000.0, retry_budget_ms=None)
    answers = _burst(lab.gateway + "/api/browse", 100)
    assert {status for status, _ in answers} == {200}
    seen = _get(lab.deps["catalog"] + "/_stats")[1]["max_in_flight"]
    catalog = _catalog_state(lab)
    bulkhead = catalog["bulkhead"]
    # Every failed (rejected) catalog call became a degraded answer.
    degraded = sum(body["degraded"] for _, body in answers)
    assert degraded == catalog["failures"] == catalog["fallbacks"]
    if variant == "healthy":
        assert 2 <= seen <= 10 and bulkhead["max_in_flight"] <= 10
        assert bulkhead["rejected"] > 0
    else:
        assert seen > 10 and bulkhead["limit"] is None and bulkhead["rejected"] == 0


def test_no_fallback_answers_502_naming_the_dependency(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("no-fallback")
    _post(lab.deps["catalog"] + "/_fail?duration_ms=2000")
    status, body, degraded = _degraded_header(lab.gateway + "/api/browse")
    assert status == 502 and degraded is None
    assert body == {
        "error": "dependency failed",
        "dependency": "catalog",
        "reason": "http-500",
        "endpoint": "/api/browse",
    }
    assert _get(lab.gateway + "/api/profile")[0] == 200


def test_no_retry_cap_retries_until_the_dependency_recovers(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab("no-retry-cap")
    window = _post(lab.deps["catalog"] + "/_fail?duration_ms=700")
    status, body = _get(lab.gateway + "/api/browse")
    assert time.time() >= window["end"]
    assert (status, body["degraded"]) == (200, False)
    state = _catalog_state(lab)
    assert state["retries"] > 2 and state["breaker"]["transitions"] == []


def test_degraded_header_names_every_fallback(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab()
    for dep in ("catalog", "recommendations"):
        _post(lab.deps[dep] + "/_fail?duration_ms=3000")
    status, body, degraded = _degraded_header(lab.gateway + "/api/browse")
    assert (status, body["fallbacks"], degraded) == (
        200,
        ["catalog", "recommendations"],
        "catalog,recommendations",
    )
    status, body, degraded = _degraded_header(lab.gateway + "/api/profile")
    assert (status, body["degraded"], degraded) == (200, False, None)


def _staggered(url: str, n: int, spacing_s: float) -> list[int]:
    """`n` GETs started `spacing_s` apart (each waits for nothing but its own answer)."""

    async def run() -> list[int]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def one(delay: float) -> int:
                await asyncio.sleep(delay)
                async with session.get(url) as resp:
                    await resp.read()
                    return resp.status

            async with asyncio.timeout(10):
                return await asyncio.gather(*(one(i * spacing_s) for i in range(n)))

    return asyncio.run(run())


def test_open_breaker_stops_retries_of_calls_already_admitted(
    start_lab: Callable[..., Lab],
) -> None:
    # Calls of ~165 ms (attempts at 0, ~55, ~160 ms) started 10 ms apart: when the 5th failure
    # opens the breaker, ~15 admitted calls still have retries ahead. None of them may be sent.
    lab = start_lab(bulkhead=50, backoff_initial_ms=50.0, retry_budget_ms=None)
    _post(lab.deps["catalog"] + "/_fail?duration_ms=3000")
    assert set(_staggered(lab.gateway + "/api/browse", 30, 0.01)) == {200}
    breaker = _catalog_state(lab)["breaker"]
    # Each transition once: the late failures of calls admitted before the trip change nothing.
    assert [(t["from"], t["to"]) for t in breaker["transitions"]] == [("closed", "open")]
    opened_at = breaker["transitions"][0]["at"]
    assert breaker["opened_at"] == opened_at
    seen = _arrivals(lab, "catalog")
    before = {a["request_id"] for a in seen if a["wall"] < opened_at}
    assert len(before) >= 10, "too few calls in flight at the trip: the test proves nothing"
    late = [a for a in seen if a["wall"] > opened_at + 0.1]  # the checks allow 100 ms in flight
    assert late == []
    for request_id in before:
        # Increasing attempt numbers, at most 3 (an attempt abandoned before a starved
        # dependency got to it leaves no arrival, so the numbers may have a gap).
        attempts = [a["attempt"] for a in seen if a["request_id"] == request_id]
        assert attempts == sorted(set(attempts)) and attempts[0] >= 1 and attempts[-1] <= 3


def _offline_dependency(**policy: Any) -> Any:
    """A `ResilientDependency` with no session: only its breaker is exercised."""
    from chaosrun.lab.services.resilience import GatewayMetrics, ResilientDependency
    from chaosrun.lab.topology import DEFAULT_POLICY, Dependency

    dep = Dependency("catalog", replace(DEFAULT_POLICY, **policy), 1.0)
    return ResilientDependency(dep, None, GatewayMetrics())  # type: ignore[arg-type]


def test_late_outcomes_of_concurrent_calls_do_not_fake_transitions() -> None:
    import pybreaker

    dep = _offline_dependency(breaker_fail_max=2, breaker_reset_s=0.05)
    breaker = dep._breaker

    def fail(call: Any) -> None:
        """Leave `call` with an error (the context manager re-raises it or a breaker error)."""
        try:
            suppressed = call.__exit__(ValueError, ValueError("boom"), None)
        except pybreaker.CircuitBreakerError:
            return
        assert suppressed is False

    early = [breaker.calling() for _ in range(3)]
    for call in early:
        call.__enter__()  # three calls admitted while closed
    fail(early[0])
    fail(early[1])  # second failure: closed -> open
    opened_at = dep.state()["breaker"]["opened_at"]
    fail(early[2])  # a late failure admitted while closed: no re-open, no timer restart
    assert dep.state()["breaker"]["opened_at"] == opened_at
    time.sleep(0.06)
    trials = [breaker.calling() for _ in range(2)]
    for call in trials:
        call.__enter__()  # open -> half-open, then a second trial (pybreaker allows both)
    fail(trials[0])  # half-open -> open
    trials[1].__exit__(None, None, None)  # a late success must not close an open breaker
    state = dep.state()["breaker"]
    assert [(t["from"], t["to"]) for t in state["transitions"]] == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "open"),
    ]
    assert state["state"] == "open"
    time.sleep(0.06)
    trials = [breaker.calling() for _ in range(2)]
    for call in trials:
        call.__enter__()
    trials[0].__exit__(None, None, None)  # half-open -> closed
    fail(trials[1])  # a late trial failure does not re-open a breaker with no failure streak
    state = dep.state()["breaker"]
    assert [(t["from"], t["to"]) for t in state["transitions"]][3:] == [
        ("open", "half-open"),
        ("half-open", "closed"),
    ]
    assert state["state"] == "closed"
