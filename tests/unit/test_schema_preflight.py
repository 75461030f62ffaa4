"""What validates, runs: the whole-document checks of chaosrun.schema.preflight.

The refusals themselves are named bad fixtures with exact messages (test_load.py); here, what
those checks must let through, and the values they read from the environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.load import validate_files

ACTION = """\
method:
  - type: action
    name: slow
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: catalog, latency_ms: "${latency}"}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "x.yaml"
    path.write_text("title: t\ndescription: d\n" + text, encoding="utf-8")
    return [error.expected for error in validate_files([path])]


def test_an_env_value_that_spells_the_declared_int_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = "configuration:\n  latency: {type: env, key: CHAOSRUN_T_LATENCY}\n"
    monkeypatch.setenv("CHAOSRUN_T_LATENCY", "800")
    assert problems(tmp_path, config + ACTION) == []
    monkeypatch.setenv("CHAOSRUN_T_LATENCY", "800ms")
    assert problems(tmp_path, config + ACTION) == [
        "'${latency}' is '800ms' (configuration.latency, line 4): expected an integer"
    ]


def test_a_secret_or_a_dynamic_entry_resolves_but_is_not_read(tmp_path: Path) -> None:
    secret = "secrets:\n  s:\n    latency: {type: env, key: HOME}\n"
    assert problems(tmp_path, secret + ACTION) == []
    dynamic = (
        "configuration:\n  latency:\n    type: probe\n    provider: {type: python, "
        "module: chaosrun.probes.service, func: service_state}\n"
    )
    assert problems(tmp_path, dynamic + ACTION) == []


@pytest.mark.parametrize(
    "url", ["${chaosrun_service_url}/health", "http://127.0.0.1:8080/x", "${base}", "${base}/x"]
)
def test_urls_that_fill_in_as_urls_or_only_at_run_time_validate(tmp_path: Path, url: str) -> None:
    config = (
        "configuration:\n  base:\n    type: probe\n    provider: {type: python, "
        "module: chaosrun.probes.service, func: service_state}\n"
    )
    probe = f"method:\n  - type: probe\n    name: p\n    provider: {{type: http, url: '{url}'}}\n"
    assert problems(tmp_path, config + probe) == []


def test_tolerances_that_pick_a_key_or_need_none_validate(tmp_path: Path) -> None:
    probe = """\
extensions:
  - name: chaosrun
    load: {rate: 10, endpoints: {/api/play: 1}}
steady-state-hypothesis:
  title: h
  probes:
    - type: probe
      name: a
      tolerance: {type: range, range: [0.9, 1], target: availability}
      provider: {type: python, module: chaosrun.probes.sli, func: live_sli}
    - type: probe
      name: b
      tolerance: {type: range, range: [0, 0]}
      provider: {type: python, module: chaosrun.probes.service, func: breaker_state,
                 arguments: {dependency: catalog}}
    - type: probe
      name: c
      tolerance: {type: regex, pattern: "^ok", target: body}
      provider: {type: http, url: "http://127.0.0.1:1/"}
"""
    assert problems(tmp_path, probe + ACTION.replace('"${latency}"', "5")) == []


def test_pauses_shorter_than_the_deadline_or_from_templates_validate(tmp_path: Path) -> None:
    head = "configuration: {hold: 60}\nextensions:\n  - name: chaosrun\n    deadline_s: 4\n"
    fixed = ACTION.replace('"${latency}"', "5")
    assert problems(tmp_path, head + fixed + "    pauses: {after: 3.5}\n") == []
    assert problems(tmp_path, head + fixed + '    pauses: {after: "${hold}"}\n') == []
    assert problems(tmp_path, head + fixed + "    pauses: {after: 4}\n") == [
        "deadline_s: 4 s cannot hold the experiment's declared pauses "
        "(4 s at method[0].pauses.after, line 15)"
    ]
