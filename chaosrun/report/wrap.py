"""Text laid out for a terminal: wrapped at spaces, never inside a word, with hanging indents.

Terms:
- *columns*: how wide the terminal is. `columns(stream)` is `$COLUMNS` when set, else the width
  of the terminal `stream` writes to, else 80 (piped output, CI logs, a file); at most
  `MAX_COLUMNS`, so a wide terminal still gets lines a person can read.
- *width*: the longest line written, one less than the columns. A line that fills the terminal
  exactly is followed by an empty row on terminals that wrap at once, and cannot be told from
  a line the terminal wrapped; text that ends before the edge reads the same everywhere (and
  lets a test tell our wrapping from the terminal's).
- *hanging indent*: where a wrapped line continues. `wrap_line` reads it from the line's shape:
  after `1. ` of a numbered item, after the last of 2+ spaces that align a column
  (`  service     http://...`), after a short `label: `; otherwise 4 past the line's own indent.
  When a word would stick out at that depth, 2 past the line's own indent.

Guarantees: a word (a run of non-spaces) is never split, except a word wider than the whole
line, which is split after a `/` (a URL or a path) and otherwise left whole; short groups in
`<>`, `()`, `[]` or `{}` (`<port chosen at start>`, `(exit 0 or 2)`) are kept on one line,
`->` stays with the address it points to and a ` - ` dash with the word before it;
nothing is ever cut or elided. Widths are measured in terminal cells (wide characters count 2).

Errors keep their greppable form (`file:line: key path: what`, one line per problem) unless
the stream is a terminal: `tty_columns` is None for anything else, and the CLI only wraps then.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import TextIO

from rich.cells import cell_len

__all__ = [
    "MAX_COLUMNS",
    "UNKNOWN_COLUMNS",
    "HelpFormatter",
    "columns",
    "error_lines",
    "tty_columns",
    "wrap_line",
    "wrap_text",
]

UNKNOWN_COLUMNS = 80
MAX_COLUMNS = 100
_MIN_COLUMNS = 20
_MAX_GROUP = 24  # cells: a bracketed group at most this wide stays on one line
_GROUP = re.compile(r"<[^<>]*>|\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_NUMBERED = re.compile(r" *\d+\. ")
_COLUMN = re.compile(r" *\S+(?: \S+)? {2,}(?=\S)")
_LABEL = re.compile(r" *[^\s:][^:]{0,15}: (?=\S)")
_LOCATION = re.compile(r"\S.*?:\d+:(?= )")  # "chaosrun: file.yaml:12:" of an error line
_NBSP = "\x00"  # stands for a space that must not break; absent from the text (checked)


def tty_columns(stream: TextIO) -> int | None:
    """Columns of the terminal `stream` writes to ($COLUMNS first); None when it is no terminal."""
    try:
        if not stream.isatty():
            return None
        size = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
    env = os.environ.get("COLUMNS", "")
    given = int(env) if env.isdigit() else 0
    return _clamp(given or size or UNKNOWN_COLUMNS)


def columns(stream: TextIO) -> int:
    """Columns for help and plans on `stream`: $COLUMNS, its terminal's width, else 80."""
    env = os.environ.get("COLUMNS", "")
    given = int(env) if env.isdigit() else 0
    return _clamp(given) if given else (tty_columns(stream) or UNKNOWN_COLUMNS)


def _clamp(cols: int) -> int:
    return max(_MIN_COLUMNS, min(cols, MAX_COLUMNS))


def wrap_line(line: str, width: int, hang: int | None = None) -> list[str]:
    """`line` as lines of at most `width` cells; continuations indented by `hang` cells
    (by default read from the line's shape, see the module docstring)."""
    line = line.rstrip()
    if cell_len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    split = lead
    if hang is None:
        shape = _shape(line)
        split, hang = (lead, lead + 4) if shape is None else (shape, cell_len(line[:shape]))
        if cell_len(line[:split].rstrip()) > width:  # a "label" too wide to lead a line
            split, hang = lead, lead + 4
    head, chunks = line[:split], _chunks(line[split:])
    if not chunks:
        return [line]
    if hang + max(cell_len(word) for _, word in chunks) > width:
        hang = min(hang, lead + 2)  # a word would stick out: hang less deep, but still hang
    return _fill(head, chunks, hang, width)


def wrap_text(text: str, width: int) -> list[str]:
    """Running text (whitespace collapsed) as lines of at most `width` cells, no indent."""
    return wrap_line(" ".join(text.split()), width, hang=0)


