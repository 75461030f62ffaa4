"""Error-budget admission against a real Prometheus (Debian's) scraping the lab's /metrics.

A lab whose gateway has no fallback answers 5xx while catalog is down. Prometheus scrapes it
every second. With clean traffic only, the budget is intact and a suite runs its experiment;
after seconds of errors the fast burn rate is far over its limit and the suite skips the
experiment, saying why (exit 5). Traffic: bounded request loops to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.admission.sources import admit
from chaosrun.admission.spec import load_budget
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.lab.ports import free_ports
from chaosrun.lab.toxiproxy import ToxiproxyClient
from tests.e2e.conftest import REPO, run_cli

pytestmark = pytest.mark.timeout(120)

ERRORS = 'sum(increase(gateway_requests_total{status=~"5.."}[$window]))'
TOTAL = "sum(increase(gateway_requests_total[$window]))"


def _get(url: str, timeout_s: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabInfo]:
    info = lab_up(tmp_path / "lab", "no-fallback")
    try:
        yield info
    finally:
        assert lab_down(info) == []


@pytest.fixture
def prometheus(tmp_path: Path, lab: LabInfo) -> Iterator[str]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: run `make setup` (apt-get install prometheus)"
    (port,) = free_ports(1)
    gateway = lab.service_url.removeprefix("http://").rstrip("/")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: lab\n    static_configs: [{{targets: ['{gateway}']}}]\n"
    )
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _get(f"{url}/-/ready") != 200:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus never became ready"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _traffic(lab: LabInfo, seconds: float, rate: float = 40.0) -> list[int]:
    statuses = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        statuses.append(_get(f"{lab.service_url}/api/play"))
        time.sleep(1 / rate)
    return statuses


def _scraped(prometheus: str, query: str, at_least: float) -> None:
    """Wait until Prometheus has the traffic (two scrapes after it ended)."""
    deadline = time.monotonic() + 20
    address = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    while time.monotonic() < deadline:
        with urllib.request.urlopen(address, timeout=5) as response:
            result = json.loads(response.read())["data"]["result"]
        if result and float(result[0]["value"][1]) >= at_least:
            return
        time.sleep(0.5)
    raise AssertionError(f"prometheus never saw {query} >= {at_least}")


def _budget(tmp_path: Path, prometheus: str) -> Path:
    budget = tmp_path / "budget.yaml"
    budget.write_text(
        "slos:\n  - name: playback availability\n    target: lab\n    objective: 0.999\n"
        f"    window_days: 30\n    prometheus:\n      url: {prometheus}\n"
        f"      errors: '{ERRORS}'\n      total: '{TOTAL}'\n"
    )
    return budget


def test_admission_reads_the_burn_rates_from_prometheus(
    tmp_path: Path, lab: LabInfo, prometheus: str
) -> None:
    budget = _budget(tmp_path, prometheus)
    statuses = _traffic(lab, 3.0)
    assert set(statuses) == {200}
    _scraped(prometheus, "sum(gateway_requests_total)", len(statuses))
    clean = admit(load_budget(budget), "lab", tmp_path / "home")
    assert clean is not None and clean.admitted, clean
    assert clean.fast_burn == 0.0 and clean.budget_left == 1.0

    ToxiproxyClient(lab.toxiproxy_url).set_enabled("catalog", False)
    try:
        failing = _traffic(lab, 4.0)
    finally:
        ToxiproxyClient(lab.toxiproxy_url).set_enabled("catalog", True)
    errors = sum(1 for s in failing if s >= 500)
    assert errors > len(failing) / 2, failing
    _scraped(prometheus, 'sum(gateway_requests_total{status=~"5.."})', errors)

    home = tmp_path / "home"
    result = run_cli(
        home,
        "suite",
        str(REPO / "tests" / "e2e" / "experiments" / "probe-only.yaml"),
        "--budget",
        str(budget),
        "--json",
    )
    assert result.returncode == 5, result.stderr
    (skipped,) = json.loads(result.stdout)["results"]
    assert skipped["state"] == "skipped"
    decision = skipped["admission"]
    assert decision["admitted"] is False and decision["source"] == f"prometheus {prometheus}"
    # Over half of the last requests failed against a 0.1 % budget: a burn rate in the hundreds.
    assert decision["fast_burn"] > 100 > decision["fast_limit"] == pytest.approx(14.4)
    assert skipped["reason"].startswith("not admitted by SLO 'playback availability'")
    assert "fast burn" in skipped["reason"] and "(limit 14.4x)" in skipped["reason"]
    assert not (home / "runs").exists()  # nothing ran
    print(skipped["reason"])  # shown with -s: the decision as a user reads it
