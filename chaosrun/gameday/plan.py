"""Game-day plans (`gamedays/*.yaml`), validated as strictly as experiments: every problem is
one line naming the file, line and key path, and each scenario's experiment is validated too.

    title: Quarterly streaming game day
    date: "2026-12-10"
    facilitator: Ana Pereira
    roles: {incident_commander: Bo Chen, scribe: Cy Diaz, observers: [Dee, Eli]}
    objectives: [Playback survives a dependency outage without paging]
    checklist: [Stakeholders told in #streaming-oncall, Dashboards open]
    scenarios:
      - name: dependency-down
        experiment: ../experiments/dependency-failure.yaml   # relative to the plan
        briefing: What we do and why.
        hypothesis: Browsing keeps its SLO while recommendations is down.
        signals: [fallback answers on /api/browse]
        rto_target_s: 5
        abort_criteria: [availability below 95 % for 10 s]
        rollback: Re-enable the recommendations proxy (chaosrun reverts on abort).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.errors import InputError
from chaosrun.load import load_experiment
from chaosrun.schema.common import (
    Ctx,
    TooManyErrors,
    check_keys,
    describe,
    join,
    required_str,
    want_list,
    want_mapping,
    want_number,
    want_str,
)
from chaosrun.schema.source import read_text
from chaosrun.schema.yamlmap import parse

__all__ = ["Plan", "Scenario", "load_plan", "plan_problems"]

_TOP = ("title", "date", "facilitator", "roles", "objectives", "checklist", "scenarios")
_SCENARIO = (
    "name",
    "experiment",
    "briefing",
    "hypothesis",
    "signals",
    "rto_target_s",
    "abort_criteria",
    "rollback",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    experiment: Path  # resolved against the plan's directory
    title: str  # the experiment's title
    briefing: str
    hypothesis: str
    signals: tuple[str, ...]
    rto_target_s: float
    abort_criteria: tuple[str, ...]
    rollback: str


@dataclass(frozen=True, slots=True)
class Plan:
    path: Path
    title: str
    date: str  # YYYY-MM-DD
    facilitator: str
    roles: Mapping[str, tuple[str, ...]]  # role -> people
    objectives: tuple[str, ...]
    checklist: tuple[str, ...]
    scenarios: tuple[Scenario, ...]


def _strings(ctx: Ctx, path: str, value: Any, *, required: bool = True) -> tuple[str, ...]:
    if not want_list(ctx, path, value, "a list of strings"):
        return ()
    if required and not value:
        ctx.err(path, "expected at least one entry")
    found = [want_str(ctx, f"{path}[{i}]", item) for i, item in enumerate(value)]
    return tuple(s for s in found if s is not None)


def _roles(ctx: Ctx, value: Any) -> dict[str, tuple[str, ...]]:
    if not want_mapping(ctx, "roles", value, "a mapping of role: person (or a list of people)"):
        return {}
    roles = {}
    for role, people in value.items():
        path = join("roles", str(role))
        if isinstance(people, list):
            roles[str(role)] = _strings(ctx, path, people)
        else:
            person = want_str(ctx, path, people)
            roles[str(role)] = (person,) if person else ()
    return roles


def _date(ctx: Ctx, value: Any) -> str | None:
    if isinstance(value, dt.date):  # YAML reads 2026-12-10 as a date
        return value.isoformat()
    text = want_str(ctx, "date", value)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        ctx.err("date", f"expected a date as YYYY-MM-DD, got {text!r}")
        return None


def _experiment(ctx: Ctx, path: str, value: Any, base: Path) -> tuple[Path, str] | None:
    text = want_str(ctx, path, value)
    if text is None:
        return None
    file = (base / text).resolve()
    if not file.is_file():
        ctx.err(path, f"no experiment file {text!r} (relative to the plan: {file})")
        return None
    try:
        experiment = load_experiment(file)
    except InputError as exc:
        ctx.err(path, f"the experiment {text!r} is not valid: {exc}")
        return None
    return file, experiment.title


def _scenario(ctx: Ctx, path: str, item: Any, base: Path) -> Scenario | None:
    if not want_mapping(ctx, path, item, "a scenario (a mapping)"):
        return None
    check_keys(ctx, path, item, _SCENARIO)
    texts = {
        k: required_str(ctx, path, item, k) for k in ("name", "briefing", "hypothesis", "rollback")
    }
    found = None
    if "experiment" in item:
        found = _experiment(ctx, join(path, "experiment"), item["experiment"], base)
    else:
        ctx.missing(path, "experiment")
    lists = {}
    for key in ("signals", "abort_criteria"):
        if key in item:
            lists[key] = _strings(ctx, join(path, key), item[key])
        else:
            ctx.missing(path, key)
    target = item.get("rto_target_s")
    if "rto_target_s" not in item:
        ctx.missing(path, "rto_target_s")
    else:
        want_number(ctx, join(path, "rto_target_s"), target, low=0, maximum=86400)
    if found is None or None in texts.values() or not isinstance(target, int | float):
        return None
    return Scenario(
        name=str(texts["name"]),
        experiment=found[0],
        title=found[1],
        briefing=str(texts["briefing"]).strip(),
        hypothesis=str(texts["hypothesis"]).strip(),
        signals=lists.get("signals", ()),
        rto_target_s=float(target),
        abort_criteria=lists.get("abort_criteria", ()),
        rollback=str(texts["rollback"]).strip(),
    )


def _plan(ctx: Ctx, doc: Any, path: Path) -> Plan | None:
    if not isinstance(doc, dict):
        ctx.err("", f"the top level must be a mapping of plan keys, got {describe(doc)}")
        return None
    check_keys(ctx, "", doc, _TOP)
    for key in _TOP:
        if key not in doc:
            ctx.missing("", key)
    title = want_str(ctx, "title", doc.get("title")) if "title" in doc else None
    facilitator = (
        want_str(ctx, "facilitator", doc.get("facilitator")) if "facilitator" in doc else None
    )
    date = _date(ctx, doc.get("date")) if "date" in doc else None
    roles = _roles(ctx, doc.get("roles")) if "roles" in doc else {}
    objectives = _strings(ctx, "objectives", doc.get("objectives", []))
    checklist = _strings(ctx, "checklist", doc.get("checklist", []))
    scenarios: list[Scenario | None] = []
    raw = doc.get("scenarios", [])
    if want_list(ctx, "scenarios", raw, "a list of scenarios"):
        if not raw:
            ctx.err("scenarios", "expected at least one scenario")
        scenarios = [_scenario(ctx, f"scenarios[{i}]", s, path.parent) for i, s in enumerate(raw)]
    seen: set[str] = set()
    for i, scenario in enumerate(scenarios):
        if scenario is None:
            continue
        if scenario.name in seen:
            ctx.err(f"scenarios[{i}].name", f"scenario name {scenario.name!r} is used twice")
        seen.add(scenario.name)
    if ctx.errors or title is None or facilitator is None or date is None:
        return None
    return Plan(
        path=path,
        title=title,
        date=date,
        facilitator=facilitator,
        roles=roles,
        objectives=objectives,
        checklist=checklist,
        scenarios=tuple(s for s in scenarios if s is not None),
    )


def plan_problems(path: str | Path) -> tuple[Plan | None, list[InputError]]:
    """The plan, or every problem in it (by line)."""
    name = str(path)
    ctx = Ctx(name)
    try:
        doc = parse(read_text(Path(path), name), Path(path).suffix.lower() == ".json", ctx)
        plan = _plan(ctx, doc, Path(path).resolve())
    except InputError as exc:
        return None, [exc]
    except TooManyErrors:
        plan = None
    return plan, sorted(ctx.errors, key=lambda e: e.line or 0)


def load_plan(path: str | Path) -> Plan:
    """The plan; raise its first problem as an InputError."""
    plan, problems = plan_problems(path)
    if problems or plan is None:
        raise problems[0] if problems else InputError(str(path), "", None, "not a plan")
    return plan
