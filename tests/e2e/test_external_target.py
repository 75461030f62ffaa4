"""Timeout verdicts on a target chaosrun did not write: HAProxy in front of a backend.

The response side of `expect: {timeout: ...}` (`timeout.bounded`, `timeout.fallback`) is judged
from the client's timeline and the fault window alone: it passes when HAProxy's `timeout server`
is below the injected latency (it answers its fallback) and fails when it is above (every request
waits the slow backend out). The retry verdicts are judged from what reached the backend,
recorded between Toxiproxy and it: HAProxy passes the load's `X-Chaosrun-Request` header on, so
each request's attempts are counted without the cooperation of either. HAProxy retrying twice
where none is declared fails `retry.capped`; with no retry at all, `retry.backoff` has nothing
to judge, says so, and keeps the run from passing (verdict `not-judged`, exit 1).

HAProxy's own breaker (`observe layer7 error-limit 3 on-error mark-down`, health checks each
second as the trial) is judged the same way: five breaker verdicts pass from the silences at
api, `sequence` is not judged (HAProxy gives no account here), and without those settings every
request keeps reaching api and the verdicts fail for it.

HAProxy's `maxconn` on the server is a bulkhead: the bulkhead verdicts are judged from the
requests traced to api (their ids reached it), with no account from HAProxy at all. `timeout
queue 1ms` sheds the excess at once (its 503 fallback) and passes; `timeout queue 5s` queues it
and lets it through late, which fails `bulkhead.rejects_fast`; no `maxconn` fails `bulkhead.cap`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.external import external_target

pytestmark = pytest.mark.matrix  # load-driven: measured latencies, run serially

EXPERIMENT = """\
version: 1.0.0
title: api slowed past HAProxy's server timeout
description: a target the lab does not contain
extensions:
  - name: chaosrun
    target:
      service_url: {service_url}
      toxiproxy_url: {toxiproxy_url}
    load:
      rate: 40
      endpoints: {{/api/item: 1}}
      warmup_s: 1
      cooldown_s: 1
    expect:
      timeout:
        dependency: api
        endpoint: /api/item
        timeout_ms: 300
        max_retries: 0
        epsilon_ms: 200
    deadline_s: 30
method:
  - type: action
    name: slow-down-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {{proxy: api, latency_ms: 900}}
    pauses: {{after: 2}}
  - type: action
    name: restore-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {{proxy: api}}
