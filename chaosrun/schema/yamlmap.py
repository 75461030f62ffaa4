"""YAML or JSON text -> plain data, with a key path -> line map for error messages.

Only plain YAML (strings, numbers, booleans, null, lists, mappings, merge keys) is accepted.
Hostile input is refused with one InputError, never another exception, and in bounded time and
memory: the limits (depth, nodes as written and as expanded, characters, integers, strings) and
their guards live in `chaosrun.schema.limits`.

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
from chaosrun.schema.limits import (
    INT_MAX,
    INT_MIN,
    INT_TEXT_MAX,
    MAX_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_NODES,
    TOO_DEEP,
    BoundedLoader,
    Expansion,
    IntTooLarge,
    Refused,
    check_plain,
    json_int,
    string_problem,
)

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "MAX_SOURCE_NODES", "TOO_DEEP", "parse"]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + name for name in ("str", "int", "float", "bool", "null"))


def parse(text: str, is_json: bool, ctx: Ctx) -> Any:
    """Plain data for the document; fills ctx.lines and records recoverable problems."""
    plain: Any = None
    duplicates: list[str] = []
    too_large: IntTooLarge | None = None
    if is_json:
        try:
            plain = json.loads(
                text,
                object_pairs_hook=lambda pairs: _json_object(pairs, duplicates),
                parse_int=json_int,
            )
        except json.JSONDecodeError as exc:
            raise InputError(ctx.file, "", exc.lineno, f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(ctx.file, "", None, TOO_DEEP) from None
        except IntTooLarge as exc:
            too_large = exc  # the YAML pass below finds its line
        # In valid JSON every tab is whitespace outside strings; YAML refuses tab indentation.
        text = text.replace("\t", " ")
    try:
        loader = BoundedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except Refused as exc:
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


def _json_fallback(
    plain: Any, duplicates: list[str], too_large: IntTooLarge | None, ctx: Ctx
) -> Any:
    """Valid JSON that YAML cannot read with the same meaning: no line numbers."""
    if too_large is not None:
        raise InputError(ctx.file, "", None, too_large.problem)
    for key in duplicates:
        ctx.err("", f"duplicate key '{key}'")
    check_plain(plain, ctx)
    return plain


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


class _Converter:
    """Node tree -> plain data, recording key path -> line; guards against alias bombs."""

    def __init__(self, file: str, json_mode: bool) -> None:
        self.file = file
        self.json_mode = json_mode
        self.lines: dict[str, int] = {}
        self.errors: list[InputError] = []
        self.duplicates = 0
        self.truncated = False
        self.expansion = Expansion(file)  # every node of the expanded tree is counted
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

    def convert(self, node: Node, path: str, depth: int) -> Any:
        self.expansion.count(node, path, depth)
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
            problem = string_problem(value)
            if problem:
                self.error(path, node, problem)
        return value

    def value(self, node: ScalarNode, path: str) -> Any:
        if self.json_mode:
            if node.style is not None:
                return _join_surrogate_pairs(node.value)
            try:
                return json.loads(node.value, parse_int=json_int)
            except IntTooLarge as exc:
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
        if len(node.value.replace("_", "")) <= INT_TEXT_MAX:
            value = self.constructor.construct_object(node, deep=True)
            if isinstance(value, int) and INT_MIN <= value <= INT_MAX:
                return value
        problem = IntTooLarge(node.value).problem
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
            self.expansion.count(key_node, path, depth)
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    self.expansion.count(
                        source, path, depth + 1
                    )  # `<<: [*a, *a, ...]` is an expansion
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


def _join_surrogate_pairs(text: str) -> str:
    """JSON's "\\ud83d\\ude00" is one character; YAML reads two (lone surrogates stay)."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _kind(node: Node) -> str:
    kinds: dict[type, str] = {MappingNode: "a mapping", SequenceNode: "a list"}
    return kinds.get(type(node), "a value")
