"""Load experiment files (YAML or JSON) with line numbers, validate them strictly, parse the model.

`load_experiment` raises the first problem (in document order) as an `InputError`;
`validate_files` returns every problem of every file. Neither raises anything else, nor prints.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chaosrun.errors import InputError
from chaosrun.model import (
    KNOWN_VARIANTS,
    PERCENTILES,
    ChaosrunSpec,
    Experiment,
    LabTarget,
    Slo,
    Target,
    UrlTarget,
)
from chaosrun.schema import (
    Ctx,
    check_keys,
    describe,
    did_you_mean,
    join,
    one_of,
    show,
    validate_document,
    want_mapping,
    want_number,
    want_str,
)

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load_experiment", "validate_files"]

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64
_SUFFIXES = (".yaml", ".yml", ".json")
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + name for name in ("str", "int", "float", "bool", "null"))
_MAX_DEADLINE_S = 86400.0
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate one experiment file; raise its first problem as an InputError."""
    experiment, errors = _load(path)
    if errors or experiment is None:
        raise errors[0]
    return experiment


def validate_files(paths: Sequence[str | Path]) -> list[InputError]:
    """Every problem of every file, each file's in document order; empty when all are valid."""
    return [error for path in paths for error in _load(path)[1]]


def _load(path: str | Path) -> tuple[Experiment | None, list[InputError]]:
    name = str(path)
    try:
        return _load_file(Path(path), name)
    except InputError as exc:
        return None, [exc]
    except RecursionError:
        return None, [InputError(name, "", None, _TOO_DEEP)]
    except Exception as exc:
        problem = f"cannot validate: unexpected {type(exc).__name__}: {exc}"
        return None, [InputError(name, "", None, problem)]


def _load_file(path: Path, name: str) -> tuple[Experiment | None, list[InputError]]:
    text = _read_text(path, name)
    ctx = Ctx(name)
    doc = _parse(text, path.suffix.lower() == ".json", ctx)
    if not isinstance(doc, dict):
        problem = f"the top level must be a mapping of experiment keys, got {describe(doc)}"
        ctx.err("", problem)
        return None, sorted(ctx.errors, key=lambda error: error.line or 0)
    faults = validate_document(ctx, doc)
    spec = _chaosrun_spec(ctx, doc)
    if ctx.errors:
        return None, sorted(ctx.errors, key=lambda error: error.line or 0)
    experiment = Experiment(path, cast(str, doc["title"]), doc, spec, faults)
    return experiment, []


