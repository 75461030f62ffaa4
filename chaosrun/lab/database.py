"""The lab's database: a Redis primary in region a, two replicas in region b, and three
Sentinels (one in a, two in b), every link through its region's Toxiproxy. Two replicas, so
that once region a is gone the promoted one still has a replica: a write that waits for one
(``WAIT 1``) can be acknowledged in region b alone.

Each Redis and each Sentinel is reached only at its proxy's address: Redis announces it
(`replica-announce-ip/port`), Sentinels too (`sentinel announce-ip/port`), the replica
replicates from the primary's proxy, and the Sentinels monitor that address. Cutting region a's
proxies therefore cuts the primary and its Sentinel off from everything, as a real partition
does, while their processes keep running: the two Sentinels of region b are a majority (quorum
2) and promote the replica.
"""

from __future__ import annotations

from chaosrun.lab.profile import LabProfile, ProxySpec, Readiness, ServiceSpec

__all__ = ["MASTER_NAME", "database_parts", "database_profile"]

MASTER_NAME = "lab"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
REDIS_READY = Readiness("redis")
REPLICAS = ("redis-b", "redis-b2")
REPLICA_READY = Readiness("redis-replica")
SENTINEL_READY = Readiness("sentinel", MASTER_NAME, count=2)


def _redis(name: str, region: str, ready: Readiness, *extra: str) -> ServiceSpec:
    command = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--protected-mode", "no"]
    command += ["--save", "", "--appendonly", "no", "--dir", f"{{dir}}/{name}"]
    command += ["--repl-diskless-sync-delay", "0"]  # a replica syncs at once, not after 5 s
    command += ["--replica-announce-ip", "127.0.0.1"]
    command += ["--replica-announce-port", f"{{proxy_port:{name}}}", *extra]
    return ServiceSpec(name, tuple(command), ready, region, files=((f"{name}/.keep", ""),))


def _sentinel(name: str, region: str, primary: str) -> ServiceSpec:
    config = "\n".join(
        [
            "port {port}",
            "bind 127.0.0.1",
            "protected-mode no",
            f"dir {{dir}}/{name}",
            "sentinel announce-ip 127.0.0.1",
            f"sentinel announce-port {{proxy_port:{name}}}",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {{proxy_port:{primary}}} 2",
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
            "",
        ]
    )
    conf = f"{name}/sentinel.conf"  # Sentinel rewrites its own config file
    command = ("redis-server", f"{{dir}}/{conf}", "--sentinel")
    # Started once the replica is linked: a Sentinel learns of replicas from the primary's INFO,
    # asked at once and then every 10 s; one that missed the replica could not fail over.
    files = ((conf, config),)
    return ServiceSpec(name, command, SENTINEL_READY, region, files=files, after=REPLICAS)


def database_parts() -> tuple[tuple[ServiceSpec, ...], tuple[ProxySpec, ...]]:
    """The database's services and proxies, to be part of a larger profile."""
    follow = ("--replicaof", "127.0.0.1", "{proxy_port:redis-a}")
    services = (
        _redis("redis-a", "a", REDIS_READY),
        _redis("redis-b", "b", REPLICA_READY, *follow),
        # Sentinel promotes the replica with the lowest priority: redis-b, unless it is gone.
        _redis("redis-b2", "b", REPLICA_READY, *follow, "--replica-priority", "200"),
        _sentinel("sentinel-1", "a", "redis-a"),
        _sentinel("sentinel-2", "b", "redis-a"),
        _sentinel("sentinel-3", "b", "redis-a"),
    )
    proxies = tuple(ProxySpec(s.name, s.name, s.region) for s in services)
    return services, proxies


def database_profile() -> LabProfile:
    """The database alone (its entry, the primary, stands for the service under test)."""
    services, proxies = database_parts()
    return LabProfile("database", services, proxies, entry="redis-a")
