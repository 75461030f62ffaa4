"""The activity walker: hypothesis probes, method and rollbacks, in Chaos Toolkit's order.

It checks each activity's keys, type, options, tolerance and provider, resolves `ref`s against
earlier activity names and records the chaosrun fault actions the method uses.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from chaosrun.model import FaultUse
from chaosrun.schema.common import (
    Ctx,
    check_keys,
    did_you_mean,
    is_number,
    join,
    one_of,
    required_str,
    show,
    want_bool,
    want_list,
    want_mapping,
    want_number,
    want_str,
)
from chaosrun.schema.providers import check_provider
from chaosrun.schema.python_provider import fault_limits
from chaosrun.schema.sections import check_controls
from chaosrun.schema.tolerances import check_tolerance

__all__ = ["Activities"]

_ACTIVITY_KEYS = (
    "type",
    "name",
    "provider",
    "tolerance",
    "pauses",
    "background",
    "timeout",
    "controls",
    "configuration",
    "secrets",
)


class Activities:
    """Walks activities in Chaos Toolkit's order: hypothesis probes, method, rollbacks."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.names: list[str] = []  # in order, for "did you mean"
        self._known: set[str] = set()
        self.faults: list[FaultUse] = []

    def hypothesis(self, path: str, value: object) -> None:
        ctx = self.ctx
        if not want_mapping(ctx, path, value):
            return
        ssh = typing.cast(dict[str, Any], value)
        check_keys(ctx, path, ssh, ("title", "probes", "controls"), toolkit=True)
        required_str(ctx, path, ssh, "title")
        if "probes" in ssh:
            self.sequence(join(path, "probes"), ssh["probes"], "hypothesis")
        if "controls" in ssh:
            check_controls(ctx, join(path, "controls"), ssh["controls"])

    def method(self, path: str, value: object) -> None:
        self.sequence(path, value, "method")

    def sequence(self, path: str, value: object, role: str) -> None:
        if want_list(self.ctx, path, value, "a list of activities"):
            for i, activity in enumerate(typing.cast(list[object], value)):
                self.activity(f"{path}[{i}]", activity, role)

    def activity(self, path: str, value: object, role: str) -> None:
        """Role: hypothesis (probe + tolerance), method, rollback or tolerance (probe)."""
        ctx = self.ctx
        if not want_mapping(ctx, path, value, "an activity mapping"):
            return
        act = typing.cast(dict[str, Any], value)
        if "ref" in act and role != "tolerance":
            self._ref(path, act, role)
            return
        check_keys(ctx, path, act, _ACTIVITY_KEYS, toolkit=True)
        kind = self._type(path, act, role)
        name = required_str(ctx, path, act, "name")
        if name is not None and role != "tolerance":
            self.names.append(name)
            self._known.add(name)
        if "tolerance" in act:
            if kind == "action":
                ctx.err(join(path, "tolerance"), "tolerance is only allowed on probes")
            else:
                check_tolerance(
                    ctx, join(path, "tolerance"), act["tolerance"], self._probe_tolerance
                )
        elif role == "hypothesis":
            ctx.missing(path, "tolerance", " (every hypothesis probe needs one)")
        self._options(path, act)
        if "provider" not in act:
            ctx.missing(path, "provider")
            return
        call = check_provider(ctx, join(path, "provider"), act["provider"], role == "tolerance")
        if call is not None and kind == "action" and name is not None:
            self._fault(path, name, *call)

    def _fault(self, path: str, name: str, module: str, func: str, args: dict[str, Any]) -> None:
        """Record a chaosrun fault action; check its arguments against the kind's limits."""
        parts = module.split(".")
        if len(parts) != 3 or parts[:2] != ["chaosrun", "faults"]:
            return
        self.faults.append(FaultUse(parts[2], func, tuple(args.items()), name, self.ctx.line(path)))
        for arg, (low, high) in fault_limits(parts[2]).items():
            value = args.get(arg)
            if isinstance(value, int | float) and is_number(value) and not low <= value <= high:
                where = join(join(path, "provider.arguments"), arg)
                self.ctx.err(where, f"expected {arg} in [{low}, {high}], got {show(value)}")

    def _ref(self, path: str, act: Mapping[str, Any], role: str) -> None:
        """A ref runs the named activity. Chaos Toolkit reads nothing else next to it but, in
        the hypothesis, the tolerance its output is checked against (which it then needs)."""
        ctx = self.ctx
        check_keys(ctx, path, act, ("ref", *_ACTIVITY_KEYS), toolkit=True)
        used = ("ref", "type", "tolerance") if role == "hypothesis" else ("ref", "type")
        for key in act:
            if key in _ACTIVITY_KEYS and key not in used:
                ctx.ignored(path, key)
        if "type" in act:
            one_of(ctx, join(path, "type"), act["type"], ("action", "probe"), "activity type")
        if role == "hypothesis":
            if "tolerance" in act:
                where = join(path, "tolerance")
                check_tolerance(ctx, where, act["tolerance"], self._probe_tolerance)
            else:
                ctx.missing(path, "tolerance", " (every hypothesis probe needs one)")
        ref = want_str(ctx, join(path, "ref"), act["ref"])
        if ref is not None and ref not in self._known:
            hint = did_you_mean(ref, self.names)
            ctx.err(join(path, "ref"), f"ref '{ref}' does not match any earlier activity{hint}")

    def _type(self, path: str, act: Mapping[str, Any], role: str) -> str | None:
        ctx = self.ctx
        if "type" not in act:
            ctx.missing(path, "type", " (action or probe)")
            return None
        kind = one_of(ctx, join(path, "type"), act["type"], ("action", "probe"), "activity type")
        if kind == "action" and role in ("hypothesis", "tolerance"):
            where = {"hypothesis": "steady-state-hypothesis probes"}.get(role, role)
            ctx.err(join(path, "type"), f"{where} must have type 'probe'")
        return kind

    def _options(self, path: str, act: Mapping[str, Any]) -> None:
        ctx = self.ctx
        if "pauses" in act and want_mapping(ctx, join(path, "pauses"), act["pauses"]):
            pauses = act["pauses"]
            check_keys(ctx, join(path, "pauses"), pauses, ("before", "after"), toolkit=True)
            for key in ("before", "after"):
                if key in pauses:
                    where = join(join(path, "pauses"), key)
                    want_number(ctx, where, pauses[key], low=0, strict=False, allow_var=True)
        if "background" in act:
            want_bool(ctx, join(path, "background"), act["background"])
        if "timeout" in act:
            want_number(ctx, join(path, "timeout"), act["timeout"], low=0, allow_var=True)
        if "controls" in act:
            check_controls(ctx, join(path, "controls"), act["controls"])
        for key in ("configuration", "secrets"):
            if key in act:
                want_mapping(ctx, join(path, key), act[key])

    def _probe_tolerance(self, path: str, tol: dict[str, Any]) -> None:
        self.activity(path, tol, "tolerance")
