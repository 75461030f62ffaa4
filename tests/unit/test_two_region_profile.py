"""The two-region lab as data, the experiment's lab profile, and region_outage's pure parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.errors import InputError, LabError, ToxiproxyError
from chaosrun.faults import REGISTRY, region_outage
from chaosrun.faults._toxic import region_urls
from chaosrun.lab.lab import lab_up
from chaosrun.lab.profile import expand
from chaosrun.lab.regions import two_region_profile
from chaosrun.lab.topology import DEFAULT_TOPOLOGY
from chaosrun.lab.toxiproxy import Proxy, Toxic
from chaosrun.load import load_experiment
from chaosrun.model import LabTarget
from chaosrun.names import TOXIPROXY_REGIONS_KEY

VALUES = {"python": "py", "dir": "/l", "port": "1"}


def _filled(variant: str = "healthy") -> tuple[dict[str, list[str]], dict[str, str]]:
    profile = two_region_profile(DEFAULT_TOPOLOGY, variant)
    listens = {p.name: f"127.0.0.1:{3000 + i}" for i, p in enumerate(profile.proxies)}
    commands = {s.name: expand(s.command, VALUES, listens) for s in profile.services}
    files = {
        name: expand((content,), VALUES, listens)[0]
        for s in profile.services
        for name, content in s.files
    }
    return commands, {**files, **{f"listen:{k}": v for k, v in listens.items()}}


def _after(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_every_link_goes_through_a_proxy_of_the_region_it_reaches() -> None:
    profile = two_region_profile(DEFAULT_TOPOLOGY, "healthy")
    regions = {s.name: s.region for s in profile.services}
    assert regions["edge"] == "edge" and profile.entry == "edge"
    assert {p.region for p in profile.proxies} == {"a", "b"}  # the edge has no proxy to cut
    for proxy in profile.proxies:
        assert proxy.region == regions[proxy.to], proxy
    names = {p.name for p in profile.proxies}
    for region in ("a", "b"):
        assert {f"catalog-{region}", f"auth-{region}", f"gateway-{region}"} <= names
    for db in ("redis-a", "redis-b", "redis-b2", "sentinel-1", "sentinel-2", "sentinel-3"):
        assert {db, f"{db}-local"} <= names
    # the edge starts once both gateways answer
    (edge,) = [s for s in profile.services if s.name == "edge"]
    assert edge.after == ("gateway-a", "gateway-b")


def test_each_gateway_reaches_its_own_region_locally_and_the_other_through_its_address() -> None:
    commands, listens = _filled()
    gateway_a = commands["gateway-a"]
    deps = _after(gateway_a, "--dep")
    assert deps == [
        f"catalog=http://{listens['listen:catalog-a']}",
        f"recommendations=http://{listens['listen:recommendations-a']}",
        f"auth=http://{listens['listen:auth-a']}",
    ]
    assert _after(gateway_a, "--history-sentinel") == [
        listens["listen:sentinel-1-local"],
        listens["listen:sentinel-2"],
        listens["listen:sentinel-3"],
    ]
    assert _after(gateway_a, "--history-nat") == [
        f"{listens['listen:redis-a']}={listens['listen:redis-a-local']}"
    ]
    gateway_b = commands["gateway-b"]
    assert _after(gateway_b, "--history-nat") == [
        f"{listens['listen:redis-b']}={listens['listen:redis-b-local']}",
        f"{listens['listen:redis-b2']}={listens['listen:redis-b2-local']}",
    ]
    assert _after(gateway_b, "--region") == ["b"] and _after(gateway_a, "--region") == ["a"]
    assert _after(gateway_a, "--history-wait-replicas") == ["1"]
    assert _after(gateway_a, "--data-dir") == ["/l/data/gateway-a"]


def test_the_variants_change_the_edge_and_the_acknowledgement() -> None:
    commands, files = _filled()
    config = files["edge/haproxy.cfg"].splitlines()
    gateway_a, gateway_b = files["listen:gateway-a"], files["listen:gateway-b"]
    assert f"  server region-a {gateway_a} check" in config
    assert f"  server region-b {gateway_b} check backup" in config
    assert "  option httpchk GET /health" in config and "  bind 127.0.0.1:1" in config
    _, broken = _filled("edge-no-failover")
    assert not [line for line in broken["edge/haproxy.cfg"].splitlines() if "region-b" in line]
    no_ack, _ = _filled("no-replica-ack")
    assert _after(no_ack["gateway-a"], "--history-wait-replicas") == ["0"]
    assert _after(no_ack["gateway-b"], "--history-wait-replicas") == ["0"]
    assert commands["edge"][:2] == ["haproxy", "-db"]


def test_two_region_variants_are_refused_on_the_streaming_lab(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unknown lab variant 'edge-no-failover' for profile"):
        lab_up(tmp_path, "edge-no-failover")
    with pytest.raises(LabError, match="unknown lab profile 'three-region'"):
        lab_up(tmp_path, profile="three-region")
    assert not (tmp_path / "lab.json").exists()


def _experiment(tmp_path: Path, lab: str) -> Path:
    path = tmp_path / "e.yaml"
    path.write_text(
        "version: 1.0.0\n"
        "title: t\n"
        "description: d\n"
        "extensions:\n"
        "  - name: chaosrun\n"
        f"    target: {{lab: {lab}}}\n"
        "method:\n"
        "  - type: probe\n"
        "    name: p\n"
        "    provider: {type: http, url: 'http://127.0.0.1:1/'}\n"
    )
    return path


def test_an_experiment_names_its_lab_profile(tmp_path: Path) -> None:
    loaded = load_experiment(
        _experiment(tmp_path, "{profile: two-region, variant: no-replica-ack}")
    )
    assert loaded.chaosrun.target == LabTarget("no-replica-ack", "two-region")
    loaded = load_experiment(_experiment(tmp_path, "{profile: two-region}"))
    assert loaded.chaosrun.target == LabTarget("healthy", "two-region")
    assert load_experiment(_experiment(tmp_path, "{}")).chaosrun.target == LabTarget()


@pytest.mark.parametrize(
    ("lab", "message"),
    [
        (
            "{profile: two-regions}",
            "e.yaml:6: extensions[0].target.lab.profile: unknown profile 'two-regions'; "
            "did you mean 'two-region'?",
        ),
        (
            "{variant: edge-no-failover}",
            "e.yaml:6: extensions[0].target.lab.variant: variant 'edge-no-failover' is one of "
            "the two-region lab's: add 'profile: two-region'",
        ),
    ],
)
def test_a_profile_or_variant_the_lab_lacks_is_one_line(
    tmp_path: Path, lab: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        load_experiment(_experiment(tmp_path, lab))
    assert str(raised.value) == f"{tmp_path}/{message}"


def test_region_urls_come_from_the_configuration_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = {TOXIPROXY_REGIONS_KEY: "a=http://127.0.0.1:1, b=http://127.0.0.1:2,,"}
    assert region_urls(given) == {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"}
    monkeypatch.setenv("CHAOSRUN_TOXIPROXY_REGIONS", "c=http://127.0.0.1:3")
    assert region_urls({}) == {"c": "http://127.0.0.1:3"}
    assert region_urls(given) == {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"}
    monkeypatch.delenv("CHAOSRUN_TOXIPROXY_REGIONS")
    assert region_urls(None) == {}


def test_region_outage_refuses_a_bad_form_or_region_before_any_call() -> None:
    with pytest.raises(ValueError, match="form must be one of disable, blackhole, brownout"):
        region_outage.inject(region="a", form="flood", configuration={})
    with pytest.raises(ToxiproxyError, match=r"no region 'a' \(its regions: none\)"):
        region_outage.inject(region="a", configuration={})


def test_what_of_a_region_outage_is_left_on_a_proxy() -> None:
    disabled = {"form": "disable", "region": "a"}
    assert region_outage.left(disabled, Proxy("x", "l", "u", False)) == "x: disabled (region a)"
    assert region_outage.left(disabled, Proxy("x", "l", "u", True)) is None
    ours = Toxic("chaosrun_region_outage_latency", "latency")
    other = Toxic("chaosrun_latency_downstream", "latency")
    holed = {"form": "brownout", "region": "b"}
    assert region_outage.left(holed, Proxy("y", "l", "u", True, (ours, other))) == (
        "y: toxic chaosrun_region_outage_latency"
    )
    # a proxy someone else disabled is not the brownout's to report
    assert region_outage.left(holed, Proxy("y", "l", "u", False, (other,))) is None


def test_region_outage_is_planned_in_words() -> None:
    kind = REGISTRY["region_outage"]
    effect, _ = kind.describe("inject", "", {"region": "a", "form": "blackhole"}, "B", None)
    assert (
        effect == "region a outage: every proxy blackholed (connections open, nothing gets through)"
    )
    effect, _ = kind.describe(
        "inject", "", {"region": "b", "form": "brownout", "latency_ms": 300, "loss_percent": 5,
                       "proxies": ["catalog-b"]}, "B", None,
    )  # fmt: skip
    assert effect == "region b outage: catalog-b slowed by 300 ms, 5% of connections blackholed"
    effect, _ = kind.describe("revert", "", {"region": "a"}, "B", None)
    assert effect == "restore region a: every proxy enabled, outage toxics removed"
