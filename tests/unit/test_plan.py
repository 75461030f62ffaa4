"""The dry-run plan: pure, from an experiment and a read-only view of the target."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from chaosrun.engine import undo
from chaosrun.engine.plan import Plan, ProxyView, TargetView, build_plan
from chaosrun.engine.reach import touched
from chaosrun.engine.target import view_target
from chaosrun.faults import KIND_NAMES, REGISTRY
from chaosrun.lab.toxiproxy import Toxic
from chaosrun.load import load_experiment
from chaosrun.model import ChaosrunSpec, Experiment, LoadSpec, ProbeGuard, SliGuard
from chaosrun.report.plan import plan_data, plan_lines
from chaosrun.schema.steps import build_steps

REPO = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:8474"
RUNNING = TargetView(
    "running-lab",
    "healthy",
    "http://127.0.0.1:8000",
    API,
    (
        ProxyView("catalog", "127.0.0.1:21001", "127.0.0.1:22001", True, ()),
        ProxyView("recommendations", "127.0.0.1:21002", "127.0.0.1:22002", True, ()),
        ProxyView("auth", "127.0.0.1:21003", "127.0.0.1:22003", False, ("other_toxic",)),
    ),
    "the lab started by 'chaosrun lab up' (variant healthy)",
)
# One call per toxic kind, with every argument set away from its default, and the toxic type and
# attributes Toxiproxy documents for it: the plan and the fault share one declaration
# (chaosrun.faults.<kind>.TOXIC), so this pins both to the wire format.
TOXIC_CALLS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "latency": ({"latency_ms": 800, "jitter_ms": 5}, "latency", {"latency": 800, "jitter": 5}),
    "bandwidth": ({"rate_kbps": 64}, "bandwidth", {"rate": 64}),
    "slow_close": ({"delay_ms": 300}, "slow_close", {"delay": 300}),
    "timeout": ({"timeout_ms": 0}, "timeout", {"timeout": 0}),
    "reset_peer": ({"timeout_ms": 10}, "reset_peer", {"timeout": 10}),
    "slicer": (
        {"average_size_bytes": 100, "size_variation_bytes": 10, "delay_us": 50},
        "slicer",
        {"average_size": 100, "size_variation": 10, "delay": 50},
    ),
    "limit_data": ({"limit_bytes": 4096}, "limit_data", {"bytes": 4096}),
}
TOXIC_KINDS = {name for name, kind in REGISTRY.items() if kind.toxic is not None}


def _action(name: str, kind: str, func: str, **arguments: Any) -> dict[str, Any]:
    provider = {"type": "python", "module": f"chaosrun.faults.{kind}", "func": func}
    return {"type": "action", "name": name, "provider": {**provider, "arguments": arguments}}


def _experiment(
    method: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]] | None = None,
    spec: ChaosrunSpec | None = None,
    **extra: Any,
) -> Experiment:
    doc = {"title": "t", "description": "d", "method": method, **extra}
    if rollbacks is not None:
        doc["rollbacks"] = rollbacks
    if spec is not None and spec.abort_when:
        guards = [{"probe": g.probe} for g in spec.abort_when if isinstance(g, ProbeGuard)]
        doc["extensions"] = [{"name": "chaosrun", "abort_when": guards}]
    return Experiment(Path("exp.yaml"), "t", doc, spec or ChaosrunSpec(), (), build_steps(doc, {}))


def test_every_fault_kind_is_known_to_the_plan() -> None:
    others = {"proxy_down", "fail_for", "cpu_quota", "cpu_stress", "fd_limit", "disk_full"}
    more = {"disk_fill", "memory_pressure", "hold_connections", "region_outage"}
    assert TOXIC_KINDS | others | more == set(KIND_NAMES)
    assert set(TOXIC_CALLS) == TOXIC_KINDS


class _Recorder:
    url = API

    def __init__(self) -> None:
        self.added: list[tuple[str, Toxic]] = []
        self.removed: list[tuple[str, str]] = []

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        self.added.append((proxy, toxic))
        return toxic

    def remove_toxic(self, proxy: str, name: str, missing_ok: bool = True) -> bool:
        self.removed.append((proxy, name))
        return True


@pytest.mark.parametrize("kind", sorted(TOXIC_CALLS))
@pytest.mark.parametrize("extra", [{}, {"stream": "upstream", "toxicity": 0.5}])
def test_the_planned_toxic_is_what_the_fault_sends(
    kind: str, extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(
        "chaosrun.faults._toxic.client_for", lambda configuration, proxy=None: recorder
    )
    monkeypatch.delenv(undo.UNDO_LOG_ENV, raising=False)
    given, toxic_type, attributes = TOXIC_CALLS[kind]
    arguments = {"proxy": "catalog", **given, **extra}
    REGISTRY[kind].inject(**arguments)
    revert_arguments = {"proxy": "catalog", **{k: v for k, v in extra.items() if k == "stream"}}
    REGISTRY[kind].revert(**revert_arguments)
    experiment = _experiment(
        [
            _action("on", kind, "inject", **arguments),
            _action("off", kind, "revert", **revert_arguments),
        ]
    )
    on, off = build_plan(experiment, RUNNING).method
    assert on.fault is not None and on.fault.toxic is not None and off.fault is not None
    (proxy, sent), *_ = recorder.added
    assert (sent.type, sent.attributes) == (toxic_type, attributes)
    assert (sent.stream, sent.toxicity) == (
        extra.get("stream", "downstream"),
        extra.get("toxicity", 1.0),
    )
    assert (proxy, asdict(on.fault.toxic)) == ("catalog", sent.to_api())
    assert on.fault.request == f"POST {API}/proxies/catalog/toxics"
    assert recorder.removed == [("catalog", sent.name)]
    assert off.fault.request == f"DELETE {API}/proxies/catalog/toxics/{sent.name}"


def test_latency_on_a_running_lab_names_the_proxy_and_its_addresses() -> None:
    experiment = load_experiment(REPO / "tests" / "fixtures" / "good" / "latency-plain.yaml")
    urls = ("http://127.0.0.1:8000", API)
    plan = build_plan(experiment, RUNNING, touched(experiment, {}, target_urls=urls))
    faults = plan_data(plan)["faults"]
    assert [(f["phase"], f["activity"], f["kind"], f["action"], f["proxy"]) for f in faults] == [
        ("method", "slow-down-catalog", "latency", "inject", "catalog"),
        ("rollback", "restore-catalog", "latency", "revert", "catalog"),
    ]
    inject = faults[0]
    assert inject["toxic"] == {
        "name": "chaosrun_latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 800, "jitter": 0},
    }
    assert (inject["toxiproxy_url"], inject["listen"], inject["upstream"]) == (
        API,
        "127.0.0.1:21001",
        "127.0.0.1:22001",
    )
    lines = plan_lines(plan)
    assert lines[:9] == [
        "dry run of " + str(experiment.path) + ": " + experiment.title,
        "touched: nothing: no process, run directory, lock or journal; no change anywhere",
        "target: the lab started by 'chaosrun lab up' (variant healthy)",
        "  service     http://127.0.0.1:8000",
        f"  toxiproxy   {API}",
        "  proxy catalog          127.0.0.1:21001 -> 127.0.0.1:22001 (enabled, no toxics)",
        "  proxy recommendations  127.0.0.1:21002 -> 127.0.0.1:22002 (enabled, no toxics)",
        "  proxy auth             127.0.0.1:21003 -> 127.0.0.1:22003 (DISABLED, other_toxic)",
        "a run would contact:",
    ]
    assert lines[9:11] == [
        "  service    http://127.0.0.1:8000  [play-p99-latency-ms (line 24), play-availability "
        "(line 32), catalog-proxy-carries-the-toxic (line 48)]",
        f"  toxiproxy  {API}  [slow-down-catalog (line 40), restore-catalog (line 56)]",
    ]
    assert lines[11:] == [
        "deadline: 120 s (then the worker is stopped, every fault reverted; exit 4)",
        "load: none",
        "safeguards: none declared",
        "steady-state hypothesis (before and after the method):",
        "  1. would run probe play-p99-latency-ms (python chaosrun.probes.http.sli_sample "
        "path=/api/play requests=60 concurrency=8)",
        "  2. would run probe play-availability (python chaosrun.probes.http.sli_sample "
        "path=/api/play requests=60 concurrency=8)",
        "method:",
        "  1. slow-down-catalog: inject latency: add toxic chaosrun_latency_downstream to proxy "
        "catalog: type latency, stream downstream, toxicity 1.0, latency=800 jitter=0",
        f"       where: Toxiproxy {API}, proxy catalog listens on 127.0.0.1:21001, "
        "upstream 127.0.0.1:22001",
        f"       request: POST {API}/proxies/catalog/toxics",
        "       pauses: after 1 s",
        "  2. would run probe catalog-proxy-carries-the-toxic (python "
        "chaosrun.probes.proxy.proxy_state proxy=catalog)",
        "rollbacks (always run):",
        "  1. restore-catalog: revert latency: remove toxic chaosrun_latency_downstream from "
        "proxy catalog",
        f"       where: Toxiproxy {API}, proxy catalog listens on 127.0.0.1:21001, "
        "upstream 127.0.0.1:22001",
        f"       request: DELETE {API}/proxies/catalog/toxics/chaosrun_latency_downstream",
    ]


def test_proxy_down_and_fail_for_say_what_they_call() -> None:
    experiment = _experiment(
        [
            _action("down", "proxy_down", "inject", proxy="recommendations"),
            _action("fail", "fail_for", "inject", proxy="catalog", duration_ms=1500),
        ],
        [
            _action("up", "proxy_down", "revert", proxy="recommendations"),
            _action("end", "fail_for", "revert", proxy="catalog"),
        ],
    )
    faults = plan_data(build_plan(experiment, RUNNING))["faults"]
    assert [(f["effect"], f["request"]) for f in faults] == [
        (
            "disable proxy recommendations (its listener closes, open connections drop)",
            f"PATCH {API}/proxies/recommendations enabled=false",
        ),
        (
            "the dependency behind proxy catalog answers 500 for 1500 ms",
            f"GET {API}/proxies/catalog, then POST "
            "http://127.0.0.1:22001/_fail?duration_ms=1500&mode=error",
        ),
        ("enable proxy recommendations", f"PATCH {API}/proxies/recommendations enabled=true"),
        (
            "end the failure window of the dependency behind catalog",
            f"GET {API}/proxies/catalog, then POST http://127.0.0.1:22001/_fail?duration_ms=0",
        ),
    ]
    assert all(f["toxic"] is None for f in faults)


def test_no_lab_running_means_an_ephemeral_lab_from_the_topology(tmp_path: Path) -> None:
    home = tmp_path / "home"
    experiment = load_experiment(REPO / "tests" / "fixtures" / "good" / "full.yaml")
    view = view_target(experiment, home, None)
    assert not home.exists()
    assert (view.kind, view.variant, view.service_url, view.toxiproxy_url) == (
        "ephemeral-lab",
        "no-breaker",
        None,
        None,
    )
    assert [p.name for p in view.proxies] == ["catalog", "recommendations", "auth"]
    assert view.note == (
        "an ephemeral lab would be started (variant no-breaker) on free ports of 127.0.0.1 "
        "and stopped after the run"
    )
    assert view_target(experiment, home, "no-timeout").variant == "no-timeout"
    lines = plan_lines(build_plan(experiment, view))
    assert (
        "  proxy catalog          127.0.0.1:<port chosen at start> -> 127.0.0.1:<port chosen at "
        "start>"
    ) in lines
    assert (
        "       where: Toxiproxy API of the ephemeral lab, proxy catalog listens on "
        "127.0.0.1:<port chosen at start>, upstream 127.0.0.1:<port chosen at start>"
    ) in lines
    assert "  3. would run probe health-status (http GET http://127.0.0.1:8080/health)" in lines
    assert "  5. would run probe catalog-enabled (process true --quiet catalog)" in lines
    assert (
        "  3. would run probe play-availability (ref) (python chaosrun.probes.http.sli_sample "
        "path=/api/play requests=80)"
    ) in lines
    # the rollback's "${catalog_proxy}" is filled from the configuration
    assert lines[-2].endswith(
        "request: DELETE <toxiproxy>/proxies/catalog/toxics/chaosrun_latency_downstream"
    )
    assert lines[-1] == (
        "warning: slower-catalog adds toxic chaosrun_latency_downstream to proxy catalog again "
        "(already added by slow-catalog): Toxiproxy would refuse it (409)"
    )


def test_an_explicit_target_is_never_contacted(tmp_path: Path) -> None:
    experiment = load_experiment(REPO / "tests" / "fixtures" / "good" / "url_target.json")
    view = view_target(experiment, tmp_path / "home", "no-timeout")
    assert (view.kind, view.proxies, view.toxiproxy_url) == ("url", (), "http://127.0.0.1:8474")
    lines = plan_lines(build_plan(experiment, view))
    assert "  proxies     unknown (the Toxiproxy API is not contacted by a dry run)" in lines
    assert (
        "       where: Toxiproxy http://127.0.0.1:8474, proxy auth listens on unknown "
        "(not contacted), upstream unknown (not contacted)"
    ) in lines
    assert "       request: PATCH http://127.0.0.1:8474/proxies/auth enabled=false" in lines


def test_service_url_templates_are_filled_from_the_target() -> None:
    probe = {
        "type": "probe",
        "name": "health",
        "provider": {"type": "http", "url": "${chaosrun_service_url}/health", "method": "head"},
    }
    plan = build_plan(_experiment([probe]), RUNNING)
    assert plan.method[0].provider == "http HEAD http://127.0.0.1:8000/health"


def test_warnings_for_proxies_that_do_not_exist_or_already_carry_toxics() -> None:
    experiment = _experiment(
        [
            _action("a", "latency", "inject", proxy="payments", latency_ms=1),
            _action("b", "latency", "inject", proxy="auth", latency_ms=1),
            _action("c", "latency", "inject", proxy="authentication", latency_ms=1),
        ]
    )
    assert build_plan(experiment, RUNNING).warnings == (
        "proxy 'payments' does not exist on the target; proxies there: auth, catalog, "
        "recommendations (a run stops before injecting anything)",
        "proxy 'auth' already carries toxics: other_toxic",
        "proxy 'authentication' does not exist on the target; did you mean 'auth'? proxies "
        "there: auth, catalog, recommendations (a run stops before injecting anything)",
    )


def test_load_and_deadline() -> None:
    load = LoadSpec(rate=150, endpoints=(("/api/play", 2.0), ("/api/browse", 1.0)), cooldown_s=4)
    spec = ChaosrunSpec(deadline_s=60, load=load)
    plan = build_plan(_experiment([], spec=spec), RUNNING)
    assert plan.load == {
        "rate": 150,
        "endpoints": {"/api/play": 2.0, "/api/browse": 1.0},
        "warmup_s": 2.0,
        "cooldown_s": 4,
        "timeout_s": 2.0,
        "service_url": "http://127.0.0.1:8000",
        "max_duration_s": 66.0,
        "max_requests": 9900,
    }
    lines = plan_lines(plan)
    assert "deadline: 60 s (then the worker is stopped, every fault reverted; exit 4)" in lines
    assert (
        "load: open loop, 150 req/s over /api/play 67%, /api/browse 33%; warmup 2 s + the "
        "experiment (at most the deadline) + cooldown 4 s: at most 66 s, 9900 requests"
    ) in lines


def test_safeguards_are_listed() -> None:
    guards = (
        SliGuard("play-down", "availability", 0.9, for_s=1, window_s=2, endpoint="/api/play"),
        SliGuard("slow", "p99", 1500),
        ProbeGuard(
            "health",
            {"name": "h", "provider": {"type": "http", "url": "${chaosrun_service_url}/health"}},
            every_s=2,
        ),
    )
    spec = ChaosrunSpec(abort_when=guards)
    plan = build_plan(_experiment([], spec=spec), RUNNING)
    assert plan.safeguards == (
        "play-down: abort (exit 4) when availability below 0.9 over a 2 s window on /api/play "
        "for 1 s",
        "slow: abort (exit 4) when p99 above 1500 ms over a 1 s window for 1 s",
        "health: abort (exit 4) when probe h (http GET http://127.0.0.1:8000/health) is out of "
        "tolerance, checked every 2 s (at the first failure)",
    )


def test_the_plan_is_json_ready() -> None:
    import json

    experiment = load_experiment(REPO / "experiments" / "timeouts.yaml")
    data = json.loads(json.dumps(plan_data(build_plan(experiment, RUNNING))))
    assert (data["dry_run"], data["touched"]) == (
        True,
        "nothing: no process, run directory, lock or journal; no change anywhere",
    )
    assert list(data) == [*Plan.__dataclass_fields__, "dry_run", "touched", "faults"]
    assert [(f["kind"], f["action"], f["proxy"]) for f in data["faults"]] == [
        ("latency", "inject", "catalog"),
        ("latency", "revert", "catalog"),
        ("fail_for", "inject", "catalog"),
        ("latency", "revert", "catalog"),
    ]


@pytest.mark.parametrize(
    ("fixture", "shown"),
    [
        (
            "ct_process_string_args.yaml",
            "process python3 -c \"import sys; print(sys.argv[1:])\" a 'b c' hello world",
        ),
        (
            "ct_process_mapping_args.yaml",
            "process echo --service catalog --count 3 --verbose --extra",
        ),
    ],
)
def test_process_arguments_are_shown_as_chaos_toolkit_passes_them(fixture: str, shown: str) -> None:
    experiment = load_experiment(REPO / "tests" / "fixtures" / "good" / fixture)
    assert build_plan(experiment, RUNNING).method[0].provider == shown
