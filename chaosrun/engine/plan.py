"""`chaosrun run --dry-run`: what a run would inject where, and what else it would do.

`chaosrun.engine.target.view_target` sees the target read-only (a TargetView); `build_plan` is
pure: experiment + target view -> Plan. What a toxic fault would send comes from the fault's own
declaration (`chaosrun.faults.REGISTRY[kind].toxic`), the one its inject builds from.
`chaosrun.report.plan` renders a Plan as text or JSON.
A dry run creates no run directory, lock or journal and starts no process.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chaosrun.engine.preflight import missing_proxy
from chaosrun.engine.reach import System, command_line, configuration_values, substitute
from chaosrun.faults import REGISTRY, toxic_name
from chaosrun.k8s.plan import k8s_step
from chaosrun.model import (
    PERCENTILES,
    Call,
    Experiment,
    HttpCall,
    ProbeGuard,
    ProcessCall,
    PythonCall,
    Safeguard,
    Step,
)
from chaosrun.model import (
    LabTarget as LabSpec,
)
from chaosrun.names import SERVICE_URL_KEY, TOXIPROXY_URL_KEY

__all__ = [
    "FaultPlan",
    "Plan",
    "ProxyView",
    "StepPlan",
    "TargetKind",
    "TargetView",
    "ToxicPlan",
    "build_plan",
]

TargetKind = Literal["running-lab", "ephemeral-lab", "url", "kubernetes"]


@dataclass(frozen=True, slots=True)
class ProxyView:
    name: str
    listen: str | None  # None: not known before the run (ephemeral lab) or not asked (URL)
    upstream: str | None
    enabled: bool | None = None  # current state, read from a running lab only
    toxics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetView:
    kind: TargetKind
    variant: str | None
    service_url: str | None
    toxiproxy_url: str | None
    proxies: tuple[ProxyView, ...]
    note: str


@dataclass(frozen=True, slots=True)
class ToxicPlan:
    name: str
    type: str
    stream: str
    toxicity: Any
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    kind: str
    action: str  # inject | revert (the function called)
    proxy: str
    effect: str
    request: str  # the API call it would make
    toxic: ToxicPlan | None
    toxiproxy_url: str | None
    listen: str | None
    upstream: str | None


@dataclass(frozen=True, slots=True)
class StepPlan:
    phase: str  # steady-state | method | rollback
    name: str
    type: str  # action | probe
    provider: str  # one line: python module.func(args), http METHOD url, process path args
    fault: FaultPlan | None = None
    ref: bool = False
    background: bool = False
    pause_before_s: Any = None
    pause_after_s: Any = None


@dataclass(frozen=True, slots=True)
class Plan:
    file: str
    title: str
    target: TargetView
    deadline_s: float
    load: dict[str, Any] | None
    safeguards: tuple[str, ...]
    steady_state: tuple[StepPlan, ...]
    method: tuple[StepPlan, ...]
    rollbacks: tuple[StepPlan, ...]
    warnings: tuple[str, ...]
    systems: tuple[System, ...] = ()  # what a run would contact (chaosrun.engine.reach)
    rollback_strategy: str = "always"
    needs_target: bool = True  # False: no lab, no target; runs as `chaos run` would


def build_plan(
    experiment: Experiment,
    target: TargetView,
    systems: tuple[System, ...] = (),
    rollback_strategy: str = "always",
) -> Plan:
    """What a run of `experiment` against `target` would do, step by step. Pure."""
    doc = experiment.document
    mapping = configuration_values(doc)  # env entries stay templates: they may hold secrets
    if experiment.needs_target:
        urls = {SERVICE_URL_KEY: target.service_url, TOXIPROXY_URL_KEY: target.toxiproxy_url}
        mapping.update({k: v for k, v in urls.items() if v is not None})
    spec = experiment.chaosrun
    lab_nodes = None
    if isinstance(spec.target, LabSpec) and spec.target.profile == "k8s":
        from chaosrun.lab.k8s.app import node_objects

        lab_nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in node_objects()}
    planner = _Planner(target, mapping, lab_nodes)
    by_phase = {
        phase: [step for step in experiment.steps if step.phase == phase]
        for phase in ("steady-state", "safeguard", "method", "rollback")
    }
    steady = planner.steps("steady-state", by_phase["steady-state"])
    guards = {step.key_path: step for step in by_phase["safeguard"]}
    method = planner.steps("method", by_phase["method"])
    rollbacks = planner.steps("rollback", by_phase["rollback"])
    return Plan(
        file=str(experiment.path),
        title=experiment.title,
        target=target,
        deadline_s=spec.deadline_s,
        load=_load(experiment, target),
        safeguards=tuple(_safeguard(g, planner, guards) for g in spec.abort_when),
        steady_state=steady,
        method=method,
        rollbacks=rollbacks,
        warnings=tuple(dict.fromkeys(planner.warnings)),
        systems=systems,
        rollback_strategy=rollback_strategy,
        needs_target=experiment.needs_target,
    )


def _load(experiment: Experiment, target: TargetView) -> dict[str, Any] | None:
    load = experiment.chaosrun.load
    if load is None:
        return None
    longest = load.warmup_s + experiment.chaosrun.deadline_s + load.cooldown_s
    return {
        "rate": load.rate,
        "endpoints": dict(load.endpoints),
        "warmup_s": load.warmup_s,
        "cooldown_s": load.cooldown_s,
        "timeout_s": load.timeout_s,
        "service_url": target.service_url,
        "max_duration_s": longest,
        "max_requests": int(load.rate * longest),
    }


def _safeguard(guard: Safeguard, planner: _Planner, steps: Mapping[str, Step]) -> str:
    """One line per stop condition of `abort_when`."""
    if isinstance(guard, ProbeGuard):
        step = next((s for s in steps.values() if s.name == guard.probe.get("name")), None)
        provider = planner.provider(step.call if step is not None else None)
        what = (
            f"probe {guard.probe.get('name')} ({provider}) is out of tolerance, checked every "
            f"{guard.every_s:g} s"
        )
    else:
        side = "below" if guard.below else "above"
        unit = " ms" if guard.metric in PERCENTILES else ""
        where = f" on {guard.endpoint}" if guard.endpoint else ""
        window = f"over a {guard.window_s:g} s window{where}"
        what = f"{guard.metric} {side} {guard.threshold:g}{unit} {window}"
    held = f"for {guard.for_s:g} s" if guard.for_s else "(at the first failure)"
    return f"{guard.name}: abort (exit 4) when {what} {held}"


class _Planner:
    def __init__(
        self,
        target: TargetView,
        mapping: Mapping[str, Any],
        k8s_nodes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.k8s_nodes = k8s_nodes  # the k8s lab's nodes and their labels, when it is the target
        self.target = target
        self.mapping = mapping
        self.proxies = {p.name: p for p in target.proxies}
        self.named: dict[str, StepPlan] = {}
        self.active: dict[str, str] = {}  # "proxy/toxic" -> the step that added it
        self.warnings: list[str] = []

    def steps(self, phase: str, steps: Iterable[Step]) -> tuple[StepPlan, ...]:
        return tuple(self.step(phase, step) for step in steps)

    def step(self, phase: str, step: Step) -> StepPlan:
        if step.ref is not None:
            earlier = self.named.get(step.ref)
            if earlier is None:
                return StepPlan(phase, step.ref, "probe", "ref to an unknown activity", ref=True)
            return StepPlan(
                phase, step.ref, earlier.type, earlier.provider, earlier.fault, ref=True
            )
        planned = StepPlan(
            phase=phase,
            name=step.name,
            type=step.type,
            provider=self.provider(step.call),
            fault=self.fault(step.call, step.name) if step.type == "action" else None,
            background=step.background,
            pause_before_s=step.pause_before_s,
            pause_after_s=step.pause_after_s,
        )
        self.named[planned.name] = planned
        return planned

    def provider(self, call: Call | None) -> str:
        if isinstance(call, PythonCall):
            args = substitute(dict(call.arguments), self.mapping)
            shown = " ".join(f"{k}={v}" for k, v in (args or {}).items())
            return f"python {call.module}.{call.func}" + (f" {shown}" if shown else "")
        if isinstance(call, HttpCall):
            return f"http {call.method} {substitute(call.url, self.mapping)}"
        if isinstance(call, ProcessCall):
            return f"process {command_line(call.path, substitute(call.arguments, self.mapping))}"
        return "no provider"

    def fault(self, call: Call | None, step: str) -> FaultPlan | None:
        if not isinstance(call, PythonCall):
            return None
        parts = call.module.split(".")
        kind, func = parts[-1], call.func
        if parts[0] == "chaosk8s" or parts[:2] == ["chaosrun", "k8s"]:
            args = substitute(dict(call.arguments), self.mapping)
            k8s = k8s_step(call.module, func, args, self.k8s_nodes)
            if k8s is None:
                return None
            return FaultPlan(k8s.kind, func, "", k8s.effect, k8s.request, None, None, None, None)
        if parts[:2] != ["chaosrun", "faults"] or len(parts) != 3 or kind not in REGISTRY:
            return None
        given = substitute(dict(call.arguments), self.mapping)
        fn = REGISTRY[kind].inject if func == "inject" else REGISTRY[kind].revert
        args = {**_defaults(fn), **given} if func in ("inject", "revert") else dict(given)
        proxy = str(args.get("proxy") or "")
        view = self.proxies.get(proxy)
        # The service, a path, or a whole region: no one proxy.
        proxyless = proxy == "" and (not REGISTRY[kind].in_toxiproxy or "region" in args)
        if self.target.kind != "url" and view is None and not proxyless:
            missing = missing_proxy(proxy, self.proxies)
            self.warnings.append(f"{missing} (a run stops before injecting anything)")
        elif view is not None and view.toxics and func == "inject":
            held = ", ".join(view.toxics)
            self.warnings.append(f"proxy '{proxy}' already carries toxics: {held}")
        if REGISTRY[kind].toxic is not None and func in ("inject", "revert"):
            self._track(step, func, proxy, toxic_name(kind, str(args.get("stream"))))
        api = self.target.toxiproxy_url
        base = f"{api or '<toxiproxy>'}/proxies/{proxy}"
        upstream = view.upstream if view else None
        effect, request, toxic = _effect(kind, func, proxy, args, base, upstream)
        listen = view.listen if view else None
        return FaultPlan(kind, func, proxy, effect, request, toxic, api, listen, upstream)

    def _track(self, step: str, func: str, proxy: str, toxic: str) -> None:
        """Warn about a toxic added twice without a revert in between (Toxiproxy says 409)."""
        key = f"{proxy}/{toxic}"
        if func == "revert":
            self.active.pop(key, None)
        elif key in self.active:
            self.warnings.append(
                f"{step} adds toxic {toxic} to proxy {proxy} again (already added by "
                f"{self.active[key]}): Toxiproxy would refuse it (409)"
            )
        else:
            self.active[key] = step


def _defaults(fn: Any) -> dict[str, Any]:
    params = inspect.signature(fn).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.default is not inspect.Parameter.empty and p.name != "configuration"
    }


def _effect(
    kind: str, func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str, ToxicPlan | None]:
    """What the step would do, by the fault kind's own description (`describe`); for a toxic,
    also what its inject would send, by the kind's own declaration."""
    if func not in ("inject", "revert"):
        return f"call chaosrun.faults.{kind}.{func}", "unknown", None
    fault = REGISTRY[kind]
    effect, request = fault.describe(func, proxy, args, base, upstream)
    spec = fault.toxic
    if spec is None or func == "revert":
        return effect, request, None
    stream = str(args.get("stream"))
    toxic = ToxicPlan(
        toxic_name(kind, stream), spec.type, stream, args.get("toxicity"), spec.values(args)
    )
    return effect, request, toxic
