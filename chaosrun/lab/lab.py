"""The embedded lab: Toxiproxy + the sample streaming app, on free ports of 127.0.0.1.

A `LabInfo` (frozen, JSON round-trip) is everything another process needs to use or stop a lab.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.errors import LabError
from chaosrun.lab.keeper import SERVICE_PREFIX
from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.lab.procs import OWNER_ENV, ProcessRef, spawn, stop
from chaosrun.lab.server import find_toxiproxy_server
from chaosrun.lab.topology import DEFAULT_TOPOLOGY, Dependency, Topology
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.lab.variants import VARIANT_NAMES, apply_variant

__all__ = [
    "LabInfo",
    "ProxyInfo",
    "lab_down",
    "lab_up",
    "listening_ports",
    "load_lab_info",
    "restart_toxiproxy",
]

HOST = "127.0.0.1"
READY_TIMEOUT_S = 20.0
LAB_FILE = "lab.json"


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    name: str
    listen: str
    upstream: str


@dataclass(frozen=True, slots=True)
class LabInfo:
    variant: str
    directory: str
    toxiproxy_url: str
    service_url: str
    proxies: tuple[ProxyInfo, ...]
    processes: tuple[ProcessRef, ...]
    started_at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LabInfo:
        data = json.loads(text)
        return cls(
            variant=data["variant"],
            directory=data["directory"],
            toxiproxy_url=data["toxiproxy_url"],
            service_url=data["service_url"],
            proxies=tuple(ProxyInfo(**p) for p in data["proxies"]),
            processes=tuple(ProcessRef(**p) for p in data["processes"]),
            started_at=float(data["started_at"]),
        )

    def alive(self) -> bool:
        return all(p.alive() for p in self.processes)

    def ports(self) -> list[int]:
        urls = [self.toxiproxy_url, self.service_url, *(p.listen for p in self.proxies)]
        urls += [p.upstream for p in self.proxies]
        return [int(u.rsplit(":", 1)[1].rstrip("/")) for u in urls]

    def endpoints(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "toxiproxy_url": self.toxiproxy_url,
            "service_url": self.service_url,
            "proxies": {p.name: {"listen": p.listen, "upstream": p.upstream} for p in self.proxies},
            "processes": {p.name: p.pid for p in self.processes},
            "directory": self.directory,
        }


def load_lab_info(directory: Path) -> LabInfo | None:
    try:
        return LabInfo.from_json((directory / LAB_FILE).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lab_up(
    directory: Path,
    variant: str = "healthy",
    topology: Topology = DEFAULT_TOPOLOGY,
    owner: str | None = None,
) -> LabInfo:
    """Start Toxiproxy, the dependencies and the gateway; return once every one answers.

    `owner` marks every process (see `procs.owned_processes`): a run's ephemeral lab can be found
    even if its supervisor died before the lab was recorded."""
    if variant not in VARIANT_NAMES:
        raise LabError(f"unknown lab variant {variant!r}; known: {', '.join(VARIANT_NAMES)}")
    server = find_toxiproxy_server()
    directory.mkdir(parents=True, exist_ok=True)
    topo = apply_variant(topology, variant)
    deps = [d.name for d in topo.dependencies]
    ports = free_ports(2 + 2 * len(deps))
    api_port, gateway_port = ports[0], ports[1]
    dep_ports = dict(zip(deps, ports[2 : 2 + len(deps)], strict=True))
    proxy_ports = dict(zip(deps, ports[2 + len(deps) :], strict=True))
    proxies = tuple(
        ProxyInfo(d, f"{HOST}:{proxy_ports[d]}", f"{HOST}:{dep_ports[d]}") for d in deps
    )
    (directory / "toxiproxy.json").write_text(
        json.dumps([{**asdict(p), "enabled": True} for p in proxies])
    )
    (directory / "topology.json").write_text(topo.to_json())
    data_dir = directory / "data" / "gateway"
    data_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if owner is not None:
        env[OWNER_ENV] = owner
    commands: list[tuple[str, list[str]]] = [
        ("toxiproxy", _toxiproxy_argv(server, api_port, directory))
    ]
    for dep in topo.dependencies:
        commands.append(
            (
                dep.name,
                [
                    python,
                    "-m",
                    "chaosrun.lab.services.dependency",
                    "--name",
                    dep.name,
                    "--host",
                    HOST,
                    "--port",
                    str(dep_ports[dep.name]),
                    "--latency-ms",
                    f"{dep.latency_ms:g}",
                    *_limits(dep),
                ],
            )
        )
    gateway = [
        python,
        "-m",
        "chaosrun.lab.services.gateway",
        "--host",
        HOST,
        "--port",
        str(gateway_port),
        "--topology",
        str(directory / "topology.json"),
        "--variant",
        variant,
        "--data-dir",
        str(data_dir),
    ]
    for p in proxies:
        gateway += ["--dep", f"{p.name}=http://{p.listen}"]
    commands.append(("gateway", gateway))
    # Every service but Toxiproxy runs under a keeper that restarts it when it dies of a
    # failure (an OOM kill), as systemd or a kubelet would; the keeper is the recorded process.
    restart = "never" if variant == "no-restart" else "on-failure"
    commands = [commands[0]] + [
        (name, _kept(name, argv, directory, restart)) for name, argv in commands[1:]
    ]

    refs: list[ProcessRef] = []
    try:
        for name, argv in commands:
            ref, _ = spawn(name, argv, directory / "logs" / f"{name}.log", env=env)
            refs.append(ref)
        info = LabInfo(
            variant=variant,
            directory=str(directory),
            toxiproxy_url=f"http://{HOST}:{api_port}",
            service_url=f"http://{HOST}:{gateway_port}",
            proxies=proxies,
            processes=tuple(refs),
            started_at=time.time(),
        )
        write_atomic(directory / LAB_FILE, info.to_json())
        _wait_ready(info, dep_ports)
    except BaseException:
        for ref in reversed(refs):
            stop(ref)
        raise
    return info


def _limits(dep: Dependency) -> list[str]:
    flags = []
    if dep.max_connections is not None:
        flags += ["--max-connections", str(dep.max_connections)]
    if dep.keepalive_requests is not None:
        flags += ["--keepalive-requests", str(dep.keepalive_requests)]
    return flags


def _kept(name: str, argv: list[str], directory: Path, restart: str) -> list[str]:
    restarts = str(directory / "logs" / f"{name}.restarts")
    keeper = [sys.executable, "-m", "chaosrun.lab.keeper", "--name", name]
    return [*keeper, "--restarts", restarts, "--restart", restart, "--", *argv]


def _toxiproxy_argv(server: Path, api_port: int, directory: Path) -> list[str]:
    config = str(directory / "toxiproxy.json")  # its proxies, enabled, without toxics
    return [str(server), "-host", HOST, "-port", str(api_port), "-config", config]


def restart_toxiproxy(info: LabInfo, owner: str | None = None) -> LabInfo:
    """Kill the lab's Toxiproxy server (it may be wedged) and start a fresh one on the same
    ports: its proxies come back from the config file, enabled and without toxics."""
    directory = Path(info.directory)
    old = next(p for p in info.processes if p.name == "toxiproxy")
    stop(old, grace_s=0.0, first=signal.SIGKILL)
    api_port = int(info.toxiproxy_url.rsplit(":", 1)[1])
    argv = _toxiproxy_argv(find_toxiproxy_server(), api_port, directory)
    env = {**os.environ, **({OWNER_ENV: owner} if owner else {})}
    ref, _ = spawn("toxiproxy", argv, directory / "logs" / "toxiproxy.log", env=env)
    processes = tuple(ref if p.name == "toxiproxy" else p for p in info.processes)
    restarted = replace(info, processes=processes)
    _wait_ready(replace(restarted, processes=(ref,)), {})  # the new server only
    if (directory / LAB_FILE).exists():
        write_atomic(directory / LAB_FILE, restarted.to_json())
    return restarted


def lab_down(info: LabInfo) -> list[int]:
    """Stop every process of the lab by PID; return the lab ports still listening (should be [])."""
    for ref in reversed(info.processes):
        stop(ref)
    _remove_service_cgroups(Path(info.directory))
    (Path(info.directory) / LAB_FILE).unlink(missing_ok=True)
    # A Go process can count as exited while its last threads still hold listeners for a moment.
    deadline = time.monotonic() + 2.0
    while (left := listening_ports(info.ports())) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def _remove_service_cgroups(directory: Path) -> None:
    """The memory cgroups keepers made for their services (gone already unless one was killed)."""
    for named in (directory / "logs").glob("*.restarts.cgroup"):
        with contextlib.suppress(OSError):
            group = Path(named.read_text().strip())
            if group.name.startswith(SERVICE_PREFIX) and group.is_dir():
                group.rmdir()


def listening_ports(ports: Iterable[int]) -> list[int]:
    return [p for p in ports if is_listening(p, timeout_s=0.1)]


def _wait_ready(info: LabInfo, dep_ports: dict[str, int]) -> None:
    toxiproxy = ToxiproxyClient(info.toxiproxy_url, timeout_s=0.5)
    checks: dict[str, str] = {
        name: f"http://{HOST}:{port}/health" for name, port in dep_ports.items()
    }
    checks["gateway"] = f"{info.service_url}/health"
    pending = {p.name for p in info.processes}
    deadline = time.monotonic() + READY_TIMEOUT_S
    while pending:
        for ref in info.processes:
            if ref.name in pending and not ref.alive():
                raise LabError(
                    f"lab process {ref.name} exited during start-up; "
                    f"see {Path(info.directory) / 'logs' / (ref.name + '.log')}: "
                    f"{_log_tail(Path(info.directory) / 'logs' / (ref.name + '.log'))}"
                )
        for name in list(pending):
            if name == "toxiproxy":
                ok = toxiproxy.is_up() and all(
                    is_listening(int(p.listen.rsplit(":", 1)[1])) for p in info.proxies
                )
            else:
                ok = _http_ok(checks[name])
            if ok:
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise LabError(
                f"lab not ready after {READY_TIMEOUT_S:g} s: {', '.join(sorted(pending))} "
                f"did not answer; logs in {Path(info.directory) / 'logs'}"
            )
        if pending:
            time.sleep(0.01)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.25) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "empty log"
