"""An experiment file's text: a regular .yaml/.yml/.json file of at most 1 MiB, valid UTF-8."""

from __future__ import annotations

import stat
from pathlib import Path

from chaosrun.errors import InputError

__all__ = ["MAX_BYTES", "read_text"]

MAX_BYTES = 1024 * 1024
_SUFFIXES = (".yaml", ".yml", ".json")


def read_text(path: Path, name: str) -> str:
    """The text of an experiment file, without a BOM; raise its problem as an InputError."""

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
