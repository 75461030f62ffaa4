"""What a run talks to: the running lab, an ephemeral lab, or explicit URLs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.lab.lab import LabInfo, lab_down, lab_up, load_lab_info
from chaosrun.model import Experiment, LabTarget, UrlTarget

__all__ = [
    "Target",
    "ephemeral_lab_dir",
    "release_target",
    "resolve_target",
    "reusable_lab",
    "running_lab",
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
