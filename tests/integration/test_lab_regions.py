"""A lab described as data with two regions: each region gets its own Toxiproxy server with its
own proxies, services start in order and are waited for by their readiness (HTTP and TCP), each
reachable through its region's proxy; `lab_down` leaves no process and no port."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from chaosrun.lab.lab import lab_down, start_lab
from chaosrun.lab.profile import LabProfile, ProxySpec, Readiness, ServiceSpec
from chaosrun.lab.toxiproxy import ToxiproxyClient


def _dependency(name: str, region: str, readiness: Readiness) -> ServiceSpec:
    command = ("{python}", "-m", "chaosrun.lab.services.dependency", "--name", name)
    return ServiceSpec(name, (*command, "--port", "{port}"), readiness, region)


def test_two_regions_each_with_its_own_toxiproxy(tmp_path: Path) -> None:
    profile = LabProfile(
        "two-region-test",
        (
            _dependency("store-a", "a", Readiness("http")),
            _dependency("store-b", "b", Readiness("tcp")),
        ),
        (ProxySpec("store-a", "store-a", "a"), ProxySpec("store-b", "store-b", "b")),
        entry="store-a",
    )
    info = start_lab(tmp_path / "lab", profile, "healthy")
    try:
        assert [r.region for r in info.regions] == ["a", "b"]
        assert info.toxiproxy_url == info.regions[0].toxiproxy_url
        assert info.regions[0].toxiproxy_url != info.regions[1].toxiproxy_url
        names = [p.name for p in info.processes]
        assert names == ["toxiproxy", "toxiproxy-b", "store-a", "store-b"]
        for region in info.regions:
            proxies = ToxiproxyClient(region.toxiproxy_url).proxies()
            assert list(proxies) == [f"store-{region.region}"]
        for proxy in info.proxies:
            with urllib.request.urlopen(f"http://{proxy.listen}/x", timeout=2) as answer:
                assert answer.status == 200
        assert (tmp_path / "lab" / "toxiproxy-b.json").exists()
    finally:
        left = lab_down(info)
    assert left == []
    assert not any(p.alive() for p in info.processes)
