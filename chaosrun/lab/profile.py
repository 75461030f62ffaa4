"""A lab as data: its services (command, readiness, region, what each reaches through which
proxy) and its proxies, one Toxiproxy server per region.

A service's command (and each of its `files`, written before it starts) is a template; `{port}`
is its own port (`{port:NAME}` one of its extra named `ports`), `{dir}` the lab directory,
`{python}` this interpreter, `{proxy:NAME}` the address (host:port) where proxy NAME listens,
`{proxy_port:NAME}` that port alone.
`lab.lab_up` allocates the ports, starts each region's Toxiproxy with its proxies, then every
service (under a keeper unless `kept` is off), and waits for each service's readiness.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from chaosrun.lab.topology import Dependency, Topology

__all__ = [
    "LabProfile",
    "ProxySpec",
    "Readiness",
    "ServiceSpec",
    "dependency_service",
    "expand",
    "gateway_command",
    "streaming_profile",
]

ReadinessKind = Literal["http", "https", "tcp", "redis", "redis-replica", "sentinel"]
_TOKEN = re.compile(
    r"\{(python|dir|port|port:[A-Za-z0-9_.-]+|proxy:[A-Za-z0-9_.-]+|proxy_port:[A-Za-z0-9_.-]+)\}"
)


@dataclass(frozen=True, slots=True)
class Readiness:
    """How a service says it is ready: HTTP 200 on `path` (HTTPS: any certificate), a TCP
    connect, a Redis PONG, a Redis replica whose link to its primary is up, or a Sentinel that
    knows at least `count` replicas of master `path` (so a failover has a replica to promote).
    Asked on the service's port, or on its extra port named `port`."""

    kind: ReadinessKind = "http"
    path: str = "/health"
    count: int = 1
    port: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    command: tuple[str, ...]
    readiness: Readiness = Readiness()
    region: str = "a"
    kept: bool = True  # run under a keeper (restarted when it dies of a failure)
    files: tuple[tuple[str, str], ...] = ()  # (name in the lab directory, content template)
    after: tuple[str, ...] = ()  # services that must be ready before this one starts
    ports: tuple[str, ...] = ()  # extra ports it listens on, `{port:NAME}` in its templates


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """A Toxiproxy proxy in `region`'s server, in front of service `to`."""

    name: str
    to: str
    region: str = "a"


@dataclass(frozen=True, slots=True)
class LabProfile:
    name: str
    services: tuple[ServiceSpec, ...]
    proxies: tuple[ProxySpec, ...]
    entry: str  # the service under test: its port is the lab's service URL

    def __post_init__(self) -> None:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate service name in {names}")
        if self.entry not in names:
            raise ValueError(f"entry {self.entry!r} is not a service of the profile")
        proxies = [p.name for p in self.proxies]
        if len(set(proxies)) != len(proxies):
            raise ValueError(f"duplicate proxy name in {proxies}")
        for proxy in self.proxies:
            if proxy.to not in names:
                raise ValueError(f"proxy {proxy.name} is in front of unknown service {proxy.to!r}")
        for i, service in enumerate(self.services):
            earlier = names[:i]
            if late := [n for n in service.after if n not in earlier]:
                raise ValueError(f"service {service.name} starts after {late}: not earlier ones")
            text = " ".join([*service.command, *(content for _, content in service.files)])
            for token in _TOKEN.findall(text):
                kind, _, name = token.partition(":")
                if kind in ("proxy", "proxy_port") and name not in proxies:
                    raise ValueError(f"service {service.name} uses unknown proxy {name!r}")
                if kind == "port" and name and name not in service.ports:
                    raise ValueError(f"service {service.name} uses unknown port {name!r}")
            if service.readiness.port is not None and service.readiness.port not in service.ports:
                raise ValueError(f"service {service.name} is ready on unknown port")

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region with a proxy or a service, in first-seen order."""
        seen = [p.region for p in self.proxies] + [s.region for s in self.services]
        return tuple(dict.fromkeys(seen))


def expand(
    command: tuple[str, ...], values: Mapping[str, str], listens: Mapping[str, str]
) -> list[str]:
    """The command with its tokens filled in: `values` for python/dir/port (and "port:NAME" for
    an extra port), `listens` (proxy name -> host:port) for proxy:NAME and proxy_port:NAME. Pure."""

    def fill(match: re.Match[str]) -> str:
        kind, _, name = match.group(1).partition(":")
        if kind == "proxy":
            return listens[name]
        if kind == "proxy_port":
            return listens[name].rsplit(":", 1)[1]
        return values[match.group(1)]

    return [_TOKEN.sub(fill, arg) for arg in command]


def dependency_service(dep: Dependency, name: str | None = None, region: str = "a") -> ServiceSpec:
    """A lab dependency process serving `dep` (as service `name`, by default the dependency's)."""
    command = ["{python}", "-m", "chaosrun.lab.services.dependency", "--name", dep.name]
    command += ["--host", "127.0.0.1", "--port", "{port}", "--latency-ms", f"{dep.latency_ms:g}"]
    if dep.max_connections is not None:
        command += ["--max-connections", str(dep.max_connections)]
    if dep.keepalive_requests is not None:
        command += ["--keepalive-requests", str(dep.keepalive_requests)]
    return ServiceSpec(name or dep.name, tuple(command), region=region)


def gateway_command(
    topology: Topology, variant: str, data_dir: str, proxy_of: Mapping[str, str]
) -> list[str]:
    """The gateway's command: each dependency reached at the proxy `proxy_of` names for it."""
    gateway = ["{python}", "-m", "chaosrun.lab.services.gateway", "--host", "127.0.0.1"]
    gateway += ["--port", "{port}", "--topology", "{dir}/topology.json", "--variant", variant]
    gateway += ["--data-dir", data_dir]
    for dep in topology.dependencies:
        gateway += ["--dep", f"{dep.name}=http://{{proxy:{proxy_of[dep.name]}}}"]
    return gateway


def streaming_profile(topology: Topology, variant: str) -> LabProfile:
    """The sample streaming app of one region: a dependency process per dependency of the
    topology, each behind its own proxy, and the gateway that reaches them only through those
    proxies. Its files (``{dir}/topology.json``, ``{dir}/data/gateway``) are made by `lab_up`."""
    services = [dependency_service(dep) for dep in topology.dependencies]
    names = {dep.name: dep.name for dep in topology.dependencies}
    gateway = gateway_command(topology, variant, "{dir}/data/gateway", names)
    services.append(ServiceSpec("gateway", tuple(gateway)))
    proxies = tuple(ProxySpec(dep.name, dep.name) for dep in topology.dependencies)
    return LabProfile("streaming", tuple(services), proxies, entry="gateway")
