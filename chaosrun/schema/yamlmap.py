"""YAML or JSON text -> plain data, with a key path -> line map for error messages.

Only plain YAML (strings, numbers, booleans, null, lists, mappings, merge keys) is accepted.
Hostile input is refused with one InputError, never another exception, and in bounded time and
memory (the file itself is at most 1 MiB, see `chaosrun.schema.source`):

- nesting deeper than MAX_DEPTH, checked while composing (before any RecursionError);
- more than MAX_SOURCE_NODES nodes written in the file, checked while composing: PyYAML's pure
  Python parser needs ~60 us a node here, so this bounds parsing to about a second;
- alias expansion ("billion laughs"): PyYAML shares aliased nodes, so a tree walk can go
  exponential; the expanded document is capped at MAX_NODES nodes and at MAX_CHARS characters of
  key paths and values (what the line map, the journal and Chaos Toolkit would copy);
- integers that do not fit in 64 bits (10**5000 would stop Python's int parsing, 0x-numbers
  of any length would reach float() as OverflowError);
- strings holding NUL or a lone surrogate (a "\\ud800" escape), which no file, process argument
  or HTTP header can carry.

JSON is read by both `json` and the YAML reader: line numbers come from YAML when both agree.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chaosrun.errors import InputError
from chaosrun.schema.common import MAX_ERRORS, Ctx, TooManyErrors, describe, join

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "MAX_SOURCE_NODES", "TOO_DEEP", "parse"]

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
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_INT_TEXT_MAX = 100  # a 64-bit integer written in any YAML form (0b..., 1_000, 1:30) is shorter
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + name for name in ("str", "int", "float", "bool", "null"))


def parse(text: str, is_json: bool, ctx: Ctx) -> Any:
    """Plain data for the document; fills ctx.lines and records recoverable problems."""
    plain: Any = None
    duplicates: list[str] = []
    too_large: _IntTooLarge | None = None
    if is_json:
        try:
            plain = json.loads(
                text,
                object_pairs_hook=lambda pairs: _json_object(pairs, duplicates),
                parse_int=_json_int,
            )
        except json.JSONDecodeError as exc:
            raise InputError(ctx.file, "", exc.lineno, f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(ctx.file, "", None, TOO_DEEP) from None
        except _IntTooLarge as exc:
            too_large = exc  # the YAML pass below finds its line
        # In valid JSON every tab is whitespace outside strings; YAML refuses tab indentation.
        text = text.replace("\t", " ")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except _Refused as exc:
        raise InputError(ctx.file, "", exc.line, exc.problem) from None
    except yaml.YAMLError as exc:
        if is_json:
            return _json_fallback(plain, duplicates, too_large, ctx)
        raise _yaml_error(exc, text, ctx.file) from None
    if node is None:
        raise InputError(ctx.file, "", None, "the file is empty")
    converter = _Converter(ctx.file, is_json)
    try:
        data = converter.convert(node, "", 0)
    except TooManyErrors:
        ctx.lines.update(converter.lines)
        ctx.errors.extend(converter.errors)
        raise
    if is_json and (too_large or data != plain or converter.duplicates != len(duplicates)):
        return _json_fallback(plain, duplicates, too_large, ctx)
    ctx.lines.update(converter.lines)
    ctx.errors.extend(converter.errors)
    if converter.truncated:
        raise TooManyErrors
    return data


def _json_object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    return result


class _IntTooLarge(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.problem = f"integer too large: {_clip(text)} does not fit in 64 bits"


def _json_int(text: str) -> int:
    if len(text) > _INT_TEXT_MAX or not _INT_MIN <= (value := int(text)) <= _INT_MAX:
        raise _IntTooLarge(text)
    return value


def _json_fallback(
    plain: Any, duplicates: list[str], too_large: _IntTooLarge | None, ctx: Ctx
) -> Any:
    """Valid JSON that YAML cannot read with the same meaning: no line numbers."""
    if too_large is not None:
        raise InputError(ctx.file, "", None, too_large.problem)
    for key in duplicates:
        ctx.err("", f"duplicate key '{key}'")
    _check_plain(plain, ctx)
    return plain


def _check_plain(plain: Any, ctx: Ctx) -> None:
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
            problem = _string_problem(value)
            if problem:
                ctx.err(path, problem)
        elif isinstance(value, dict):
            for key in value:
                problem = _string_problem(key)
                if problem:
                    ctx.err(path, problem)
            stack.extend((item, path, key, depth + 1) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            items = reversed(list(enumerate(value)))
            stack.extend((item, path, i, depth + 1) for i, item in items)


def _yaml_error(exc: yaml.YAMLError, text: str, file: str) -> InputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and mark.index >= len(text.rstrip()) and exc.context_mark is not None:
            mark = exc.context_mark  # "but got <stream end>": point at what was left open
        line = mark.line + 1 if mark is not None else None
        parts = [part for part in (exc.context, exc.problem) if part]
        return InputError(file, "", line, "invalid YAML: " + ": ".join(parts))
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return InputError(
            file, "", line, f"invalid YAML: unacceptable character #x{exc.character:04x}"
        )
    return InputError(file, "", None, f"invalid YAML: {exc}")


class _Refused(Exception):
    """The composer stops: nested too deep or too many nodes, at a 1-based line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(line, problem)
        self.line = line
        self.problem = problem


