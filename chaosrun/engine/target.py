"""What a run talks to: the running lab, an ephemeral lab, or explicit URLs.

`resolve_target` gets it for a run (starting an ephemeral lab if need be); `view_target` sees it
read-only for a dry run: the lab started by `chaosrun lab up` (its proxies read with GET), an
ephemeral lab that would be started (its proxies from the topology data; nothing is started) or
an explicit target (never contacted: its proxies stay unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaosrun.errors import ToxiproxyError
from chaosrun.lab.lab import LabInfo, lab_down, lab_up, load_lab_info
from chaosrun.lab.topology import DEFAULT_TOPOLOGY
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.lab.variants import apply_variant
from chaosrun.model import Experiment, LabTarget, UrlTarget

if TYPE_CHECKING:
    from chaosrun.engine.plan import TargetView

__all__ = [
    "Target",
    "ephemeral_lab_dir",
    "release_target",
    "resolve_target",
    "reusable_lab",
    "running_lab",
    "view_target",
]


@dataclass(frozen=True, slots=True)
class Target:
    service_url: str
    toxiproxy_url: str
    lab: LabInfo | None
    ephemeral: bool

    def describe(self) -> dict[str, Any]:
        return {
            "service_url": self.service_url,
            "toxiproxy_url": self.toxiproxy_url,
            "lab": None
            if self.lab is None
            else {
                "variant": self.lab.variant,
                "ephemeral": self.ephemeral,
                "directory": self.lab.directory,
            },
        }


def running_lab(home: Path) -> LabInfo | None:
    """The lab started by `chaosrun lab up`, if all its processes are still alive."""
    info = load_lab_info(home / "lab")
    return info if info is not None and info.alive() else None


def reusable_lab(home: Path, wanted: str, variant: str | None) -> LabInfo | None:
    """The running lab a run uses: any variant, unless `--variant` asked for another one."""
    lab = running_lab(home)
    return lab if lab is not None and (variant is None or lab.variant == wanted) else None


def ephemeral_lab_dir(run_dir: Path) -> Path:
    return run_dir / "lab"


def resolve_target(
    experiment: Experiment, home: Path, run_dir: Path, variant: str | None
) -> Target:
    spec = experiment.chaosrun.target
    if isinstance(spec, UrlTarget):
        return Target(spec.service_url, spec.toxiproxy_url, None, ephemeral=False)
    assert isinstance(spec, LabTarget)
    wanted = variant or spec.variant
    lab = reusable_lab(home, wanted, variant)
    if lab is not None:
        return Target(lab.service_url, lab.toxiproxy_url, lab, ephemeral=False)
    lab = lab_up(ephemeral_lab_dir(run_dir), wanted, owner=str(ephemeral_lab_dir(run_dir)))
    return Target(lab.service_url, lab.toxiproxy_url, lab, ephemeral=True)


def release_target(target: Target) -> None:
    if target.ephemeral and target.lab is not None:
        lab_down(target.lab)


def view_target(experiment: Experiment, home: Path, variant: str | None) -> TargetView:
    """The target as a run would resolve it, seen read-only (GET on a running lab only)."""
    from chaosrun.engine.plan import ProxyView, TargetView  # plan.py imports this module

    spec = experiment.chaosrun.target
    if isinstance(spec, UrlTarget):
        note = "explicit target: not contacted by a dry run, so its proxies are not listed"
        return TargetView("url", None, spec.service_url, spec.toxiproxy_url, (), note)
    assert isinstance(spec, LabTarget)
    wanted = variant or spec.variant
    lab = reusable_lab(home, wanted, variant)
    if lab is None:
        topology = apply_variant(DEFAULT_TOPOLOGY, wanted)
        proxies = tuple(ProxyView(d.name, None, None) for d in topology.dependencies)
        note = (
            f"an ephemeral lab would be started (variant {wanted}) on free ports of 127.0.0.1 "
            "and stopped after the run"
        )
        return TargetView("ephemeral-lab", wanted, None, None, proxies, note)
    note = f"the lab started by 'chaosrun lab up' (variant {lab.variant})"
    if lab.variant != wanted:
        note += f"; the file asks for {wanted}: pass --variant {wanted} for an ephemeral lab"
    try:
        live = ToxiproxyClient(lab.toxiproxy_url).proxies()
        views = tuple(
            ProxyView(p.name, p.listen, p.upstream, p.enabled, tuple(t.name for t in p.toxics))
            for p in live.values()
        )
    except ToxiproxyError as exc:
        views = tuple(ProxyView(p.name, p.listen, p.upstream) for p in lab.proxies)
        note += f"; proxies from the lab's record ({exc})"
    return TargetView("running-lab", lab.variant, lab.service_url, lab.toxiproxy_url, views, note)