"""


def _verdicts(stdout: str, code: int, stderr: str) -> tuple[dict[str, Any], dict[str, Any]]:
    summary = json.loads(stdout)
    assert summary["exit_code"] == code, stderr
    for c in summary["checks"]:  # shown with -rP: the measured numbers behind each verdict
        print(f"{c['status'].upper()} {c['check']}: {c['observed']}")
    return summary, {c["check"]: c for c in summary["checks"]}


NOT_JUDGED = "not judged: at least 3 retried requests at api to see backoff (saw 0)"


def _run(
    tmp_path: Path, server_timeout_ms: int, retries: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    with external_target(tmp_path / "target", server_timeout_ms, retries) as target:
        experiment = tmp_path / "external.yaml"
        experiment.write_text(
            EXPERIMENT.format(service_url=target.service_url, toxiproxy_url=target.toxiproxy_url)
        )
        result = run_cli(tmp_path / "home", "run", str(experiment), "--json", timeout=90)
    return _verdicts(result.stdout, result.returncode, result.stderr)


def test_a_timeout_below_the_latency_passes_the_response_side(tmp_path: Path) -> None:
    summary, checks = _run(tmp_path, server_timeout_ms=300)
    assert checks["timeout.bounded"]["status"] == "passed", checks["timeout.bounded"]
    assert checks["timeout.fallback"]["status"] == "passed", checks["timeout.fallback"]
    assert checks["timeout.fallback"]["observed"].endswith(" degraded")
    capped = checks["retry.capped"]
    assert capped["status"] == "passed", capped
    assert capped["observed"].startswith("max 1 attempt per request over "), capped
    assert capped["observed"].endswith(" at api (0 retried)"), capped
    backoff = checks["retry.backoff"]
    assert (backoff["status"], backoff["observed"]) == ("not-judged", NOT_JUDGED)
    assert (summary["verdict"], summary["exit_code"]) == ("not-judged", 1)
    assert (
        summary["reason"]
        == f"a resilience verdict could not be judged: retry.backoff: {NOT_JUDGED}"
    )


def test_haproxy_retrying_where_no_retry_is_declared_fails_retry_capped(tmp_path: Path) -> None:
    # `retries 2` + `retry-on response-timeout`: every request meets the 900 ms latency, times
    # out after 300 ms three times, and the backend sees three arrivals with its request id.
    summary, checks = _run(tmp_path, server_timeout_ms=300, retries=2)
    capped = checks["retry.capped"]
    assert capped["status"] == "failed", capped
    assert capped["observed"].startswith("max 3 attempts per request over "), capped
    assert " requests over 1, e.g. " in capped["observed"], capped
    bounded = checks["timeout.bounded"]
    assert bounded["status"] == "failed", bounded  # three timeouts in a row: ~900 ms
    assert float(bounded["observed"].split()[1]) > 800.0, bounded
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1), summary["reason"]


def test_a_timeout_above_the_latency_fails_it_for_the_right_reason(tmp_path: Path) -> None:
    summary, checks = _run(tmp_path, server_timeout_ms=5000)
    bounded, fallback = checks["timeout.bounded"], checks["timeout.fallback"]
    assert bounded["status"] == "failed", bounded
    worst = float(bounded["observed"].split()[1])  # "max 912.3 ms (p99 ...) over N responses"
    assert worst > 900.0  # every request waited the 900 ms latency out
    assert fallback["status"] == "failed", fallback
    assert (
        "0 degraded" in fallback["observed"] and "waited without fallback" in fallback["observed"]
    )
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1), summary["reason"]
    assert summary["reason"].startswith("resilience verdict failed: timeout.bounded: max ")


BREAKER_EXPERIMENT = """\
version: 1.0.0
title: api slowed while HAProxy guards it with error-marking and health checks
description: HAProxy's breaker, judged from what reached api
extensions:
  - name: chaosrun
    target:
      service_url: {service_url}
      toxiproxy_url: {toxiproxy_url}
    load:
      rate: 40
      endpoints: {{/api/item: 1}}
      warmup_s: 1
      cooldown_s: 3
    expect:
      circuit_breaker:
        dependency: api
        opens_within_s: 2
        fail_fast_p99_ms: 50
        # HAProxy's trial is its next health check after the mark-down: checks run every 1 s
        # whatever the mark-down's phase (0.38 s seen once), and a failing one holds its 300 ms
        # timeout: 0 to 2 s.
        reset_timeout_s: 1.0
        tolerance_s: 1.0
        closes_within_s: 3
    deadline_s: 30
method:
  - type: action
    name: slow-down-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {{proxy: api, latency_ms: 900}}
    pauses: {{after: 3}}
  - type: action
    name: restore-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {{proxy: api}}
