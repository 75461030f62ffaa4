"""`chaosrun run --dry-run`: what a run would inject where, and what else it would do.

`chaosrun.engine.target.view_target` sees the target read-only (a TargetView); `build_plan` is
pure: experiment + target view -> Plan. What a toxic fault would send comes from the fault's own
declaration (`chaosrun.faults.REGISTRY[kind].toxic`), the one its inject builds from.
`chaosrun.report.plan` renders a Plan as text or JSON.
A dry run creates no run directory, lock or journal and starts no process.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chaosrun.engine.allow import configuration_values, substitute
from chaosrun.engine.preflight import missing_proxy
from chaosrun.faults import REGISTRY, toxic_name
from chaosrun.model import PERCENTILES, Experiment, ProbeGuard, Safeguard

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

TargetKind = Literal["running-lab", "ephemeral-lab", "url"]


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


def build_plan(experiment: Experiment, target: TargetView) -> Plan:
    """What a run of `experiment` against `target` would do, step by step. Pure."""
    doc = experiment.document
    mapping = configuration_values(doc)  # env entries stay templates: they may hold secrets
    urls = {"service_url": target.service_url, "toxiproxy_url": target.toxiproxy_url}
    mapping.update({k: v for k, v in urls.items() if v is not None})
    planner = _Planner(target, mapping)
    hypothesis = doc.get("steady-state-hypothesis") or {}
    steady = planner.steps("steady-state", hypothesis.get("probes") or [])
    method = planner.steps("method", doc.get("method") or [])
    rollbacks = planner.steps("rollback", doc.get("rollbacks") or [])
    spec = experiment.chaosrun
    return Plan(
        file=str(experiment.path),
        title=experiment.title,
        target=target,
        deadline_s=spec.deadline_s,
        load=_load(experiment, target),
        safeguards=tuple(_safeguard(g, planner) for g in spec.abort_when),
        steady_state=steady,
        method=method,
        rollbacks=rollbacks,
        warnings=tuple(dict.fromkeys(planner.warnings)),
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


def _safeguard(guard: Safeguard, planner: _Planner) -> str:
    """One line per stop condition of `abort_when`."""
    if isinstance(guard, ProbeGuard):
        provider = planner.provider(guard.probe.get("provider"))
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
    def __init__(self, target: TargetView, mapping: Mapping[str, Any]) -> None:
        self.target = target
        self.mapping = mapping
        self.proxies = {p.name: p for p in target.proxies}
        self.named: dict[str, StepPlan] = {}
        self.active: dict[str, str] = {}  # "proxy/toxic" -> the step that added it
        self.warnings: list[str] = []

    def steps(self, phase: str, activities: object) -> tuple[StepPlan, ...]:
        if not isinstance(activities, list):
            return ()
        return tuple(self.step(phase, a) for a in activities if isinstance(a, Mapping))

    def step(self, phase: str, activity: Mapping[str, Any]) -> StepPlan:
        if "ref" in activity:
            ref = str(activity["ref"])
            earlier = self.named.get(ref)
            if earlier is None:
                return StepPlan(phase, ref, "probe", "ref to an unknown activity", ref=True)
            return StepPlan(phase, ref, earlier.type, earlier.provider, earlier.fault, ref=True)
        provider = activity.get("provider")
        pauses = activity.get("pauses")
        if not isinstance(pauses, Mapping):
            pauses = {}
        name = str(activity.get("name"))
        step = StepPlan(
            phase=phase,
            name=name,
            type=str(activity.get("type")),
            provider=self.provider(provider),
            fault=self.fault(provider, name) if activity.get("type") == "action" else None,
            background=bool(activity.get("background", False)),
            pause_before_s=pauses.get("before"),
            pause_after_s=pauses.get("after"),
        )
        self.named[step.name] = step
        return step

    def provider(self, provider: object) -> str:
        if not isinstance(provider, Mapping):
            return "no provider"
        kind = provider.get("type")
        args = substitute(provider.get("arguments"), self.mapping)
        if kind == "python":
            call = f"{provider.get('module')}.{provider.get('func')}"
            shown = " ".join(f"{k}={v}" for k, v in (args or {}).items())
            return f"python {call}" + (f" {shown}" if shown else "")
        if kind == "http":
            url = substitute(provider.get("url"), self.mapping)
            return f"http {str(provider.get('method') or 'GET').upper()} {url}"
        words = [str(provider.get("path"))] + [str(a) for a in (args or [])]
        return f"{kind} {' '.join(words)}"

    def fault(self, provider: object, step: str) -> FaultPlan | None:
        if not isinstance(provider, Mapping) or provider.get("type") != "python":
            return None
        parts = str(provider.get("module")).split(".")
        kind, func = parts[-1], str(provider.get("func"))
        if parts[:2] != ["chaosrun", "faults"] or len(parts) != 3 or kind not in REGISTRY:
            return None
        given = substitute(provider.get("arguments") or {}, self.mapping)
        fn = REGISTRY[kind].inject if func == "inject" else REGISTRY[kind].revert
        args = {**_defaults(fn), **given} if func in ("inject", "revert") else dict(given)
        proxy = str(args.get("proxy"))
        view = self.proxies.get(proxy)
        if self.target.kind != "url" and view is None:
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
    spec = REGISTRY[kind].toxic  # what the fault's inject sends, by its own declaration
    if spec is not None and func in ("inject", "revert"):
        stream = str(args.get("stream"))
        name = toxic_name(kind, stream)
        if func == "revert":
            return f"remove toxic {name} from proxy {proxy}", f"DELETE {base}/toxics/{name}", None
        values = spec.values(args)
        toxic = ToxicPlan(name, spec.type, stream, args.get("toxicity"), values)
        shown = " ".join(f"{k}={v}" for k, v in values.items())
        effect = (
            f"add toxic {name} to proxy {proxy}: type {spec.type}, stream {stream}, "
            f"toxicity {toxic.toxicity}, {shown}"
        )
        return effect, f"POST {base}/toxics", toxic
    if kind == "proxy_down" and func in ("inject", "revert"):
        enabled = func == "revert"
        verb = "enable proxy" if enabled else "disable proxy"
        what = "" if enabled else " (its listener closes, open connections drop)"
        body = "true" if enabled else "false"
        return f"{verb} {proxy}{what}", f"PATCH {base} enabled={body}", None
    if kind == "fail_for" and func in ("inject", "revert"):
        dep = f"http://{upstream or '<upstream of ' + proxy + '>'}/_fail"
        if func == "revert":
            return (
                f"end the failure window of the dependency behind {proxy}",
                (f"GET {base}, then POST {dep}?duration_ms=0"),
                None,
            )
        duration = args.get("duration_ms")
        effect = f"the dependency behind proxy {proxy} answers 500 for {duration} ms"
        return effect, f"GET {base}, then POST {dep}?duration_ms={duration}&mode=error", None
    return f"call chaosrun.faults.{kind}.{func}", "unknown", None
