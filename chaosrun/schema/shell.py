"""Process arguments given as one string: run them without a shell when a shell adds nothing.

Chaos Toolkit runs a process provider whose `arguments` is a string as `/bin/sh -c "PATH ARGS"`
(`chaoslib.provider.process`), and a list (or a mapping, flattened to key, value, ...) directly.
A string that uses no shell syntax means the same split by `shlex` (POSIX rules) and run
directly, so chaosrun does that; a string that does use shell syntax runs through /bin/sh only
with --allow-shell.

Shell syntax, as `shell_syntax` finds it (quote-aware: nothing inside single quotes counts, and
inside double quotes only expansions do):
- operators: `|` `||` `&` `&&` `;` `<` `>` `>>` `<<` `>&` `>|`, a numbered redirection such as
  `2>`, the subshell parentheses `(` `)` and an unquoted newline (a command separator);
- expansions: command substitution `$(...)` and backticks, parameters `$NAME`, `$1`, `$?`,
  `${NAME:-...}` (anything but a plain `${NAME}`), and inside double quotes a backslash before
  `$` or a backtick (sh and shlex unescape it differently);
- unquoted globs `*` `?` `[`, a tilde `~` and a comment `#` at the start of a word.

`${NAME}` is a Chaos Toolkit template, not shell syntax: Chaos Toolkit substitutes it from the
configuration or secrets. Unbraced `$NAME` is refused although Chaos Toolkit would substitute
it too, because when NAME is not in the configuration the shell would expand it instead.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping
from typing import Any

__all__ = ["runnable_document", "shell_syntax", "split_arguments"]

_OPERATORS = ("||", "&&", ">>", "<<", ">&", ">|", "|", "&", ";", "<", ">", "(", ")")
_TEMPLATE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*!$-])")
_GLOBS = "*?["
_WORD_START = "~#"


def shell_syntax(text: str) -> str | None:
    """The first shell construct in `text` as written (e.g. '|', '2>', '$(', '$HOME'), or None."""
    quote = ""
    word = 0  # where the current word started
    i = 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            quote = "" if char == "'" else quote
            i += 1
            continue
        expansion = _expansion(text, i, quote == '"')
        if expansion is not None:
            return expansion
        if quote == '"':
            quote = "" if char == '"' else quote
            i += 2 if char == "\\" else 1
            continue
        if char == "\\":
            if text[i + 1 : i + 2] == "\n":
                return "newline"  # a line continuation: sh drops it, shlex keeps it
            i += 2
        elif char in "'\"":
            quote = char
            i += 1
        elif char == "\n":
            return "newline"
        elif char.isspace():
            i += 1
            word = i
        else:
            found = _operator(text, i, word) or _word_syntax(text, i, word)
            if found is not None:
                return found
            i += 1
    return None


def _expansion(text: str, i: int, quoted: bool) -> str | None:
    """An expansion starting at i: unquoted or in double quotes, both expand."""
    rest = text[i:]
    if rest.startswith("$("):
        return "$("
    if rest.startswith("`"):
        return "`"
    if rest.startswith("${"):
        return None if _TEMPLATE.match(rest) else "${"
    parameter = _PARAMETER.match(rest)
    if parameter is not None:
        return parameter.group(0)
    if quoted and rest[:2] in ("\\$", "\\`"):
        return rest[:2]
    return None


def _operator(text: str, i: int, word: int) -> str | None:
    for operator in _OPERATORS:
        if text.startswith(operator, i):
            digits = text[word:i]
            numbered = operator[0] in "<>" and digits.isdigit()
            return digits + operator if numbered else operator
    return None


def _word_syntax(text: str, i: int, word: int) -> str | None:
    char = text[i]
    if char in _GLOBS or (char in _WORD_START and i == word):
        return char
    return None


def split_arguments(text: str) -> list[str]:
    """The argument list `text` stands for under POSIX quoting; ValueError on an open quote.

    Split before Chaos Toolkit substitutes `${NAME}` templates: a value that holds spaces (or
    shell characters) stays one argument, where a shell would have split or run it."""
    return shlex.split(text, posix=True)


def runnable_document(document: Mapping[str, Any], allow_shell: bool) -> dict[str, Any]:
    """A copy of a Chaos Toolkit document with every process provider's string `arguments`
    replaced by its `split_arguments` list, so Chaos Toolkit runs it without a shell.

    Covered: steady-state-hypothesis probes (and probes inside their tolerances), method,
    rollbacks, and the `abort_when` probes of the chaosrun extension. A string with shell
    syntax is left as is (to run through /bin/sh) only when `allow_shell`; otherwise it is
    split too, its operators becoming plain arguments (validation refuses it beforehand). A
    string with an open quote raises ValueError (validation refuses it too)."""
    runnable: dict[str, Any] = copy.deepcopy(dict(document))
    hypothesis = runnable.get("steady-state-hypothesis")
    activities: list[object] = []
    if isinstance(hypothesis, dict):
        activities += _listed(hypothesis.get("probes"))
    activities += _listed(runnable.get("method")) + _listed(runnable.get("rollbacks"))
    for extension in _listed(runnable.get("extensions")):
        if isinstance(extension, dict) and extension.get("name") == "chaosrun":
            guards = _listed(extension.get("abort_when"))
            activities += [g.get("probe") for g in guards if isinstance(g, dict)]
    for activity in activities:
        _split_activity(activity, allow_shell)
    return runnable


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _split_activity(activity: object, allow_shell: bool) -> None:
    if not isinstance(activity, dict):
        return
    tolerance = activity.get("tolerance")
    if isinstance(tolerance, dict) and tolerance.get("type") == "probe":
        _split_activity(tolerance, allow_shell)
    provider = activity.get("provider")
    if not isinstance(provider, dict) or provider.get("type") != "process":
        return
    arguments = provider.get("arguments")
    if not isinstance(arguments, str):
        return
    if allow_shell and shell_syntax(arguments) is not None:
        return
    provider["arguments"] = split_arguments(arguments)