class _Loader(yaml.SafeLoader):
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
                raise _Refused(event.start_mark.line + 1, problem)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Converter:
    """Node tree -> plain data, recording key path -> line; guards against alias bombs."""

    def __init__(self, file: str, json_mode: bool) -> None:
        self.file = file
        self.json_mode = json_mode
        self.lines: dict[str, int] = {}
        self.errors: list[InputError] = []
        self.duplicates = 0
        self.truncated = False
        self.nodes = 0
        self.chars = 0
        self.constructor = SafeConstructor()

    def error(self, path: str, node: Node, expected: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            if not self.json_mode:
                raise TooManyErrors
            # JSON: these may be artefacts of the YAML reading (an escaped surrogate pair is
            # two lone surrogates to YAML), so finish: `parse` compares with `json` first.
            self.truncated = True
            return
        self.errors.append(InputError(self.file, path, node.start_mark.line + 1, expected))

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

    def convert(self, node: Node, path: str, depth: int) -> Any:
        self.count(node, path, depth)
        if not path:
            self.lines[""] = node.start_mark.line + 1
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode) and node.tag == _TAG + "seq":
            items = []
            for i, item in enumerate(node.value):
                self.lines[f"{path}[{i}]"] = item.start_mark.line + 1
                items.append(self.convert(item, f"{path}[{i}]", depth + 1))
            return items
        if isinstance(node, MappingNode) and node.tag == _TAG + "map":
            result = {}
            for key, (key_node, value_node) in self.pairs(node, path, depth).items():
                self.lines[join(path, key)] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, join(path, key), depth + 1)
            return result
        self.error(path, node, f"unsupported YAML tag '{_short(node.tag)}'")
        return None

    def scalar(self, node: ScalarNode, path: str) -> Any:
        value = self.value(node, path)
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                self.error(path, node, problem)
        return value

    def value(self, node: ScalarNode, path: str) -> Any:
        if self.json_mode:
            if node.style is not None:
                return _join_surrogate_pairs(node.value)
            try:
                return json.loads(node.value, parse_int=_json_int)
            except _IntTooLarge as exc:
                raise InputError(self.file, path, node.start_mark.line + 1, exc.problem) from None
            except ValueError:
                return node.value
        if node.tag == _TAG + "int":
            return self.integer(node, path)
        if node.tag in _PLAIN_TAGS:
            return self.constructor.construct_object(node, deep=True)
        if node.tag == _TAG + "timestamp":
            self.error(path, node, f"{node.value} is read as a date by YAML; quote it")
        else:
            self.error(path, node, f"unsupported YAML tag '{_short(node.tag)}'")
        return node.value

    def integer(self, node: ScalarNode, path: str) -> int:
        """A YAML integer that fits in 64 bits; anything longer is refused before int()."""
        if len(node.value.replace("_", "")) <= _INT_TEXT_MAX:
            value = self.constructor.construct_object(node, deep=True)
            if isinstance(value, int) and _INT_MIN <= value <= _INT_MAX:
                return value
        problem = _IntTooLarge(node.value).problem
        raise InputError(self.file, path, node.start_mark.line + 1, problem)

    def key(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode):
            value = self.scalar(node, path)
            if isinstance(value, str):
                return value
            self.error(
                join(path, node.value),
                node,
                f"key '{node.value}' is read as {describe(value)} by YAML; quote it",
            )
        else:
            self.error(path, node, f"expected a string key, got {_kind(node)}")
        return None

    def pairs(self, node: MappingNode, path: str, depth: int) -> dict[str, tuple[Node, Node]]:
        """Keys in YAML order (merge keys `<<` first, explicit keys override them)."""
        merged: dict[str, tuple[Node, Node]] = {}
        explicit: dict[str, tuple[Node, Node]] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            self.count(key_node, path, depth)
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    self.count(source, path, depth + 1)  # `<<: [*a, *a, ...]` is an expansion
                    if not isinstance(source, MappingNode):
                        problem = "a merge key '<<' takes a mapping or a list of mappings"
                        self.error(join(path, "<<"), key_node, problem)
                        continue
                    for key, pair in self.pairs(source, path, depth + 1).items():
                        merged.setdefault(key, pair)
                continue
            name = self.key(key_node, path)
            if name is None:
                continue
            key = name
            if key in first_lines:
                first = first_lines[key]
                self.duplicates += 1
                self.error(
                    join(path, key), key_node, f"duplicate key '{key}' (first on line {first})"
                )
            first_lines.setdefault(key, key_node.start_mark.line + 1)
            explicit[key] = (key_node, value_node)  # the last one wins, as in Chaos Toolkit
        merged.update(explicit)
        return merged


def _string_problem(value: str) -> str | None:
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


def _join_surrogate_pairs(text: str) -> str:
    """JSON's "\\ud83d\\ude00" is one character; YAML reads two (lone surrogates stay)."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _kind(node: Node) -> str:
    kinds: dict[type, str] = {MappingNode: "a mapping", SequenceNode: "a list"}
    return kinds.get(type(node), "a value")
