"""The region-outage and database-failover experiments on the two-region lab: each PASSES on
the healthy lab and FAILS on the variant that lacks the defence.

- region-outage: every proxy of region a disabled for 6 s; edge-no-failover fails the RTO
  (every request fails until region a is back);
- database-failover: the primary's announced link cut for 6 s (split brain); no-replica-ack
  loses the plays only the old primary held, and the count is checked against the client's
  own timeline: every lost id was a play the client saw acknowledged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chaosrun.measure.timeline import read_timeline

from .matrix import describe, run_experiment, verdicts

pytestmark = pytest.mark.matrix  # whole experiments under load: one at a time


def _writes(summary: dict[str, Any]) -> dict[str, Any]:
    (writes,) = summary["writes"]
    return dict(writes)


def _acknowledged_plays(summary: dict[str, Any]) -> set[str]:
    timeline = read_timeline(Path(str(summary["run_dir"])) / "timeline.csv")
    return {
        r.request_id
        for r in timeline
        if r.endpoint == "/api/play" and r.status == 200 and not r.degraded and not r.error
    }


def test_a_region_outage_fails_over_at_the_edge_and_in_the_database(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "region-outage", "healthy")
    assert code == 0, describe(summary)
    found = verdicts(summary)
    assert set(found) == {"recovery.rto", "writes.rto", "writes.lost"}, describe(summary)
    assert all(v["status"] == "passed" for v in found.values()), describe(summary)
    rto = re.match(
        r"write RTO (\d+\.\d+) s \((\d+) of (\d+) writes", found["writes.rto"]["observed"]
    )
    assert rto, describe(summary)
    # A real failover: not before Sentinel's down-after (1 s), and plays were refused meanwhile.
    assert 1.0 < float(rto[1]) < 5.0 and int(rto[2]) > 20, describe(summary)
    writes = _writes(summary)
    assert writes["lost"] == [] and writes["acknowledged"] > 300, describe(summary)
    assert summary["faults"]["left"] == 0, describe(summary)


def test_an_edge_without_failover_is_down_for_the_whole_outage(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "region-outage", "edge-no-failover")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    assert found["recovery.rto"]["status"] == "failed", describe(summary)
    late = re.match(r"recovered after (\d+\.\d+) s", found["recovery.rto"]["observed"])
    assert late and float(late[1]) >= 6.0, describe(summary)  # not before region a came back
    assert found["writes.rto"]["status"] == "failed", describe(summary)
    assert summary["faults"]["left"] == 0, describe(summary)


# make test shows writes.lost PASS on the healthy lab in the region outage above, and no lost
# write under this split brain in tests/integration/test_two_region_lab.py; make test-slow runs
# the whole experiment too.
@pytest.mark.slow
def test_plays_that_wait_for_a_replica_survive_a_split_brain(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "database-failover", "healthy")
    assert code == 0, describe(summary)
    assert verdicts(summary)["writes.lost"]["status"] == "passed", describe(summary)
    writes = _writes(summary)
    assert writes["lost"] == [], describe(summary)
    # The split brain happened: the old primary took plays no replica acknowledged.
    assert writes["unacknowledged_during_fault"] > 20, describe(summary)


def test_plays_acknowledged_by_the_old_primary_alone_are_lost_and_counted(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "database-failover", "no-replica-ack")
    assert code == 1, describe(summary)
    lost_verdict = verdicts(summary)["writes.lost"]
    assert lost_verdict["status"] == "failed", describe(summary)
    writes = _writes(summary)
    lost = writes["lost"]
    assert len(lost) > 20, describe(summary)
    counted = re.match(r"(\d+) of (\d+) acknowledged writes", lost_verdict["observed"])
    assert counted and int(counted[1]) == len(lost), describe(summary)
    acknowledged = _acknowledged_plays(summary)  # the client's own timeline
    assert int(counted[2]) == len(acknowledged) == writes["acknowledged"], describe(summary)
    assert set(lost) <= acknowledged, describe(summary)
    assert summary["faults"]["left"] == 0, describe(summary)
