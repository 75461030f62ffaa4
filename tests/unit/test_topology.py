"""Topology as data: JSON round trip, strict parsing, and every lab variant."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

import pytest

from chaosrun.lab.topology import (
    DEFAULT_POLICY,
    DEFAULT_TOPOLOGY,
    Dependency,
    DependencyPolicy,
    Endpoint,
    Topology,
)
from chaosrun.lab.variants import VARIANT_NAMES, apply_variant


def test_default_topology_is_the_streaming_app() -> None:
    assert [d.name for d in DEFAULT_TOPOLOGY.dependencies] == ["catalog", "recommendations", "auth"]
    assert {e.path: e.uses for e in DEFAULT_TOPOLOGY.endpoints} == {
        "/api/play": ("auth", "catalog"),
        "/api/browse": ("catalog", "recommendations"),
        "/api/profile": ("auth",),
    }
    assert [e.path for e in DEFAULT_TOPOLOGY.endpoints if e.records_play] == ["/api/play"]
    assert DEFAULT_TOPOLOGY.degrade_on_disk_full
    limits = {
        d.name: (d.max_connections, d.keepalive_requests) for d in DEFAULT_TOPOLOGY.dependencies
    }
    assert limits == {"catalog": (64, 50), "recommendations": (None, None), "auth": (None, None)}
    assert all(d.policy == DEFAULT_POLICY for d in DEFAULT_TOPOLOGY.dependencies)
    assert all(2 <= d.latency_ms <= 5 for d in DEFAULT_TOPOLOGY.dependencies)


def test_default_policy_stays_within_the_latency_slo() -> None:
    """Worst case of one call with a dependency slowed past the timeout: the budget allows one
    retry (attempt + max first backoff + attempt), far below the 500 ms p99 SLO."""
    p = DEFAULT_POLICY
    assert p.timeout_ms is not None and p.retry_budget_ms is not None
    worst_ms = p.timeout_ms + p.backoff_initial_ms + p.backoff_jitter_ms + p.timeout_ms
    assert worst_ms <= p.retry_budget_ms <= 400
    # A second retry after a timeout would not fit in the budget.
    assert worst_ms + 2 * p.backoff_initial_ms + p.timeout_ms > p.retry_budget_ms


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_json_round_trip(variant: str) -> None:
    topology = apply_variant(DEFAULT_TOPOLOGY, variant)
    text = topology.to_json()
    assert Topology.from_json(text) == topology
    assert Topology.from_json(text).to_json() == text


def test_retry_budget_is_optional_in_json() -> None:
    doc = json.loads(DEFAULT_TOPOLOGY.to_json())
    del doc["dependencies"][0]["policy"]["retry_budget_ms"]
    parsed = Topology.from_json(json.dumps(doc))
    assert parsed.dependencies[0].policy.retry_budget_ms is None


def _doc_with(path: tuple[Any, ...], value: Any) -> str:
    """The default topology as JSON with the key at `path` set to `value` (deleted if ...)."""
    doc = json.loads(DEFAULT_TOPOLOGY.to_json())
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc)


BAD_TOPOLOGIES = {
    "not-json": ("{", "topology is not valid JSON: Expecting property name enclosed in"),
    "not-an-object": ("[]", "topology: expected an object"),
    "unknown-top-key": (
        _doc_with(("extra",), 1),
        "topology: unknown key(s) ['extra']",
    ),
    "missing-endpoints": (
        _doc_with(("endpoints",), ...),
        "topology: missing key(s) ['endpoints']",
    ),
    "misspelled-policy-key": (
        _doc_with(("dependencies", 0, "policy", "timeout"), 1),
        "dependencies[0].policy: unknown key(s) ['timeout']",
    ),
    "missing-policy-key": (
        _doc_with(("dependencies", 1, "policy", "fallback"), ...),
        "dependencies[1].policy: missing key(s) ['fallback']",
    ),
    "string-timeout": (
        _doc_with(("dependencies", 0, "policy", "timeout_ms"), "150"),
        "dependencies[0].policy.timeout_ms: expected int or float or null, got '150'",
    ),
    "bool-retries": (
        _doc_with(("dependencies", 0, "policy", "retries"), True),
        "dependencies[0].policy.retries: expected int or null, got True",
    ),
    "null-breaker": (
        _doc_with(("dependencies", 2, "policy", "breaker"), None),
        "dependencies[2].policy.breaker: expected bool, got None",
    ),
    "zero-bulkhead": (
        _doc_with(("dependencies", 0, "policy", "bulkhead"), 0),
        "dependencies[0].policy: bulkhead must be >= 1 or null",
    ),
    "negative-latency": (
        _doc_with(("dependencies", 0, "latency_ms"), -1),
        "dependencies[0].latency_ms: expected a number >= 0",
    ),
    "unknown-dependency-used": (
        _doc_with(("endpoints", 0, "uses"), ["auth", "billing"]),
        "endpoint /api/play uses unknown dependency 'billing'",
    ),
    "relative-path": (
        _doc_with(("endpoints", 2, "path"), "api/profile"),
        "endpoint path must start with '/': 'api/profile'",
    ),
    "string-records-play": (
        _doc_with(("endpoints", 0, "records_play"), "yes"),
        "endpoints[0].records_play: expected a bool",
    ),
    "zero-max-connections": (
        _doc_with(("dependencies", 0, "max_connections"), 0),
        "dependencies[0].max_connections: expected an integer >= 1 or null",
    ),
    "bool-keepalive-requests": (
        _doc_with(("dependencies", 1, "keepalive_requests"), True),
        "dependencies[1].keepalive_requests: expected an integer >= 1 or null",
    ),
    "null-degrade-on-disk-full": (
        _doc_with(("degrade_on_disk_full",), None),
        "degrade_on_disk_full: expected a bool",
    ),
    "duplicate-dependency": (
        _doc_with(("dependencies", 1, "name"), "catalog"),
        "duplicate dependency name in ['catalog', 'catalog', 'auth']",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_TOPOLOGIES))
def test_bad_topology_is_rejected_with_the_key_named(name: str) -> None:
    text, message = BAD_TOPOLOGIES[name]
    with pytest.raises(ValueError) as info:
        Topology.from_json(text)
    if name == "not-json":
        assert str(info.value).startswith(message)
    else:
        assert str(info.value) == message


def test_policy_validates_on_construction() -> None:
    with pytest.raises(
        ValueError, match=r"^backoff_initial_ms must be >= 0 and <= backoff_max_ms$"
    ):
        replace(DEFAULT_POLICY, backoff_initial_ms=500.0)
    with pytest.raises(ValueError, match=r"^retries must be >= 0 or null$"):
        replace(DEFAULT_POLICY, retries=-1)


def _policies(topology: Topology) -> list[DependencyPolicy]:
    return [d.policy for d in topology.dependencies]


EXPECTED_CHANGES: dict[str, dict[str, Any]] = {
    "healthy": {},
    "no-breaker": {"breaker": False},
    "no-timeout": {"timeout_ms": None},
    "no-bulkhead": {"bulkhead": None},
    "no-retry-cap": {"retries": None, "retry_budget_ms": None},
    "no-fallback": {"fallback": False},
    "breaker-never-closes": {"breaker_never_closes": True},
    "timeout-too-long": {"timeout_ms": 2000.0},
    "no-backoff": {"backoff_initial_ms": 0.0, "backoff_max_ms": 0.0, "backoff_jitter_ms": 0.0},
    "shared-pool": {"shared_pool": True},
    "breaker-skips-half-open": {"breaker_skips_half_open": True},
    "unhandled-disk-full": {},
    "no-restart": {},  # the lab's supervision, not the topology
}
# What a variant changes of the gateway itself (every other variant: nothing).
GATEWAY_CHANGES: dict[str, dict[str, Any]] = {
    "unhandled-disk-full": {"degrade_on_disk_full": False},
}


def test_every_variant_is_named_and_tested() -> None:
    assert tuple(EXPECTED_CHANGES) == VARIANT_NAMES


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_variant_changes_exactly_its_property(variant: str) -> None:
    changed = apply_variant(DEFAULT_TOPOLOGY, variant)
    assert changed.endpoints == DEFAULT_TOPOLOGY.endpoints
    gateway = {
        k: getattr(changed, k)
        for k in ("degrade_on_disk_full",)
        if getattr(changed, k) != getattr(DEFAULT_TOPOLOGY, k)
    }
    assert gateway == GATEWAY_CHANGES.get(variant, {})
    for before, after in zip(DEFAULT_TOPOLOGY.dependencies, changed.dependencies, strict=True):
        assert (after.name, after.latency_ms) == (before.name, before.latency_ms)
        diff = {k: v for k, v in asdict(after.policy).items() if asdict(before.policy)[k] != v}
        assert diff == EXPECTED_CHANGES[variant]


def test_variant_applies_to_every_dependency_and_is_pure() -> None:
    custom = Topology(
        dependencies=(
            Dependency("a", DEFAULT_POLICY, 1.0),
            Dependency("b", replace(DEFAULT_POLICY, bulkhead=3), 1.0),
        ),
        endpoints=(Endpoint("/x", ("a", "b")),),
    )
    changed = apply_variant(custom, "no-bulkhead")
    assert [p.bulkhead for p in _policies(changed)] == [None, None]
    assert [p.bulkhead for p in _policies(custom)] == [10, 3]
    assert apply_variant(custom, "healthy") == custom


def test_unknown_variant_is_a_value_error_listing_the_names() -> None:
    with pytest.raises(ValueError) as info:
        apply_variant(DEFAULT_TOPOLOGY, "no-brakes")
    assert str(info.value) == (
        "unknown lab variant 'no-brakes'; expected one of: healthy, no-breaker, no-timeout, "
        "no-bulkhead, no-retry-cap, no-fallback, breaker-never-closes, timeout-too-long, "
        "no-backoff, shared-pool, breaker-skips-half-open, unhandled-disk-full, no-restart"
    )
