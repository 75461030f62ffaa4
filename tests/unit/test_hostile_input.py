"""Hostile experiment files: the loader and `chaosrun validate` answer in one line, exit 2.

The contract (chaosrun.load): whatever the bytes, `load_experiment` raises only InputError (exit
code 2) and `validate_files` only returns them; every message is one printable line that starts
with the file name (then line and key path when known); every file is read in bounded time and
memory. The named cases pin exact messages; the properties mutate a valid experiment (a random
subtree replaced by a hostile value, keys added or removed, deep nesting, alias bombs, numbers
and strings of every kind, corrupted bytes) and check the contract, with an exact oracle where
there is one. The CLI cases run `python -m chaosrun validate` under a 1 GiB address-space limit.
"""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chaosrun.errors import EXIT_USAGE, InputError
from chaosrun.load import (
    MAX_BYTES,
    MAX_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_NODES,
    load_experiment,
    validate_files,
)
from chaosrun.model import Experiment

SECONDS = 5.0  # per file, in process and through the CLI (parsing 1 MiB takes ~1-2 s here)
CLI_MEMORY = 1 << 30  # RLIMIT_AS of the CLI process
CLI_MAX_RSS_MIB = 256  # what a CLI run may actually use (a valid file needs ~30 MiB)

TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
TOO_MANY_NODES = f"document too large: more than {MAX_NODES} nodes after expanding aliases"
TOO_MANY_SOURCE_NODES = f"document too large: more than {MAX_SOURCE_NODES} YAML nodes"
TOO_MANY_CHARS = (
    f"document too large: more than {MAX_CHARS >> 20} MiB of key paths and values "
    "(aliases expanded)"
)
NUL = "string contains a NUL character (\\x00)"

MINIMAL = """\
title: t
description: d
method:
  - type: action
    name: slow
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: catalog, latency_ms: 100}
"""
LINE = MINIMAL.count("\n") + 1  # the first line after MINIMAL

# A valid experiment touching most of the schema; the properties mutate it.
BASE: dict[str, Any] = {
    "version": "1.0.0",
    "title": "Base experiment",
    "description": "Every part of the schema that hostile input can reach.",
    "tags": ["latency", "hostile"],
    "configuration": {"catalog_proxy": "catalog", "retries": 3},
    "extensions": [
        {
            "name": "chaosrun",
            "target": {"lab": {"variant": "healthy"}},
            "slo": {"availability": 0.99, "latency_ms": {"p99": 500}},
            "deadline_s": 60,
        }
    ],
    "steady-state-hypothesis": {
        "title": "available",
        "probes": [
            {
                "type": "probe",
                "name": "health",
                "tolerance": {"type": "range", "range": [200, 299], "target": "status"},
                "provider": {"type": "http", "url": "http://127.0.0.1:1/health", "timeout": 1},
            },
            {
                "type": "probe",
                "name": "tool",
                "tolerance": 0,
                "provider": {"type": "process", "path": sys.executable, "arguments": ["-V"]},
            },
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "slow-catalog",
            "pauses": {"before": 0, "after": 1.5},
            "provider": {
                "type": "python",
                "module": "chaosrun.faults.latency",
                "func": "inject",
                "arguments": {"proxy": "catalog", "latency_ms": 800},
            },
        },
        {"ref": "health"},
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "restore-catalog",
            "provider": {
                "type": "python",
                "module": "chaosrun.faults.latency",
                "func": "revert",
                "arguments": {"proxy": "catalog"},
            },
        }
    ],
}


# --- writing documents: JSON, YAML flow and YAML block style, with verbatim tokens ----------------


@dataclass(frozen=True)
class Raw:
    """Text written as is: a token no Python value serialises to (1e400, !!python/..., *x)."""

    text: str


_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _yaml_printable(char: str) -> bool:
    """Characters PyYAML's reader accepts raw (and that do not break or fold a line)."""
    code = ord(char)
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    ) and char not in "\u2028\u2029\ufeff"


