"""No shell ever sees experiment input.

chaosrun starts its own processes with argument lists (the scan below keeps it so), and Chaos
Toolkit's process provider uses a shell exactly when `arguments` is a string (in
`chaoslib.provider.process.run_process_activity`: `shell = True`, `f"{path} {arguments}"`), so
the validator accepts a string only when it uses no shell syntax (it is then split and run
without a shell, `chaosrun.schema.shell`), or with --allow-shell. With a list or a mapping,
`path` is resolved by `shutil.which` and run directly: no shell metacharacter in it has any
effect, so `path` needs no rule of its own beyond "an executable that exists".
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from chaosrun.load import validate_files

PACKAGE = Path(__file__).resolve().parents[2] / "chaosrun"

# Calls that always go through /bin/sh, by qualified name; and methods that do, on any object.
SHELL_FUNCTIONS = {
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell",
}
SHELL_METHODS = {"create_subprocess_shell", "subprocess_shell"}  # asyncio loop.subprocess_shell


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str:
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value, aliases)}.{node.attr}"
    return "<expr>"


def shell_calls(source: str, filename: str) -> list[str]:
    """'file:line: what' for each call that may run a shell: shell=<anything but False>, or a
    function that always does (import aliases resolved: `from os import system as s; s()`)."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{filename}:{node.lineno}"
        name = _dotted(node.func, aliases)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name in SHELL_FUNCTIONS or method in SHELL_METHODS:
            found.append(f"{where}: {name}()")
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "shell" and not (
                isinstance(value, ast.Constant) and value.value is False
            ):
                found.append(f"{where}: {name}(shell={ast.unparse(value)})")
    return sorted(found)


def test_the_scan_finds_every_kind_of_shell_call() -> None:
    source = """
import os, subprocess as sp, asyncio
from os import popen as p
from subprocess import getoutput
os.system("ls")
p("ls")
sp.run("ls", shell=True)
sp.Popen(["ls"], shell=flag)
sp.run(["ls"], shell=False)
getoutput("ls")
asyncio.create_subprocess_shell("ls")
loop.subprocess_shell(factory, "ls")
sp.run(["ls"])
"""
    assert shell_calls(source, "x.py") == [
        "x.py:10: subprocess.getoutput()",
        "x.py:11: asyncio.create_subprocess_shell()",
        "x.py:12: loop.subprocess_shell()",
        "x.py:5: os.system()",
        "x.py:6: os.popen()",
        "x.py:7: subprocess.run(shell=True)",
        "x.py:8: subprocess.Popen(shell=flag)",
    ]


def test_chaosrun_never_calls_a_shell() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found = [
        call
        for path in files
        for call in shell_calls(
            path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent))
        )
    ]
    assert found == []


# --- process providers: an argument list, never a command line ------------------------------------


def test_chaos_toolkit_runs_string_arguments_through_a_shell() -> None:
    """Why the rule exists: the same text is one argument in a list, a command line as a string."""
    from chaoslib.provider.process import run_process_activity

    def run(arguments: object) -> Any:
        activity = {"name": "p", "provider": {"type": "process", "path": "echo"}}
        activity["provider"]["arguments"] = arguments  # type: ignore[index]
        return run_process_activity(activity, {}, {})["stdout"]

    assert run("a; echo injected") == "a\ninjected\n"
    assert run(["a; echo injected"]) == "a; echo injected\n"


def _process_experiment(provider: dict[str, Any]) -> str:
    doc = {
        "title": "t",
        "description": "d",
        "method": [{"type": "action", "name": "run", "provider": {"type": "process", **provider}}],
    }
    return json.dumps(doc, indent=1)


ARGUMENT_LINE = 11  # of "arguments" in _process_experiment's JSON
SHELL = "refused; pass --allow-shell to run them through /bin/sh"


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (
            {"path": "echo", "arguments": "restart catalog; rm -rf /tmp/x"},
            [(ARGUMENT_LINE, f"process arguments use shell syntax (';'): {SHELL}")],
        ),
        (
            {"path": "echo", "arguments": "$(id)"},
            [(ARGUMENT_LINE, f"process arguments use shell syntax ('$('): {SHELL}")],
        ),
        ({"path": "echo", "arguments": "restart 'catalog; now' ${name}"}, []),
        ({"path": "echo", "arguments": {"--flag": "value", "--n": 3, "-q": None}}, []),
        (
            {"path": "echo", "arguments": {"--flag": {"nested": 1}}},
            [
                (
                    ARGUMENT_LINE + 1,
                    "expected a string, a number, a boolean or null, got a mapping",
                )
            ],
        ),
        ({"path": "echo", "arguments": ["ok", 3, None]}, []),
        (
            {"path": "echo", "arguments": ["ok", [1]]},
            [(ARGUMENT_LINE + 2, "expected a string, a number, a boolean or null, got a list")],
        ),
        (
            {"path": "echo", "arguments": 3},
            [(ARGUMENT_LINE, "expected a list, a mapping or a string of arguments, got a number")],
        ),
        (
            {"path": "echo; rm -rf /tmp/x", "arguments": []},
            [(ARGUMENT_LINE - 1, "cannot find executable 'echo; rm -rf /tmp/x'")],
        ),
        ({"path": "echo", "arguments": ["restart catalog; rm -rf /tmp/x", "$(id)"]}, []),
        ({"path": sys.executable}, []),
    ],
)
def test_process_provider_arguments(
    tmp_path: Path, provider: dict[str, Any], expected: list[tuple[int, str]]
) -> None:
    path = tmp_path / "process.json"
    path.write_text(_process_experiment(provider), encoding="utf-8")
    assert [(e.line, e.expected) for e in validate_files([path])] == expected


def test_shell_syntax_message_and_the_opt_in(tmp_path: Path) -> None:
    path = tmp_path / "process.json"
    path.write_text(_process_experiment({"path": "echo", "arguments": "-n x 2>/dev/null"}))
    assert [str(e) for e in validate_files([path])] == [
        f"{path}:{ARGUMENT_LINE}: method[0].provider.arguments: "
        "process arguments use shell syntax ('2>'): refused; pass --allow-shell to run them "
        "through /bin/sh"
    ]
    assert validate_files([path], allow_shell=True) == []