def error_lines(message: str, width: int) -> list[str]:
    """An error line for a terminal: `chaosrun: file:line:` kept whole on the first line, the
    rest wrapped at words and indented 4."""
    message = message.rstrip()
    if cell_len(message) <= width:
        return [message]
    located = _LOCATION.match(message)
    split = located.end() if located else 0
    chunks = _chunks(message[split:])
    return _fill(message[:split], chunks, 4, width) if chunks else [message]


def _shape(line: str) -> int | None:
    """Where the text of a numbered item, an aligned column or a short label starts."""
    for shape in (_NUMBERED, _COLUMN, _LABEL):
        found = shape.match(line)
        if found:
            return found.end()
    return None


def _chunks(body: str) -> list[tuple[str, str]]:
    """(separator before, word) pairs; a separator is spaces, or "" inside a split long word."""
    protected = _protect(body) if _NBSP not in body else body
    parts = re.split(r"( +)", protected)
    chunks: list[tuple[str, str]] = []
    separator = ""
    for i, part in enumerate(parts):
        if i % 2:
            separator = part
        elif part:
            chunks.append((separator, part.replace(_NBSP, " ")))
            separator = ""
    return chunks


def _protect(text: str) -> str:
    def keep(found: re.Match[str]) -> str:
        group = found.group()
        if cell_len(group) <= _MAX_GROUP:
            return group.replace(" ", _NBSP)
        return group[0] + _protect(group[1:-1]) + group[-1]

    # An arrow leads its target; a dash ends the line it breaks (no line starts with "- ").
    return _GROUP.sub(keep, text).replace(" -> ", " ->" + _NBSP).replace(" - ", _NBSP + "- ")


def _fill(head: str, chunks: list[tuple[str, str]], hang: int, width: int) -> list[str]:
    lines: list[str] = []
    current = head
    for separator, word in _split_long(chunks, width - hang):
        candidate = current + separator + word
        if not current.strip() or cell_len(candidate) <= width:
            current = candidate
        else:
            lines.append(current.rstrip())
            current = " " * hang + word
    lines.append(current.rstrip())
    return lines


def _split_long(chunks: list[tuple[str, str]], room: int) -> list[tuple[str, str]]:
    """Groups kept together (`->` and its target, `word -`, short brackets) that are wider than
    `room` come apart at their spaces; words wider than `room` split after each `/` (pieces
    joined by an empty separator)."""
    out: list[tuple[str, str]] = []
    for separator, group in chunks:
        words = [(separator, group)]
        if cell_len(group) > room and " " in group:  # a group kept together that cannot fit
            first, *rest = group.split(" ")
            words = [(separator, first), *((" ", word) for word in rest)]
        for before, word in words:
            if cell_len(word) <= room or "/" not in word.rstrip("/"):
                out.append((before, word))
                continue
            pieces = re.findall(r"[^/]*/+|[^/]+$", word)
            out.append((before, pieces[0]))
            out += [("", piece) for piece in pieces[1:]]
    return out


class HelpFormatter(argparse.HelpFormatter):
    """argparse help at the terminal's width (80 when unknown, at most 100), wrapped at words.

    Descriptions and epilogs keep their paragraphs (split at blank lines); a paragraph whose
    lines are all indented is a list, one item per line (each wrapped under its own text)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        import sys

        if width is None:
            width = columns(sys.stdout) - 1
        super().__init__(prog, indent_increment, max_help_position, width)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap_text(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in re.split(r"\n[ \t]*\n", text.strip("\n")):
            items = _items(paragraph.splitlines())
            lines = [  # running text hangs at the indent; a list item under its own text
                out
                for item in items
                for out in (
                    wrap_line(indent + item, width)
                    if item[:1].isspace()
                    else wrap_line(indent + " ".join(item.split()), width, hang=len(indent))
                )
            ]
            paragraphs.append("\n".join(lines))
        return "\n\n".join(paragraphs)


def _items(rows: list[str]) -> list[str]:
    """A paragraph's items: unindented lines are one text; a line at the list's indent starts
    an item, and a line indented deeper continues the item above it."""
    depths = [len(row) - len(row.lstrip()) for row in rows]
    item_depth = min((depth for depth in depths if depth), default=0)
    items: list[str] = []
    for row, depth in zip(rows, depths, strict=True):
        previous = items[-1] if items else None
        continues = depth > item_depth if depth else previous is not None and previous[0] != " "
        if previous is not None and continues:
            items[-1] = f"{previous} {row.strip()}"
        else:
            items.append(row.rstrip() if depth else row.strip())
    return items