def _read_text(path: Path, name: str) -> str:
    def fail(expected: str, line: int | None = None) -> InputError:
        return InputError(name, "", line, expected)

    try:
        info = path.stat()
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("expected an experiment file, got a directory")
    if not stat.S_ISREG(info.st_mode):
        raise fail("expected a regular file")
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise fail(f"unsupported file type '{path.suffix}'; expected .yaml, .yml or .json")
    if info.st_size > MAX_BYTES:
        raise fail(f"file is larger than 1 MiB ({info.st_size} bytes)")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise fail("file is larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise fail(f"not valid UTF-8: unexpected byte 0x{data[exc.start]:02x}", line) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise fail("the file is empty")
    return text


def _parse(text: str, is_json: bool, ctx: Ctx) -> Any:
    """Plain data for the document; fills ctx.lines and records recoverable problems."""
    plain: Any = None
    duplicates: list[str] = []
    if is_json:
        try:
            plain = json.loads(
                text, object_pairs_hook=lambda pairs: _json_object(pairs, duplicates)
            )
        except json.JSONDecodeError as exc:
            raise InputError(ctx.file, "", exc.lineno, f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(ctx.file, "", None, _TOO_DEEP) from None
        # In valid JSON every tab is whitespace outside strings; YAML refuses tab indentation.
        text = text.replace("\t", " ")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except _TooDeep as exc:
        raise InputError(ctx.file, "", exc.line, _TOO_DEEP) from None
    except yaml.YAMLError as exc:
        if is_json:
            return _json_fallback(plain, duplicates, ctx)
        raise _yaml_error(exc, text, ctx.file) from None
    if node is None:
        raise InputError(ctx.file, "", None, "the file is empty")
    converter = _Converter(ctx.file, is_json)
    data = converter.convert(node, "", 0)
    if is_json and (data != plain or len(converter.errors) != len(duplicates)):
        return _json_fallback(plain, duplicates, ctx)
    ctx.lines.update(converter.lines)
    ctx.errors.extend(converter.errors)
    return data


def _json_object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    return result


def _json_fallback(plain: Any, duplicates: list[str], ctx: Ctx) -> Any:
    """Valid JSON that YAML cannot read with the same meaning: no line numbers."""
    for key in duplicates:
        ctx.err("", f"duplicate key '{key}'")
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


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Loader(yaml.SafeLoader):
    """SafeLoader whose (recursive) composer refuses to nest deeper than MAX_DEPTH."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeep(event.start_mark.line + 1)
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
        self.nodes = 0
        self.constructor = SafeConstructor()

    def error(self, path: str, node: Node, expected: str) -> None:
        self.errors.append(InputError(self.file, path, node.start_mark.line + 1, expected))

    def count(self, node: Node, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            problem = f"document too large: more than {MAX_NODES} nodes after expanding aliases"
            raise InputError(self.file, "", None, problem)
        if depth > MAX_DEPTH:
            raise InputError(self.file, "", node.start_mark.line + 1, _TOO_DEEP)

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
        if self.json_mode:
            if node.style is not None:
                return node.value
            try:
                return json.loads(node.value)
            except ValueError:
                return node.value
        if node.tag in _PLAIN_TAGS:
            return self.constructor.construct_object(node, deep=True)
        if node.tag == _TAG + "timestamp":
            self.error(path, node, f"{node.value} is read as a date by YAML; quote it")
        else:
            self.error(path, node, f"unsupported YAML tag '{_short(node.tag)}'")
        return node.value

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
                self.error(
                    join(path, key), key_node, f"duplicate key '{key}' (first on line {first})"
                )
            first_lines.setdefault(key, key_node.start_mark.line + 1)
            explicit[key] = (key_node, value_node)  # the last one wins, as in Chaos Toolkit
        merged.update(explicit)
        return merged


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _kind(node: Node) -> str:
    kinds: dict[type, str] = {MappingNode: "a mapping", SequenceNode: "a list"}
    return kinds.get(type(node), "a value")


def _chaosrun_spec(ctx: Ctx, doc: dict[str, Any]) -> ChaosrunSpec:
    """The `{name: chaosrun}` extension as a ChaosrunSpec (defaults when there is none)."""
    extensions = doc.get("extensions")
    if not isinstance(extensions, list):
        return ChaosrunSpec()
    found = [
        i
        for i, ext in enumerate(extensions)
        if isinstance(ext, dict) and ext.get("name") == "chaosrun"
    ]
    if not found:
        return ChaosrunSpec()
    for i in found[1:]:
        ctx.err(
            f"extensions[{i}]", f"a second chaosrun extension (the first is extensions[{found[0]}])"
        )
    path = f"extensions[{found[0]}]"
    block: dict[str, Any] = extensions[found[0]]
    check_keys(ctx, path, block, ("name", "target", "slo", "deadline_s"))
    target = _target(ctx, join(path, "target"), block["target"]) if "target" in block else None
    slo = _slo(ctx, join(path, "slo"), block["slo"]) if "slo" in block else None
    deadline = block.get("deadline_s", 300.0)
    where = join(path, "deadline_s")
    if not want_number(ctx, where, deadline, low=0, maximum=_MAX_DEADLINE_S):
        deadline = 300.0
    return ChaosrunSpec(target or LabTarget(), slo, float(deadline))


def _target(ctx: Ctx, path: str, value: object) -> Target | None:
    if not want_mapping(ctx, path, value):
        return None
    target = cast(dict[str, Any], value)
    check_keys(ctx, path, target, ("lab", "service_url", "toxiproxy_url"))
    urls = [key for key in ("service_url", "toxiproxy_url") if key in target]
    if "lab" in target and urls:
        ctx.err(path, "target is either 'lab' or 'service_url' + 'toxiproxy_url', not both")
        return None
    if urls:
        for key in ("service_url", "toxiproxy_url"):
            if key not in target:
                ctx.missing(path, key, " (service_url and toxiproxy_url go together)")
        service = _url(ctx, join(path, "service_url"), target.get("service_url"))
        proxy = _url(ctx, join(path, "toxiproxy_url"), target.get("toxiproxy_url"))
        return UrlTarget(service, proxy) if service and proxy else None
    lab, where = target.get("lab"), join(path, "lab")
    if lab is None:
        return LabTarget()
    if not want_mapping(ctx, where, lab):
        return None
    check_keys(ctx, where, lab, ("variant",))
    if "variant" not in lab:
        return LabTarget()
    variant = one_of(ctx, join(where, "variant"), lab["variant"], KNOWN_VARIANTS, "variant")
    return LabTarget(variant) if variant else None


def _url(ctx: Ctx, path: str, value: object) -> str | None:
    if value is None or want_str(ctx, path, value) is None:
        return None
    url = cast(str, value)
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        ctx.err(path, f"expected an http:// or https:// URL, got {show(url)}")
    return url if ok else None


def _slo(ctx: Ctx, path: str, value: object) -> Slo | None:
    if not want_mapping(ctx, path, value):
        return None
    slo = cast(dict[str, Any], value)
    check_keys(ctx, path, slo, ("availability", "latency_ms"))
    availability: float | None = None
    if "availability" in slo:
        where, fraction = join(path, "availability"), slo["availability"]
        if want_number(ctx, where, fraction):
            if 0 < fraction <= 1:
                availability = float(fraction)
            elif 1 < fraction <= 100:
                hint = f"did you mean {fraction / 100:g}?"
                ctx.err(where, f"availability is a fraction in (0, 1]; {hint}")
            else:
                ctx.err(where, f"availability is a fraction in (0, 1], got {show(fraction)}")
    latency: list[tuple[str, float]] = []
    where = join(path, "latency_ms")
    if "latency_ms" in slo and want_mapping(ctx, where, slo["latency_ms"]):
        for name, ms in slo["latency_ms"].items():
            if name not in PERCENTILES:
                hint = (
                    did_you_mean(name, PERCENTILES) or f"; expected one of {', '.join(PERCENTILES)}"
                )
                ctx.err(join(where, name), f"unknown percentile '{name}'{hint}")
            elif want_number(ctx, join(where, name), ms, low=0):
                latency.append((name, float(ms)))
    latency.sort(key=lambda item: PERCENTILES.index(item[0]))
    return Slo(availability, tuple(latency))
