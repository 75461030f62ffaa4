"""disk_full: a full disk under a service: a size-limited tmpfs mounted over its data directory.

The directory is `path`, or the `--data-dir` of the process the fault targets (the one listening
behind `proxy`, or the service under test): writes there then meet a real ENOSPC once `free_kb`
are used (0: at once). Inject writes the undo entry (directory and the mount's unique source
name) first, then mounts the tmpfs (size `free_kb` + one page, that page taken by a filler file).
What was in the directory is hidden, not touched, while the fault holds; what is written during
it is gone with the tmpfs. Revert detaches the mount (lazily: files a service holds open on it do
not keep it). Needs root (mount): checked before the run starts.
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
from chaosrun.faults._host import detach_mount, mount_tmpfs, mounts_from
from chaosrun.faults._target import cmdline, target_process

__all__ = ["describe", "inject", "requires", "revert", "undo"]

LIMITS = {"free_kb": (0, 1048576)}
UNDO_OP = "unmount"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # a mount outlives the lab whose directory it covers
SOURCE = "chaosrun-disk-full-"
FILLER = ".chaosrun-disk-full"
PAGE = 4096
MOUNTINFO = Path("/proc/self/mountinfo")


def requires() -> str | None:
    if os.geteuid() != 0:
        return "root (it mounts a size-limited tmpfs over the service's data directory)"
    return None


def inject(
    *,
    path: str = "",
    free_kb: int = 0,
    proxy: str = "",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lacking = requires()
    if lacking is not None:
        raise ChaosrunError(f"disk_full needs {lacking}")
    directory, what = _directory(path, proxy, configuration)
    source = f"{SOURCE}{uuid.uuid4().hex[:12]}"
    log = undolog.log_from_env()
    if log is not None and directory in log.resolve().parents:
        raise ChaosrunError(
            f"disk_full: {directory} holds this run's own undo log ({log}): it would hide it"
        )
    entry = (
        undolog.record(log, "disk_full", directory=str(directory), source=source, proxy=proxy)
        if log
        else None
    )
    info = directory.stat()
    try:
        mount_tmpfs(directory, source, free_kb + PAGE // 1024, 0o755, info.st_uid, info.st_gid)
    except OSError as exc:
        raise ChaosrunError(f"disk_full: cannot mount a tmpfs over {directory}: {exc}") from None
    try:
        (directory / FILLER).write_bytes(b"\0" * PAGE)
        os.chown(directory / FILLER, info.st_uid, info.st_gid)
    except OSError:
        detach_mount(directory)
        raise
    stat = os.statvfs(directory)
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "path": str(directory),
        "of": what,
        "source": source,
        "free_bytes": stat.f_bavail * stat.f_frsize,
        "undo_id": entry.id if entry else None,
    }


def revert(
    *, path: str = "", proxy: str = "", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    log = undolog.log_from_env()
    reverted = False
    if log is not None:
        for entry in undolog.pending_entries(log):
            if (
                entry.fault == "disk_full"
                and entry.params.get("proxy") == proxy
                and (not path or entry.params.get("directory") == str(Path(path).resolve()))
            ):
                reverted = undo(entry.params, 2.0) or reverted
                undolog.mark_done(log, entry.id)
    else:  # outside chaosrun (`chaos run`): every disk_full mount over the directory
        directory, _ = _directory(path, proxy, configuration)
        for point, source in mounted():
            if point == str(directory):
                reverted = undo({"directory": point, "source": source}, 2.0) or reverted
    return {"path": path, "proxy": proxy, "reverted": reverted}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Detach every mount with the entry's source over its path (the topmost first); False when
    none is there (never mounted, or unmounted already)."""
    source = str(params["source"])
    if not source.startswith(SOURCE):
        raise ChaosrunError(f"disk_full: {source} is not a mount chaosrun made")
    point = str(params["directory"])
    detached = False
    while (point, source) in mounted():
        try:
            detach_mount(Path(point))
        except OSError as exc:
            raise ChaosrunError(f"disk_full: cannot unmount {point}: {exc}") from None
        detached = True
    return detached


def remains(params: Mapping[str, Any]) -> str | None:
    point, source = str(params["directory"]), str(params["source"])
    return f"tmpfs {source} over {point}" if (point, source) in mounted() else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    where = args.get("path") or (
        f"the --data-dir of the process behind proxy {proxy}"
        if proxy
        else "the --data-dir of the service under test"
    )
    if func == "revert":
        return f"unmount the chaosrun tmpfs over {where}", "umount2(MNT_DETACH)"
    free = int(args.get("free_kb", 0))
    return (
        f"fill the disk under {where}: a tmpfs with {free} kB free mounted over it (ENOSPC)",
        f"mount -t tmpfs -o size={free + PAGE // 1024}k {SOURCE}<id>, write {FILLER}",
    )


def mounted() -> list[tuple[str, str]]:
    """(mount point, source) of every disk_full tmpfs mounted now, whoever made it."""
    try:
        return mounts_from(MOUNTINFO.read_text(), SOURCE)
    except OSError:
        return []


def _directory(path: str, proxy: str, configuration: dict[str, Any] | None) -> tuple[Path, str]:
    if path:
        directory, what = Path(path).resolve(), f"the directory {path}"
    else:
        pid, what = target_process("disk_full", proxy, configuration)
        argv = cmdline(pid)
        found = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--data-dir"]
        if not found:
            raise ChaosrunError(
                f"disk_full: {what} has no --data-dir on its command line: give path"
            )
        directory = Path(found[-1]).resolve()
        what = f"the data directory of {what}"
    if not directory.is_dir():
        raise ChaosrunError(f"disk_full: {directory} is not a directory")
    if directory == Path("/") or directory == directory.parent:
        raise ChaosrunError("disk_full: will not mount over /")
    return directory, what
