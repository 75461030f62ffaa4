"""chaosrun.measure.timeline: the CSV timeline as written by the load process and read back."""

from __future__ import annotations

from pathlib import Path

from chaosrun.measure.timeline import (
    HEADER,
    RequestRecord,
    TimelineTail,
    format_record,
    parse_records,
    read_timeline,
)

# Every field distinct, so a field read from the wrong column shows.
LINE = "1796017541.250000,1796017541.500000,12.500,503,,/api/play,1,5f3a09c1-7\n"
RECORD = RequestRecord(
    1796017541.25, 1796017541.5, 12.5, 503, "", "/api/play", True, request_id="5f3a09c1-7"
)
ERROR_LINE = "1796017542.000000,1796017542.125000,2000.000,0,timeout,/api/browse,0,\n"
ERROR_RECORD = RequestRecord(1796017542.0, 1796017542.125, 2000.0, 0, "timeout", "/api/browse")


def test_a_line_maps_each_column_to_its_field() -> None:
    assert list(parse_records([LINE, ERROR_LINE])) == [RECORD, ERROR_RECORD]
    assert format_record(RECORD) == LINE and format_record(ERROR_RECORD) == ERROR_LINE


def test_a_seven_column_line_from_before_request_ids_reads_with_an_empty_id() -> None:
    old = "1796017541.250000,1796017541.500000,12.500,503,,/api/play,1\n"
    assert list(parse_records([old])) == [
        RequestRecord(1796017541.25, 1796017541.5, 12.5, 503, "", "/api/play", True)
    ]


def test_the_header_and_a_torn_last_line_are_skipped() -> None:
    torn = LINE.rstrip("\n")  # all eight fields, but the writer has not finished the line
    assert list(parse_records([HEADER + "\n", LINE, torn])) == [RECORD]


def test_a_bad_line_is_skipped_and_reading_goes_on() -> None:
    lines = [
        "1.0,2.0,3.0\n",  # too few fields
        LINE,
        "x,1796017541.5,12.5,200,,/a,0\n",  # not a number
        ERROR_LINE,
    ]
    assert list(parse_records(lines)) == [RECORD, ERROR_RECORD]


def test_read_timeline_sorts_by_scheduled_time(tmp_path: Path) -> None:
    path = tmp_path / "timeline.csv"
    path.write_text(HEADER + "\n" + ERROR_LINE + LINE, encoding="utf-8")
    assert read_timeline(path) == [RECORD, ERROR_RECORD]
    assert read_timeline(tmp_path / "missing.csv") == []


def test_tail_reads_only_complete_lines_appended_since_the_last_call(tmp_path: Path) -> None:
    path = tmp_path / "timeline.csv"
    tail = TimelineTail(path)
    assert tail.read_new() == []  # not created yet
    path.write_bytes(LINE.encode())  # no header: the very first byte is a record's
    assert tail.read_new() == [RECORD]
    assert tail.read_new() == []
    with path.open("ab") as handle:
        handle.write(ERROR_LINE[:20].encode())
    assert tail.read_new() == []  # torn: waits
    with path.open("ab") as handle:
        handle.write(ERROR_LINE[20:].encode())
    assert tail.read_new() == [ERROR_RECORD]


def test_tail_replaces_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "timeline.csv"
    path.write_bytes(b"1796017541.250000,1796017541.500000,12.500,503,,/api/\xff,1\n")
    assert TimelineTail(path).read_new() == [
        RequestRecord(1796017541.25, 1796017541.5, 12.5, 503, "", "/api/\ufffd", True)
    ]
