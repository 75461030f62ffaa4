"""The host side of resource faults: which process listens on a port, cgroup v1 paths, mounts.

Read from /proc (Linux): a listening TCP socket's inode from /proc/net/tcp{,6}, the process that
holds it from /proc/PID/fd, a process's cgroups from /proc/PID/cgroup, mounts from
/proc/self/mountinfo.
`listening_inodes`, `cgroup_path` and `mounts_from` take the files' text, so they are pure and
tested on fixtures.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CPU_ROOT",
    "MEMORY_ROOT",
    "cgroup_path",
    "cgroup_procs",
    "cpu_cgroup_problem",
    "detach_mount",
    "listening_inodes",
    "memory_cgroup_problem",
    "mount_tmpfs",
    "mounts_from",
    "pid_listening_on",
    "processes_tagged",
    "relay_route_upstream",
]

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
_LISTEN = "0A"  # TCP state of a listening socket in /proc/net/tcp


def listening_inodes(tables: Iterable[str], port: int) -> set[str]:
    """Socket inodes listening on `port`, from the text of /proc/net/tcp and tcp6."""
    found = set()
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                found.add(fields[9])
    return found


def pid_listening_on(port: int, proc: Path = Path("/proc")) -> int | None:
    """The process holding a socket that listens on `port` (None: nobody, or not visible)."""
    tables = []
    for name in ("tcp", "tcp6"):
        try:
            tables.append((proc / "net" / name).read_text())
        except OSError:
            continue
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(tables, port)}
    if not wanted:
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue  # gone, or not ours to read
        if links & wanted:
            return int(entry.name)
    return None


def processes_tagged(module: str, tag: str, proc: Path = Path("/proc")) -> list[int]:
    """Live ``python -m module ... --tag T`` processes whose T is `tag` or starts with it."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        worker = module in argv and "--tag" in argv[:-1]
        if worker and argv[argv.index("--tag") + 1].startswith(tag):
            found.append(int(entry.name))
    return found


def cgroup_procs(group: Path) -> list[int]:
    """The processes in a cgroup ([] when it is gone)."""
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def cgroup_path(text: str, controller: str) -> str | None:
    """A process's cgroup for a v1 `controller` from /proc/PID/cgroup ("4:cpu,cpuacct:/x")."""
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            return parts[2]
    return None


def relay_route_upstream(cmdline: list[str], route: str) -> str | None:
    """The real upstream (host:port) of `route` in a recording relay's command line
    (``--route NAME=PORT=HOST:PORT``), None when it has no such route."""
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "--route":
            name, _, rest = cmdline[i + 1].partition("=")
            if name == route:
                return rest.partition("=")[2] or None
    return None


def cpu_cgroup_problem(root: Path = CPU_ROOT) -> str | None:
    """What this host lacks for a CPU quota (None: nothing): root, and a writable cgroup v1
    `cpu` controller with CFS bandwidth control."""
    if os.geteuid() != 0:
        return "root (it moves a process into a cgroup with a CPU quota)"
    if not (root / "cpu.cfs_quota_us").exists():
        return f"a cgroup v1 cpu controller with CFS quotas at {root} (none there)"
    if not os.access(root, os.W_OK):
        return f"a writable cgroup v1 cpu controller at {root} (read-only here)"
    return None


def memory_cgroup_problem(root: Path = MEMORY_ROOT) -> str | None:
    """What this host lacks for a memory limit (None: nothing): root, and a writable cgroup v1
    `memory` controller."""
    if os.geteuid() != 0:
        return "root (it moves a process into a cgroup with a memory limit)"
    if not (root / "memory.limit_in_bytes").exists():
        return f"a cgroup v1 memory controller at {root} (none there)"
    if not os.access(root, os.W_OK):
        return f"a writable cgroup v1 memory controller at {root} (read-only here)"
    return None


def mounts_from(mountinfo: str, source_prefix: str) -> list[tuple[str, str]]:
    """(mount point, source) of every mount whose source starts with `source_prefix`, from the
    text of /proc/self/mountinfo (octal escapes such as ``\\040`` decoded)."""
    found = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(after) < 2:
            continue
        source = _unescape(after[1])
        if source.startswith(source_prefix):
            found.append((_unescape(fields[4]), source))
    return found


def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        octal = field[i + 1 : i + 4]
        if field[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


_MNT_DETACH = 2


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def mount_tmpfs(target: Path, source: str, size_kb: int, mode: int, uid: int, gid: int) -> None:
    """Mount a tmpfs of `size_kb` named `source` over `target` (OSError with errno on failure)."""
    options = f"size={size_kb}k,mode={mode:o},uid={uid},gid={gid}".encode()
    if _libc().mount(source.encode(), str(target).encode(), b"tmpfs", 0, options) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))


def detach_mount(target: Path) -> None:
    """Unmount `target` lazily: open files on it do not keep it mounted in the tree."""
    if _libc().umount2(str(target).encode(), _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))
