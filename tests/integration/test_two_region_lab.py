"""The two-region lab on real processes: HAProxy's edge, a gateway and its dependencies per
region, Redis with Sentinel -- and the region_outage fault against its Toxiproxy servers.

- the edge serves from region a; a region a outage (every proxy of region a disabled) moves it
  to region b at once, and plays are acknowledged again once Sentinel has promoted a replica;
  the revert puts every proxy back and the final check finds nothing left;
- the blackhole and brownout forms add their toxics to every proxy of the region and take them
  away again;
- the lost-write count is right: in a split brain (the primary's announced link cut, region a
  still writing to it on its local path) the writes the database loses are exactly the
  acknowledged ones that only the old primary held -- read from the old primary itself before
  it rejoins, a ground truth that shares nothing with the count -- and none when plays wait
  for a replica;
- `lab_down` leaves no process and no port.
Needs root for nothing; needs redis-server, redis-sentinel and haproxy (`make setup`)."""

from __future__ import annotations

import itertools
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

from chaosrun import undolog
from chaosrun.checks.expectations import WritesExpectation
from chaosrun.checks.observation import FaultWindow, Observation
from chaosrun.checks.writes import write_figures
from chaosrun.engine.restore import faults_left
from chaosrun.engine.target import LabTarget
from chaosrun.faults import region_outage
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.measure.timeline import RequestRecord
from chaosrun.names import TOXIPROXY_REGIONS_KEY, TOXIPROXY_URL_KEY, regions_value
from chaosrun.record.readback import read_back

TIMEOUT_S = 0.5


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LabInfo]:
    variant = getattr(request, "param", "healthy")
    info = lab_up(tmp_path / "lab", variant, profile="two-region")
    try:
        yield info
    finally:
        assert lab_down(info) == []
        assert not any(p.alive() for p in info.processes)


def _configuration(info: LabInfo) -> dict[str, Any]:
    regions = LabTarget(info, ephemeral=False).toxiproxy_regions
    return {TOXIPROXY_URL_KEY: info.toxiproxy_url, TOXIPROXY_REGIONS_KEY: regions_value(regions)}


