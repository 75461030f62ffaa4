"""The plan of a dry run: the target seen read-only, what a run would touch, the steps."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from chaosrun.engine.options import RunOptions, resolve_runtime
from chaosrun.engine.plan import Plan, build_plan
from chaosrun.engine.reach import touched
from chaosrun.engine.target import view_target
from chaosrun.model import Experiment

__all__ = ["dry_run_plan"]

_UNKNOWN_URL = "http://127.0.0.1:<port chosen at start>"


def dry_run_plan(
    experiment: Experiment,
    home: Path,
    variant: str | None,
    options: RunOptions,
    environ: Mapping[str, str],
    shown: Experiment | None = None,
) -> Plan:
    """The plan of `experiment`; `shown`: the same experiment with its secrets masked, which
    the steps are planned from (what a run touches is found from the real values)."""
    view = view_target(experiment, home, variant)
    urls = (view.service_url or _UNKNOWN_URL, view.toxiproxy_url or _UNKNOWN_URL)
    systems = touched(experiment, environ, target_urls=urls)
    runtime = resolve_runtime(experiment.document, options)
    return build_plan(shown or experiment, view, systems, runtime.rollback_strategy)
