"""check_writes and writes_report on built timelines: the write RTO (from the fault's start to
the first acknowledged write after the last unacknowledged one during the fault) and the lost
writes (acknowledged request ids missing from the database read back after the run)."""

from __future__ import annotations

from chaosrun.checks.expectations import DegradationExpectation, WritesExpectation
from chaosrun.checks.observation import FaultWindow, Observation, StoredWrites
from chaosrun.checks.writes import check_writes, write_figures, writes_report
from chaosrun.measure.timeline import RequestRecord

T0 = 1_800_000_000.0  # an epoch second; T0 + k/8 is exact in a float
PLAY = "/api/play"
SOURCE = "primary 127.0.0.1:21901 (named by 3 of 3 Sentinels)"
FAULT = FaultWindow("region_outage", "a", T0 + 1.0, T0 + 3.0)
EXPECT = WritesExpectation(fault="region_outage", endpoint=PLAY, rto_s=2.0, lost_max=0)
RTO_EXPECTED = "writes on /api/play acknowledged again within 2.000 s"
LOST_EXPECTED = "at most 0 acknowledged writes missing from the database"


def _write(
    at: float,
    rid: str = "",
    status: int = 200,
    *,
    ms: float = 10.0,
    degraded: bool = False,
    error: str = "",
    endpoint: str = PLAY,
) -> RequestRecord:
    return RequestRecord(T0 + at, T0 + at, ms, status, error, endpoint, degraded, rid)


def _timeline(failing: tuple[float, float] = (1.0, 2.0), ms: float = 10.0) -> list[RequestRecord]:
    """A write every 0.25 s over 5 s, ids w00..w19; those scheduled in `failing` answer 502."""
    records = []
    for i in range(20):
        at = i / 4
        status = 502 if failing[0] <= at < failing[1] else 200
        records.append(_write(at, f"w{i:02d}", status, ms=ms))
    return records


def _stored(*ids: str, problem: str | None = None) -> StoredWrites:
    return StoredWrites(frozenset(ids), SOURCE, T0 + 10.0, problem)


def _all_ids_but(*missing: str) -> StoredWrites:
    return _stored(*(f"w{i:02d}" for i in range(20) if f"w{i:02d}" not in missing))


def _observe(
    timeline: list[RequestRecord],
    faults: tuple[FaultWindow, ...] = (FAULT,),
    stored: StoredWrites | None = None,
) -> Observation:
    return Observation(tuple(timeline), faults, stored=stored)


def _verdicts(
    timeline: list[RequestRecord],
    faults: tuple[FaultWindow, ...] = (FAULT,),
    stored: StoredWrites | None = None,
    expect: WritesExpectation = EXPECT,
) -> dict[str, tuple[str, str]]:
    found = check_writes(_observe(timeline, faults, stored), expect)
    return {v.check: (v.status, v.observed) for v in found}


def _rto(
    timeline: list[RequestRecord],
    faults: tuple[FaultWindow, ...] = (FAULT,),
    expect: WritesExpectation = EXPECT,
) -> tuple[str, str]:
    return _verdicts(timeline, faults, None, expect)["writes.rto"]


def _lost(
    timeline: list[RequestRecord],
    stored: StoredWrites | None,
    expect: WritesExpectation = EXPECT,
) -> tuple[str, str]:
    return _verdicts(timeline, (FAULT,), stored, expect)["writes.lost"]


# --- the write RTO ---------------------------------------------------------------------------


def test_no_fault_of_the_kind_judges_neither_verdict() -> None:
    other = FaultWindow("latency", "a", T0 + 1.0, T0 + 3.0)
    for faults in ((), (other,)):
        found = check_writes(_observe(_timeline(), faults, _all_ids_but()), EXPECT)
        assert [(v.check, v.status, v.passed, v.expected, v.observed) for v in found] == [
            (
                "writes.rto",
                "not-judged",
                False,
                RTO_EXPECTED,
                "not judged: a region_outage fault during the run",
            ),
            (
                "writes.lost",
                "not-judged",
                False,
                LOST_EXPECTED,
                "not judged: a region_outage fault during the run",
            ),
        ]
        assert write_figures(_observe(_timeline(), faults), EXPECT) is None


