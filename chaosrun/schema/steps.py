"""Typed steps from a validated document: every activity, with its line, call and resolved ref.

Built once at load time from the parsed document and its line map, so that the dry-run plan,
the target policy and the run read the same steps and nothing reads the file again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from chaosrun.model import Call, HttpCall, ProcessCall, PythonCall, Step, key_line
from chaosrun.names import RESERVED_PREFIX

__all__ = ["build_steps", "chaosrun_block_index", "needs_target"]

_TEMPLATE = re.compile(r"\$\{([^}]+)\}")


def build_steps(doc: Mapping[str, Any], lines: Mapping[str, int]) -> tuple[Step, ...]:
    """Every activity of a validated document, in the order Chaos Toolkit meets them."""
    builder = _Builder(lines)
    configuration = doc.get("configuration")
    if isinstance(configuration, Mapping):
        for key, value in configuration.items():
            if isinstance(value, Mapping) and value.get("type") == "probe":
                builder.add("configuration", f"configuration.{key}", value)
    builder.controls("controls", doc.get("controls"))
    hypothesis = doc.get("steady-state-hypothesis")
    if isinstance(hypothesis, Mapping):
        builder.sequence("steady-state", "steady-state-hypothesis.probes", hypothesis.get("probes"))
        builder.controls("steady-state-hypothesis.controls", hypothesis.get("controls"))
    index = chaosrun_block_index(doc)
    if index is not None:
        guards = doc["extensions"][index].get("abort_when")
        for i, guard in enumerate(guards if isinstance(guards, list) else []):
            if isinstance(guard, Mapping) and isinstance(guard.get("probe"), Mapping):
                builder.add(
                    "safeguard", f"extensions[{index}].abort_when[{i}].probe", guard["probe"]
                )
    builder.sequence("method", "method", doc.get("method"))
    builder.sequence("rollback", "rollbacks", doc.get("rollbacks"))
    return tuple(builder.steps)


def chaosrun_block_index(doc: Mapping[str, Any]) -> int | None:
    extensions = doc.get("extensions")
    if isinstance(extensions, list):
        for i, extension in enumerate(extensions):
            if isinstance(extension, Mapping) and extension.get("name") == "chaosrun":
                return i
    return None


def needs_target(doc: Mapping[str, Any], steps: tuple[Step, ...]) -> bool:
    """Whether a run needs chaosrun's target: a chaosrun block, chaosrun calls or keys."""
    if chaosrun_block_index(doc) is not None:
        return True
    for step in steps:
        if isinstance(step.call, PythonCall) and step.call.module.split(".")[0] == "chaosrun":
            return True
    return any(name.startswith(RESERVED_PREFIX) for name in template_names(doc))


def template_names(value: object) -> Iterator[str]:
    """Every `${name}` written anywhere in `value`."""
    if isinstance(value, str):
        yield from _TEMPLATE.findall(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from template_names(key)
            yield from template_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from template_names(item)


class _Builder:
    def __init__(self, lines: Mapping[str, int]) -> None:
        self.lines = lines
        self.steps: list[Step] = []
        self.named: dict[str, Step] = {}

    def sequence(self, phase: str, path: str, activities: object) -> None:
        for i, activity in enumerate(activities if isinstance(activities, list) else []):
            if isinstance(activity, Mapping):
                self.add(phase, f"{path}[{i}]", activity)

    def controls(self, path: str, controls: object) -> None:
        for i, control in enumerate(controls if isinstance(controls, list) else []):
            if isinstance(control, Mapping) and isinstance(control.get("provider"), Mapping):
                where = f"{path}[{i}]"
                call = _call(control["provider"])
                name = str(control.get("name", ""))
                self.steps.append(Step("control", where, self._line(where), name, "control", call))

    def add(self, phase: str, path: str, activity: Mapping[str, Any]) -> None:
        line = self._line(path)
        if "ref" in activity and "provider" not in activity:
            ref = str(activity["ref"])
            earlier = self.named.get(ref)
            call = earlier.call if earlier is not None else None
            kind = earlier.type if earlier is not None else str(activity.get("type", "probe"))
            self.steps.append(Step(phase, path, line, ref, kind, call, ref=ref))
        else:
            provider = activity.get("provider")
            call = _call(provider) if isinstance(provider, Mapping) else None
            pauses = activity.get("pauses")
            pauses = pauses if isinstance(pauses, Mapping) else {}
            step = Step(
                phase,
                path,
                line,
                str(activity.get("name", "")),
                str(activity.get("type", "probe")),
                call,
                background=activity.get("background") is True,
                pause_before_s=pauses.get("before"),
                pause_after_s=pauses.get("after"),
            )
            self.steps.append(step)
            if step.name and phase != "tolerance":
                self.named[step.name] = step
        tolerance = activity.get("tolerance")
        if isinstance(tolerance, Mapping) and isinstance(tolerance.get("provider"), Mapping):
            self.add("tolerance", f"{path}.tolerance", tolerance)
        self.controls(f"{path}.controls", activity.get("controls"))

    def _line(self, path: str) -> int | None:
        return key_line(self.lines, path)


def _call(provider: Mapping[str, Any]) -> Call | None:
    kind = provider.get("type")
    if kind == "http":
        method = provider.get("method")
        return HttpCall(str(provider.get("url", "")), str(method or "GET").upper())
    if kind == "process":
        return ProcessCall(str(provider.get("path", "")), provider.get("arguments"))
    if kind == "python" or (kind is None and "module" in provider):  # controls omit the type
        arguments, secrets = provider.get("arguments"), provider.get("secrets")
        return PythonCall(
            str(provider.get("module", "")),
            str(provider.get("func", "")),
            arguments if isinstance(arguments, Mapping) else {},
            tuple(str(scope) for scope in secrets) if isinstance(secrets, list) else (),
        )
    return None
