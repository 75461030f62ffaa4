"""Hostile-input limits on reading an experiment file, and the guards that enforce them.

Each guard refuses with one InputError (or a problem `chaosrun.schema.yamlmap` turns into one),
never another exception, and in bounded time and memory (the file itself is at most 1 MiB, see
`chaosrun.schema.source`):

- nesting deeper than MAX_DEPTH, checked while composing (before any RecursionError), by
  `BoundedLoader`;
- more than MAX_SOURCE_NODES nodes written in the file, checked while composing by
  `BoundedLoader`: PyYAML's pure Python parser needs ~60 us a node here, so this bounds parsing
  to about a second;
- alias expansion ("billion laughs"): PyYAML shares aliased nodes, so a tree walk can go
  exponential; `Expansion` caps the expanded document at MAX_NODES nodes and at MAX_CHARS
  characters of key paths and values (what the line map, the journal and Chaos Toolkit would copy);
- integers that do not fit in 64 bits (10**5000 would stop Python's int parsing, 0x-numbers
  of any length would reach float() as OverflowError): `json_int`, INT_MIN..INT_MAX, INT_TEXT_MAX;
- strings holding NUL or a lone surrogate (a "\\ud800" escape), which no file, process argument
  or HTTP header can carry: `string_problem`.

`check_plain` applies the same bounds to data read by `json` alone (key paths, no lines).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode

from chaosrun.errors import InputError
from chaosrun.schema.common import Ctx, join

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "INT_TEXT_MAX",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SOURCE_NODES",
    "TOO_DEEP",
    "TOO_MANY_CHARS",
    "TOO_MANY_NODES",
    "TOO_MANY_SOURCE_NODES",
    "BoundedLoader",
    "Expansion",
    "IntTooLarge",
    "Refused",
    "check_plain",
    "json_int",
    "string_problem",
]

MAX_NODES = 100_000  # after expanding aliases
MAX_SOURCE_NODES = 20_000  # as written in the file; a large experiment has a few hundred
MAX_CHARS = 16 * 1024 * 1024  # key paths + values after expanding aliases; 16x the file cap
MAX_DEPTH = 64
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
TOO_MANY_NODES = f"document too large: more than {MAX_NODES} nodes after expanding aliases"
TOO_MANY_SOURCE_NODES = f"document too large: more than {MAX_SOURCE_NODES} YAML nodes"
TOO_MANY_CHARS = (
    f"document too large: more than {MAX_CHARS >> 20} MiB of key paths and values "
    "(aliases expanded)"
)
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
INT_TEXT_MAX = 100  # a 64-bit integer written in any YAML form (0b..., 1_000, 1:30) is shorter


class IntTooLarge(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.problem = f"integer too large: {_clip(text)} does not fit in 64 bits"


def json_int(text: str) -> int:
    """`parse_int` for `json`: refuses a long integer before int() reads it."""
    if len(text) > INT_TEXT_MAX or not INT_MIN <= (value := int(text)) <= INT_MAX:
        raise IntTooLarge(text)
    return value


def string_problem(value: str) -> str | None:
    """NUL or a lone surrogate: text no file, process argument or HTTP header can carry."""
    if "\x00" in value:
        return "string contains a NUL character (\\x00)"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        return f"string contains a lone surrogate (\\u{code:04x}), which is not valid Unicode"
    return None


class Refused(Exception):
    """The composer stops: nested too deep or too many nodes, at a 1-based line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(line, problem)
        self.line = line
        self.problem = problem


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose (recursive) composer stops past MAX_DEPTH or MAX_SOURCE_NODES."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.depth += 1
        self.nodes += 1  # aliases included: each is an event to parse
        try:
            if self.depth > MAX_DEPTH + 1 or self.nodes > MAX_SOURCE_NODES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                problem = TOO_DEEP if self.depth > MAX_DEPTH + 1 else TOO_MANY_SOURCE_NODES
                raise Refused(event.start_mark.line + 1, problem)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class Expansion:
    """The expanded tree's size so far, against MAX_NODES, MAX_CHARS and MAX_DEPTH."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.chars = 0

    def count(self, node: Node, path: str, depth: int) -> None:
        """Every node of the expanded tree passes here (keys and merge sources included)."""
        self.nodes += 1
        self.chars += len(path) + (len(node.value) if isinstance(node, ScalarNode) else 0)
        if self.nodes > MAX_NODES:
            raise InputError(self.file, "", None, TOO_MANY_NODES)
        if self.chars > MAX_CHARS:
            raise InputError(self.file, "", None, TOO_MANY_CHARS)
        if depth > MAX_DEPTH:
            raise InputError(self.file, "", node.start_mark.line + 1, TOO_DEEP)


def check_plain(plain: Any, ctx: Ctx) -> None:
    """The bounds the YAML pass checks, on data from `json` alone (key paths, no lines).

    Depth first in document order; a key path is built only when its node is visited, so that
    MAX_CHARS bounds them as it does in the YAML pass."""
    stack: list[tuple[Any, str, str | int, int]] = [(plain, "", "", 0)]
    nodes = chars = 0
    while stack:
        value, parent, step, depth = stack.pop()
        path = f"{parent}[{step}]" if isinstance(step, int) else join(parent, step)
        nodes += 1
        chars += len(path) + (len(value) if isinstance(value, str) else 0)
        if depth > MAX_DEPTH:
            raise InputError(ctx.file, "", None, TOO_DEEP)
        if nodes > MAX_SOURCE_NODES:
            raise InputError(ctx.file, "", None, TOO_MANY_SOURCE_NODES)
        if chars > MAX_CHARS:
            raise InputError(ctx.file, "", None, TOO_MANY_CHARS)
        if isinstance(value, str):
            problem = string_problem(value)
            if problem:
                ctx.err(path, problem)
        elif isinstance(value, dict):
            for key in value:
                problem = string_problem(key)
                if problem:
                    ctx.err(path, problem)
            stack.extend((item, path, key, depth + 1) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            items = reversed(list(enumerate(value)))
            stack.extend((item, path, i, depth + 1) for i, item in items)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