"""


def _run_breaker(tmp_path: Path, breaker: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    with external_target(tmp_path / "target", 300, breaker=breaker) as target:
        experiment = tmp_path / "breaker.yaml"
        experiment.write_text(
            BREAKER_EXPERIMENT.format(
                service_url=target.service_url, toxiproxy_url=target.toxiproxy_url
            )
        )
        result = run_cli(tmp_path / "home", "run", str(experiment), "--json", timeout=90)
    return _verdicts(result.stdout, result.returncode, result.stderr)


def test_haproxys_breaker_is_judged_from_what_reached_api(tmp_path: Path) -> None:
    # 3 timeouts mark the server down: requests get the fallback at once and none reaches api
    # but the health check each second (the trial), until one answers after the fault.
    summary, checks = _run_breaker(tmp_path, breaker=True)
    for name in (
        "circuit_breaker.opens",
        "circuit_breaker.fails_fast",
        "circuit_breaker.stops_traffic",
        "circuit_breaker.half_opens",
        "circuit_breaker.closes",
    ):
        assert checks[name]["status"] == "passed", checks[name]
        assert "account" not in checks[name]  # HAProxy says nothing of it here
    sequence = checks["circuit_breaker.sequence"]
    assert (sequence["status"], sequence["observed"]) == (
        "not-judged",
        "not judged: the service's breaker states (a breaker's transitions are not visible "
        "outside it)",
    )
    assert (summary["verdict"], summary["exit_code"]) == ("not-judged", 1), summary["reason"]


def test_haproxy_without_its_breaker_fails_for_the_traffic_that_kept_reaching_api(
    tmp_path: Path,
) -> None:
    summary, checks = _run_breaker(tmp_path, breaker=False)
    opens = checks["circuit_breaker.opens"]
    assert opens["status"] == "failed", opens
    assert "traffic kept reaching api through the fault: " in opens["observed"], opens
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1), summary["reason"]


BULKHEAD_EXPERIMENT = """\
version: 1.0.0
title: api slowed behind HAProxy's maxconn
description: HAProxy's bulkhead, judged from the requests traced to api
extensions:
  - name: chaosrun
    target:
      service_url: {service_url}
      toxiproxy_url: {toxiproxy_url}
    load:
      rate: 80
      endpoints: {{/api/item: 3, /api/local: 1}}
      warmup_s: 1
      cooldown_s: 2
    expect:
      bulkhead:
        dependency: api
        endpoints: [/api/item]
        max_concurrency: 10
        isolated_endpoints: [/api/local]
        rejected_p99_ms: 50
        slo_p99_ms: 1500  # an admitted call waits the 900 ms out
    deadline_s: 30
method:
  - type: action
    name: slow-down-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {{proxy: api, latency_ms: 900}}
    pauses: {{after: 2.5}}
  - type: action
    name: restore-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {{proxy: api}}
"""


def _run_bulkhead(
    tmp_path: Path, maxconn: int | None, queue_timeout_ms: int = 5000
) -> tuple[dict[str, Any], dict[str, Any]]:
    with external_target(
        tmp_path / "target", 5000, maxconn=maxconn, queue_timeout_ms=queue_timeout_ms
    ) as target:
        experiment = tmp_path / "bulkhead.yaml"
        experiment.write_text(
            BULKHEAD_EXPERIMENT.format(
                service_url=target.service_url, toxiproxy_url=target.toxiproxy_url
            )
        )
        result = run_cli(tmp_path / "home", "run", str(experiment), "--json", timeout=90)
    return _verdicts(result.stdout, result.returncode, result.stderr)


def _let_through(observed: str) -> int:
    found = re.search(r", (\d+) let through; ", observed)
    assert found, observed
    return int(found[1])


def test_haproxys_maxconn_sheds_fast_and_passes_the_bulkhead_verdicts(tmp_path: Path) -> None:
    summary, checks = _run_bulkhead(tmp_path, maxconn=10, queue_timeout_ms=1)
    for name in ("bulkhead.isolation", "bulkhead.cap", "bulkhead.rejects_fast"):
        assert checks[name]["status"] == "passed", checks[name]
        assert "account" not in checks[name], checks[name]  # HAProxy gives none: behaviour only
    assert _let_through(checks["bulkhead.rejects_fast"]["observed"]) == 0
    assert (summary["verdict"], summary["exit_code"]) == ("passed", 0), summary["reason"]


def test_a_maxconn_that_queues_fails_rejects_fast_alone(tmp_path: Path) -> None:
    # `timeout queue 5s`: the excess waits for a slot and reaches api late.
    summary, checks = _run_bulkhead(tmp_path, maxconn=10, queue_timeout_ms=5000)
    assert checks["bulkhead.cap"]["status"] == "passed", checks["bulkhead.cap"]
    rejects = checks["bulkhead.rejects_fast"]
    assert rejects["status"] == "failed", rejects
    assert _let_through(rejects["observed"]) > 0, rejects
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1), summary["reason"]


def test_no_maxconn_fails_the_cap(tmp_path: Path) -> None:
    summary, checks = _run_bulkhead(tmp_path, maxconn=None)
    cap = checks["bulkhead.cap"]
    assert cap["status"] == "failed", cap
    traced = re.search(r"traced from the requests (\d+), at api \d+\)$", cap["observed"])
    assert traced and int(traced[1]) > 10, cap
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1), summary["reason"]
