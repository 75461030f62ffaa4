"""chaosrun.faults._host on fixture texts of /proc, and what a cpu_quota needs of the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY, _host, cpu_quota, disk_fill, disk_full, memory_pressure
from chaosrun.faults._host import (
    cgroup_path,
    cpu_cgroup_problem,
    listening_inodes,
    relay_route_upstream,
)

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1
"""
TCP6 = (
    "  sl  local_address                         remote_address                        st"
    " tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000     0        0 4545 1\n"
)


def test_listening_sockets_of_a_port_by_inode() -> None:
    # 0x1F90 = 8080: the listener in tcp and in tcp6, not the established connection.
    assert listening_inodes([TCP, TCP6], 8080) == {"4242", "4545"}
    assert listening_inodes([TCP], 80) == {"4444"}
    assert listening_inodes([TCP, "garbage\nshort line\n"], 9) == set()


def test_a_process_cgroup_for_a_v1_controller() -> None:
    text = "9:name=systemd:/\n4:memory:/job/1\n2:cpu,cpuacct:/chaosrun_cpu_quota_7\n0::/\n"
    assert cgroup_path(text, "cpu") == "/chaosrun_cpu_quota_7"
    assert cgroup_path(text, "memory") == "/job/1"
    assert cgroup_path(text, "pids") is None


def test_the_real_upstream_of_a_route_through_the_recording_relay() -> None:
    argv = [
        "python", "-m", "chaosrun.record.relay",
        "--route", "auth=40001=127.0.0.1:30001",
        "--route", "catalog=40002=127.0.0.1:30002",
        "--out", "recording.jsonl",
    ]  # fmt: skip
    assert relay_route_upstream(argv, "catalog") == "127.0.0.1:30002"
    assert relay_route_upstream(argv, "recommendations") is None


def test_without_root_or_cgroups_a_cpu_quota_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_host.os, "geteuid", lambda: 1000)
    assert cpu_cgroup_problem() == "root (it moves a process into a cgroup with a CPU quota)"
    monkeypatch.setattr(_host.os, "geteuid", lambda: 0)
    assert cpu_cgroup_problem(tmp_path) == (
        f"a cgroup v1 cpu controller with CFS quotas at {tmp_path} (none there)"
    )
    log = tmp_path / "undo.log"
    monkeypatch.setenv("CHAOSRUN_UNDO_LOG", str(log))
    monkeypatch.setattr(cpu_quota, "requires", lambda: "root (for the test)")
    with pytest.raises(ChaosrunError, match=r"^cpu_quota needs root \(for the test\)$"):
        cpu_quota.inject(quota_percent=20, configuration={})
    assert not log.exists()  # nothing recorded, nothing changed


def test_an_undo_entry_naming_another_cgroup_is_refused() -> None:
    with pytest.raises(ChaosrunError, match="is not a cgroup chaosrun made"):
        cpu_quota.undo({"cgroup": "/sys/fs/cgroup/cpu/system.slice"}, 1.0)
    with pytest.raises(ChaosrunError, match="is not a cgroup chaosrun made"):
        cpu_quota.undo({"cgroup": "/tmp/chaosrun_cpu_quota_1"}, 1.0)