def test_all_writes_acknowledged_during_the_fault_pass() -> None:
    found = check_writes(_observe(_timeline(failing=(0, 0))), EXPECT)
    rto = found[0]
    assert (rto.check, rto.status, rto.passed, rto.expected, rto.observed) == (
        "writes.rto",
        "passed",
        True,
        RTO_EXPECTED,
        "all 8 writes during the fault acknowledged",
    )


def test_a_single_acknowledged_write_during_the_fault_passes() -> None:
    timeline = [_write(0.5, "a"), _write(2.0, "b"), _write(4.0, "c")]
    assert _rto(timeline) == ("passed", "all 1 write during the fault acknowledged")


def test_no_write_during_the_fault_is_not_judged() -> None:
    timeline = [_write(0.5, "a"), _write(3.5, "b")]
    rto = check_writes(_observe(timeline), EXPECT)[0]
    assert (rto.check, rto.status, rto.passed, rto.expected, rto.observed) == (
        "writes.rto",
        "not-judged",
        False,
        RTO_EXPECTED,
        "not judged: writes on /api/play during it",
    )


def test_rto_runs_to_the_answer_of_the_first_acknowledged_write_after_the_last_failure() -> None:
    # 1.0, 1.25, 1.5, 1.75 fail; 2.0 answers after 125 ms: 2.125 - 1.0
    timeline = _timeline(failing=(1.0, 2.0), ms=125.0)
    assert _rto(timeline) == (
        "passed",
        "write RTO 1.125 s (4 of 8 writes unacknowledged, first at +0.000 s)",
    )
    figures = write_figures(_observe(timeline), EXPECT)
    assert figures is not None
    assert figures.rto_s == 1.125
    assert figures.first_failed_at == T0 + 1.0
    assert (figures.writes, figures.unacknowledged) == (8, 4)


def test_rto_uses_the_answer_time_to_the_millisecond() -> None:
    timeline = [_write(0.5, "a"), _write(1.1, "b", 502), _write(1.3, "c", ms=437.0)]
    status, observed = _rto(timeline)
    assert (status, observed) == (
        "passed",
        "write RTO 0.737 s (1 of 2 writes unacknowledged, first at +0.100 s)",
    )
    figures = write_figures(_observe(timeline), EXPECT)
    assert figures is not None and figures.rto_s is not None
    assert abs(figures.rto_s - 0.737) < 1e-6


def test_flapping_counts_from_the_last_unacknowledged_write() -> None:
    timeline = [
        _write(0.5, "a"),
        _write(1.25, "b", 502),
        _write(1.5, "c"),
        _write(1.75, "d", 502),
        _write(2.0, "e", ms=250.0),
        _write(2.25, "f", 0, error="timeout", ms=2000.0),
        _write(2.5, "g", ms=125.0),
        _write(2.75, "h"),
    ]
    # last failure at 2.25; 2.5 answered at 2.625: 1.625 after the injection at 1.0
    assert _rto(timeline) == (
        "passed",
        "write RTO 1.625 s (3 of 7 writes unacknowledged, first at +0.250 s)",
    )


def test_a_write_at_the_instant_of_the_last_failure_is_not_after_it() -> None:
    timeline = [
        _write(1.5, "a", ms=10.0),
        _write(1.5, "b", 502),
        _write(2.0, "c", ms=500.0),
    ]
    assert _rto(timeline) == (
        "passed",
        "write RTO 1.500 s (1 of 3 writes unacknowledged, first at +0.500 s)",
    )


def test_a_failure_after_the_fault_cleared_does_not_move_the_rto() -> None:
    timeline = _timeline(failing=(1.0, 2.0), ms=125.0)
    timeline[16] = _write(4.0, "w16", 502)
    assert _rto(timeline) == (
        "passed",
        "write RTO 1.125 s (4 of 8 writes unacknowledged, first at +0.000 s)",
    )


