"""Follow a file another process appends lines to: read only the complete lines added since last."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_appended"]


def read_appended(path: Path, offset: int) -> tuple[bytes, int]:
    """(the complete lines appended after `offset`, the new offset); a torn last line waits."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
    except FileNotFoundError:
        return b"", offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return b"", offset
    return chunk[: end + 1], offset + end + 1