def _play(info: LabInfo, request_id: str) -> tuple[int, str | None, str | None]:
    """(status, region that answered, degraded header) of one play through the edge."""
    request = urllib.request.Request(
        f"{info.service_url}/api/play", headers={"X-Chaosrun-Request": request_id}
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            headers = response.headers
            return response.status, headers["X-Chaosrun-Region"], headers["X-Chaosrun-Degraded"]
    except urllib.error.HTTPError as exc:
        return exc.code, None, None
    except OSError:
        return 0, None, None


def _until(condition: Callable[[], Any], timeout_s: float) -> float:
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except redis.RedisError:
            pass
        assert time.monotonic() - started < timeout_s, "timed out"
        time.sleep(0.02)


def _proxy_port(info: LabInfo, name: str) -> int:
    return int(next(p.listen for p in info.proxies if p.name == name).rsplit(":", 1)[1])


def _redis(info: LabInfo, proxy: str) -> redis.Redis:
    return redis.Redis(
        "127.0.0.1",
        _proxy_port(info, proxy),
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
    )


def _sentinels(info: LabInfo) -> list[tuple[str, int]]:
    return [
        (a.rpartition(":")[0], int(a.rpartition(":")[2]))
        for a in LabTarget(info, ephemeral=False).sentinels()
    ]


def test_a_region_outage_moves_traffic_and_the_database_to_region_b(
    lab: LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = (f"t-{n}" for n in itertools.count())
    assert _play(lab, next(ids)) == (200, "a", None)
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    region_a = [p.name for p in lab.proxies if p.region == "a"]
    assert "gateway-a" in region_a and "redis-a" in region_a and "redis-a-local" in region_a

    cut_at = time.monotonic()
    done = region_outage.inject(region="a", configuration=_configuration(lab))
    assert sorted(done["proxies"]) == sorted(region_a)
    client_a = ToxiproxyClient(lab.regions[0].toxiproxy_url, timeout_s=1.0)
    assert not any(p.enabled for p in client_a.proxies().values())
    left = faults_left(log)
    assert left.injected == 1 and left.left == len(region_a)

    status, region, _ = _play(lab, next(ids))
    assert (status, region) == (200, "b")  # the edge moved at once (retried on region b)

    def acknowledged() -> bool:
        return _play(lab, next(ids)) == (200, "b", None)

    _until(acknowledged, 15)
    write_rto = time.monotonic() - cut_at
    print(f"\nregion a outage: plays acknowledged again after {write_rto:.2f} s")
    assert 0.9 < write_rto < 10  # Sentinel's down-after (1 s) first, then the promotion

    region_outage.revert(region="a", configuration=_configuration(lab))
    assert all(p.enabled for p in client_a.proxies().values())
    assert faults_left(log).left == 0
    _until(lambda: _play(lab, next(ids)) == (200, "a", None), 10)  # the edge is back on a


@pytest.mark.parametrize("form", ["blackhole", "brownout"])
def test_the_toxic_forms_reach_every_proxy_of_the_region_and_go_away(
    lab: LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    region_b = ToxiproxyClient(lab.regions[1].toxiproxy_url, timeout_s=1.0)
    region_outage.inject(
        region="b", form=form, latency_ms=300, loss_percent=10, configuration=_configuration(lab)
    )
    proxies = region_b.proxies()
    assert proxies and all(p.enabled for p in proxies.values())
    expected = {
        "blackhole": {"chaosrun_region_outage_blackhole_upstream": "timeout"}
        | {"chaosrun_region_outage_blackhole_downstream": "timeout"},
        "brownout": {"chaosrun_region_outage_latency": "latency"}
        | {"chaosrun_region_outage_loss": "timeout"},
    }[form]
    for proxy in proxies.values():
        assert {t.name: t.type for t in proxy.toxics} == expected
    region_a = ToxiproxyClient(lab.regions[0].toxiproxy_url, timeout_s=1.0)
    assert not any(p.toxics for p in region_a.proxies().values())  # only region b
    assert faults_left(log).left == len(proxies)
    region_outage.revert(region="b", configuration=_configuration(lab))
    assert not any(p.toxics for p in region_b.proxies().values())
    assert faults_left(log).left == 0


def test_an_unknown_region_is_refused_before_anything_changes(lab: LabInfo) -> None:
    with pytest.raises(Exception, match=r"no region 'c' \(its regions: a, b\)"):
        region_outage.inject(region="c", configuration=_configuration(lab))


def _plays(info: LabInfo, seconds: float, records: list[RequestRecord], prefix: str) -> None:
    """Plays one after another through the edge, each recorded as the load would."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        request_id = f"{prefix}-{len(records)}"
        started = time.time()
        status, _, degraded = _play(info, request_id)
        latency = (time.time() - started) * 1000
        error = "" if status else "other"
        record = RequestRecord(started, started, latency, status, error, "/api/play")
        records.append(replace(record, degraded=bool(degraded), request_id=request_id))
        time.sleep(0.01)


def _ids(client: redis.Redis) -> set[str]:
    return {k.decode()[len("play:") :] for k in client.scan_iter(match="play:*")}


@pytest.mark.parametrize(
    ("lab", "loses"), [("no-replica-ack", True), ("healthy", False)], indirect=["lab"]
)
def test_the_lost_write_count_matches_what_only_the_old_primary_held(
    lab: LabInfo, loses: bool
) -> None:
    records: list[RequestRecord] = []
    _plays(lab, 1.0, records, "w")
    region_a = ToxiproxyClient(lab.regions[0].toxiproxy_url, timeout_s=1.0)
    cut = time.time()
    region_a.set_enabled("redis-a", False)  # the primary's announced link: replication too
    _plays(lab, 5.0, records, "w")
    # Ground truth, before the old primary rejoins and is emptied: what it alone holds.
    old_primary, new_primary = _redis(lab, "redis-a-local"), _redis(lab, "redis-b-local")
    assert new_primary.info("replication")["role"] == "master"
    only_old = _ids(old_primary) - _ids(new_primary)
    region_a.set_enabled("redis-a", True)
    restored = time.time()
    _until(lambda: old_primary.info("replication")["role"] == "slave", 30)

    stored = read_back(_sentinels(lab), "lab", "play:")
    assert stored.problem is None
    window = FaultWindow("proxy_down", "redis-a", cut, restored)
    observation = Observation(tuple(records), (window,), stored=stored)
    figures = write_figures(observation, WritesExpectation("proxy_down", "/api/play"))
    assert figures is not None and figures.lost is not None
    acked = set(figures.acknowledged_ids)
    print(
        f"\n{lab.variant}: {len(acked)} acknowledged, {len(figures.during_ids)} during the cut, "
        f"{len(only_old)} only on the old primary, {len(figures.lost)} lost"
    )
    assert figures.during_ids  # writes were acknowledged during the cut either way
    assert set(figures.lost) == acked & only_old
    if loses:
        assert figures.lost  # acknowledged by the old primary alone, then discarded
    else:
        assert figures.lost == ()