def test_the_dry_run_description_of_a_cpu_quota() -> None:
    describe = REGISTRY["cpu_quota"].describe
    assert describe("inject", "catalog", {"quota_percent": 20}, "", None) == (
        "limit the process behind proxy catalog to 20% of one core (cgroup v1 cpu quota)",
        "mkdir /sys/fs/cgroup/cpu/chaosrun_cpu_quota_<pid>, write cpu.cfs_quota_us and "
        "cgroup.procs",
    )
    assert describe("revert", "", {}, "", None)[0] == (
        "move the service under test back to its own cgroup and remove chaosrun_cpu_quota_<pid>"
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("resource-exhaustion-cpu", "cpu_quota"),
        ("resource-exhaustion-memory", "memory_pressure"),
        ("resource-exhaustion-disk", "disk_full"),
    ],
)
def test_a_run_on_a_host_without_what_a_fault_needs_is_refused_before_anything_starts(
    name: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from chaosrun.engine.preflight import host_problems, target_refusal
    from chaosrun.errors import EXIT_UNAVAILABLE, InputError
    from chaosrun.load import load_experiment

    path = Path(__file__).resolve().parents[2] / "experiments" / f"{name}.yaml"
    experiment = load_experiment(path)
    lacking = replace(REGISTRY[kind], requires=lambda: "root (as a test says)")
    monkeypatch.setitem(REGISTRY, kind, lacking)  # type: ignore[arg-type]
    needs = f"{kind} needs root (as a test says)"
    assert host_problems(experiment) == [
        ("method[0].provider", needs),
        ("method[1].provider", needs),
        ("rollbacks[0].provider", needs),
    ]
    # Before Toxiproxy is asked anything (this one does not exist): exit 3, one line.
    refused = target_refusal(experiment, "http://127.0.0.1:1", "http://127.0.0.1:1")
    assert refused is not None and not isinstance(refused, InputError)
    assert refused.exit_code == EXIT_UNAVAILABLE
    line = experiment.line("method[0].provider")
    assert str(refused) == f"{path}:{line}: method[0].provider: {needs}"


MOUNTINFO = (
    "garbage line\n"
    "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "23 1 0:22 / /tmp/five - tmpfs chaosrun-disk-full-min\n"  # 5 fields, no super options
    "24 1 0:23 / /tmp/a\\zzz\\XX1 rw - tmpfs chaosrun-disk-full-odd rw - x\n"
    "25 1 0:24 / /tmp/four - tmpfs\n"
    "95 22 0:52 / /tmp/lab\\040one/data rw,relatime - tmpfs chaosrun-disk-full-ab12 rw,size=4k\n"
    "96 22 0:53 / /tmp/other rw - tmpfs tmpfs rw\n"
    "97 95 0:54 / /tmp/x rw - tmpfs chaosrun-disk-full-cd34 rw\n"
    "garbage line\n"
)


def test_mounts_by_source_from_mountinfo() -> None:
    assert _host.mounts_from(MOUNTINFO, "chaosrun-disk-full-") == [
        ("/tmp/five", "chaosrun-disk-full-min"),
        ("/tmp/a\\zzz\\XX1", "chaosrun-disk-full-odd"),  # a backslash not before 3 octal digits
        ("/tmp/lab one/data", "chaosrun-disk-full-ab12"),
        ("/tmp/x", "chaosrun-disk-full-cd34"),
    ]
    assert _host.mounts_from(MOUNTINFO, "nothing") == []


def test_a_fill_keeps_its_margin() -> None:
    mb = disk_fill.MB
    assert disk_fill.free_after(2048 * mb, 1024, 1024) is None  # exactly the margin left
    assert disk_fill.free_after(2048 * mb, 1025, 1024) == (
        "filling 1025 MB would leave 1023 MB free of 2048 MB, below keep_free_mb 1024"
    )
    assert disk_fill.free_after(10 * mb, 64, 64) == (
        "filling 64 MB would leave 0 MB free of 10 MB, below keep_free_mb 64"
    )


def test_the_dry_run_description_of_disk_faults() -> None:
    effect, call = REGISTRY["disk_full"].describe("inject", "", {"free_kb": 8}, "", None)
    assert effect == (
        "fill the disk under the --data-dir of the service under test: a tmpfs with 8 kB free "
        "mounted over it (ENOSPC)"
    )
    assert call == "mount -t tmpfs -o size=12k chaosrun-disk-full-<id>, write .chaosrun-disk-full"
    effect, _ = REGISTRY["disk_fill"].describe(
        "inject", "", {"path": "/srv", "size_mb": 100}, "", None
    )
    assert effect == "fill 100 MB of the filesystem under /srv, keeping at least 1024 MB free"
    effect, _ = REGISTRY["disk_fill"].describe(
        "inject", "", {"path": "/srv", "size_mb": 100, "keep_free_mb": 64}, "", None
    )
    assert effect == "fill 100 MB of the filesystem under /srv, keeping at least 64 MB free"
    assert REGISTRY["disk_fill"].describe("revert", "", {}, "", None) == (
        "delete the chaosrun fill file in <path>",
        "unlink <path>/.chaosrun-fill-<id>",
    )


def test_without_root_or_cgroups_memory_and_disk_faults_say_what_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv("CHAOSRUN_UNDO_LOG", str(log))
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(_host.os, "geteuid", lambda: 1000)  # (the one os module of both)
    assert _host.memory_cgroup_problem() == (
        "root (it moves a process into a cgroup with a memory limit)"
    )
    assert REGISTRY["disk_full"].requires is not None
    assert REGISTRY["disk_full"].requires() == (
        "root (it mounts a size-limited tmpfs over the service's data directory)"
    )
    with pytest.raises(ChaosrunError, match=r"^disk_full needs root \(it mounts"):
        disk_full.inject(path=str(data))
    monkeypatch.setattr(_host.os, "geteuid", lambda: 0)
    assert _host.memory_cgroup_problem(tmp_path) == (
        f"a cgroup v1 memory controller at {tmp_path} (none there)"
    )
    monkeypatch.setattr(memory_pressure, "requires", lambda: "root (for the test)")
    with pytest.raises(ChaosrunError, match=r"^memory_pressure needs root \(for the test\)$"):
        memory_pressure.inject(proxy="catalog", configuration={})
    assert not log.exists()  # nothing recorded, nothing changed
    assert disk_full.mounted() == []


MEMINFO = "MemTotal:       8000000 kB\nMemFree:  100 kB\nEmpty:\nMemAvailable:   2048000 kB\n"


def test_an_allocation_that_would_push_the_host_toward_oom_is_refused() -> None:
    # 2000 MiB available, reserve max(512, 7812 // 10 = 781) MiB: up to 1219 MiB allowed.
    assert memory_pressure.host_refusal(MEMINFO, 1219) is None
    assert memory_pressure.host_refusal(MEMINFO, 1220) == (
        "allocate_mb 1220 would leave less than 781 MiB of this host's 2000 MiB available"
    )
    small = "MemTotal: 1024000 kB\nMemAvailable: 1024000 kB\n"  # the 512 MiB floor applies
    assert memory_pressure.host_refusal(small, 488) is None
    assert memory_pressure.host_refusal(small, 489) is not None
    assert memory_pressure.host_refusal("MemTotal: 1 kB\n", 1) == (
        "this host's available memory is unknown (/proc/meminfo without MemAvailable)"
    )


def test_a_writable_memory_controller_is_all_a_memory_limit_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_host.os, "geteuid", lambda: 0)
    (tmp_path / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert _host.memory_cgroup_problem(tmp_path) is None
    writable = {str(tmp_path): False}
    monkeypatch.setattr(
        _host.os, "access", lambda path, mode: mode == os.W_OK and writable.get(str(path), True)
    )
    assert _host.memory_cgroup_problem(tmp_path) == (
        f"a writable cgroup v1 memory controller at {tmp_path} (read-only here)"
    )


def test_processes_are_found_by_their_module_and_tag(tmp_path: Path) -> None:
    def proc(pid: str, *argv: str) -> None:
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")

    proc("10", "python", "-m", "chaosrun.faults._hog", "--mb", "4", "--tag", "mem-a-1")
    proc("11", "python", "-m", "chaosrun.faults._hog", "--tag", "mem-b-2")
    proc("12", "python", "-m", "other", "--tag", "mem-a-3")
    proc("13", "python", "-m", "chaosrun.faults._hog", "--tag")  # no tag value
    (tmp_path / "15").mkdir()
    (tmp_path / "15" / "cmdline").write_bytes(
        b"\xff\xfe\0-m\0chaosrun.faults._hog\0--tag\0mem-a-9\0"
    )
    (tmp_path / "self").mkdir()
    (tmp_path / "14").mkdir()  # gone: no cmdline
    found = _host.processes_tagged("chaosrun.faults._hog", "mem-a", tmp_path)
    assert sorted(found) == [10, 15]  # (a command line that is not UTF-8 is still read)
    assert sorted(_host.processes_tagged("chaosrun.faults._hog", "mem-", tmp_path)) == [10, 11, 15]


def test_a_fill_file_is_deleted_once_and_only_a_chaosrun_one(tmp_path: Path) -> None:
    made = tmp_path / f"{disk_fill.PREFIX}abc"
    made.write_bytes(b"x")
    assert disk_fill.undo({"file": str(made)}, 1.0) is True
    assert not made.exists()
    assert disk_fill.undo({"file": str(made)}, 1.0) is False
    other = tmp_path / "data.db"
    other.write_bytes(b"x")
    with pytest.raises(ChaosrunError, match="is not a file chaosrun made"):
        disk_fill.undo({"file": str(other)}, 1.0)
    assert other.exists()
