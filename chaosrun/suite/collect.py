"""Which experiments a suite runs, validated before any of them starts.

A directory contributes its `*.yaml`, `*.yml` and `*.json` files (sorted, not recursive: a
subdirectory is a separate suite); files named on the command line keep their order. Every
file is validated as `chaosrun validate` would; one invalid file refuses the whole suite (exit 2),
so a nightly job never runs half a suite because of a typo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chaosrun.errors import InputError, UsageError
from chaosrun.load import check_files, load_experiment
from chaosrun.model import ClusterTarget, UrlTarget

__all__ = ["EXPERIMENT_SUFFIXES", "OWN_LAB", "SuiteEntry", "collect", "experiment_files"]

EXPERIMENT_SUFFIXES = (".yaml", ".yml", ".json")
OWN_LAB = "own lab"


@dataclass(frozen=True, slots=True)
class SuiteEntry:
    file: str
    title: str
    lane: str  # OWN_LAB (runs in parallel with others) or "target URL" (one run at a time)
    target: str = "lab"  # "lab" or the explicit target's service URL (error-budget admission)


def experiment_files(paths: Sequence[str]) -> list[Path]:
    """The files `paths` name, in order, each once; a missing path is a usage error."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in EXPERIMENT_SUFFIXES)
            if not found:
                raise UsageError(f"{given}: no experiment files (*.yaml, *.yml, *.json) in it")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{given}: no such file or directory")
    unique: dict[Path, None] = {}
    for file in files:
        unique.setdefault(file.resolve(), None)
    by_resolved = {f.resolve(): f for f in reversed(files)}
    return [by_resolved[r] for r in unique]


def collect(
    paths: Sequence[str], allowed_modules: Sequence[str] = (), allow_shell: bool = False
) -> tuple[list[SuiteEntry], list[InputError]]:
    """The suite's entries, or every problem of every file (then nothing may run)."""
    files = experiment_files(paths)
    problems = [
        error
        for report in check_files(files, allowed_modules, allow_shell=allow_shell)
        for error in report.errors
    ]
    if problems:
        return [], problems
    entries = []
    for file in files:
        experiment = load_experiment(file, allowed_modules, allow_shell)
        target = experiment.chaosrun.target
        if isinstance(target, UrlTarget):
            lane, key = f"target {target.toxiproxy_url}", target.service_url
        elif isinstance(target, ClusterTarget):  # one run at a time per cluster and namespace
            lane = f"kubernetes {target.context or 'current context'} {target.namespace}"
            key = target.service_url
        else:
            lane, key = OWN_LAB, "lab"
        entries.append(SuiteEntry(str(file), experiment.title, lane, key))
    return entries, []
