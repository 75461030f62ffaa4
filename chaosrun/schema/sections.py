"""The top-level sections of an experiment that are not activities, and controls.

`SECTIONS` maps each optional top-level key to its check; `check_controls` also serves the
`controls` of the steady-state hypothesis and of single activities.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Callable
from typing import Any

from chaosrun.schema.common import (
    Ctx,
    check_keys,
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

__all__ = ["SECTIONS", "check_controls"]

_CONTROL_KEYS = ("name", "provider", "scope", "automatic", "ref")
_CONTRIBUTION_LEVELS = ("high", "medium", "low", "none")
_ROLLBACK_STRATEGIES = ("default", "always", "never", "deviated")
_HYPOTHESIS_STRATEGIES = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
)


def _version(ctx: Ctx, path: str, value: object) -> None:
    if not isinstance(value, str):
        ctx.err(path, f"expected a string, got {show(value)}")


def _tags(ctx: Ctx, path: str, value: object) -> None:
    if want_list(ctx, path, value, "a list of strings"):
        for i, tag in enumerate(typing.cast(list[object], value)):
            want_str(ctx, f"{path}[{i}]", tag)


def _contributions(ctx: Ctx, path: str, value: object) -> None:
    if want_mapping(ctx, path, value):
        for key, level in typing.cast(dict[str, object], value).items():
            one_of(ctx, join(path, key), level, _CONTRIBUTION_LEVELS, "contribution level")


def _secrets(ctx: Ctx, path: str, value: object) -> None:
    if want_mapping(ctx, path, value):
        for key, scope in typing.cast(dict[str, object], value).items():
            if want_mapping(ctx, join(path, key), scope):
                for name, entry in typing.cast(dict[str, object], scope).items():
                    _env_reference(ctx, join(join(path, key), name), entry)


def _configuration(ctx: Ctx, path: str, value: object) -> None:
    if want_mapping(ctx, path, value):
        for key, entry in typing.cast(dict[str, object], value).items():
            if key not in ctx.given_configuration:  # chaos run: --var stands in for the env
                _env_reference(ctx, join(path, key), entry)


def _env_reference(ctx: Ctx, path: str, entry: object) -> None:
    """`{type: env, key: K}` without a default needs K set, or Chaos Toolkit refuses the run
    (after chaosrun would have started the target): refused here, naming the key and its line."""
    if not isinstance(entry, dict) or entry.get("type") != "env" or "default" in entry:
        return
    key = entry.get("key")
    if isinstance(key, str) and key not in os.environ:
        ctx.err(
            join(path, "key"),
            f"environment variable {key!r} is not set (Chaos Toolkit refuses to run without "
            "it; set it, or give a 'default')",
        )


def _extensions(ctx: Ctx, path: str, value: object) -> None:
    if want_list(ctx, path, value, "a list of extensions"):
        for i, ext in enumerate(typing.cast(list[object], value)):
            item = f"{path}[{i}]"
            if want_mapping(ctx, item, ext, "an extension mapping"):
                required_str(ctx, item, typing.cast(dict[str, Any], ext), "name")


def check_controls(ctx: Ctx, path: str, value: object) -> None:
    if not want_list(ctx, path, value, "a list of controls"):
        return
    for i, control in enumerate(typing.cast(list[object], value)):
        item = f"{path}[{i}]"
        if not want_mapping(ctx, item, control, "a control mapping"):
            continue
        control = typing.cast(dict[str, Any], control)
        check_keys(ctx, item, control, _CONTROL_KEYS, toolkit=True)
        if "ref" in control:
            want_str(ctx, join(item, "ref"), control["ref"])
            continue
        required_str(ctx, item, control, "name")
        if "provider" not in control:
            ctx.missing(item, "provider")
        else:
            want_mapping(ctx, join(item, "provider"), control["provider"])


def _runtime(ctx: Ctx, path: str, value: object) -> None:
    if not want_mapping(ctx, path, value):
        return
    runtime = typing.cast(dict[str, Any], value)
    check_keys(ctx, path, runtime, ("rollbacks", "hypothesis"), toolkit=True)
    rollbacks, hypothesis = join(path, "rollbacks"), join(path, "hypothesis")
    if "rollbacks" in runtime and want_mapping(ctx, rollbacks, runtime["rollbacks"]):
        check_keys(ctx, rollbacks, runtime["rollbacks"], ("strategy",), toolkit=True)
        if "strategy" in runtime["rollbacks"]:
            strategy = runtime["rollbacks"]["strategy"]
            one_of(ctx, join(rollbacks, "strategy"), strategy, _ROLLBACK_STRATEGIES, "strategy")
    if "hypothesis" in runtime and want_mapping(ctx, hypothesis, runtime["hypothesis"]):
        block = runtime["hypothesis"]
        check_keys(ctx, hypothesis, block, ("strategy", "freq", "fail_fast"), toolkit=True)
        if "strategy" in block:
            strategy = block["strategy"]
            one_of(ctx, join(hypothesis, "strategy"), strategy, _HYPOTHESIS_STRATEGIES, "strategy")
        if "freq" in block:
            want_number(ctx, join(hypothesis, "freq"), block["freq"], low=0)
        if "fail_fast" in block:
            want_bool(ctx, join(hypothesis, "fail_fast"), block["fail_fast"])


SECTIONS: dict[str, Callable[[Ctx, str, object], None]] = {
    "version": _version,
    "tags": _tags,
    "contributions": _contributions,
    "configuration": _configuration,
    "secrets": _secrets,
    "extensions": _extensions,
    "controls": check_controls,
    "runtime": _runtime,
}
