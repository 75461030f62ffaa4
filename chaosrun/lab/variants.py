"""Lab variants: each breaks exactly one resilience property, so every check can be shown to fail.

`apply_variant` is pure: it returns a new `Topology` with the change applied to every dependency's
policy, or to the gateway's own behaviour. "healthy" is the identity. "no-restart" changes no
topology: the lab does not restart a service that died (see `lab.lab_up`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chaosrun.lab.topology import DependencyPolicy, Topology

__all__ = [
    "K8S_VARIANTS",
    "PROFILE_VARIANTS",
    "TWO_REGION_VARIANTS",
    "VARIANT_NAMES",
    "apply_variant",
]

_TOO_LONG_TIMEOUT_MS = 2000.0

_VARIANTS: dict[str, Callable[[DependencyPolicy], DependencyPolicy]] = {
    "healthy": lambda p: p,
    "no-breaker": lambda p: replace(p, breaker=False),
    "no-timeout": lambda p: replace(p, timeout_ms=None),
    "no-bulkhead": lambda p: replace(p, bulkhead=None),
    # Unbounded retries: no attempt cap and no retry budget either (the budget would be a cap);
    # every retry still waits its backoff.
    "no-retry-cap": lambda p: replace(p, retries=None, retry_budget_ms=None),
    "no-fallback": lambda p: replace(p, fallback=False),
    "breaker-never-closes": lambda p: replace(p, breaker_never_closes=True),
    "timeout-too-long": lambda p: replace(p, timeout_ms=_TOO_LONG_TIMEOUT_MS),
    # Retries at once, one after another: no backoff growth, no jitter (the cap still holds).
    "no-backoff": lambda p: replace(
        p, backoff_initial_ms=0.0, backoff_max_ms=0.0, backoff_jitter_ms=0.0
    ),
    # One set of bulkhead slots for every dependency, sized as one of them: no isolation left.
    "shared-pool": lambda p: replace(p, shared_pool=True),
    # open -> closed after the reset timeout, no half-open trial.
    "breaker-skips-half-open": lambda p: replace(p, breaker_skips_half_open=True),
}

# Changes of the gateway itself rather than of how it calls its dependencies.
_GATEWAY_VARIANTS: dict[str, Callable[[Topology], Topology]] = {
    # A failed play-history write (disk full) fails the request instead of degrading it.
    "unhandled-disk-full": lambda t: replace(t, degrade_on_disk_full=False),
    "no-restart": lambda t: t,
}

VARIANT_NAMES: tuple[str, ...] = (
    "healthy",
    "no-breaker",
    "no-timeout",
    "no-bulkhead",
    "no-retry-cap",
    "no-fallback",
    "breaker-never-closes",
    "timeout-too-long",
    "no-backoff",
    "shared-pool",
    "breaker-skips-half-open",
    "unhandled-disk-full",
    "no-restart",
)
assert set(VARIANT_NAMES) == set(_VARIANTS) | set(_GATEWAY_VARIANTS)


# Variants of the two-region lab's edge and database (`chaosrun.lab.regions`): its topology stays.
TWO_REGION_VARIANTS: tuple[str, ...] = ("edge-no-failover", "no-replica-ack")

# Variants of the k8s lab's manifests (`chaosrun.lab.k8s.app`), each without one defence: its
# topology stays.
K8S_VARIANTS: tuple[str, ...] = ("one-replica", "no-pdb", "one-zone")


def apply_variant(topology: Topology, variant: str) -> Topology:
    """Return `topology` with `variant` applied to every dependency; unknown name -> ValueError."""
    if variant in TWO_REGION_VARIANTS or variant in K8S_VARIANTS:
        return topology
    if variant in _GATEWAY_VARIANTS:
        return _GATEWAY_VARIANTS[variant](topology)
    try:
        change = _VARIANTS[variant]
    except KeyError:
        raise ValueError(
            f"unknown lab variant {variant!r}; expected one of: {', '.join(VARIANT_NAMES)}"
        ) from None
    deps = tuple(replace(d, policy=change(d.policy)) for d in topology.dependencies)
    return replace(topology, dependencies=deps)


# The variants a lab of each profile can be started in (`chaosrun.lab.lab.lab_up`).
PROFILE_VARIANTS: dict[str, tuple[str, ...]] = {
    "streaming": VARIANT_NAMES,
    "two-region": (*VARIANT_NAMES, *TWO_REGION_VARIANTS),
    "k8s": ("healthy", *K8S_VARIANTS),
}
