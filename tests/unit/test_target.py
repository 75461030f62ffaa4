"""The run's target as one interface: an explicit target and a lab answer the same questions."""

from __future__ import annotations

from pathlib import Path

from chaosrun.engine.target import ExplicitTarget, LabTarget, Target
from chaosrun.lab.lab import LabInfo, ProxyInfo, RegionInfo
from chaosrun.lab.procs import ProcessRef

NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers there


def _lab(tmp_path: Path, regions: tuple[RegionInfo, ...] = ()) -> LabInfo:
    (tmp_path / "topology.json").write_text(
        '{"dependencies": [], "endpoints": [{"path": "/api/x", "uses": []}]}'
    )
    return LabInfo(
        variant="healthy",
        directory=str(tmp_path),
        toxiproxy_url="http://127.0.0.1:8474",
        service_url="http://127.0.0.1:8080",
        proxies=(ProxyInfo("catalog", "127.0.0.1:1", "127.0.0.1:2"),),
        processes=(ProcessRef("gateway", 999_999_999, None),),
        started_at=0.0,
        regions=regions,
    )


def test_an_explicit_target_is_never_ours_to_watch_or_stop() -> None:
    target: Target = ExplicitTarget("http://127.0.0.1:8080", NOWHERE)
    assert target.toxiproxy_urls == (NOWHERE,)
    assert target.lock_key() == NOWHERE
    assert target.watch(1.0) is None
    assert target.endpoints_using() == {}
    assert target.describe() == {
        "service_url": "http://127.0.0.1:8080",
        "toxiproxy_url": NOWHERE,
        "lab": None,
    }
    done, problems, after = target.restore_fallback(0.2)
    assert done is None and problems is not None and problems.startswith("/reset: ")
    assert after is target
    assert target.release() is None


def test_a_lab_target_watches_its_processes_and_knows_its_endpoints(tmp_path: Path) -> None:
    target: Target = LabTarget(_lab(tmp_path), ephemeral=False)
    assert target.toxiproxy_urls == ("http://127.0.0.1:8474",)
    assert target.lock_key() == "http://127.0.0.1:8474"
    firing = target.watch(5.0)
    assert firing is not None and "lab process gateway (pid 999999999) exited" in firing.observed
    assert target.endpoints_using() == {"/api/x": ()}
    assert target.describe()["lab"] == {
        "variant": "healthy",
        "ephemeral": False,
        "directory": str(tmp_path),
    }


def test_a_lab_with_regions_has_a_toxiproxy_per_region(tmp_path: Path) -> None:
    regions = (RegionInfo("a", "http://127.0.0.1:1"), RegionInfo("b", "http://127.0.0.1:2"))
    target = LabTarget(_lab(tmp_path, regions), ephemeral=True)
    assert target.toxiproxy_urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