def yaml_str(text: str) -> str:
    """A double-quoted YAML scalar; anything unprintable (surrogates too) as an escape."""
    out = []
    for char in text:
        code = ord(char)
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif _yaml_printable(char):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def yaml_scalar(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e+16 is a string
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    assert isinstance(value, str)
    return yaml_str(value)


def flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_str(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return yaml_scalar(value)


def block(value: object, indent: int = 0) -> str:
    pad = " " * indent
    lines = []
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{yaml_str(key)}:\n{block(item, indent + 2)}")
            else:
                lines.append(f"{pad}{yaml_str(key)}: {flow(item)}\n")
    elif isinstance(value, list) and value:
        for item in value:
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}-\n{block(item, indent + 2)}")
            else:
                lines.append(f"{pad}- {flow(item)}\n")
    else:
        lines.append(f"{pad}{flow(value)}\n")
    return "".join(lines)


def to_json(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(item) for item in value) + "]"
    return json.dumps(value)


FORMATS: dict[str, tuple[str, Callable[[object], str]]] = {
    "json": (".json", to_json),
    "flow": (".yaml", flow),
    "block": (".yaml", block),
}


# --- the contract -------------------------------------------------------------------------------


def check_contract(path: Path) -> list[InputError]:
    """Only InputErrors, each one printable line naming the file; bounded time. The errors."""
    start = time.perf_counter()
    errors = validate_files([path])
    for error in errors:
        assert type(error) is InputError
        assert error.exit_code == EXIT_USAGE
        assert error.file == str(path)
        message = str(error)
        assert message.startswith(f"{path}:"), message  # the tests' paths are printable
        assert message.isprintable(), message  # no line break, control or bidi character
        assert len(message) < len(str(path)) + 1500
    try:
        experiment = load_experiment(path)
    except InputError as exc:
        assert errors, "load_experiment raised but validate_files found nothing"
        assert str(exc) == str(errors[0])
    else:
        assert errors == []
        assert isinstance(experiment, Experiment)
    assert time.perf_counter() - start < 2 * SECONDS  # two reads of the file
    return errors


def node_count(value: object) -> int:
    """Nodes as the loader counts them: every key and every value, aliases expanded."""
    if isinstance(value, dict):
        return 1 + sum(1 + node_count(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(node_count(v) for v in value)
    return 1


def test_base_experiment_is_valid(tmp_path: Path) -> None:
    for name, (suffix, emit) in FORMATS.items():
        path = tmp_path / f"{name}{suffix}"
        path.write_text(emit(BASE), encoding="utf-8")
        assert check_contract(path) == []
        assert load_experiment(path).document == BASE


# --- named hostile files, exact messages ----------------------------------------------------------


def _lol(width: int, levels: int) -> str:
    """The billion-laughs document: each level a list of `width` aliases of the previous one."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return MINIMAL + "configuration:\n" + "".join(f"  {line}\n" for line in lines)


LONG_KEY = "k" * 1100  # PyYAML's implicit keys stop at 1024 characters; JSON's do not


def _unreadable_by_yaml(**changes: object) -> dict[str, object]:
    """BASE as JSON that the YAML reader refuses from its first line, with `changes`."""
    doc: dict[str, object] = {"configuration": {LONG_KEY: 1}}
    doc.update((key, value) for key, value in BASE.items() if key != "configuration")
    doc.update(changes)
    return doc


LARGE = MINIMAL + "configuration: {x: '" + "x" * MAX_BYTES + "'}\n"


def _deep_block(depth: int) -> str:
    return MINIMAL + "configuration:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(depth))


@dataclass(frozen=True)
class Case:
    name: str
    content: Callable[[], str | bytes] | None  # None: a directory
    message: str  # after "<name>"
    cli: bool = False


CASES = [
    Case("empty.yaml", lambda: b"", ": the file is empty"),
    Case("directory.yaml", None, ": expected an experiment file, got a directory", cli=True),
    Case(
        "utf16_bom.yaml",
        lambda: MINIMAL.encode("utf-16"),
        ":1: not valid UTF-8: unexpected byte 0xff",
        cli=True,
    ),
    Case(
        "utf16be_bom.json",
        lambda: '\ufeff{"a": 1}'.encode("utf-16-be"),
        ":1: not valid UTF-8: unexpected byte 0xfe",
    ),
    Case(
        "latin1_late.yaml",
        lambda: (MINIMAL + "configuration: {city: Liège}\n").encode("latin-1"),
        f":{LINE}: not valid UTF-8: unexpected byte 0xe8",
    ),
    Case(
        "raw_nul.yaml",
        lambda: MINIMAL + "configuration: {x: a\x00b}\n",
        f":{LINE}: invalid YAML: unacceptable character #x0000",
    ),
    Case(
        "nul_escape.yaml",
        lambda: MINIMAL.replace("title: t", 'title: "a\\0b"'),
        f":1: title: {NUL}",
    ),
    Case(
        "nul_escape.json",
        lambda: json.dumps({**json.loads(to_json(BASE)), "title": "a\x00b"}, indent=1),
        f":3: title: {NUL}",
    ),
    Case(
        "lone_surrogate.yaml",
        lambda: MINIMAL.replace("title: t", 'title: "\\ud800"'),
        ":1: title: string contains a lone surrogate (\\ud800), which is not valid Unicode",
        cli=True,
    ),
    Case(
        "lone_surrogate.json",
        lambda: to_json({**BASE, "description": "\udfff"}),
        ":1: description: string contains a lone surrogate (\\udfff), which is not valid Unicode",
    ),
    Case(
        "bidi_override_key.yaml",
        lambda: MINIMAL + "\u202emetod: 1\n",
        f":{LINE}: \\u202emetod: unknown key '\\u202emetod'; did you mean 'method'?",
    ),
    Case(
        "line_break_key.yaml",
        lambda: MINIMAL + '"meth\\nod\\r\\u2028": 1\n',
        f":{LINE}: meth\\nod\\r\\u2028: unknown key 'meth\\nod\\r\\u2028'; did you mean 'method'?",
    ),
    Case(
        "rtl_text.yaml",
        lambda: MINIMAL.replace("title: t", "title: \u05e9\u05dc\u05d5\u05dd\ufeff"),
        "",  # valid: right-to-left letters (and a BOM mid-text) are just text
    ),
    Case(
        "deep_flow_lists_10000.yaml",
        lambda: MINIMAL + "configuration: " + "[" * 10_000 + "]" * 10_000 + "\n",
        f":{LINE}: {TOO_DEEP}",
        cli=True,
    ),
    Case(
        "deep_flow_maps_10000.yaml",
        lambda: MINIMAL + "configuration: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        f":{LINE}: {TOO_DEEP}",
    ),
    Case("deep_block_1000.yaml", lambda: _deep_block(1000), f":{LINE + MAX_DEPTH}: {TOO_DEEP}"),
    Case(
        "deep_block_10000.yaml",
        lambda: _deep_block(10_000),
        f": file is larger than 1 MiB ({len(_deep_block(10_000))} bytes)",
        cli=True,
    ),
    Case(
        "deep_lists_10000.json",
        lambda: '{"title": "t", "configuration": ' + "[" * 10_000 + "]" * 10_000 + "}",
        f": {TOO_DEEP}",  # json itself gives up (RecursionError): no line
    ),
    Case(
        "deep_lists_100.json",
        lambda: '{"title": "t",\n"configuration": ' + "[" * 100 + "]" * 100 + "}",
        f":2: {TOO_DEEP}",
    ),
    Case(
        "int_10_pow_5000.yaml",
        lambda: MINIMAL + f"configuration: {{x: 1{'0' * 5000}}}\n",
        f":{LINE}: configuration.x: integer too large: 1{'0' * 36}... does not fit in 64 bits",
        cli=True,
    ),
    Case(
        "int_10_pow_5000.json",
        lambda: '{"title": "t",\n "configuration": {"x": 1' + "0" * 5000 + "}}",
        f":2: configuration.x: integer too large: 1{'0' * 36}... does not fit in 64 bits",
    ),
    Case(
        "int_hex_huge.yaml",
        lambda: MINIMAL + "extensions: [{name: chaosrun, deadline_s: 0x" + "f" * 400 + "}]\n",
        f":{LINE}: extensions[0].deadline_s: integer too large: 0x{'f' * 35}... "
        "does not fit in 64 bits",
    ),
    Case(
        "int_sexagesimal_huge.yaml",
        lambda: MINIMAL + "configuration: {x: 1" + ":59" * 100_000 + "}\n",
        f":{LINE}: configuration.x: integer too large: 1{':59' * 12}... does not fit in 64 bits",
    ),
    Case(
        "int_2_pow_64.yaml",
        lambda: MINIMAL + f"configuration: {{x: {2**64}}}\n",
        f":{LINE}: configuration.x: integer too large: {2**64} does not fit in 64 bits",
    ),
    Case(
        "float_1e400.yaml",
        lambda: MINIMAL + "extensions: [{name: chaosrun, deadline_s: 1.0e+400}]\n",
        f":{LINE}: extensions[0].deadline_s: expected a finite number, got inf",
    ),
    Case(
        "float_1e400_no_dot.yaml",  # YAML 1.1: no dot, no float
        lambda: MINIMAL + "extensions: [{name: chaosrun, deadline_s: 1e400}]\n",
        f":{LINE}: extensions[0].deadline_s: expected a number, got '1e400'",
    ),
    Case(
        "float_1e400.json",
        lambda: to_json(BASE).replace('"deadline_s": 60', '"deadline_s": 1e400'),
        ":1: extensions[0].deadline_s: expected a finite number, got inf",
    ),
    Case(
        "nan_pause.yaml",
        lambda: MINIMAL.replace("    provider:", "    pauses: {after: .nan}\n    provider:", 1),
        ":6: method[0].pauses.after: expected a finite number, got nan",
    ),
    Case("billion_laughs.yaml", lambda: _lol(10, 9), f": {TOO_MANY_NODES}", cli=True),
    Case(
        "alias_text_bomb.yaml",
        lambda: (
            MINIMAL
            + "configuration:\n  s: &s '"
            + "x" * 500_000
            + "'\n  l: &l ["
            + ", ".join(["*s"] * 100)
            + "]\n  m: ["
            + ", ".join(["*l"] * 100)
            + "]\n"
        ),
        f": {TOO_MANY_CHARS}",
    ),
    Case(
        "alias_long_key_paths.yaml",  # few nodes, but every key path repeats a 10,000-char key
        lambda: (
            MINIMAL
            + "configuration:\n  k: &k {? "
            + "k" * 10_000
            + " : &v [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}\n  l: [*k, *k"
            + ", *k" * 3000
            + "]\n"
        ),
        f": {TOO_MANY_CHARS}",
    ),
    Case(
        "merge_key_bomb.yaml",  # 200 merge keys `<<: *s`, where *s lists 1,000 mappings
        lambda: (
            MINIMAL
            + "x: &s ["
            + ", ".join(["{a: 1}"] * 1000)
            + "]\ny: {"
            + ", ".join(["<<: *s"] * 200)
            + "}\n"
        ),
        f": {TOO_MANY_NODES}",
    ),
    Case(
        "recursive_alias.yaml",
        lambda: MINIMAL + "configuration: &loop {self: *loop}\n",
        f":{LINE}: {TOO_DEEP}",
    ),
    Case(
        "many_nodes.yaml",
        lambda: "a: [" + ", ".join(["1"] * (MAX_BYTES // 3 - 10)) + "]\n",
        f":1: {TOO_MANY_SOURCE_NODES}",
        cli=True,
    ),
    Case(
        "larger_than_1_mib.yaml",
        lambda: LARGE,
        f": file is larger than 1 MiB ({len(LARGE)} bytes)",
    ),
    Case(
        "python_object.yaml",
        lambda: MINIMAL + "configuration: {x: !!python/object/apply:os.system [touch pwned]}\n",
        f":{LINE}: configuration.x: unsupported YAML tag '!!python/object/apply:os.system'",
        cli=True,
    ),
    Case(
        "python_name.yaml",
        lambda: MINIMAL + "configuration: {x: !!python/name:os.system ''}\n",
        f":{LINE}: configuration.x: unsupported YAML tag '!!python/name:os.system'",
    ),
    Case(
        "local_tag.yaml",
        lambda: MINIMAL + "configuration: {x: !secret token}\n",
        f":{LINE}: configuration.x: unsupported YAML tag '!secret'",
    ),
    Case(
        "two_documents.yaml",
        lambda: MINIMAL + "---\n" + MINIMAL,
        f":{LINE}: invalid YAML: expected a single document in the stream: "
        "but found another document",
        cli=True,
    ),
    # JSON the YAML reader cannot read: the same checks, on key paths without lines.
    Case(
        "json_fallback_nul.json",
        lambda: to_json(_unreadable_by_yaml(title="a\x00b")),
        f": title: {NUL}",
    ),
    Case(
        "json_fallback_deep.json",
        lambda: to_json(_unreadable_by_yaml(configuration={LONG_KEY: Raw("[" * 100 + "]" * 100)})),
        f": {TOO_DEEP}",
    ),
    Case(
        "json_fallback_huge_int.json",
        lambda: to_json(_unreadable_by_yaml(configuration={LONG_KEY: Raw("1" * 5000)})),
        f": integer too large: {'1' * 37}... does not fit in 64 bits",
    ),
    Case(
        "json_fallback_many_nodes.json",
        lambda: to_json(_unreadable_by_yaml(configuration={LONG_KEY: 1, "x": [1] * 30_000})),
        f": {TOO_MANY_SOURCE_NODES}",
    ),
    Case(
        "json_fallback_long_key_paths.json",  # each of 15,000 paths repeats a 1,100-char key
        lambda: to_json(_unreadable_by_yaml(configuration={LONG_KEY: [1] * 15_000})),
        f": {TOO_MANY_CHARS}",
    ),
    Case(
        "undefined_alias.yaml",
        lambda: MINIMAL + "configuration: *nowhere\n",
        f":{LINE}: invalid YAML: found undefined alias 'nowhere'",
    ),
]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path so that file names in messages are short and exact."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make(case: Case, directory: Path) -> Path:
    path = directory / case.name
    if case.content is None:
        path.mkdir()
        return path
    content = case.content()
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_limits_read_as_documented() -> None:
    assert (MAX_BYTES, MAX_DEPTH, MAX_SOURCE_NODES, MAX_NODES, MAX_CHARS) == (
        1 << 20,
        64,
        20_000,
        100_000,
        16 << 20,
    )
    assert TOO_DEEP == "nested deeper than 64 levels"
    assert TOO_MANY_SOURCE_NODES == "document too large: more than 20000 YAML nodes"
    assert TOO_MANY_NODES == "document too large: more than 100000 nodes after expanding aliases"
    assert TOO_MANY_CHARS == (
        "document too large: more than 16 MiB of key paths and values (aliases expanded)"
    )


def test_cases_are_named_once() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_gets_one_exact_message(in_tmp: Path, case: Case) -> None:
    make(case, in_tmp)
    path = Path(case.name)
    start = time.perf_counter()
    errors = check_contract(path)
    assert time.perf_counter() - start < 2 * SECONDS
    expected = [case.name + case.message] if case.message else []
    assert [str(error) for error in errors] == expected


def test_too_many_problems_stop_after_100(in_tmp: Path) -> None:
    """1,000 valid names, then 3,000 aliased refs to none of them: 'did you mean' for each would
    be quadratic, and 3,000 lines of output useless."""
    names = "".join(
        f"  - {{type: action, name: act-{i}, provider: {{type: http, url: 'http://x/'}}}}\n"
        for i in range(1000)
    )
    refs = "  - &r {ref: act-}\n" + "  - *r\n" * 3000
    Path("refs.yaml").write_text("title: t\ndescription: d\nmethod:\n" + names + refs)
    errors = check_contract(Path("refs.yaml"))
    assert len(errors) == 101
    assert {str(e) for e in errors[:100]} == {
        f"refs.yaml:1004: method[{1000 + i}].ref: "  # an alias has its anchor's line
        "ref 'act-' does not match any earlier activity; did you mean 'act-9'?"
        for i in range(100)
    }
    assert str(errors[100]) == "refs.yaml: too many problems: stopped after the first 100"


def test_too_many_yaml_problems_stop_after_100(in_tmp: Path) -> None:
    items = ", ".join(f"k{i}: !tag x" for i in range(150))
    Path("tags.yaml").write_text(MINIMAL + f"configuration: {{{items}}}\n")
    errors = check_contract(Path("tags.yaml"))
    assert [str(e) for e in errors] == [
        *(f"tags.yaml:{LINE}: configuration.k{i}: unsupported YAML tag '!tag'" for i in range(100)),
        "tags.yaml: too many problems: stopped after the first 100",
    ]


def test_json_escaped_surrogate_pairs_are_not_lone_surrogates(in_tmp: Path) -> None:
    """json.dumps writes an emoji as "\\ud83d\\ude00", which YAML reads as two lone surrogates:
    in JSON they are one character, even past 100 such strings, and lines are kept."""
    emoji = {f"k{i}": "\U0001f600" for i in range(150)}
    Path("emoji.json").write_text(json.dumps({**BASE, "configuration": emoji}, indent=1))
    assert check_contract(Path("emoji.json")) == []
    assert load_experiment("emoji.json").document["configuration"] == emoji
    broken = {**emoji, "k149": "\ud83d"}
    text = json.dumps({**BASE, "configuration": broken}, indent=1)
    Path("broken.json").write_text(text)
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if '"k149"' in row)
    assert [str(e) for e in check_contract(Path("broken.json"))] == [
        f"broken.json:{line}: configuration.k149: "
        "string contains a lone surrogate (\\ud83d), which is not valid Unicode"
    ]


def test_fifo_is_refused_without_opening_it(in_tmp: Path) -> None:
    os.mkfifo("pipe.yaml")  # opening it would block until a writer comes
    assert [str(e) for e in check_contract(Path("pipe.yaml"))] == [
        "pipe.yaml: expected a regular file"
    ]


def test_file_name_with_a_line_break(in_tmp: Path) -> None:
    """The message escapes it; `file` stays the name as given (the CLI matches on it)."""
    name = "two\nlines\u202e.yaml"
    Path(name).write_text("")
    [error] = validate_files([name])
    assert (error.file, str(error)) == (name, "two\\nlines\\u202e.yaml: the file is empty")


# --- properties ----------------------------------------------------------------------------------

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",  # a surrogate pair as two code points: two lone surrogates in Python
    "\U0001f600",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\ufeff",
    "\u2028",
    "\x85",
    "\r\n",
    "\t",
    "${catalog_proxy}",
    "x" * 300,
]
HOSTILE_TOKENS = [
    "1e400",
    "1.0e+400",
    "-.inf",
    ".nan",
    "0x" + "f" * 40,
    "1" + "0" * 5000,
    "-" + "9" * 30,
    "0b" + "1" * 70,
    "0o777",
    "0777",
    "1_000",
    "1:30:00",
    "190:20:30.15",
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "~",
    "yes",
    "off",
    "!!python/object/apply:os.system ['id']",
    "!!python/name:os.system ''",
    "!!binary aGVsbG8=",
    "!!set {a: null}",
    "!!omap [{a: 1}]",
    "!custom x",
    "!!str 5",
    "!!int '5'",
    "!!float 'x'",
    "*nowhere",
    "&anchor x",
    "{<<: *nowhere}",
    '{"<<": 1}',
    "{<<: [1, 2]}",
    "? [a, b]",
    '"\\ud800"',
    '"\\x00"',
    '"\\u202e"',
    "'it''s'",
    "|\n  literal",
    "{",
    "]",
    '"unterminated',
    "- a",
    "key: value",
    "%YAML 1.1",
    "---",
    "...",
    "@reserved",
    "`backtick",
    "\t",
    "",
    "[" * 200 + "]" * 200,
    "{a: " * 70 + "1" + "}" * 70,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(SPECIAL_TEXT),
    st.sampled_from(HOSTILE_TOKENS).map(Raw),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(SPECIAL_TEXT), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    ["type", "name", "provider", "ref", "tolerance", "arguments", "title", "method", "<<"]
) | st.text(st.characters(exclude_categories=()), max_size=12)

Location = tuple[str | int, ...]


def locations(value: object, here: Location = ()) -> Iterator[Location]:
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from locations(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from locations(item, (*here, i))


def get(doc: Any, where: Location) -> Any:
    for step in where:
        doc = doc[step]
    return doc


def put(doc: Any, where: Location, value: object) -> Any:
    if not where:
        return value
    get(doc, where[:-1])[where[-1]] = value
    return doc


@st.composite
def mutants(draw: st.DrawFn) -> Any:
    """BASE after 1-3 mutations, each at a random place of the current document."""
    doc: Any = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(locations(doc))))
        target = get(doc, where)
        how = draw(st.sampled_from(["replace", "add", "delete", "wrap", "deep"]))
        if how == "replace" or (how in ("add", "delete") and not isinstance(target, dict)):
            doc = put(doc, where, draw(values))
        elif how == "add":
            target[draw(keys)] = draw(values)
        elif how == "delete" and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif how == "wrap":
            doc = put(doc, where, draw(st.sampled_from([[target], {"x": target}])))
        elif how == "deep":
            depth = draw(st.integers(MAX_DEPTH - 2, 10_000))
            opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}")]))
            inner = "1" if opener != "[" else ""
            doc = put(doc, where, Raw(opener * depth + inner + closer * depth))
    return doc


@st.composite
def corruptions(draw: st.DrawFn) -> Callable[[bytes], bytes]:
    """Nothing, or a byte-level change: truncation, inserted or replaced bytes, a BOM."""
    kind = draw(st.sampled_from(["none"] * 6 + ["truncate", "insert", "replace", "bom"]))
    cut = draw(st.floats(0, 1))
    junk = draw(
        st.binary(min_size=1, max_size=6)
        | st.sampled_from([b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3", b"\xed\xa0\x80", b"\t"])
    )

    def apply(data: bytes) -> bytes:
        at = int(len(data) * cut)
        if kind == "truncate":
            return data[:at]
        if kind == "insert":
            return data[:at] + junk + data[at:]
        if kind == "replace":
            return data[:at] + junk + data[at + len(junk) :]
        if kind == "bom":
            return junk + data
        return data

    return apply


@settings(PROPERTY, max_examples=100)
@given(doc=mutants(), fmt=st.sampled_from(sorted(FORMATS)), corrupt=corruptions())
def test_mutated_experiments_give_input_errors_only(
    tmp_path: Path, doc: Any, fmt: str, corrupt: Callable[[bytes], bytes]
) -> None:
    suffix, emit = FORMATS[fmt]
    path = tmp_path / f"mutant{suffix}"
    path.write_bytes(corrupt(emit(doc).encode("utf-8")))
    errors = check_contract(path)
    event(f"{len(errors)} errors" if len(errors) < 3 else "3+ errors")
    event(errors[0].expected.split(":")[0][:40] if errors else "valid")


@settings(PROPERTY, max_examples=30)
@given(
    depth=st.integers(1, 10_000) | st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3),
    style=st.sampled_from(["flow lists", "flow maps", "block maps", "block lists", "json"]),
)
def test_nesting_is_refused_past_max_depth_exactly(tmp_path: Path, depth: int, style: str) -> None:
    """`depth` containers nested in `configuration.x` (the root is at depth 0, x's value at 2)."""
    if style == "json":
        text = to_json({**BASE, "configuration": {"x": Raw("[" * depth + "]" * depth)}})
    elif style.startswith("flow"):
        opener, inner, closer = ("[", "", "]") if style == "flow lists" else ("{a: ", "1", "}")
        text = MINIMAL + f"configuration: {{x: {opener * depth}{inner}{closer * depth}}}\n"
    else:
        item = "a:" if style == "block maps" else "-"
        lines = "".join(f"{' ' * (i + 2)}{item}\n" for i in range(depth))
        text = MINIMAL + "configuration:\n x:\n" + lines
    # The deepest node: the innermost (empty) list, or the value inside the innermost container.
    deepest = 1 + depth if style in ("flow lists", "json") else 2 + depth
    path = tmp_path / ("deep.json" if style == "json" else "deep.yaml")
    path.write_text(text, encoding="utf-8")
    errors = check_contract(path)
    event(errors[0].expected[:30] if errors else "valid")
    if len(text) > MAX_BYTES:
        assert [e.expected for e in errors] == [f"file is larger than 1 MiB ({len(text)} bytes)"]
    elif deepest > MAX_DEPTH:
        assert [e.expected for e in errors] == [TOO_DEEP]
    else:
        assert errors == []


@settings(PROPERTY, max_examples=12)
@given(width=st.integers(1, 12), levels=st.integers(1, 8))
def test_alias_expansion_is_bounded_exactly(tmp_path: Path, width: int, levels: int) -> None:
    """Refused exactly when the expanded document has more than MAX_NODES nodes."""
    path = tmp_path / "lol.yaml"
    path.write_text(_lol(width, levels), encoding="utf-8")
    errors = check_contract(path)
    sizes = [1 + width]  # each level: the list node and `width` copies of the level below
    for _ in range(1, levels):
        sizes.append(1 + width * sizes[-1])
    base = node_count(yaml.safe_load(MINIMAL))
    total = base + 1 + 1 + sum(1 + size for size in sizes)  # + configuration key and mapping
    event("refused" if total > MAX_NODES else "accepted")
    if total > MAX_NODES:
        assert [str(e) for e in errors] == [f"{path}: {TOO_MANY_NODES}"]
    else:
        assert errors == []


def _integer_texts() -> st.SearchStrategy[tuple[str, int | None]]:
    """(YAML text, value or None when it is too long to compute) in every YAML 1.1 form."""
    digits = st.integers(1, 6000) | st.integers(17, 22)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, int | None]:
        sign = draw(st.sampled_from(["", "-", "+"]))
        form = draw(st.sampled_from(["decimal", "hex", "octal", "binary", "underscored"]))
        count = draw(digits)
        if form == "decimal":
            body = draw(st.sampled_from("123456789")) + "7" * (count - 1)
            value = int(body) if count <= 100 else None
        elif form == "underscored":
            body = "1" + "_" * draw(st.integers(1, 200)) + "0" * min(count, 30)
            value = int(body.replace("_", ""))
        else:
            prefix, base, digit = {"hex": ("0x", 16, "f"), "octal": ("0", 8, "7")}.get(
                form, ("0b", 2, "1")
            )
            body = prefix + digit * count
            value = int(digit * count, base)
        if value is not None and sign == "-":
            value = -value
        return sign + body, value

    return build()


@settings(PROPERTY, max_examples=60)
@given(number=_integer_texts(), fmt=st.sampled_from(["yaml", "json"]))
def test_integers_must_fit_in_64_bits(
    tmp_path: Path, number: tuple[str, int | None], fmt: str
) -> None:
    text, value = number
    if fmt == "json":
        if not re.fullmatch(r"-?[1-9][0-9]*", text):
            return  # not a JSON number
        path = tmp_path / "n.json"
        path.write_text('{"title": "t",\n"configuration": {"x": ' + text + "}}")
        line = 2
    else:
        path = tmp_path / "n.yaml"
        path.write_text(MINIMAL + f"configuration: {{x: {text}}}\n")
        line = LINE
    errors = check_contract(path)
    compact = text.replace("_", "")
    fits = value is not None and len(compact) <= 100 and -(2**63) <= value <= 2**64 - 1
    event("fits" if fits else "too large")
    problems = [(e.line, e.key_path, e.expected) for e in errors if e.key_path]
    if fits:
        assert problems == []
        if fmt == "yaml":
            assert load_experiment(path).document["configuration"]["x"] == value
    else:
        clipped = text if len(text) <= 40 else text[:37] + "..."
        expected = f"integer too large: {clipped} does not fit in 64 bits"
        assert problems == [(line, "configuration.x", expected)]


@settings(PROPERTY, max_examples=80)
@given(
    title=st.text(st.characters(exclude_categories=()), max_size=30)
    | st.lists(st.sampled_from(SPECIAL_TEXT), max_size=4).map("".join),
    fmt=st.sampled_from(sorted(FORMATS)),
)
def test_any_unicode_title_round_trips_or_is_refused(tmp_path: Path, title: str, fmt: str) -> None:
    suffix, emit = FORMATS[fmt]
    path = tmp_path / f"title{suffix}"
    path.write_text(emit({**BASE, "title": title}), encoding="utf-8")
    errors = check_contract(path)
    problems = [e.expected for e in errors if e.key_path == "title"]
    as_read = title
    if fmt == "json":  # json.loads joins an escaped surrogate pair; YAML keeps two code points
        as_read = json.loads(json.dumps(title))
    lone = [c for c in as_read if 0xD800 <= ord(c) <= 0xDFFF]
    event(problems[0][:30] if problems else "valid")
    if "\x00" in as_read:
        assert problems == [NUL]
    elif lone:
        assert problems == [
            f"string contains a lone surrogate (\\u{ord(lone[0]):04x}), which is not valid Unicode"
        ]
    elif not as_read.strip():
        assert problems == ["expected a non-empty string"]
    else:
        assert errors == []
        assert load_experiment(path).title == as_read


# --- the CLI --------------------------------------------------------------------------------------


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float


def run_validate(path: Path, cwd: Path) -> CliRun:
    """`python -m chaosrun validate PATH` with 1 GiB of address space, killed after 2x SECONDS;
    its own peak RSS comes from wait4 (RUSAGE_CHILDREN would mix in every earlier child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaosrun", "validate", str(path)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=_limit_memory,
        )
        timer = threading.Timer(2 * SECONDS, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return CliRun(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            usage.ru_maxrss / 1024,
        )


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.name for case in CLI_CASES])
def test_cli_prints_one_line_and_exits_2(tmp_path: Path, case: Case) -> None:
    make(case, tmp_path)
    run = run_validate(Path(case.name), tmp_path)
    assert "Traceback" not in run.stderr
    assert (run.code, run.stdout) == (EXIT_USAGE, "")
    assert run.stderr == f"chaosrun: {case.name}{case.message}\n"
    assert run.seconds < SECONDS
    assert run.max_rss_mib < CLI_MAX_RSS_MIB


def test_cli_accepts_the_base_experiment(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(block(BASE), encoding="utf-8")
    run = run_validate(Path("base.yaml"), tmp_path)
    assert (run.code, run.stdout, run.stderr) == (0, "ok base.yaml\n", "")


@pytest.mark.parametrize("pattern", ["(" * 2000 + ")" * 2000, "a{99999999999}"])
def test_hostile_regex_tolerance_gets_one_line(tmp_path: Path, pattern: str) -> None:
    """re.compile raises RecursionError / OverflowError on these, not re.error."""
    probe = {"type": "python", "module": "os", "func": "getcwd"}
    document = {
        "title": "t",
        "description": "d",
        "steady-state-hypothesis": {
            "title": "h",
            "probes": [
                {
                    "type": "probe",
                    "name": "p",
                    "tolerance": {"type": "regex", "pattern": pattern, "target": "x"},
                    "provider": probe,
                }
            ],
        },
        "method": [{"type": "probe", "name": "q", "provider": probe}],
    }
    path = tmp_path / "regex.json"
    path.write_text(json.dumps(document, indent=1))
    with pytest.raises(InputError) as caught:
        load_experiment(path)
    assert caught.value.key_path == "steady-state-hypothesis.probes[0].tolerance.pattern"
    assert caught.value.expected in (
        "regular expression too deeply nested or too large",
        "invalid regular expression: too many nested parentheses",  # CPython >= 3.12 wording
    )