def test_acknowledged_again_only_after_the_fault_cleared() -> None:
    timeline = _timeline(failing=(1.0, 3.5), ms=500.0)
    # last failure during [1, 3): 2.75; 3.0 fails too, 3.5 answers at 4.0
    assert _rto(timeline) == (
        "failed",
        "write RTO 3.000 s (8 of 8 writes unacknowledged, first at +0.000 s)",
    )


def test_never_acknowledged_again_fails() -> None:
    timeline = _timeline(failing=(1.25, 9.0))
    rto = check_writes(_observe(timeline), EXPECT)[0]
    assert (rto.check, rto.status, rto.passed, rto.expected, rto.observed) == (
        "writes.rto",
        "failed",
        False,
        RTO_EXPECTED,
        "not acknowledged again by the end of the run (7 of 8 writes unacknowledged, "
        "first at +0.250 s)",
    )
    assert rto.to_dict()["passed"] is False
    figures = write_figures(_observe(timeline), EXPECT)
    assert figures is not None and figures.rto_s is None


def test_a_fault_never_cleared_lasts_to_the_end_of_the_observation() -> None:
    open_fault = FaultWindow("region_outage", "a", T0 + 1.0, None)
    timeline = _timeline(failing=(1.0, 9.0))
    assert _rto(timeline, faults=(open_fault,)) == (
        "failed",
        "not acknowledged again by the end of the run (16 of 16 writes unacknowledged, "
        "first at +0.000 s)",
    )


def test_rto_equal_to_the_objective_passes_and_just_above_fails() -> None:
    timeline = [_write(0.5, "a"), _write(1.0, "b", 502), _write(2.0, "c", ms=500.0)]
    observed = "write RTO 1.500 s (1 of 2 writes unacknowledged, first at +0.000 s)"
    at = WritesExpectation(fault="region_outage", endpoint=PLAY, rto_s=1.5, lost_max=None)
    below = WritesExpectation(fault="region_outage", endpoint=PLAY, rto_s=1.499, lost_max=None)
    assert _rto(timeline, expect=at) == ("passed", observed)
    assert _rto(timeline, expect=below) == ("failed", observed)
    [verdict] = check_writes(_observe(timeline), below)
    assert verdict.expected == "writes on /api/play acknowledged again within 1.499 s"


def test_writes_on_other_endpoints_are_ignored() -> None:
    timeline = [
        _write(0.5, "a"),
        _write(1.0, "x1", 502, endpoint="/api/browse"),
        _write(1.25, "b", ms=250.0),
        _write(1.5, "x2", 502, endpoint="/api/browse"),
        _write(2.0, "c", 502),
        _write(2.5, "x3", 502, endpoint="/api/browse"),
        _write(2.75, "d", ms=125.0),
        _write(2.8, "x4", endpoint="/api/browse"),
    ]
    assert _rto(timeline) == (
        "passed",
        "write RTO 1.875 s (1 of 3 writes unacknowledged, first at +1.000 s)",
    )
    # ids on other endpoints are not writes: not looked up in the database
    assert _lost(timeline, stored=_stored("a", "b", "d")) == (
        "passed",
        f"0 of 3 acknowledged writes (2 during the fault) missing from the {SOURCE}",
    )


def test_degraded_server_error_and_transport_error_are_unacknowledged() -> None:
    for bad in (
        _write(1.5, "b", 200, degraded=True),
        _write(1.5, "b", 502),
        _write(1.5, "b", 0, error="timeout"),
        _write(1.5, "b", 201),
    ):
        timeline = [_write(0.5, "a"), _write(1.25, "c"), bad, _write(2.0, "d", ms=250.0)]
        assert _rto(timeline) == (
            "passed",
            "write RTO 1.250 s (1 of 3 writes unacknowledged, first at +0.500 s)",
        ), bad
        # an unacknowledged write is not looked for in the database
        assert _lost(timeline, stored=_stored("a", "c", "d")) == (
            "passed",
            f"0 of 3 acknowledged writes (2 during the fault) missing from the {SOURCE}",
        ), bad


