"""chaosrun.schema.shell: which strings need a shell, how the rest are split and run."""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosrun.schema.shell import runnable_document, shell_syntax, split_arguments

PRINT_ARGV = [sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))"]


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        ("a | b", "|"),
        ("a|b", "|"),
        ("a || b", "||"),
        ("a && b", "&&"),
        ("a &", "&"),
        ("a; b", ";"),
        ("a > out", ">"),
        ("a >> out", ">>"),
        ("a 2> err", "2>"),
        ("a 2>&1", "2>&"),
        ("a2> err", ">"),
        ("a < in", "<"),
        ("a << EOF", "<<"),
        ("(a)", "("),
        ("a\nb", "newline"),
        ("a \\\nb", "newline"),
        ("$(id)", "$("),
        ('"$(id)"', "$("),
        ("`id`", "`"),
        ("$HOME", "$HOME"),
        ('"$HOME/x"', "$HOME"),
        ("$1", "$1"),
        ("$?", "$?"),
        ("${x:-y}", "${"),
        ('"\\$x"', "\\$"),
        ("*.log", "*"),
        ("file?", "?"),
        ("[ab]", "["),
        ("~/x", "~"),
        ("a #comment", "#"),
        ("${name} | b", "|"),
    ],
)
def test_shell_syntax_names_the_first_construct(text: str, construct: str) -> None:
    assert shell_syntax(text) == construct


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-c 'import sys; print(sys.argv)' a 'b c'",
        "'a | b' \"c; d\" 'e > f' '$(id)' '`id`' '*' '#x'",
        "--name=${name} ${other}",
        '"${name}"',
        "a#b x~y 2 > ",  # '#' and '~' only count at the start of a word; a lone '>' does
        "price $ 5",
        "back\\|slash \\; \\*",
    ],
)
def test_no_shell_syntax(text: str) -> None:
    expected = {"a#b x~y 2 > ": ">"}.get(text)
    assert shell_syntax(text) == expected


def test_split_arguments_keeps_quotes_together() -> None:
    assert split_arguments("-c 'a b' \"c d\" e\\ f ${x}") == ["-c", "a b", "c d", "e f", "${x}"]
    assert split_arguments("") == []
    with pytest.raises(ValueError, match="No closing quotation"):
        split_arguments("a 'b")


def _sh_argv(text: str) -> list[str]:
    command = " ".join([*PRINT_ARGV[:2], "'import sys; print(repr(sys.argv[1:]))'", text])
    done = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=10, env={}, check=True
    )
    return list(ast.literal_eval(done.stdout))


# Pieces, not characters, so that many examples are balanced and free of shell syntax; `{` is
# left out: a plain `${NAME}` is a Chaos Toolkit template, never given to a shell.
_PIECES = [*"ab0 \t=-/'\"\\$#~|;*"]
_PIECES += ["'x y'", '"x y"', "'$a'", "'\\'", '"a\\"b"', '"\\\\"', "\\ ", "a#b"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_without_shell_syntax_the_split_is_what_sh_runs(text: str) -> None:
    """The promise behind running such strings without a shell: same argv as /bin/sh gives."""
    try:
        split = split_arguments(text)
    except ValueError:
        return
    if shell_syntax(text) is None:
        assert split == _sh_argv(text)


def _process(arguments: object) -> dict[str, Any]:
    return {"type": "process", "path": "python3", "arguments": arguments}


def _probe(name: str, arguments: object, **more: Any) -> dict[str, Any]:
    return {"type": "probe", "name": name, "provider": _process(arguments), **more}


def _document() -> dict[str, Any]:
    tolerance = _probe("checker", "-c 'print(1)'")
    tolerance["type"] = "probe"
    return {
        "title": "t",
        "steady-state-hypothesis": {
            "title": "h",
            "probes": [_probe("ssh", "-V", tolerance=tolerance), {"ref": "ssh", "tolerance": 0}],
        },
        "method": [
            _probe("m", "a 'b c'"),
            _probe("listed", ["x | y"]),
            _probe("piped", "a | b"),
            {"type": "action", "name": "py", "provider": {"type": "python", "arguments": "a b"}},
        ],
        "rollbacks": [_probe("r", "--flag ${value}")],
        "extensions": [
            {"name": "other", "abort_when": [{"probe": _probe("not-ours", "x y")}]},
            {"name": "chaosrun", "abort_when": [{"probe": _probe("guard", "g h")}, {"x": 1}]},
        ],
    }


def _arguments(document: dict[str, Any]) -> dict[str, object]:
    hypothesis = document["steady-state-hypothesis"]["probes"][0]
    found = {
        "ssh": hypothesis["provider"]["arguments"],
        "tolerance": hypothesis["tolerance"]["provider"]["arguments"],
    }
    for activity in [*document["method"], *document["rollbacks"]]:
        found[activity["name"]] = activity["provider"]["arguments"]
    for extension in document["extensions"]:
        probe = extension["abort_when"][0]["probe"]
        found[probe["name"]] = probe["provider"]["arguments"]
    return found


def test_runnable_document_splits_every_process_string() -> None:
    original = _document()
    runnable = runnable_document(original, allow_shell=False)
    assert _arguments(runnable) == {
        "ssh": ["-V"],
        "tolerance": ["-c", "print(1)"],
        "m": ["a", "b c"],
        "listed": ["x | y"],
        "piped": ["a", "|", "b"],  # refused by validation; never given to a shell
        "py": "a b",
        "r": ["--flag", "${value}"],
        "not-ours": "x y",
        "guard": ["g", "h"],
    }
    assert original == _document()  # a copy: the input is left alone


def test_runnable_document_leaves_shell_strings_to_the_shell_when_allowed() -> None:
    arguments = _arguments(runnable_document(_document(), allow_shell=True))
    assert arguments["piped"] == "a | b"
    assert arguments["m"] == ["a", "b c"]


def test_runnable_document_refuses_what_cannot_be_split() -> None:
    document = {"method": [_probe("open", "a 'b")]}
    with pytest.raises(ValueError, match="No closing quotation"):
        runnable_document(document, allow_shell=True)


def test_a_real_process_receives_the_split_argv() -> None:
    """Through chaoslib's own runner, with a template whose value holds a space."""
    from chaoslib.provider.process import run_process_activity

    text = "-c \"import sys; print(repr(sys.argv[1:]))\" a 'b c' ${greeting} '${greeting}!'"
    document = {"method": [{"type": "probe", "name": "argv", "provider": _process(text)}]}
    activity = runnable_document(document, allow_shell=False)["method"][0]
    result = run_process_activity(activity, {"greeting": "hello world"}, {})
    assert result["status"] == 0, result["stderr"]
    assert ast.literal_eval(result["stdout"]) == ["a", "b c", "hello world", "hello world!"]
