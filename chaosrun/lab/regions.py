"""The two-region lab: an edge (HAProxy) in front of two regions, each with the streaming app
(gateway + dependencies), and the database spread over both (`chaosrun.lab.database`).

Every link between services goes through a Toxiproxy proxy of the region of the service it
reaches, so cutting a region's proxies takes its whole network away while its processes keep
running, as in a real partition:

- ``catalog-a``, ``auth-a``, ... : region a's dependencies, reached by ``gateway-a``;
- ``gateway-a`` / ``gateway-b``: the edge's path to each region's gateway;
- ``redis-a``, ``sentinel-1``, ...: the address each Redis and Sentinel announces -- the path
  of replication, of Sentinel's monitoring and of clients in the other region;
- ``redis-a-local``, ``sentinel-1-local``, ...: the path of clients in the same region (each
  gateway maps its own region's announced Redis addresses to these). Cutting only ``redis-a``
  cuts the replication link and the Sentinels of region b off the primary while region a's
  gateway still writes to it: the split brain in which Redis loses acknowledged writes
  unless writes wait for a replica (``WAIT``).

The edge sends every request to region a while HAProxy's health checks (``GET /health`` every
200 ms, down after 2 failures) pass, else to region b (a backup server); the
``edge-no-failover`` variant has no region b in the edge. Plays wait for one replica
(``WAIT 1 200``) unless the variant is ``no-replica-ack``.
"""

from __future__ import annotations

from chaosrun.lab.database import MASTER_NAME, database_parts
from chaosrun.lab.profile import (
    LabProfile,
    ProxySpec,
    ServiceSpec,
    dependency_service,
    gateway_command,
)
from chaosrun.lab.topology import Topology

__all__ = [
    "EDGE",
    "REGIONS",
    "two_region_profile",
]

REGIONS = ("a", "b")
EDGE = "edge"
TWO_REGION = "two-region"
WAIT_MS = 200
HEALTH_INTERVAL_MS = 200


def _local(name: str) -> str:
    return f"{name}-local"


def _edge_config(failover: bool) -> str:
    lines = [
        "global",
        "  maxconn 4000",
        "defaults",
        "  mode http",
        "  timeout connect 300ms",
        "  timeout client 10s",
        "  timeout server 1500ms",
        "  timeout check 300ms",
        "  retries 2",
        "  option redispatch",
        "  retry-on conn-failure empty-response",
        "frontend edge",
        "  bind 127.0.0.1:{port}",
        "  default_backend regions",
        "backend regions",
        "  option httpchk GET /health",
        f"  default-server inter {HEALTH_INTERVAL_MS}ms fastinter 100ms downinter 500ms "
        "fall 2 rise 3",
        "  server region-a {proxy:gateway-a} check",
    ]
    if failover:
        lines.append("  server region-b {proxy:gateway-b} check backup")
    return "\n".join(lines) + "\n"


def two_region_profile(topology: Topology, variant: str) -> LabProfile:
    db_services, db_proxies = database_parts()
    services: list[ServiceSpec] = [*db_services]
    proxies: list[ProxySpec] = [*db_proxies]
    proxies += [ProxySpec(_local(p.name), p.to, p.region) for p in db_proxies]
    sentinels = [s for s in db_services if s.name.startswith("sentinel")]
    redises = [s for s in db_services if s.name.startswith("redis")]
    wait = 0 if variant == "no-replica-ack" else 1
    for region in REGIONS:
        names = {dep.name: f"{dep.name}-{region}" for dep in topology.dependencies}
        for dep in topology.dependencies:
            services.append(dependency_service(dep, names[dep.name], region))
            proxies.append(ProxySpec(names[dep.name], names[dep.name], region))
        command = gateway_command(topology, variant, f"{{dir}}/data/gateway-{region}", names)
        command += ["--region", region, "--history-master", MASTER_NAME]
        command += ["--history-wait-replicas", str(wait), "--history-wait-ms", str(WAIT_MS)]
        for sentinel in sentinels:
            via = _local(sentinel.name) if sentinel.region == region else sentinel.name
            command += ["--history-sentinel", f"{{proxy:{via}}}"]
        for redis in (r.name for r in redises if r.region == region):
            command += ["--history-nat", f"{{proxy:{redis}}}={{proxy:{_local(redis)}}}"]
        gateway = f"gateway-{region}"
        keep = ((f"data/{gateway}/.keep", ""),)
        services.append(ServiceSpec(gateway, tuple(command), region=region, files=keep))
        proxies.append(ProxySpec(gateway, gateway, region))
    config = _edge_config(failover=variant != "edge-no-failover")
    edge = ("haproxy", "-db", "-f", "{dir}/edge/haproxy.cfg")
    files = (("edge/haproxy.cfg", config),)
    # Started once both gateways answer: a first health check that fails marks region a down
    # for `rise` checks, and the edge would start on region b.
    after = ("gateway-a", "gateway-b")
    services.append(ServiceSpec(EDGE, edge, region=EDGE, files=files, after=after))
    return LabProfile(TWO_REGION, tuple(services), tuple(proxies), entry=EDGE)
