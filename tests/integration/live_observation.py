"""Real `Observation`s from a running lab, for the live check tests.

`observe(info, plan)` drives one scenario against a lab started with `lab_up`: a small open-loop
sender (wrk2 model: request i is *scheduled* at t0 + i / rate, latency counts from that time, so
a stalled gateway cannot hide its stall) records one `RequestRecord` per request while the plan
injects faults on one dependency:

1. warm-up (what reaches each dependency is recorded from the start, by the same recording
   relay a run places between Toxiproxy and the dependencies: `chaosrun.engine.recording`);
2. ``fail_s`` of HTTP 500s decided inside the dependency (``POST /_fail``): fast failures, so
   every call makes all its attempts (backoff growth is visible from the far side);
3. a pause, then ``latency_s`` of a Toxiproxy latency toxic (`chaosrun.faults.latency`): attempts
   time out, the bulkhead fills, the breaker opens;
4. revert, and a tail so that recovery (the breaker closing) is observed.

Fault windows are recorded the way the run's undo log records them: a `fail_for` window is the
dependency's own [start, end]; a toxic takes effect when `inject` returns and is cleared when
`revert` returns. Then the recording is ended (the upstreams moved back), the gateway's
``/state`` is read as the service's own account, and `chaosrun.checks.gather.build_observation`
assembles them -- the same function the supervisor uses.

Everything is bounded: only 127.0.0.1, at most `max_in_flight` requests at once, a client timeout
per request, a fixed number of requests, and the toxic is reverted in `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from chaosrun.checks.gather import build_observation
from chaosrun.checks.observation import FaultWindow, Observation
from chaosrun.engine.recording import end_recording, start_recording
from chaosrun.faults import latency
from chaosrun.lab.lab import LabInfo
from chaosrun.measure.loadrun import REQUEST_HEADER
from chaosrun.measure.timeline import RequestRecord
from chaosrun.record.read import read_recording

__all__ = ["ENDPOINTS", "Plan", "observe", "open_loop"]

ENDPOINTS = ("/api/play", "/api/browse", "/api/profile")
DEGRADED_HEADER = "X-Chaosrun-Degraded"
_HTTP_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Plan:
    target: str = "catalog"
    rate: float = 150.0  # requests/s over ENDPOINTS, round robin
    warmup_s: float = 0.5
    fail_s: float = 0.8
    pause_s: float = 0.4
    latency_ms: int = 1000
    latency_s: float = 1.5
    tail_s: float = 1.5
    request_timeout_s: float = 3.0
    max_in_flight: int = 400

    @property
    def duration_s(self) -> float:
        return self.warmup_s + self.fail_s + self.pause_s + self.latency_s + self.tail_s


async def open_loop(
    base_url: str,
    rate: float,
    duration_s: float,
    *,
    endpoints: tuple[str, ...] = ENDPOINTS,
    timeout_s: float = 3.0,
    max_in_flight: int = 400,
) -> list[RequestRecord]:
    """Send `rate` requests/s for `duration_s` on a fixed schedule; one record per request.

    A request that cannot start because `max_in_flight` are pending is recorded as an error
    ("other", status 0) at its scheduled time: the schedule never waits for the service.
    """
    count = int(rate * duration_s)
    records: list[RequestRecord] = []
    pending: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",)
    ) as session:
        t0_mono, t0_wall = time.monotonic() + 0.01, time.time() + 0.01

        async def one(endpoint: str, due_mono: float, due_wall: float, request_id: str) -> None:
            sent = time.time()
            status, error, degraded = 0, "", False
            try:
                headers = {REQUEST_HEADER: request_id}
                async with session.get(base_url + endpoint, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                    degraded = DEGRADED_HEADER in resp.headers
            except TimeoutError:
                error = "timeout"
            except aiohttp.ClientConnectorError:
                error = "connect"
            except (aiohttp.ServerDisconnectedError, ConnectionResetError):
                error = "reset"
            except aiohttp.ClientError:
                error = "other"
            latency_ms = (time.monotonic() - due_mono) * 1000.0
            records.append(
                RequestRecord(
                    due_wall, sent, latency_ms, status, error, endpoint, degraded, request_id
                )
            )

        for i in range(count):
            offset = i / rate
            delay = t0_mono + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            endpoint = endpoints[i % len(endpoints)]
            if len(pending) >= max_in_flight:
                records.append(
                    RequestRecord(t0_wall + offset, time.time(), 0.0, 0, "other", endpoint)
                )
                continue
            request_id = f"live-{i}"  # as the load process tags its requests
            task = asyncio.create_task(
                one(endpoint, t0_mono + offset, t0_wall + offset, request_id)
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=timeout_s + 1.0)
    records.sort(key=lambda r: r.scheduled)
    return records


def _json(url: str, method: str = "GET") -> Any:
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, method=method, data=data)
    with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
        return json.loads(response.read())


async def _faults(info: LabInfo, plan: Plan, dep_urls: dict[str, str]) -> list[FaultWindow]:
    """The fault script, run while the load runs; returns the windows as an undo log has them."""
    config = {"chaosrun_toxiproxy_url": info.toxiproxy_url}
    await asyncio.sleep(plan.warmup_s)
    windows: list[FaultWindow] = []
    if plan.fail_s > 0:
        fail_url = f"{dep_urls[plan.target]}/_fail?duration_ms={plan.fail_s * 1000:.0f}"
        answer = await asyncio.to_thread(_json, fail_url, "POST")
        windows.append(FaultWindow("fail_for", plan.target, answer["start"], answer["end"]))
        await asyncio.sleep(plan.fail_s + plan.pause_s)
    if plan.latency_s > 0:
        try:
            await asyncio.to_thread(
                latency.inject,
                proxy=plan.target,
                latency_ms=plan.latency_ms,
                configuration=config,
            )
            injected_at = time.time()
            await asyncio.sleep(plan.latency_s)
        finally:
            await asyncio.to_thread(latency.revert, proxy=plan.target, configuration=config)
        windows.append(FaultWindow("latency", plan.target, injected_at, time.time()))
    await asyncio.sleep(plan.tail_s)
    return windows


async def _observe(info: LabInfo, plan: Plan) -> tuple[list[RequestRecord], list[FaultWindow]]:
    dep_urls = {p.name: f"http://{p.upstream}" for p in info.proxies}
    load = asyncio.create_task(
        open_loop(
            info.service_url,
            plan.rate,
            plan.duration_s,
            timeout_s=plan.request_timeout_s,
            max_in_flight=plan.max_in_flight,
        )
    )
    try:
        windows = await _faults(info, plan, dep_urls)
        timeline = await load
    finally:
        if not load.done():
            load.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await load
    return timeline, windows


def observe(info: LabInfo, plan: Plan) -> Observation:
    """Run `plan` against the lab `info` and return what was observed (bounded in time)."""

    async def bounded() -> tuple[list[RequestRecord], list[FaultWindow]]:
        async with asyncio.timeout(plan.duration_s + plan.request_timeout_s + 20.0):
            return await _observe(info, plan)

    recording = start_recording(info.toxiproxy_url, Path(info.directory))
    assert recording is not None
    try:
        timeline, windows = asyncio.run(bounded())
    finally:
        assert end_recording(recording) == []
    with open(recording.path, encoding="utf-8") as lines:
        recorded = read_recording(lines)
    state = _json(f"{info.service_url}/state")
    return build_observation(timeline, windows, state, {}, recorded=recorded)
