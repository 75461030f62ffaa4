"""chaosrun.undolog and chaosrun.faults._host at their edges (pinned against surviving mutants):
the records a run appends, what a torn or foreign line does, a fake /proc."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.faults import _host


def _lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_applied_and_done_records_and_their_times(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    first = undolog.record(log, "latency", proxy="a")
    second = undolog.record(log, "fail_for", proxy="b")
    undolog.mark_applied(log, first.id, 10.5)
    undolog.mark_applied(log, second.id, 11.0, until=12.25)
    undolog.mark_done(log, first.id)
    assert os.stat(log).st_mode & 0o777 == 0o600
    assert log.read_text().count(", ") == 0  # compact separators: one line, no spaces
    records = _lines(log)
    assert records[2] == {"kind": "applied", "id": first.id, "at": 10.5, "until": None}
    assert records[3] == {"kind": "applied", "id": second.id, "at": 11.0, "until": 12.25}
    assert records[4]["kind"] == "done" and isinstance(records[4]["at"], float)
    assert first.at > 1e9 and second.at >= first.at
    assert undolog.applied_times(log) == {first.id: (10.5, None), second.id: (11.0, 12.25)}
    assert undolog.done_ids(log) == {first.id}
    assert undolog.pending_entries(log) == [second]
    assert undolog.self_ended(log, now=12.0) == set()
    assert undolog.self_ended(log, now=12.25) == {second.id}
    assert undolog.self_ended(log) == {second.id}  # now: long after 12.25


def test_torn_foreign_and_unicode_lines_are_read_past(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    entry = undolog.record(log, "latency", proxy="café")
    with open(log, "a", encoding="utf-8") as out:
        out.write("[1, 2]\n")  # JSON, but not a record
        out.write('{"no": "kind"}\n')
        out.write("not json at all\n")
        out.write('{"kind": "undo", "id": "x"}\n')  # neither params nor op: not an entry
        out.write('{"kind": "undo", "id": "y", "op": "enable_proxy", "at": "soon"}\n')
        out.write('{"kind": "undo", "id": "torn", "fault": "lat')
    assert [e.id for e in undolog.all_entries(log)] == [entry.id, "y"]
    assert undolog.all_entries(log)[0].proxy == "café"
    late = undolog.all_entries(log)[1]
    assert (late.fault, late.at, late.params) == ("proxy_down", 0.0, {})
    assert undolog.all_entries(tmp_path / "missing.log") == []


def test_a_legacy_op_without_a_known_kind_keeps_its_name(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    log.write_text('{"kind": "undo", "id": "7", "op": "reset_all", "at": 3}\n')
    (entry,) = undolog.all_entries(log)
    assert (entry.id, entry.fault, entry.at) == ("7", "reset_all", 3.0)


def test_the_undo_log_of_this_process_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(undolog.UNDO_LOG_ENV, raising=False)
    assert undolog.log_from_env() is None
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, "")
    assert undolog.log_from_env() is None
    monkeypatch.setenv("CHAOSRUN_UNDO_LOG", "/run/x/undo.log")
    assert undolog.log_from_env() == Path("/run/x/undo.log")


def test_host_text_parsers_at_their_edges() -> None:
    # IPv6 addresses hold colons only in /proc's hex form, but the port is always the last field.
    line = "   0: 0000:0000:1F90 00000000:0000 0A 0 0 0 0 0 99 1"
    assert _host.listening_inodes(["header\n" + line], 8080) == {"99"}
    # Exactly ten fields is enough (the inode is the tenth).
    ten = "   0: 0100007F:1F90 00000000:0000 0A 0 0 0 0 0 77"
    assert _host.listening_inodes(["header\n" + ten], 8080) == {"77"}
    # A cgroup path may hold a colon.
    assert _host.cgroup_path("3:cpu:/a:b\n", "cpu") == "/a:b"
    argv = ["relay", "--route", "db=1=127.0.0.1:5432=x"]
    assert _host.relay_route_upstream(argv, "db") == "127.0.0.1:5432=x"
    assert _host.relay_route_upstream(["--route", "db=1="], "db") is None
    assert _host.relay_route_upstream(["x", "--route", "db=1=h:2"], "db") == "h:2"


def test_a_read_only_cpu_controller_is_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_host.os, "geteuid", lambda: 0)
    (tmp_path / "cpu.cfs_quota_us").write_text("-1\n")
    monkeypatch.setattr(_host.os, "access", lambda path, mode: False)
    assert _host.cpu_cgroup_problem(tmp_path) == (
        f"a writable cgroup v1 cpu controller at {tmp_path} (read-only here)"
    )
    monkeypatch.setattr(_host.os, "access", lambda path, mode: path == tmp_path and mode == os.W_OK)
    assert _host.cpu_cgroup_problem(tmp_path) is None


def test_the_process_holding_a_listening_socket_in_a_fake_proc(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    header = "sl local rem st tx rx tr tm retr uid timeout inode\n"
    (proc / "net" / "tcp").write_text(
        header + "0: 0100007F:1F90 00000000:0000 0A 0 0 0 0 0 555 1\n"
    )  # no tcp6: skipped
    for pid, target in (("12", "socket:[444]"), ("34", "socket:[555]"), ("self", "x")):
        fd = proc / pid / "fd"
        fd.mkdir(parents=True)
        (fd / "3").symlink_to(target)
    (proc / "56").mkdir()  # a process gone between the listing and the read: no fd dir
    assert _host.pid_listening_on(8080, proc) == 34
    assert _host.pid_listening_on(80, proc) is None
    # Listening on IPv6 only: found in tcp6.
    (proc / "net" / "tcp").write_text(header)
    (proc / "net" / "tcp6").write_text(
        header + "0: 00000000000000000000000000000000:0050 00000000:0000 0A 0 0 0 0 0 444 1\n"
    )
    assert _host.pid_listening_on(80, proc) == 12


def test_a_log_with_bytes_that_are_not_utf8_is_still_read(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    entry = undolog.record(log, "latency", proxy="a")
    with open(log, "ab") as out:
        out.write(b'{"kind": "done", "id": "\xff\xfe"}\n')  # a torn write of garbage
    assert undolog.all_entries(log) == [entry]
    assert undolog.pending_entries(log) == [entry]
