"""Frozen dataclasses parsed once at the edge from an experiment file (see `chaosrun.load`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from chaosrun.errors import InputError
from chaosrun.lab.variants import PROFILE_VARIANTS, VARIANT_NAMES

__all__ = [
    "KNOWN_PROFILES",
    "KNOWN_VARIANTS",
    "PERCENTILES",
    "PERCENTILE_LEVELS",
    "PROFILE_VARIANTS",
    "Call",
    "ChaosrunSpec",
    "ClusterTarget",
    "Experiment",
    "FaultUse",
    "HttpCall",
    "LabTarget",
    "LoadSpec",
    "ProbeGuard",
    "ProcessCall",
    "PythonCall",
    "RtoSpec",
    "Safeguard",
    "SliGuard",
    "Slo",
    "Step",
    "Target",
    "UrlTarget",
]

# Lab variants an experiment may ask for: the lab is the one authority.
KNOWN_VARIANTS: tuple[str, ...] = VARIANT_NAMES
KNOWN_PROFILES: tuple[str, ...] = tuple(PROFILE_VARIANTS)

# Latency percentiles an SLO may name, in ascending order.
PERCENTILE_LEVELS: dict[str, float] = {
    "p50": 50.0,
    "p90": 90.0,
    "p95": 95.0,
    "p99": 99.0,
    "p999": 99.9,
}
PERCENTILES: tuple[str, ...] = tuple(PERCENTILE_LEVELS)


@dataclass(frozen=True, slots=True)
class LabTarget:
    """Run against the embedded lab of a profile (`chaosrun.lab.lab.lab_up`), in one of its
    variants."""

    variant: str = "healthy"
    profile: str = "streaming"


@dataclass(frozen=True, slots=True)
class UrlTarget:
    """Run against an already running service whose dependencies sit behind a Toxiproxy server."""

    service_url: str
    toxiproxy_url: str


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """Run against a service on a Kubernetes cluster: chaostoolkit-kubernetes steps talk to the
    API server of `context` (from KUBECONFIG; None: its current context) in `namespace`, and the
    load goes to `service_url`."""

    namespace: str
    service_url: str
    context: str | None = None


Target: TypeAlias = LabTarget | UrlTarget | ClusterTarget


@dataclass(frozen=True, slots=True)
class Slo:
    """Service-level objectives: availability in (0, 1], latency per percentile, degraded share."""

    availability: float | None = None
    latency_ms: tuple[tuple[str, float], ...] = ()
    window_s: float = 1.0  # trailing window over which the SLO is evaluated
    max_degraded: float | None = None  # ceiling on the fraction of fallback answers, in [0, 1)


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """Open-loop load for the whole run: `rate` requests/s over weighted endpoints."""

    rate: float
    endpoints: tuple[tuple[str, float], ...]  # (path, weight)
    seed: int = 1
    timeout_s: float = 2.0
    warmup_s: float = 2.0  # load before the experiment starts: the "before" baseline
    cooldown_s: float = 3.0  # load after the worker ended: recovery stays observable


@dataclass(frozen=True, slots=True)
class RtoSpec:
    """Recovery time objective: RTO = t_recover - t_inject must not exceed `objective_s`."""

    objective_s: float
    stability_s: float = 2.0  # the SLO must hold this long to count as recovered
    detect_within_s: float | None = None  # time-to-detect objective: the SLO breaks this fast


@dataclass(frozen=True, slots=True)
class SliGuard:
    """Abort when a live SLI from the load's timeline breaches its threshold for `for_s` seconds.

    `metric` is "availability" (breach: below), a latency percentile such as "p99" (breach:
    above, in ms) or "error_budget" (breach: the fraction of the run's error budget burned so far
    is above; the budget comes from `slo.availability`).
    """

    name: str
    metric: str
    threshold: float
    for_s: float = 1.0
    window_s: float = 1.0
    endpoint: str = ""  # "" = every endpoint of the load

    @property
    def below(self) -> bool:
        return self.metric == "availability"


@dataclass(frozen=True, slots=True)
class ProbeGuard:
    """Abort when a Chaos Toolkit probe falls outside its tolerance for `for_s` seconds."""

    name: str
    probe: Mapping[str, Any]  # the probe activity, tolerance included
    every_s: float = 1.0
    for_s: float = 0.0  # 0: the first failed check fires


Safeguard: TypeAlias = SliGuard | ProbeGuard


@dataclass(frozen=True, slots=True)
class FaultUse:
    """One action of the experiment whose provider module is `chaosrun.faults.<kind>`."""

    kind: str
    func: str
    arguments: tuple[tuple[str, object], ...]
    activity: str
    line: int | None


@dataclass(frozen=True, slots=True)
class ChaosrunSpec:
    """The `{name: chaosrun}` entry of the experiment's `extensions` list."""

    target: Target = LabTarget()
    slo: Slo | None = None
    deadline_s: float = 300.0
    load: LoadSpec | None = None
    rto: RtoSpec | None = None
    expect: tuple[object, ...] = ()  # expectation dataclasses from chaosrun.checks.expectations
    abort_when: tuple[Safeguard, ...] = ()


@dataclass(frozen=True, slots=True)
class PythonCall:
    module: str
    func: str
    arguments: Mapping[str, Any]
    secrets: tuple[str, ...] = ()  # the secret scopes the provider asks for


@dataclass(frozen=True, slots=True)
class HttpCall:
    url: str
    method: str = "GET"


@dataclass(frozen=True, slots=True)
class ProcessCall:
    path: str
    arguments: Any = None  # as written: a list, a mapping, a string or None


Call: TypeAlias = PythonCall | HttpCall | ProcessCall


@dataclass(frozen=True, slots=True)
class Step:
    """One activity of the experiment, typed: where it is, what it calls, what it refers to.

    `phase`: steady-state, method, rollback, tolerance (a probe inside a tolerance),
    safeguard (an `abort_when` probe), control, or configuration (a dynamic configuration
    probe). A `ref` step carries the call of the activity it names (`ref` holds that name).
    """

    phase: str
    key_path: str
    line: int | None
    name: str
    type: str  # action | probe | control
    call: Call | None
    ref: str | None = None
    background: bool = False
    pause_before_s: Any = None  # a number, or a `${...}` template
    pause_after_s: Any = None


def key_line(lines: Mapping[str, int], key_path: str) -> int | None:
    """The line of `key_path`, or of its nearest enclosing key."""
    path = key_path
    while path not in lines:
        if not path:
            return None
        path = path[: path.rfind("[")] if path.endswith("]") else path[: max(path.rfind("."), 0)]
    return lines[path]


@dataclass(frozen=True, slots=True)
class Experiment:
    """A validated experiment: the plain Chaos Toolkit document and what chaosrun parsed.

    `needs_target`: the run needs chaosrun's target (a lab or explicit URLs) because the file has
    a chaosrun block, calls chaosrun's probes or faults, or names `${chaosrun_...}` keys. Without
    it the experiment runs as `chaos run` would, under the supervisor, and no lab is started.
    """

    path: Path
    title: str
    document: Mapping[str, Any]
    chaosrun: ChaosrunSpec
    faults: tuple[FaultUse, ...]
    steps: tuple[Step, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)
    needs_target: bool = True
    warnings: tuple[InputError, ...] = ()  # keys Chaos Toolkit ignores, one line each

    def line(self, key_path: str) -> int | None:
        return key_line(self.lines, key_path)
