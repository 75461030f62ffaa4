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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.errors import LabError
from chaosrun.lab.keeper import SERVICE_PREFIX, remove_cgroup
from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.lab.procs import OWNER_ENV, ProcessRef, spawn, stop
from chaosrun.lab.profile import LabProfile, expand, streaming_profile
from chaosrun.lab.readiness import is_ready
from chaosrun.lab.regions import two_region_profile
from chaosrun.lab.server import find_toxiproxy_server
from chaosrun.lab.topology import DEFAULT_TOPOLOGY, Topology
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.lab.variants import PROFILE_VARIANTS, apply_variant

__all__ = [
    "LabInfo",
    "ProxyInfo",
    "RegionInfo",
    "lab_down",
    "lab_up",
    "listening_ports",
    "load_lab_info",
    "restart_toxiproxy",
    "start_lab",
]

HOST = "127.0.0.1"
READY_TIMEOUT_S = 20.0
LAB_FILE = "lab.json"


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    name: str
    listen: str
    upstream: str
    region: str = "a"


@dataclass(frozen=True, slots=True)
class RegionInfo:
    region: str
    toxiproxy_url: str


@dataclass(frozen=True, slots=True)
class LabInfo:
    variant: str
    directory: str
    toxiproxy_url: str
    service_url: str
    proxies: tuple[ProxyInfo, ...]
    processes: tuple[ProcessRef, ...]
    started_at: float
    regions: tuple[RegionInfo, ...] = ()  # each region's Toxiproxy (the first is toxiproxy_url)
    profile: str = "streaming"
    named_ports: tuple[tuple[str, int], ...] = ()  # ("SERVICE:NAME", port): services' extra ports

    def named_port(self, service: str, name: str) -> int:
        return dict(self.named_ports)[f"{service}:{name}"]

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
            regions=tuple(RegionInfo(**r) for r in data.get("regions", ())),
            profile=str(data.get("profile", "streaming")),
            named_ports=tuple((str(k), int(v)) for k, v in data.get("named_ports", ())),
        )

    def alive(self) -> bool:
        return all(p.alive() for p in self.processes)

    def ports(self) -> list[int]:
        urls = [self.toxiproxy_url, self.service_url, *(p.listen for p in self.proxies)]
        urls += [r.toxiproxy_url for r in self.regions]
        urls += [p.upstream for p in self.proxies]
        return [int(u.rsplit(":", 1)[1].rstrip("/")) for u in urls] + [
            port for _, port in self.named_ports
        ]

    def endpoints(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "profile": self.profile,
            "toxiproxy_url": self.toxiproxy_url,
            "toxiproxy_regions": {r.region: r.toxiproxy_url for r in self.regions}
            or {"a": self.toxiproxy_url},
            "service_url": self.service_url,
            "proxies": {
                p.name: {"listen": p.listen, "upstream": p.upstream, "region": p.region}
                for p in self.proxies
            },
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
    profile: str = "streaming",
) -> LabInfo:
    """Start a lab of `profile` in `variant`; return once every service answers:
    "streaming" (Toxiproxy, the dependencies and the gateway), "two-region"
    (`chaosrun.lab.regions`) or "k8s" (`chaosrun.lab.k8s.profile`).

    `owner` marks every process (see `procs.owned_processes`): a run's ephemeral lab can be found
    even if its supervisor died before the lab was recorded."""
    if profile not in PROFILE_VARIANTS:
        raise LabError(f"unknown lab profile {profile!r}; known: {', '.join(PROFILE_VARIANTS)}")
    known = PROFILE_VARIANTS[profile]
    if variant not in known:
        raise LabError(
            f"unknown lab variant {variant!r} for profile {profile}; known: {', '.join(known)}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    topo = apply_variant(topology, variant)
    (directory / "topology.json").write_text(topo.to_json())
    (directory / "data" / "gateway").mkdir(parents=True, exist_ok=True)
    restart = "never" if variant == "no-restart" else "on-failure"
    if profile == "streaming":
        described = streaming_profile(topo, variant)
    elif profile == "k8s":
        from chaosrun.lab.k8s.binaries import find_k8s_binaries  # only a k8s lab needs these
        from chaosrun.lab.k8s.pki import make_pki
        from chaosrun.lab.k8s.profile import k8s_profile

        described = k8s_profile(topo, variant, find_k8s_binaries(), make_pki())
    else:
        described = two_region_profile(topo, variant)
    return start_lab(directory, described, variant, owner, restart)


def start_lab(
    directory: Path,
    profile: LabProfile,
    variant: str,
    owner: str | None = None,
    restart: str = "on-failure",
) -> LabInfo:
    """Start `profile`: one Toxiproxy server per region with its proxies (enabled, no toxics),
    then every service in order, kept ones under a keeper (`restart` its policy); return once
    each answers as its readiness says."""
    server = find_toxiproxy_server()
    directory.mkdir(parents=True, exist_ok=True)
    regions = [r for r in profile.regions if any(p.region == r for p in profile.proxies)]
    extra = sum(len(s.ports) for s in profile.services)
    ports = iter(free_ports(len(regions) + len(profile.services) + len(profile.proxies) + extra))
    api_ports = {region: next(ports) for region in regions}
    service_ports = {s.name: next(ports) for s in profile.services}
    extra_ports = {(s.name, name): next(ports) for s in profile.services for name in s.ports}
    proxies = tuple(
        ProxyInfo(p.name, f"{HOST}:{next(ports)}", f"{HOST}:{service_ports[p.to]}", p.region)
        for p in profile.proxies
    )
    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if owner is not None:
        env[OWNER_ENV] = owner
    commands: list[tuple[str, list[str]]] = []
    for region in regions:
        config = directory / _config_name(region, regions)
        own = [{**asdict(p), "enabled": True} for p in proxies if p.region == region]
        config.write_text(json.dumps([_toxiproxy_entry(p) for p in own]))
        argv = _toxiproxy_argv(server, api_ports[region], config)
        commands.append((_toxiproxy_name(region, regions), argv))
    listens = {p.name: p.listen for p in proxies}
    for service in profile.services:
        values = {"python": python, "dir": str(directory), "port": str(service_ports[service.name])}
        values |= {f"port:{n}": str(extra_ports[service.name, n]) for n in service.ports}
        for name, content in service.files:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(expand((content,), values, listens)[0])
        argv = expand(service.command, values, listens)
        commands.append(
            (service.name, _kept(service.name, argv, directory, restart) if service.kept else argv)
        )
    info = LabInfo(
        variant=variant,
        directory=str(directory),
        toxiproxy_url=f"http://{HOST}:{api_ports[regions[0]]}",
        service_url=f"http://{HOST}:{service_ports[profile.entry]}",
        proxies=proxies,
        processes=(),
        started_at=time.time(),
        regions=tuple(RegionInfo(r, f"http://{HOST}:{api_ports[r]}") for r in regions),
        profile=profile.name,
        named_ports=tuple((f"{s}:{n}", port) for (s, n), port in extra_ports.items()),
    )
    checks = _service_checks(info, profile, service_ports, extra_ports)
    waits = {s.name: s.after for s in profile.services}
    refs: list[ProcessRef] = []
    try:
        for name, argv in commands:
            if waits.get(name):
                started = replace(info, processes=tuple(refs))
                _wait_ready(started, {n: checks[n] for n in waits[name]})
            ref, _ = spawn(name, argv, directory / "logs" / f"{name}.log", env=env)
            refs.append(ref)
            info = replace(info, processes=tuple(refs))
            write_atomic(directory / LAB_FILE, info.to_json())  # what runs is always on record
        _wait_ready(info, checks)
    except BaseException:
        for ref in reversed(refs):
            stop(ref)
        raise
    return info


def _config_name(region: str, regions: list[str]) -> str:
    """The first region's config keeps the single-region name (restart_toxiproxy reads it)."""
    return "toxiproxy.json" if region == regions[0] else f"toxiproxy-{region}.json"


def _toxiproxy_name(region: str, regions: list[str]) -> str:
    return "toxiproxy" if region == regions[0] else f"toxiproxy-{region}"


def _toxiproxy_entry(proxy: dict[str, Any]) -> dict[str, Any]:
    return {k: proxy[k] for k in ("name", "listen", "upstream", "enabled")}


def _kept(name: str, argv: list[str], directory: Path, restart: str) -> list[str]:
    restarts = str(directory / "logs" / f"{name}.restarts")
    keeper = [sys.executable, "-m", "chaosrun.lab.keeper", "--name", name]
    return [*keeper, "--restarts", restarts, "--restart", restart, "--", *argv]


def _toxiproxy_argv(server: Path, api_port: int, config: Path) -> list[str]:
    """The server of one region, with its proxies (enabled, without toxics) from `config`."""
    return [str(server), "-host", HOST, "-port", str(api_port), "-config", str(config)]


def restart_toxiproxy(info: LabInfo, owner: str | None = None) -> LabInfo:
    """Kill the lab's Toxiproxy servers (one may be wedged) and start fresh ones on the same
    ports: their proxies come back from the config files, enabled and without toxics."""
    directory = Path(info.directory)
    regions = list(info.regions) or [RegionInfo("a", info.toxiproxy_url)]
    names = [r.region for r in regions]
    env = {**os.environ, **({OWNER_ENV: owner} if owner else {})}
    fresh: dict[str, ProcessRef] = {}
    ready: dict[str, Check] = {}
    for region in regions:
        name = _toxiproxy_name(region.region, names)
        old = next((p for p in info.processes if p.name == name), None)
        if old is not None:
            stop(old, grace_s=0.0, first=signal.SIGKILL)
        api_port = int(region.toxiproxy_url.rsplit(":", 1)[1])
        config = directory / _config_name(region.region, names)
        argv = _toxiproxy_argv(find_toxiproxy_server(), api_port, config)
        fresh[name], _ = spawn(name, argv, directory / "logs" / f"{name}.log", env=env)
        ready[name] = _toxiproxy_ready(info, region)
    processes = tuple(fresh.get(p.name, p) for p in info.processes)
    restarted = replace(info, processes=processes)
    _wait_ready(replace(restarted, processes=tuple(fresh.values())), ready)  # the new ones only
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
            if group.name.startswith(SERVICE_PREFIX):
                remove_cgroup(group, tries=1)


def listening_ports(ports: Iterable[int]) -> list[int]:
    return [p for p in ports if is_listening(p, timeout_s=0.1)]


Check = Callable[[], bool]


def _toxiproxy_ready(info: LabInfo, region: RegionInfo) -> Check:
    client = ToxiproxyClient(region.toxiproxy_url, timeout_s=0.5)
    ports = [int(p.listen.rsplit(":", 1)[1]) for p in info.proxies if p.region == region.region]
    return lambda: client.is_up() and all(is_listening(port) for port in ports)


def _service_checks(
    info: LabInfo,
    profile: LabProfile,
    service_ports: dict[str, int],
    extra_ports: dict[tuple[str, str], int],
) -> dict[str, Check]:
    checks = {
        _toxiproxy_name(r.region, [x.region for x in info.regions]): _toxiproxy_ready(info, r)
        for r in info.regions
    }
    for service in profile.services:
        named = service.readiness.port
        port = service_ports[service.name] if named is None else extra_ports[service.name, named]
        checks[service.name] = partial(is_ready, service.readiness, HOST, port)
    return checks


def _wait_ready(info: LabInfo, checks: dict[str, Check]) -> None:
    """Until every process in `checks` passes its check; LabError when one exits first or the
    time is up."""
    pending = set(checks)
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
            if checks[name]():
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise LabError(
                f"lab not ready after {READY_TIMEOUT_S:g} s: {', '.join(sorted(pending))} "
                f"did not answer; logs in {Path(info.directory) / 'logs'}"
            )
        if pending:
            time.sleep(0.01)


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "empty log"
