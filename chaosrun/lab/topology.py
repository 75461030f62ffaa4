"""The lab's sample app as data: dependencies, their resilience policy, the endpoints using them.

A `Topology` is written to a JSON file by the lab and read back by the gateway process
(`chaosrun.lab.services.gateway --topology FILE.json`): what the gateway does is decided here.

Latency budget of the default policy (the shipped experiments hold the gateway to p99 <= 500 ms):
an endpoint calls its dependencies concurrently, so a request costs the slowest dependency call.
One dependency call is at most: attempt (150 ms timeout) + backoff (20..30 ms) + attempt (150 ms),
because `retry_budget_ms` (350 ms) lets a further attempt start only if its whole timeout still fits
in the budget -- ~330 ms when a dependency is slowed to 1000 ms, then the fallback answers at once.
Fast failures (HTTP 5xx) get both retries: ~3 attempts + 20..30 ms + 40..50 ms of backoff.
Once the breaker is open (5 failed calls), calls fail fast; only the half-open trial pays the cost.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_TOPOLOGY",
    "Dependency",
    "DependencyPolicy",
    "Endpoint",
    "Topology",
]


@dataclass(frozen=True, slots=True)
class DependencyPolicy:
    """How the gateway calls a dependency: bulkhead -> breaker -> retries -> per-attempt timeout."""

    timeout_ms: float | None
    """Per-attempt timeout; None = no timeout."""
    retries: int | None
    """Max retries after the first attempt (calls are idempotent GETs); None = unbounded."""
    backoff_initial_ms: float
    backoff_max_ms: float
    backoff_jitter_ms: float
    breaker: bool
    breaker_fail_max: int
    breaker_reset_s: float
    breaker_never_closes: bool
    """The breaker opens but never goes half-open/closed again (a broken-breaker variant)."""
    bulkhead: int | None
    """Max concurrent calls; a call beyond it fails fast. None = no bulkhead."""
    fallback: bool
    retry_budget_ms: float | None = None
    """Overall budget for one call with its retries: a further attempt starts only if it fits
    (elapsed + backoff + `timeout_ms` <= budget; with no timeout: if it starts within the budget).
    It never cuts an attempt short, so it cannot mask a missing or too-long timeout.
    None = no budget."""
    shared_pool: bool = False
    """Calls share one set of bulkhead slots with every other dependency marked so (a
    broken-isolation variant): a slow dependency holds the slots, the others' calls are
    rejected and answered by their fallbacks."""
    breaker_skips_half_open: bool = False
    """After the reset timeout the breaker closes at once, with no half-open trial (an illegal
    open -> closed transition: a broken-breaker variant)."""

    def __post_init__(self) -> None:
        _require(self.timeout_ms is None or self.timeout_ms > 0, "timeout_ms must be > 0 or null")
        _require(self.retries is None or self.retries >= 0, "retries must be >= 0 or null")
        _require(
            0 <= self.backoff_initial_ms <= self.backoff_max_ms,
            "backoff_initial_ms must be >= 0 and <= backoff_max_ms",
        )
        _require(self.backoff_jitter_ms >= 0, "backoff_jitter_ms must be >= 0")
        _require(self.breaker_fail_max >= 1, "breaker_fail_max must be >= 1")
        _require(self.breaker_reset_s > 0, "breaker_reset_s must be > 0")
        _require(self.bulkhead is None or self.bulkhead >= 1, "bulkhead must be >= 1 or null")
        _require(
            self.retry_budget_ms is None or self.retry_budget_ms > 0,
            "retry_budget_ms must be > 0 or null",
        )


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    policy: DependencyPolicy
    latency_ms: float
    """The dependency's own base service time."""
    max_connections: int | None = None
    """Connections it serves at once, as a worker-per-connection server or a database's
    max_connections; further ones wait unread. None: no limit."""
    keepalive_requests: int | None = None
    """It closes a connection after this many answers (nginx's keepalive_requests), so its
    clients' connections turn over. None: never."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    uses: tuple[str, ...]
    """Names of the dependencies it calls (concurrently)."""
    records_play: bool = False
    """Each answered request appends a line to the gateway's play-history log (its data dir)."""


