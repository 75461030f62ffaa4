"""One run at a time per Toxiproxy server: the lab, or the proxies of an explicit target.

An exclusive `flock` on a file named after the server's address, held by the supervisor for the
whole run. The kernel drops it when the supervisor dies, so a crash never leaves a stale lock;
the file's content names the holder for the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from chaosrun.errors import TargetBusy

__all__ = ["LOCK_DIR_ENV", "RunLock", "acquire", "holder", "lock_dir", "sweep_stale"]

LOCK_DIR_ENV = "CHAOSRUN_LOCK_DIR"


def lock_dir() -> Path:
    """Machine-wide (not per $CHAOSRUN_HOME): two homes may point at the same server."""
    configured = os.environ.get(LOCK_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"chaosrun-{os.getuid()}" / "locks"


def _key(toxiproxy_url: str) -> str:
    parts = urlsplit(toxiproxy_url)
    host = (parts.hostname or "unknown").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return re.sub(r"[^a-z0-9.-]", "_", f"{host}_{port}")


class RunLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the file while still holding it (so lock files do not pile up, one per port
        ever used), then drop the flock; `acquire` retries on a file unlinked under it."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def acquire(toxiproxy_url: str, run_id: str, experiment: str) -> RunLock:
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{_key(toxiproxy_url)}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(fd)
            os.close(fd)
            raise TargetBusy(
                f"{toxiproxy_url} is in use by {who}; wait for that run to end "
                f"(or stop it with Ctrl-C); lock file {path}",
                holder=who,
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the previous holder removed it as we opened it: take the new one
    info = {
        "run_id": run_id,
        "pid": os.getpid(),
        "experiment": experiment,
        "toxiproxy_url": toxiproxy_url,
        "since": time.time(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    return RunLock(path, fd)


def holder(toxiproxy_url: str) -> str | None:
    """Who holds the run lock on this server now (None when nobody does)."""
    try:
        lock = acquire(toxiproxy_url, "probe", "lock check")
    except TargetBusy as busy:
        return busy.holder
    lock.release()
    return None


def sweep_stale() -> int:
    """Remove lock files nobody holds (left by a supervisor that was killed); how many."""
    removed = 0
    for path in lock_dir().glob("*.lock"):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(fd, path):
                path.unlink()
                removed += 1
        except (BlockingIOError, FileNotFoundError):
            pass  # held by a live run, or removed meanwhile
        finally:
            os.close(fd)
    return removed


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        since = time.strftime("%H:%M:%S", time.localtime(float(data["since"])))
        return f"run {data['run_id']} (pid {data['pid']}, {data['experiment']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another chaosrun run (holder unknown)"
