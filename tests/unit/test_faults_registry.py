"""The fault registry: one module per kind, keyword-only inject/revert for Chaos Toolkit."""

from __future__ import annotations

import importlib
import inspect

import pytest

from chaosrun.faults import KIND_NAMES, REGISTRY


def test_registry_holds_every_kind_under_its_module_name() -> None:
    assert tuple(REGISTRY) == KIND_NAMES
    for name, kind in REGISTRY.items():
        module = importlib.import_module(f"chaosrun.faults.{name}")
        assert kind.inject is module.inject and kind.revert is module.revert
        assert kind.summary.startswith(f"{name}: ")


@pytest.mark.parametrize("name", KIND_NAMES)
def test_inject_and_revert_are_keyword_only_and_take_configuration(name: str) -> None:
    kind = REGISTRY[name]
    for func in (kind.inject, kind.revert):
        params = inspect.signature(func).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
        # what it acts on: a proxy (or the service behind it), or a whole region
        assert ("proxy" in params) != ("region" in params)
        assert params["configuration"].default is None
    inject_params = inspect.signature(kind.inject).parameters
    assert set(kind.limits) <= set(inject_params)
    for arg, (low, high) in kind.limits.items():
        assert low <= high, arg
        units = ("_ms", "_us", "_kbps", "_bytes", "_kb", "_mb", "_percent")
        counts = ("workers", "max_open", "connections")  # a count has no unit
        assert arg.endswith(units) or arg in counts, "units belong in argument names"


NOT_TOXICS = (
    "proxy_down",
    "fail_for",
    "cpu_quota",
    "cpu_stress",
    "fd_limit",
    "disk_full",
    "disk_fill",
    "memory_pressure",
    "hold_connections",
    "region_outage",
)


@pytest.mark.parametrize("name", [n for n in KIND_NAMES if n not in NOT_TOXICS])
def test_toxic_faults_take_stream_and_toxicity(name: str) -> None:
    params = inspect.signature(REGISTRY[name].inject).parameters
    assert params["stream"].default == "downstream"
    assert params["toxicity"].default == 1.0
    assert "stream" in inspect.signature(REGISTRY[name].revert).parameters


def test_bad_stream_and_toxicity_are_refused_before_any_call() -> None:
    config = {"chaosrun_toxiproxy_url": "http://127.0.0.1:1"}  # never contacted
    with pytest.raises(ValueError, match="stream must be one of downstream, upstream"):
        REGISTRY["latency"].inject(proxy="p", latency_ms=1, stream="sideways", configuration=config)
    with pytest.raises(ValueError, match=r"toxicity must be within \[0, 1\], got 1.5"):
        REGISTRY["latency"].inject(proxy="p", latency_ms=1, toxicity=1.5, configuration=config)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_toxic_declaration_maps_every_argument_of_its_inject(name: str) -> None:
    kind = REGISTRY[name]
    module = importlib.import_module(f"chaosrun.faults.{name}")
    assert kind.toxic is getattr(module, "TOXIC", None)
    if kind.toxic is None:
        assert name in NOT_TOXICS  # they act on the proxy, the dependency or its process
        return
    assert kind.toxic.type == name
    params = set(inspect.signature(kind.inject).parameters)
    own = params - {"proxy", "stream", "toxicity", "configuration"}
    assert sorted(kind.toxic.attributes.values()) == sorted(own)
