"""Read back what a Sentinel-managed Redis holds after a run: the ids of the keys under a prefix,
from the primary its Sentinels name.

Which primary: every Sentinel is asked (``SENTINEL MASTER name``); the address announced with
the highest configuration epoch wins (a Sentinel back from a partition may still name the old
primary until it hears of the failover), once a majority of them answered, and only if that
Redis says it is a master. Until then it asks again, within `timeout_s`. Every call is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis

from chaosrun.checks.observation import StoredWrites

__all__ = ["read_back"]

CALL_TIMEOUT_S = 0.5
SCAN_COUNT = 1000


def _client(host: str, port: int) -> redis.Redis:
    return redis.Redis(  # type: ignore[no-untyped-call]
        host, port, socket_timeout=CALL_TIMEOUT_S, socket_connect_timeout=CALL_TIMEOUT_S
    )


def _named(sentinels: Sequence[tuple[str, int]], master: str) -> tuple[tuple[str, int] | None, int]:
    """(the primary with the highest config epoch, how many Sentinels answered)."""
    best: tuple[int, tuple[str, int]] | None = None
    answered = 0
    for host, port in sentinels:
        client = _client(host, port)
        try:
            state: Any = client.sentinel_master(master)  # type: ignore[no-untyped-call]
        except (redis.RedisError, OSError):
            continue
        finally:
            client.close()  # type: ignore[no-untyped-call]
        answered += 1
        epoch = int(state.get("config-epoch", 0))
        address = (str(state["ip"]), int(state["port"]))
        if best is None or epoch > best[0]:
            best = (epoch, address)
    return (None if best is None else best[1]), answered


def read_back(
    sentinels: Sequence[tuple[str, int]], master: str, prefix: str, timeout_s: float = 15.0
) -> StoredWrites:
    deadline = time.monotonic() + timeout_s
    problem = "no Sentinel answered"
    while True:
        primary, answered = _named(sentinels, master)
        if primary is not None and answered > len(sentinels) // 2:
            client = _client(*primary)
            try:
                info: Any = client.info("replication")
                if info.get("role") == "master":
                    ids = frozenset(
                        key.decode(errors="replace")[len(prefix) :]
                        for key in client.scan_iter(match=f"{prefix}*", count=SCAN_COUNT)
                    )
                    source = (
                        f"primary {primary[0]}:{primary[1]} "
                        f"(named by {answered} of {len(sentinels)} Sentinels)"
                    )
                    return StoredWrites(ids, source, time.time())
                problem = f"{primary[0]}:{primary[1]} is not a master yet"
            except (redis.RedisError, OSError) as exc:
                problem = f"{primary[0]}:{primary[1]}: {exc}"
            finally:
                client.close()  # type: ignore[no-untyped-call]
        elif primary is not None:
            problem = f"only {answered} of {len(sentinels)} Sentinels answered"
        if time.monotonic() > deadline:
            return StoredWrites(frozenset(), "database", time.time(), problem)
        time.sleep(0.2)
