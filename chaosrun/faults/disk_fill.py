"""disk_fill: fill the filesystem of a named directory: one file of `size_mb`, never past a margin.

For an explicit target, where mounting over a directory is not wanted: inject refuses (nothing
written) when the file would leave less than `keep_free_mb` free on the directory's filesystem,
writes the undo entry (the file's path) first, then allocates the file (posix_fallocate: real
blocks, not a sparse file). Revert deletes it. Needs write access to the directory only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ChaosrunError

__all__ = ["describe", "inject", "revert", "undo"]

LIMITS = {"size_mb": (1, 1048576), "keep_free_mb": (64, 1048576)}
UNDO_OP = "delete_fill"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # the file outlives a stopped lab
PREFIX = ".chaosrun-fill-"
MB = 1024 * 1024


def free_after(free_bytes: int, size_mb: int, keep_free_mb: int) -> str | None:
    """Why filling `size_mb` with `free_bytes` free would break the margin (None: it would not)."""
    left_mb = (free_bytes - size_mb * MB) / MB
    if left_mb < keep_free_mb:
        return (
            f"filling {size_mb} MB would leave {max(left_mb, 0):.0f} MB free of "
            f"{free_bytes / MB:.0f} MB, below keep_free_mb {keep_free_mb}"
        )
    return None


def inject(
    *,
    path: str,
    size_mb: int,
    keep_free_mb: int = 1024,
    proxy: str = "",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    directory = Path(path).resolve()
    if not directory.is_dir():
        raise ChaosrunError(f"disk_fill: {directory} is not a directory")
    stat = os.statvfs(directory)
    refusal = free_after(stat.f_bavail * stat.f_frsize, size_mb, keep_free_mb)
    if refusal is not None:
        raise ChaosrunError(f"disk_fill: {directory}: {refusal}; nothing written")
    target = directory / f"{PREFIX}{uuid.uuid4().hex[:12]}"
    log = undolog.log_from_env()
    entry = undolog.record(log, "disk_fill", file=str(target), proxy=proxy) if log else None
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.posix_fallocate(fd, 0, size_mb * MB)
    except OSError as exc:
        os.close(fd)
        target.unlink(missing_ok=True)
        if log and entry:
            undolog.mark_done(log, entry.id)
        raise ChaosrunError(
            f"disk_fill: cannot allocate {size_mb} MB in {directory}: {exc}"
        ) from None
    os.close(fd)
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    after = os.statvfs(directory)
    return {
        "file": str(target),
        "size_mb": size_mb,
        "free_mb": round(after.f_bavail * after.f_frsize / MB, 1),
        "undo_id": entry.id if entry else None,
    }


def revert(
    *, path: str = "", proxy: str = "", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    log = undolog.log_from_env()
    reverted = False
    if log is not None:
        for entry in undolog.pending_entries(log):
            if entry.fault == "disk_fill" and entry.params.get("proxy") == proxy:
                reverted = undo(entry.params, 2.0) or reverted
                undolog.mark_done(log, entry.id)
    elif path:  # outside chaosrun (`chaos run`): every fill file in the directory
        for found in Path(path).glob(f"{PREFIX}*"):
            reverted = undo({"file": str(found)}, 2.0) or reverted
    return {"path": path, "reverted": reverted}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Delete the fill file; False when it was gone already."""
    target = Path(str(params["file"]))
    if not target.name.startswith(PREFIX):
        raise ChaosrunError(f"disk_fill: {target} is not a file chaosrun made")
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


def remains(params: Mapping[str, Any]) -> str | None:
    target = Path(str(params["file"]))
    return f"fill file {target}" if target.exists() else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    path = args.get("path", "<path>")
    if func == "revert":
        return f"delete the chaosrun fill file in {path}", f"unlink {path}/{PREFIX}<id>"
    size, keep = args.get("size_mb"), args.get("keep_free_mb", 1024)
    return (
        f"fill {size} MB of the filesystem under {path}, keeping at least {keep} MB free",
        f"posix_fallocate {path}/{PREFIX}<id>",
    )