def test_a_write_at_the_injection_belongs_to_the_period_one_at_the_clearing_does_not() -> None:
    at_injection = [_write(1.0, "a", 502), _write(1.25, "b", ms=250.0), _write(3.0, "c", 502)]
    assert _rto(at_injection) == (
        "passed",
        "write RTO 0.500 s (1 of 2 writes unacknowledged, first at +0.000 s)",
    )
    just_before = [_write(0.875, "a", 502), _write(1.25, "b"), _write(3.0, "c", 502)]
    assert _rto(just_before) == ("passed", "all 1 write during the fault acknowledged")
    before_clearing = [_write(1.25, "b"), _write(2.875, "c", 502), _write(3.0, "d")]
    assert _rto(before_clearing) == (
        "failed",
        "write RTO 2.010 s (1 of 2 writes unacknowledged, first at +1.875 s)",
    )


def test_every_window_of_the_kind_makes_one_period() -> None:
    first = FaultWindow("region_outage", "a", T0 + 1.0, T0 + 1.5)
    second = FaultWindow("region_outage", "b", T0 + 2.5, T0 + 3.0)
    other = FaultWindow("latency", "a", T0 + 0.25, T0 + 4.5)
    timeline = _timeline(failing=(2.0, 2.25), ms=250.0)  # 2.0 lies between the two windows
    assert _rto(timeline, faults=(other, second, first)) == (
        "passed",
        "write RTO 1.500 s (1 of 8 writes unacknowledged, first at +1.000 s)",
    )


def test_only_the_configured_verdicts_are_given() -> None:
    timeline = _timeline()
    only_rto = WritesExpectation(fault="region_outage", endpoint=PLAY, rto_s=2.0, lost_max=None)
    only_lost = WritesExpectation(fault="region_outage", endpoint=PLAY)
    assert list(_verdicts(timeline, stored=_all_ids_but(), expect=only_rto)) == ["writes.rto"]
    assert list(_verdicts(timeline, stored=_all_ids_but(), expect=only_lost)) == ["writes.lost"]
    assert list(_verdicts(timeline, stored=_all_ids_but())) == ["writes.rto", "writes.lost"]


# --- lost writes -----------------------------------------------------------------------------


def test_lost_not_judged_without_the_database() -> None:
    found = check_writes(_observe(_timeline()), EXPECT)
    lost = found[1]
    assert (lost.check, lost.status, lost.passed, lost.expected, lost.observed) == (
        "writes.lost",
        "not-judged",
        False,
        LOST_EXPECTED,
        "not judged: the database read back after the run (not read)",
    )


def test_lost_not_judged_when_the_database_could_not_be_read() -> None:
    stored = _stored("w00", problem="no primary named by a majority of Sentinels")
    assert _lost(_timeline(), stored=stored) == (
        "not-judged",
        "not judged: the database read back after the run "
        "(no primary named by a majority of Sentinels)",
    )
    figures = write_figures(_observe(_timeline(), stored=stored), EXPECT)
    assert figures is not None and figures.lost is None


def test_lost_not_judged_with_an_empty_problem() -> None:
    assert _lost(_timeline(), stored=_stored("w00", problem="")) == (
        "not-judged",
        "not judged: the database read back after the run (not read)",
    )


def test_lost_not_judged_without_an_acknowledged_write() -> None:
    timeline = _timeline(failing=(0.0, 9.0))
    lost = check_writes(_observe(timeline, stored=_stored("w00")), EXPECT)[1]
    assert (lost.check, lost.status, lost.passed, lost.expected, lost.observed) == (
        "writes.lost",
        "not-judged",
        False,
        LOST_EXPECTED,
        "not judged: an acknowledged write on /api/play",
    )


def test_nothing_lost_passes() -> None:
    found = check_writes(_observe(_timeline(), stored=_all_ids_but()), EXPECT)
    lost = found[1]
    assert (lost.check, lost.status, lost.passed, lost.expected, lost.observed) == (
        "writes.lost",
        "passed",
        True,
        LOST_EXPECTED,
        f"0 of 16 acknowledged writes (4 during the fault) missing from the {SOURCE}",
    )