@dataclass(frozen=True, slots=True)
class Topology:
    dependencies: tuple[Dependency, ...]
    endpoints: tuple[Endpoint, ...]
    degrade_on_disk_full: bool = True
    """A play-history write that fails (ENOSPC, ...) is dropped and the answer marked degraded
    (``history`` in ``X-Chaosrun-Degraded``); False: the request fails with 500."""

    def __post_init__(self) -> None:
        names = [d.name for d in self.dependencies]
        _require(len(set(names)) == len(names), f"duplicate dependency name in {names}")
        paths = [e.path for e in self.endpoints]
        _require(len(set(paths)) == len(paths), f"duplicate endpoint path in {paths}")
        for endpoint in self.endpoints:
            _require(
                endpoint.path.startswith("/"),
                f"endpoint path must start with '/': {endpoint.path!r}",
            )
            for name in endpoint.uses:
                _require(
                    name in names, f"endpoint {endpoint.path} uses unknown dependency {name!r}"
                )

    def dependency(self, name: str) -> Dependency:
        for dep in self.dependencies:
            if dep.name == name:
                return dep
        raise KeyError(name)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Topology:
        """Parse and validate; every problem is a ValueError naming the offending key."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"topology is not valid JSON: {exc}") from None
        top = _fields(
            doc, "topology", {"dependencies", "endpoints"}, frozenset({"degrade_on_disk_full"})
        )
        deps = tuple(
            _dependency(item, f"dependencies[{i}]")
            for i, item in enumerate(_list(top["dependencies"], "dependencies"))
        )
        endpoints = []
        for i, item in enumerate(_list(top["endpoints"], "endpoints")):
            fields = _fields(item, f"endpoints[{i}]", {"path", "uses"}, frozenset({"records_play"}))
            uses = _list(fields["uses"], f"endpoints[{i}].uses")
            _require(isinstance(fields["path"], str), f"endpoints[{i}].path: expected a string")
            _require(
                all(isinstance(u, str) for u in uses), f"endpoints[{i}].uses: expected strings"
            )
            records = fields.get("records_play", False)
            _require(isinstance(records, bool), f"endpoints[{i}].records_play: expected a bool")
            endpoints.append(Endpoint(path=fields["path"], uses=tuple(uses), records_play=records))
        degrade = top.get("degrade_on_disk_full", True)
        _require(isinstance(degrade, bool), "degrade_on_disk_full: expected a bool")
        return cls(dependencies=deps, endpoints=tuple(endpoints), degrade_on_disk_full=degrade)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _list(value: Any, where: str) -> list[Any]:
    _require(isinstance(value, list), f"{where}: expected a list")
    return list(value)


def _fields(
    value: Any, where: str, expected: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    _require(isinstance(value, dict), f"{where}: expected an object")
    unknown = sorted(set(value) - expected - optional)
    _require(not unknown, f"{where}: unknown key(s) {unknown}")
    missing = sorted(expected - set(value))
    _require(not missing, f"{where}: missing key(s) {missing}")
    return dict(value)


_NUMBER = (int, float)
_POLICY_TYPES: dict[str, tuple[tuple[type, ...], bool]] = {
    # field: (accepted types, null allowed)
    "timeout_ms": (_NUMBER, True),
    "retries": ((int,), True),
    "backoff_initial_ms": (_NUMBER, False),
    "backoff_max_ms": (_NUMBER, False),
    "backoff_jitter_ms": (_NUMBER, False),
    "breaker": ((bool,), False),
    "breaker_fail_max": ((int,), False),
    "breaker_reset_s": (_NUMBER, False),
    "breaker_never_closes": ((bool,), False),
    "bulkhead": ((int,), True),
    "fallback": ((bool,), False),
    "retry_budget_ms": (_NUMBER, True),
    "shared_pool": ((bool,), False),
    "breaker_skips_half_open": ((bool,), False),
}
_OPTIONAL_POLICY_KEYS = frozenset({"retry_budget_ms", "shared_pool", "breaker_skips_half_open"})


def _policy(value: Any, where: str) -> DependencyPolicy:
    fields = _fields(
        value, where, set(_POLICY_TYPES) - _OPTIONAL_POLICY_KEYS, _OPTIONAL_POLICY_KEYS
    )
    for key, item in fields.items():
        types, nullable = _POLICY_TYPES[key]
        ok = (item is None and nullable) or (
            isinstance(item, types) and (bool in types or not isinstance(item, bool))
        )
        expected = " or ".join(t.__name__ for t in types) + (" or null" if nullable else "")
        _require(ok, f"{where}.{key}: expected {expected}, got {item!r}")
    try:
        return DependencyPolicy(**fields)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _dependency(value: Any, where: str) -> Dependency:
    fields = _fields(
        value,
        where,
        {"name", "policy", "latency_ms"},
        frozenset({"max_connections", "keepalive_requests"}),
    )
    limits = {}
    for key in ("max_connections", "keepalive_requests"):
        item = fields.get(key)
        _require(
            item is None or (isinstance(item, int) and not isinstance(item, bool) and item >= 1),
            f"{where}.{key}: expected an integer >= 1 or null",
        )
        limits[key] = item
    _require(isinstance(fields["name"], str), f"{where}.name: expected a string")
    latency = fields["latency_ms"]
    _require(
        isinstance(latency, _NUMBER) and not isinstance(latency, bool) and latency >= 0,
        f"{where}.latency_ms: expected a number >= 0",
    )
    policy = _policy(fields["policy"], f"{where}.policy")
    return Dependency(name=fields["name"], policy=policy, latency_ms=float(latency), **limits)


DEFAULT_POLICY = DependencyPolicy(
    timeout_ms=150.0,
    retries=2,
    backoff_initial_ms=20.0,
    backoff_max_ms=200.0,
    backoff_jitter_ms=10.0,
    breaker=True,
    breaker_fail_max=5,
    breaker_reset_s=1.0,
    breaker_never_closes=False,
    bulkhead=10,
    fallback=True,
    retry_budget_ms=350.0,
)

DEFAULT_TOPOLOGY = Topology(
    dependencies=(
        # A database-like service: 64 connections at most, each closed after 50 answers.
        Dependency(
            name="catalog",
            policy=DEFAULT_POLICY,
            latency_ms=3.0,
            max_connections=64,
            keepalive_requests=50,
        ),
        Dependency(name="recommendations", policy=DEFAULT_POLICY, latency_ms=4.0),
        Dependency(name="auth", policy=DEFAULT_POLICY, latency_ms=2.0),
    ),
    endpoints=(
        Endpoint(path="/api/play", uses=("auth", "catalog"), records_play=True),
        Endpoint(path="/api/browse", uses=("catalog", "recommendations")),
        Endpoint(path="/api/profile", uses=("auth",)),
    ),
)
