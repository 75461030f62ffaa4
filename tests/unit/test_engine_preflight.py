"""The target checked against the experiment (pure part), and the one-line activity error."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.checks.outcome import activity_error
from chaosrun.engine.preflight import missing_proxy, target_problems
from chaosrun.load import load_experiment

PROXIES = ("auth", "catalog", "recommendations")
URLS = {"service_url": "http://127.0.0.1:9000", "toxiproxy_url": "http://127.0.0.1:9001"}
EXPERIMENT = """\
title: t
description: d
configuration:
  target_proxy: {type: env, key: CHAOSRUN_T_PROXY, default: catalog}
  page: {type: env, key: CHAOSRUN_T_PAGE, default: "http://127.0.0.1:1/"}
method:
  - type: action
    name: slow
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: "${target_proxy}", latency_ms: 5}
  - type: probe
    name: page
    provider: {type: http, url: "${page}"}
rollbacks:
  - type: action
    name: restore
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {proxy: recommendatons}
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("authentication", "did you mean 'auth'? proxies there: auth, catalog, recommendations"),
        ("catalogue", "did you mean 'catalog'? proxies there: auth, catalog, recommendations"),
        ("payments", "proxies there: auth, catalog, recommendations"),
    ],
)
def test_missing_proxy_names_the_proxies_there(name: str, expected: str) -> None:
    assert missing_proxy(name, PROXIES) == (
        f"proxy '{name}' does not exist on the target; {expected}"
    )


def test_fault_proxies_and_urls_are_checked_with_what_the_run_knows(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    experiment = load_experiment(path)
    assert target_problems(experiment, PROXIES, URLS, {}) == [
        (
            "rollbacks[0].provider.arguments.proxy",
            "proxy 'recommendatons' does not exist on the target; did you mean "
            "'recommendations'? proxies there: auth, catalog, recommendations",
        )
    ]
    environ = {"CHAOSRUN_T_PROXY": "catalgo", "CHAOSRUN_T_PAGE": "localhost/page"}
    assert [problem for _, problem in target_problems(experiment, PROXIES, URLS, environ)] == [
        "proxy 'catalgo' does not exist on the target; did you mean 'catalog'? proxies there: "
        "auth, catalog, recommendations",
        "proxy 'recommendatons' does not exist on the target; did you mean 'recommendations'? "
        "proxies there: auth, catalog, recommendations",
        "expected an http:// or https:// URL with a host, got 'localhost/page' (from '${page}')",
    ]


def test_the_activity_error_is_the_last_line_without_the_wrappers() -> None:
    # as chaoslib 1.44 journals a fault's ToxiproxyError (captured from a run)
    exception = [
        "Traceback (most recent call last):\n",
        '  File ".../chaoslib/provider/python.py", line 57, in run_python_activity\n'
        "    return func(**arguments)\n",
        "chaoslib.exceptions.ActivityFailed: chaosrun.errors.ToxiproxyError: Toxiproxy refused: "
        "404 proxy not found (POST http://127.0.0.1:8474/proxies/x/toxics)\n",
    ]
    assert activity_error(exception) == (
        "Toxiproxy refused: 404 proxy not found (POST http://127.0.0.1:8474/proxies/x/toxics)"
    )
    assert activity_error(["chaoslib.exceptions.ActivityFailed: ValueError: bad stream"]) == (
        "ValueError: bad stream"
    )
    assert activity_error(["requests.exceptions.ConnectionError: refused\n"]) == (
        "requests.exceptions.ConnectionError: refused"
    )
    assert activity_error([]) is None
    assert activity_error(None) is None