def test_lost_writes_before_during_and_after_the_fault_in_schedule_order() -> None:
    # acknowledged: w00-w03, w08-w19 (w04-w07 failed); w05 failed and is missing: not lost
    stored = _all_ids_but("w15", "w01", "w05", "w09", "w10")
    assert _lost(_timeline(), stored=stored) == (
        "failed",
        f"4 of 16 acknowledged writes (4 during the fault) missing from the {SOURCE}; "
        "2 of them acknowledged during the fault: w01, w09, w10, w15",
    )
    figures = write_figures(_observe(_timeline(), stored=stored), EXPECT)
    assert figures is not None
    assert figures.lost == ("w01", "w09", "w10", "w15")
    assert figures.during_ids == frozenset({"w08", "w09", "w10", "w11"})
    assert figures.acknowledged_ids == tuple(f"w{i:02d}" for i in range(20) if not 4 <= i < 8)


def test_lost_max_is_a_tolerance() -> None:
    stored = _all_ids_but("w02", "w18")
    one = WritesExpectation(fault="region_outage", endpoint=PLAY, lost_max=1)
    two = WritesExpectation(fault="region_outage", endpoint=PLAY, lost_max=2)
    observed = (
        f"2 of 16 acknowledged writes (4 during the fault) missing from the {SOURCE}; "
        "0 of them acknowledged during the fault: w02, w18"
    )
    assert check_writes(_observe(_timeline(), stored=stored), one)[0].expected == (
        "at most 1 acknowledged write missing from the database"
    )
    assert _lost(_timeline(), stored=stored, expect=one) == ("failed", observed)
    assert _lost(_timeline(), stored=stored, expect=two) == ("passed", observed)


def test_the_observed_text_lists_ten_ids_and_counts_the_rest() -> None:
    lost = [f"w{i:02d}" for i in (0, 1, 2, 3, 8, 9, 10, 11, 12, 13)]
    ten = _all_ids_but(*lost)
    assert _lost(_timeline(), stored=ten) == (
        "failed",
        f"10 of 16 acknowledged writes (4 during the fault) missing from the {SOURCE}; "
        "4 of them acknowledged during the fault: " + ", ".join(lost),
    )
    eleven = _all_ids_but(*lost, "w14")
    assert _lost(_timeline(), stored=eleven) == (
        "failed",
        f"11 of 16 acknowledged writes (4 during the fault) missing from the {SOURCE}; "
        "4 of them acknowledged during the fault: " + ", ".join(lost) + " and 1 more (journal)",
    )
    everything = _stored()
    assert _lost(_timeline(), stored=everything)[1].endswith(
        ": " + ", ".join(lost) + " and 6 more (journal)"
    )


def test_writes_without_a_request_id_are_not_counted() -> None:
    timeline = [
        _write(0.5, ""),
        _write(1.25, "b"),
        _write(1.5, ""),
        _write(2.0, "c", 502),
        _write(4.0, "d"),
    ]
    assert _lost(timeline, stored=_stored("d")) == (
        "failed",
        f"1 of 2 acknowledged writes (1 during the fault) missing from the {SOURCE}; "
        "1 of them acknowledged during the fault: b",
    )
    figures = write_figures(_observe(timeline, stored=_stored("d")), EXPECT)
    assert figures is not None
    assert figures.acknowledged_ids == ("b", "d")
    assert figures.during_ids == frozenset({"b"})


def test_only_ids_without_request_id_is_not_judged() -> None:
    timeline = [_write(0.5, ""), _write(1.5, ""), _write(4.0, "")]
    assert _lost(timeline, stored=_stored()) == (
        "not-judged",
        "not judged: an acknowledged write on /api/play",
    )


def test_one_acknowledged_write_in_the_sentence() -> None:
    timeline = [_write(1.5, "b", 502), _write(2.0, "c")]
    assert _lost(timeline, stored=_stored()) == (
        "failed",
        f"1 of 1 acknowledged write (1 during the fault) missing from the {SOURCE}; "
        "1 of them acknowledged during the fault: c",
    )


# --- writes_report ---------------------------------------------------------------------------


