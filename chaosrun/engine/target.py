"""What a run talks to: the running lab, an ephemeral lab, or explicit URLs -- one `Target`
interface, two implementations (`LabTarget`, `ExplicitTarget`).

`resolve_target` gets it for a run (starting an ephemeral lab if need be); `view_target` sees it
read-only for a dry run: the lab started by `chaosrun lab up` (its proxies read with GET), an
ephemeral lab that would be started (its proxies from the topology data; nothing is started) or
an explicit target (never contacted: its proxies stay unknown).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chaosrun.engine.safeguards import Firing
from chaosrun.engine.watchdog import lab_process_exited
from chaosrun.errors import LabError, ToxiproxyError
from chaosrun.lab.k8s.profile import KUBECONFIG, k8s_proxies
from chaosrun.lab.lab import LabInfo, lab_down, lab_up, load_lab_info, restart_toxiproxy
from chaosrun.lab.regions import two_region_profile
from chaosrun.lab.topology import DEFAULT_TOPOLOGY, Topology
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.lab.variants import apply_variant
from chaosrun.model import ClusterTarget as ClusterSpec
from chaosrun.model import Experiment, UrlTarget
from chaosrun.model import LabTarget as LabSpec

if TYPE_CHECKING:
    from chaosrun.engine.plan import TargetView

__all__ = [
    "ExplicitTarget",
    "KubernetesTarget",
    "LabTarget",
    "Target",
    "ephemeral_lab_dir",
    "release_target",
    "resolve_target",
    "reusable_lab",
    "running_lab",
    "view_target",
]


class Target(Protocol):
    """What a run talks to, as one interface: where the service and its proxies are, what to
    lock, what to watch, how to restore when reverting entry by entry was not enough, how it is
    described, and how it is let go. `LabTarget` and `ExplicitTarget` implement it (a
    Kubernetes one will too)."""

    @property
    def service_url(self) -> str: ...

    @property
    def toxiproxy_url(self) -> str:
        """The (first region's) Toxiproxy API: where a fault names its proxy."""
        ...

    @property
    def toxiproxy_urls(self) -> tuple[str, ...]:
        """Every Toxiproxy server of the target (one per region)."""
        ...

    @property
    def toxiproxy_regions(self) -> dict[str, str]:
        """Region -> its Toxiproxy API, for a target with named regions ({} otherwise)."""
        ...

    @property
    def ephemeral(self) -> bool: ...

    def lock_key(self) -> str:
        """One run at a time per key (a Toxiproxy serves one run at a time)."""
        ...

    def watch(self, now: float) -> Firing | None:
        """A target-specific stop condition (a lab process that exited), None when fine."""
        ...

    def restore_fallback(self, timeout_s: float) -> tuple[str | None, str | None, Target]:
        """Put every proxy back wholesale: (what was done or None, the problems met or None,
        the target afterwards)."""
        ...

    def endpoints_using(self) -> dict[str, tuple[str, ...]]:
        """Which dependencies each endpoint uses, when the target knows ({} otherwise)."""
        ...

    def sentinels(self) -> tuple[str, ...]:
        """HOST:PORT of the Redis Sentinels of the target's database (() when it has none)."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def environment(self) -> dict[str, str]:
        """Variables the worker runs with to reach the target (a k8s lab: its KUBECONFIG)."""
        ...

    def release(self) -> None:
        """Let the target go after the run (an ephemeral lab is stopped)."""
        ...


@dataclass(frozen=True, slots=True)
class LabTarget:
    """A lab this host runs: the one `chaosrun lab up` started, or an ephemeral one."""

    lab: LabInfo
    ephemeral: bool

    @property
    def service_url(self) -> str:
        return self.lab.service_url

    @property
    def toxiproxy_url(self) -> str:
        return self.lab.toxiproxy_url

    @property
    def toxiproxy_urls(self) -> tuple[str, ...]:
        return tuple(r.toxiproxy_url for r in self.lab.regions) or (self.lab.toxiproxy_url,)

    @property
    def toxiproxy_regions(self) -> dict[str, str]:
        return {r.region: r.toxiproxy_url for r in self.lab.regions}

    def lock_key(self) -> str:
        return self.lab.toxiproxy_url

    def watch(self, now: float) -> Firing | None:
        return lab_process_exited(self.lab, now)

    def restore_fallback(self, timeout_s: float) -> tuple[str | None, str | None, Target]:
        servers = [p for p in self.lab.processes if p.name.startswith("toxiproxy")]
        problems: list[str] = []
        if all(p.alive() for p in servers):
            done = _reset_all(self.toxiproxy_urls, timeout_s, problems)
            if done is not None:
                return done, None, self
        try:
            owner = self.lab.directory if self.ephemeral else None
            lab = restart_toxiproxy(self.lab, owner)
            return "toxiproxy restarted", "; ".join(problems) or None, replace(self, lab=lab)
        except LabError as exc:
            problems.append(f"restart: {exc}")
        return None, "; ".join(problems), self

    def endpoints_using(self) -> dict[str, tuple[str, ...]]:
        try:
            text = (Path(self.lab.directory) / "topology.json").read_text()
        except OSError:
            return {}
        return {e.path: e.uses for e in Topology.from_json(text).endpoints}

    def sentinels(self) -> tuple[str, ...]:
        # The addresses the Sentinels announce (not a region's local path to them).
        return tuple(p.listen for p in self.lab.proxies if re.fullmatch(r"sentinel-\d+", p.name))

    def describe(self) -> dict[str, Any]:
        return {
            "service_url": self.service_url,
            "toxiproxy_url": self.toxiproxy_url,
            "lab": {
                "variant": self.lab.variant,
                "ephemeral": self.ephemeral,
                "directory": self.lab.directory,
            },
        }

    def environment(self) -> dict[str, str]:
        if self.lab.profile != "k8s":
            return {}
        return {"KUBECONFIG": str(Path(self.lab.directory) / KUBECONFIG)}

    def release(self) -> None:
        if self.ephemeral:
            lab_down(self.lab)


@dataclass(frozen=True, slots=True)
class ExplicitTarget:
    """A service someone else runs, with its dependencies behind a Toxiproxy server."""

    service_url: str
    toxiproxy_url: str
    ephemeral: bool = False

    @property
    def toxiproxy_urls(self) -> tuple[str, ...]:
        return (self.toxiproxy_url,)

    @property
    def toxiproxy_regions(self) -> dict[str, str]:
        return {}

    def lock_key(self) -> str:
        return self.toxiproxy_url

    def watch(self, now: float) -> Firing | None:
        return None  # its processes are not ours to watch: the client's timeline says it all

    def restore_fallback(self, timeout_s: float) -> tuple[str | None, str | None, Target]:
        problems: list[str] = []
        done = _reset_all(self.toxiproxy_urls, timeout_s, problems)
        return done, "; ".join(problems) or None, self

    def endpoints_using(self) -> dict[str, tuple[str, ...]]:
        return {}

    def sentinels(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> dict[str, Any]:
        return {"service_url": self.service_url, "toxiproxy_url": self.toxiproxy_url, "lab": None}

    def environment(self) -> dict[str, str]:
        return {}

    def release(self) -> None:
        return None


@dataclass(slots=True)
class KubernetesTarget:
    """A service on a Kubernetes cluster: chaosk8s and chaosrun.k8s steps change objects through
    its API server (`server`, of the experiment's context), each change on the undo log; the
    load goes to the service's URL. One run at a time per API server and namespace; the
    watchdog stops the run when the API server stops answering (WATCH_UNREACHABLE_S), since
    nothing could then be put back. No Toxiproxy: chaosrun's network faults need a lab or an
    explicit Toxiproxy target."""

    spec: ClusterSpec
    server: str
    ephemeral: bool = False
    _next_check: float = 0.0
    _unreachable_since: float | None = None

    @property
    def service_url(self) -> str:
        return self.spec.service_url

    @property
    def toxiproxy_url(self) -> str:
        return ""

    @property
    def toxiproxy_urls(self) -> tuple[str, ...]:
        return ()

    @property
    def toxiproxy_regions(self) -> dict[str, str]:
        return {}

    def lock_key(self) -> str:
        return f"kubernetes {self.server} namespace {self.spec.namespace}"

    def watch(self, now: float) -> Firing | None:
        if now < self._next_check:
            return None
        self._next_check = now + WATCH_INTERVAL_S
        if api_server_answers(self.server, self.spec.context):
            self._unreachable_since = None
            return None
        since = self._unreachable_since = self._unreachable_since or now
        if now - since < WATCH_UNREACHABLE_S:
            return None
        observed = (
            f"the Kubernetes API server {self.server} has not answered for {now - since:.1f} s: "
            "changes could not be put back"
        )
        return Firing("api server reachable", "target", observed, since, now)

    def restore_fallback(self, timeout_s: float) -> tuple[str | None, str | None, Target]:
        return None, None, self  # each change is reverted by its own undo entry

    def endpoints_using(self) -> dict[str, tuple[str, ...]]:
        return {}

    def sentinels(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> dict[str, Any]:
        return {
            "service_url": self.service_url,
            "toxiproxy_url": None,
            "kubernetes": {
                "server": self.server,
                "context": self.spec.context,
                "namespace": self.spec.namespace,
            },
            "lab": None,
        }

    def environment(self) -> dict[str, str]:
        return {"KUBERNETES_CONTEXT": self.spec.context} if self.spec.context else {}

    def release(self) -> None:
        return None


WATCH_INTERVAL_S = 1.0
WATCH_UNREACHABLE_S = 5.0


def api_server_answers(server: str, context: str | None) -> bool:
    """Whether the API server answers (GET /version; an HTTP error status still says it is up)."""
    from kubernetes import client

    from chaosrun.k8s.api import cluster_of

    environ = {**os.environ, **({"KUBERNETES_CONTEXT": context} if context else {})}
    try:
        api = cluster_of(None, environ).client()
        try:
            client.VersionApi(api).get_code(_request_timeout=WATCH_INTERVAL_S)
        finally:
            api.close()
    except Exception as exc:
        return getattr(exc, "status", None) is not None
    return True


def cluster_server(spec: ClusterSpec, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The API server the experiment's context names, as chaosk8s would pick it."""
    from chaosrun.engine.reach import kube_api_server

    env = {**environ, **({"KUBERNETES_CONTEXT": spec.context} if spec.context else {})}
    return kube_api_server(env, {})


def _reset_all(urls: tuple[str, ...], timeout_s: float, problems: list[str]) -> str | None:
    """POST /reset on every server; "/reset" when all answered, else None (problems noted)."""
    for url in urls:
        try:
            ToxiproxyClient(url, timeout_s=timeout_s).reset()
        except ToxiproxyError as exc:
            problems.append(f"/reset: {exc}")
            return None
    return "/reset"


def running_lab(home: Path) -> LabInfo | None:
    """The lab started by `chaosrun lab up`, if all its processes are still alive."""
    info = load_lab_info(home / "lab")
    return info if info is not None and info.alive() else None


def reusable_lab(
    home: Path, wanted: str, variant: str | None, profile: str = "streaming"
) -> LabInfo | None:
    """The running lab a run uses: any variant of the profile the experiment names, unless
    `--variant` asked for another one."""
    lab = running_lab(home)
    if lab is None or lab.profile != profile:
        return None
    return lab if variant is None or lab.variant == wanted else None


def ephemeral_lab_dir(run_dir: Path) -> Path:
    return run_dir / "lab"


def resolve_target(
    experiment: Experiment,
    home: Path,
    run_dir: Path,
    variant: str | None,
    own_lab: bool = False,
) -> Target:
    """`own_lab`: never use the running lab (a suite runs each experiment on a lab of its own)."""
    spec = experiment.chaosrun.target
    if isinstance(spec, UrlTarget):
        return ExplicitTarget(spec.service_url, spec.toxiproxy_url)
    if isinstance(spec, ClusterSpec):
        server, how = cluster_server(spec, os.environ)
        if server is None:
            raise LabError(f"kubernetes target: no API server found ({how})")
        return KubernetesTarget(spec, server)
    assert isinstance(spec, LabSpec)
    wanted = variant or spec.variant
    lab = None if own_lab else reusable_lab(home, wanted, variant, spec.profile)
    if lab is not None:
        return LabTarget(lab, ephemeral=False)
    directory = ephemeral_lab_dir(run_dir)
    lab = lab_up(directory, wanted, owner=str(directory), profile=spec.profile)
    return LabTarget(lab, ephemeral=True)


def release_target(target: Target) -> None:
    target.release()


def view_target(experiment: Experiment, home: Path, variant: str | None) -> TargetView:
    """The target as a run would resolve it, seen read-only (GET on a running lab only)."""
    from chaosrun.engine.plan import ProxyView, TargetView  # plan.py imports this module

    spec = experiment.chaosrun.target
    if isinstance(spec, UrlTarget):
        note = "explicit target: not contacted by a dry run, so its proxies are not listed"
        return TargetView("url", None, spec.service_url, spec.toxiproxy_url, (), note)
    if isinstance(spec, ClusterSpec):
        server, how = cluster_server(spec, os.environ)
        note = (
            f"Kubernetes cluster: API server {server or '?'} ({how}), namespace "
            f"{spec.namespace}; no Toxiproxy"
        )
        return TargetView("kubernetes", None, spec.service_url, None, (), note)
    assert isinstance(spec, LabSpec)
    wanted = variant or spec.variant
    lab = reusable_lab(home, wanted, variant, spec.profile)
    if lab is None:
        topology = apply_variant(DEFAULT_TOPOLOGY, wanted)
        if spec.profile == "streaming":
            names = [d.name for d in topology.dependencies]
        elif spec.profile == "k8s":
            names = [p.name for p in k8s_proxies(topology)]
        else:
            names = [p.name for p in two_region_profile(topology, wanted).proxies]
        proxies = tuple(ProxyView(name, None, None) for name in names)
        profile = "" if spec.profile == "streaming" else f"{spec.profile} profile, "
        note = (
            f"an ephemeral lab would be started ({profile}variant {wanted}) on free ports of "
            "127.0.0.1 and stopped after the run"
        )
        return TargetView("ephemeral-lab", wanted, None, None, proxies, note)
    note = f"the lab started by 'chaosrun lab up' (variant {lab.variant})"
    if lab.variant != wanted:
        note += f"; the file asks for {wanted}: pass --variant {wanted} for an ephemeral lab"
    try:
        live = {}
        for url in LabTarget(lab, ephemeral=False).toxiproxy_urls:
            live.update(ToxiproxyClient(url).proxies())
        views = tuple(
            ProxyView(p.name, p.listen, p.upstream, p.enabled, tuple(t.name for t in p.toxics))
            for p in live.values()
        )
    except ToxiproxyError as exc:
        views = tuple(ProxyView(p.name, p.listen, p.upstream) for p in lab.proxies)
        note += f"; proxies from the lab's record ({exc})"
    return TargetView("running-lab", lab.variant, lab.service_url, lab.toxiproxy_url, views, note)
