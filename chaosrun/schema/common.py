"""The validation context and the small checks every part of the schema shares.

`Ctx` collects every problem as an `InputError` with file, key path and line; the `want_*`
helpers record a problem and report whether the value passed, so validation keeps going, up to
MAX_ERRORS problems: the next one raises `TooManyErrors` (hostile input can hold 100,000 wrong
values, and a "did you mean" for each can be quadratic).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaosrun.errors import InputError

__all__ = [
    "MAX_ERRORS",
    "MAX_WARNINGS",
    "Ctx",
    "TooManyErrors",
    "check_keys",
    "describe",
    "did_you_mean",
    "is_number",
    "join",
    "one_of",
    "required_str",
    "show",
    "want_bool",
    "want_list",
    "want_mapping",
    "want_number",
    "want_str",
]


MAX_ERRORS = 100
MAX_WARNINGS = 100  # further warnings are counted in one last line, not listed


class TooManyErrors(Exception):
    """Raised on the problem after MAX_ERRORS: the caller reports the ones collected so far."""


@dataclass
class Ctx:
    """Where problems go: the file name, the key-path -> line map, the collected errors and
    warnings (what Chaos Toolkit ignores: reported, never a reason to refuse the file)."""

    file: str
    lines: dict[str, int] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    suggested: set[str] = field(default_factory=set)  # key paths some unknown key resembles
    allowed_modules: tuple[str, ...] = ()  # --allow-module prefixes (chaosrun.schema.modules)
    warnings: list[InputError] = field(default_factory=list)
    allow_shell: bool = False  # --allow-shell: process arguments may use shell syntax
    unlisted_warnings: int = 0  # beyond MAX_WARNINGS
    given_configuration: frozenset[str] = frozenset()  # keys set by --var / --var-file

    def line(self, path: str) -> int | None:
        while path not in self.lines:
            if not path:
                return None
            path = _parent(path)
        return self.lines[path]

    def err(self, path: str, expected: str, line: int | None = None) -> None:
        if len(self.errors) >= MAX_ERRORS:
            raise TooManyErrors
        self.errors.append(InputError(self.file, path, line or self.line(path), expected))

    def warn(self, path: str, message: str) -> None:
        if len(self.warnings) >= MAX_WARNINGS:
            self.unlisted_warnings += 1
            return
        self.warnings.append(InputError(self.file, path, self.line(path), message))

    def ignored(self, path: str, key: str) -> None:
        """A key Chaos Toolkit reads nowhere: a warning, the file stays valid."""
        self.warn(join(path, key), f"{key!r} is ignored by Chaos Toolkit")

    def missing(self, path: str, key: str, note: str = "") -> None:
        """A required key is absent, unless an unknown key already said 'did you mean' it."""
        if join(path, key) not in self.suggested:
            self.err(path, f"missing required key '{key}'{note}")


def _parent(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rfind("[")]
    return path[: max(path.rfind("."), 0)]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_SUGGEST_MAX_LEN = 64  # nobody mistypes a longer name; difflib is quadratic in length
_SUGGEST_MAX_CHOICES = 100  # activity names grow with the file; keep each lookup bounded


def did_you_mean(word: str, choices: Collection[str]) -> str:
    close = _closest(word, choices)
    return f"; did you mean '{close}'?" if close is not None else ""


def _closest(word: str, choices: Collection[str]) -> str | None:
    """difflib's closest match, bounded in time for hostile input (long words, many choices)."""
    if len(word) > _SUGGEST_MAX_LEN:
        return None
    candidates = [c for c in dict.fromkeys(choices) if len(c) <= _SUGGEST_MAX_LEN]
    close = difflib.get_close_matches(word, candidates[:_SUGGEST_MAX_CHOICES], n=1)
    return close[0] if close else None


def is_number(value: object) -> bool:
    """A YAML/JSON number: int or float, never a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    kinds: dict[type, str] = {str: "a string", list: "a list", dict: "a mapping"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def show(value: object) -> str:
    """A value as a user wrote it: 'fast', 5, 0.5, true, null; containers by their kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return repr(value)
    return describe(value)


def check_keys(
    ctx: Ctx,
    path: str,
    mapping: Mapping[str, Any],
    allowed: Collection[str],
    *,
    toolkit: bool = False,
) -> None:
    """Unknown keys: an error naming the closest allowed key when one is close (a likely typo),
    else an error too in chaosrun's own blocks, but a warning in a Chaos Toolkit mapping
    (`toolkit`), since Chaos Toolkit ignores keys it does not read."""
    for key in mapping:
        if key not in allowed:
            close = _closest(key, allowed)
            if close is not None:
                ctx.suggested.add(join(path, close))
                ctx.err(join(path, key), f"unknown key '{key}'; did you mean '{close}'?")
            elif toolkit:
                ctx.ignored(path, key)
            else:
                ctx.err(join(path, key), f"unknown key '{key}'")


def want_mapping(ctx: Ctx, path: str, value: object, what: str = "a mapping") -> bool:
    if isinstance(value, dict):
        return True
    ctx.err(path, f"expected {what}, got {describe(value)}")
    return False


def want_list(ctx: Ctx, path: str, value: object, what: str = "a list") -> bool:
    if isinstance(value, list):
        return True
    ctx.err(path, f"expected {what}, got {describe(value)}")
    return False


def want_str(ctx: Ctx, path: str, value: object) -> str | None:
    if not isinstance(value, str):
        ctx.err(path, f"expected a string, got {show(value)}")
    elif not value.strip():
        ctx.err(path, "expected a non-empty string")
    else:
        return value
    return None


def want_bool(ctx: Ctx, path: str, value: object) -> bool:
    if isinstance(value, bool):
        return True
    ctx.err(path, f"expected a boolean (true or false), got {show(value)}")
    return False


def want_number(
    ctx: Ctx,
    path: str,
    value: object,
    *,
    low: float | None = None,
    strict: bool = True,
    maximum: float | None = None,
    allow_var: bool = False,
) -> bool:
    """A finite number; above `low` (or at it when not `strict`) and at most `maximum`."""
    if allow_var and isinstance(value, str) and "${" in value:
        return True
    if not isinstance(value, int | float) or isinstance(value, bool):
        problem = f"expected a number, got {show(value)}"
    elif not math.isfinite(value):
        problem = f"expected a finite number, got {show(value)}"
    elif low is not None and (value <= low if strict else value < low):
        kind = "positive" if strict else "non-negative"
        problem = f"expected a {kind} number, got {show(value)}"
    elif maximum is not None and value > maximum:
        problem = f"expected a number at most {maximum:g}, got {show(value)}"
    else:
        return True
    ctx.err(path, problem)
    return False


def one_of(ctx: Ctx, path: str, value: object, choices: Collection[str], what: str) -> str | None:
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(choices)
    if not isinstance(value, str):
        ctx.err(path, f"expected one of {listed}, got {show(value)}")
    else:
        hint = did_you_mean(value, choices) or f"; expected one of {listed}"
        ctx.err(path, f"unknown {what} '{value}'{hint}")
    return None


def required_str(ctx: Ctx, path: str, mapping: Mapping[str, Any], key: str) -> str | None:
    if key not in mapping:
        ctx.missing(path, key)
        return None
    return want_str(ctx, join(path, key), mapping[key])