def test_report_gives_every_lost_id_and_the_counts() -> None:
    timeline = _timeline(failing=(1.0, 2.0), ms=125.0)
    stored = _stored("w04", "w05", "w06", "w07", "w19")  # the failed ones are there anyway
    other = DegradationExpectation(fault="region_outage", degraded_endpoints=(PLAY,))
    reports = writes_report(_observe(timeline, stored=stored), [other, "writes", EXPECT])
    expected_lost = [f"w{i:02d}" for i in range(19) if not 4 <= i < 8]
    assert len(expected_lost) == 15
    assert reports == [
        {
            "endpoint": PLAY,
            "fault": "region_outage",
            "writes_during_fault": 8,
            "unacknowledged_during_fault": 4,
            "rto_s": 1.125,
            "acknowledged": 16,
            "stored": 5,
            "database": SOURCE,
            "read_problem": None,
            "lost": expected_lost,
        }
    ]


def test_report_of_writes_all_acknowledged_has_a_zero_rto() -> None:
    [report] = writes_report(_observe(_timeline(failing=(0, 0)), stored=_all_ids_but()), [EXPECT])
    assert report["rto_s"] == 0.0
    assert (report["unacknowledged_during_fault"], report["lost"]) == (0, [])
    assert report["stored"] == 20


def test_report_without_a_fault_or_a_database() -> None:
    assert (
        writes_report(_observe(_timeline(), faults=()), [EXPECT, EXPECT])
        == [
            {
                "endpoint": PLAY,
                "fault": "region_outage",
                "writes_during_fault": None,
                "unacknowledged_during_fault": None,
                "rto_s": None,
                "acknowledged": None,
                "stored": None,
                "database": None,
                "read_problem": None,
                "lost": None,
            }
        ]
        * 2
    )


def test_report_when_the_database_could_not_be_read() -> None:
    stored = _stored("w00", problem="Sentinels disagree")
    timeline = _timeline(failing=(1.0, 9.0))
    [report] = writes_report(_observe(timeline, stored=stored), [EXPECT])
    assert report == {
        "endpoint": PLAY,
        "fault": "region_outage",
        "writes_during_fault": 8,
        "unacknowledged_during_fault": 8,
        "rto_s": None,
        "acknowledged": 4,
        "stored": None,
        "database": SOURCE,
        "read_problem": "Sentinels disagree",
        "lost": None,
    }


def test_report_skips_other_expectations() -> None:
    other = DegradationExpectation(fault="region_outage", degraded_endpoints=(PLAY,))
    assert writes_report(_observe(_timeline()), [other]) == []
    assert writes_report(_observe(_timeline()), []) == []


# --- WritesExpectation.invalid_fields --------------------------------------------------------


def test_a_valid_expectation_has_no_invalid_fields() -> None:
    assert WritesExpectation(fault="region_outage", endpoint=PLAY).invalid_fields() == []
    assert EXPECT.invalid_fields() == []
    sentinels = ("127.0.0.1:26379", "sentinel-b:26380", "[::1]:26381")
    assert (
        WritesExpectation(
            fault="region_outage", endpoint=PLAY, sentinels=sentinels
        ).invalid_fields()
        == []
    )
    only_rto = WritesExpectation(fault="region_outage", endpoint=PLAY, rto_s=1.0, lost_max=None)
    assert only_rto.invalid_fields() == []


def test_an_endpoint_without_a_slash_is_invalid() -> None:
    assert WritesExpectation(fault="region_outage", endpoint="api/play").invalid_fields() == [
        ("endpoint", "expected a path starting with '/', got 'api/play'")
    ]


def test_bad_sentinel_addresses_are_invalid() -> None:
    bad = ("localhost", ":26379", "localhost:", "localhost:port")
    expectation = WritesExpectation(
        fault="region_outage", endpoint=PLAY, sentinels=("127.0.0.1:26379", *bad)
    )
    assert expectation.invalid_fields() == [
        ("sentinels", f"expected HOST:PORT entries, got {address!r}") for address in bad
    ]


def test_nothing_to_check_is_invalid() -> None:
    nothing = WritesExpectation(fault="region_outage", endpoint="play", rto_s=None, lost_max=None)
    assert nothing.invalid_fields() == [
        ("endpoint", "expected a path starting with '/', got 'play'"),
        ("rto_s", "expected rto_s or lost_max (nothing would be checked)"),
    ]
