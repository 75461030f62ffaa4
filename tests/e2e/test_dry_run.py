"""`chaosrun run --dry-run` touches nothing, and `--allow-target` guards non-loopback targets.

Proven at the proxy (every proxy byte-for-byte unchanged, the dependencies' far-side counters
unchanged) and inside the CLI process: it runs under a Python audit hook that records every
socket connect/bind/name lookup, every process started and every file opened for writing.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import REPO

# Runs chaosrun's CLI under an audit hook; the events go to $AUDIT_OUT as JSON.
AUDITED_CLI = """
import json, os, sys

events = []
recording = [True]
WATCHED = ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
           "subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.spawn", "os.system",
           "os.mkdir", "os.rename", "os.remove", "os.unlink")
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND

def hook(event, args):
    if not recording:
        return
    if event == "http.client.send":
        events.append([event, repr(bytes(args[1]).split(b"\\r\\n")[0])])  # the request line
    elif event in WATCHED:
        events.append([event, repr(args)])
    elif event == "open" and (
        (isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
        or (args[1] is None and args[2] & WRITE)
    ):
        events.append([event, repr(args)])

out = os.environ["AUDIT_OUT"]
sys.addaudithook(hook)
from chaosrun.cli import main

code = 1
try:
    code = main(sys.argv[1:])
finally:
    recording.clear()
    with open(out, "w") as handle:
        handle.write(json.dumps(events))
sys.exit(code)
"""

EXPERIMENTS = REPO / "experiments"
# Per shipped experiment: (phase, activity, kind, action, proxy, toxic type, toxic attributes).
Fault = tuple[str, str, str, str, str, str | None, dict[str, Any] | None]
EXPECTED: dict[str, list[Fault]] = {
    "latency-injection.yaml": [
        (
            "method",
            "slow-down-catalog",
            "latency",
            "inject",
            "catalog",
            "latency",
            {"latency": 800, "jitter": 0},
        ),
        ("method", "restore-catalog", "latency", "revert", "catalog", None, None),
        (
            "rollback",
            "make-sure-catalog-is-restored",
            "latency",
            "revert",
            "catalog",
            None,
            None,
        ),
    ],
    "dependency-failure.yaml": [
        (
            "method",
            "take-recommendations-down",
            "proxy_down",
            "inject",
            "recommendations",
            None,
            None,
        ),
        (
            "rollback",
            "bring-recommendations-back",
            "proxy_down",
            "revert",
            "recommendations",
            None,
            None,
        ),
    ],
    "circuit-breaker.yaml": [
        ("method", "blackhole-catalog", "timeout", "inject", "catalog", "timeout", {"timeout": 0}),
        ("method", "restore-catalog", "timeout", "revert", "catalog", None, None),
        ("rollback", "make-sure-catalog-is-restored", "timeout", "revert", "catalog", None, None),
    ],
    "bulkhead.yaml": [
        (
            "method",
            "slow-down-recommendations",
            "latency",
            "inject",
            "recommendations",
            "latency",
            {"latency": 1000, "jitter": 0},
        ),
        ("method", "restore-recommendations", "latency", "revert", "recommendations", None, None),
        (
            "rollback",
            "make-sure-recommendations-is-restored",
            "latency",
            "revert",
            "recommendations",
            None,
            None,
        ),
    ],
    "timeouts.yaml": [
        (
            "method",
            "slow-down-catalog",
            "latency",
            "inject",
            "catalog",
            "latency",
            {"latency": 1000, "jitter": 0},
        ),
        ("method", "restore-catalog", "latency", "revert", "catalog", None, None),
        ("method", "catalog-fails-fast", "fail_for", "inject", "catalog", None, None),
        ("rollback", "make-sure-catalog-is-restored", "latency", "revert", "catalog", None, None),
    ],
    "resource-exhaustion-cpu.yaml": [
        ("method", "starve-catalog", "cpu_quota", "inject", "catalog", None, None),
        ("method", "feed-catalog", "cpu_quota", "revert", "catalog", None, None),
        ("method", "catalog-fails-fast", "fail_for", "inject", "catalog", None, None),
        ("rollback", "make-sure-catalog-is-fed", "cpu_quota", "revert", "catalog", None, None),
    ],
    "resource-exhaustion-disk.yaml": [
        ("method", "fill-gateway-disk", "disk_full", "inject", "", None, None),
        ("method", "free-gateway-disk", "disk_full", "revert", "", None, None),
        ("rollback", "make-sure-the-disk-is-free", "disk_full", "revert", "", None, None),
    ],
    "resource-exhaustion-memory.yaml": [
        ("method", "squeeze-catalog", "memory_pressure", "inject", "catalog", None, None),
        (
            "method",
            "give-catalog-its-memory-back",
            "memory_pressure",
            "revert",
            "catalog",
            None,
            None,
        ),
        (
            "rollback",
            "make-sure-catalog-has-its-memory",
            "memory_pressure",
            "revert",
            "catalog",
            None,
            None,
        ),
    ],
    "resource-exhaustion-connection-pool.yaml": [
        (
            "method",
            "use-up-catalog-connections",
            "hold_connections",
            "inject",
            "catalog",
            None,
            None,
        ),
        (
            "method",
            "release-catalog-connections",
            "hold_connections",
            "revert",
            "catalog",
            None,
            None,
        ),
        (
            "rollback",
            "make-sure-catalog-connections-are-released",
            "hold_connections",
            "revert",
            "catalog",
            None,
            None,
        ),
    ],
}
REMOTE = """title: remote target
description: an explicit target on TEST-NET-1; never contacted
extensions:
  - name: chaosrun
    target:
      service_url: http://192.0.2.1:8080
      toxiproxy_url: http://192.0.2.1:8474
method:
  - type: action
    name: take-auth-down
    provider:
      type: python
      module: chaosrun.faults.proxy_down
      func: inject
      arguments: {proxy: auth}
rollbacks:
  - type: action
    name: bring-auth-back
    provider: {type: python, module: chaosrun.faults.proxy_down, func: revert,
               arguments: {proxy: auth}}
"""
# Inline secrets written again as python provider arguments: a long one (masked wherever it
# occurs in a line) and one too short for that (masked where it is a whole argument). The
# safeguard's probe is planned from the parsed chaosrun block, so only the output masking sees it.
LONG_SECRET, SHORT_SECRET = "inline-Zq81mN0pXv", "Zw!"
INLINE_SECRETS = f"""title: inline secrets
description: the dry run shows where the secrets go, never the secrets
secrets:
  demo: {{api_token: {LONG_SECRET}, pin: "{SHORT_SECRET}"}}
extensions:
  - name: chaosrun
    abort_when:
      - name: token-refused
        probe:
          type: probe
          name: echo-the-token-again
          tolerance: {{type: regex, pattern: "^received "}}
          provider: {{type: python, module: tests.e2e.test_secrets, func: echo_line,
                     arguments: {{text: {LONG_SECRET}}}}}
method:
  - type: probe
    name: echo-the-token
    provider:
      type: python
      module: tests.e2e.test_secrets
      func: echo_line
      arguments: {{text: "Bearer {LONG_SECRET}"}}
  - type: action
    name: present-the-pin
    provider:
      type: python
      module: tests.e2e.test_secrets
      func: fail_with
      arguments: {{token: {LONG_SECRET}, key: "{SHORT_SECRET}"}}
"""


def audited(
    tmp_path: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[tuple[str, str]]]:
    """Run `chaosrun ARGS` under the audit hook; return the result and the recorded events."""
    script, out = tmp_path / "audited_cli.py", tmp_path / "audit.json"
    script.write_text(AUDITED_CLI)
    out.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, str(script), *args],
        env={
            **os.environ,
            **(env or {}),
            "CHAOSRUN_HOME": str(home),
            "AUDIT_OUT": str(out),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(REPO),
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    events = [(event, args) for event, args in json.loads(out.read_text())]
    return result, events


def _words(text: str) -> str:
    """The text's words, single-spaced and space-padded: a plan line reads the same wrapped (the
    plan is wrapped to 80 columns when piped) or not; a padded line matches whole words only."""
    return f" {' '.join(text.split())} "


def _get(base: str, path: str) -> bytes:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("GET", path, headers={"User-Agent": "chaosrun-test"})
        response = conn.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        conn.close()


def _snapshot(lab: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """Every proxy as the Toxiproxy API returns it, and each dependency's far-side counters."""
    proxies = _get(lab["toxiproxy_url"], "/proxies")
    far_side = {
        name: json.loads(_get(f"http://{proxy['upstream']}", "/_stats"))
        for name, proxy in lab["proxies"].items()
    }
    return proxies, far_side


def _others_than_reads_of(api: str, events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Events other than looking up, connecting to and sending GETs to the Toxiproxy API."""
    parts = urlsplit(api)
    allowed = (f"('{parts.hostname}', {parts.port})", f"'{parts.hostname}', {parts.port},")
    return [
        (e, a)
        for e, a in events
        if not (e.startswith("socket.") and any(x in a for x in allowed))
        and not (e == "http.client.send" and a.startswith("b'GET /proxies "))
    ]


NO = (None, None)  # no toxic
# Experiments on the two-region lab: planned against the ephemeral lab a run would start.
TWO_REGION: dict[str, list[Fault]] = {
    "region-outage.yaml": [
        ("method", "region-a-goes-dark", "region_outage", "inject", "", None, None),
        ("method", "region-a-comes-back", "region_outage", "revert", "", None, None),
        ("rollback", "make-sure-region-a-is-back", "region_outage", "revert", "", None, None),
    ],
    "database-failover.yaml": [
        ("method", "cut-the-primarys-link-to-region-b", "proxy_down", "inject", "redis-a", *NO),
        ("method", "restore-the-link", "proxy_down", "revert", "redis-a", None, None),
        ("rollback", "make-sure-the-link-is-back", "proxy_down", "revert", "redis-a", *NO),
    ],
}


# Experiments on the k8s lab: the changes each step would make, with the lab's nodes named.
K8S: dict[str, list[tuple[str, str, str, str]]] = {
    "k8s-pod-kill.yaml": [
        ("method", "kill-one-gateway-pod", "k8s_pods", "delete 1 pod(s) matching app=gateway"),
    ],
    "k8s-zone-drain.yaml": [
        ("method", "drain-zone-a", "k8s_cordon", "cordon and drain nodes kwok-a-1, kwok-a-2:"),
        ("rollback", "uncordon-zone-a", "revert", "uncordon nodes kwok-a-1, kwok-a-2"),
    ],
}


def test_every_shipped_experiment_is_listed(tmp_path: Path) -> None:
    shipped = sorted(p.name for p in EXPERIMENTS.glob("*.yaml"))
    assert shipped == sorted([*EXPECTED, *TWO_REGION, *K8S])


@pytest.mark.parametrize("name", sorted(K8S))
def test_a_k8s_dry_run_names_every_object_it_may_change(
    lab: dict[str, Any], tmp_path: Path, name: str
) -> None:
    """Against the k8s lab a run would start: each change with its objects and its undo (or
    that it has none), and nothing contacted -- not even the running lab."""
    result, events = audited(
        tmp_path, lab["home"], "run", str(EXPERIMENTS / name), "--dry-run", "--json"
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["target"]["kind"] == "ephemeral-lab" and "k8s profile" in plan["target"]["note"]
    changes = [(f["phase"], f["activity"], f["kind"], f["effect"]) for f in plan["faults"]]
    assert [c[:3] for c in changes] == [k[:3] for k in K8S[name]]
    for (*_, effect), (*_, expected) in zip(changes, K8S[name], strict=True):
        assert effect.startswith(expected) or expected in effect, effect
    kinds = {s["kind"]: s for s in plan["systems"]}
    assert kinds["kubernetes"]["address"].startswith("https://127.0.0.1")
    assert [e for e in events if e[0] == "http.client.send"] == []
    assert not (lab["home"] / "runs").exists()


@pytest.mark.parametrize("name", sorted(TWO_REGION))
def test_a_two_region_dry_run_plans_its_faults_on_the_lab_it_would_start(
    lab: dict[str, Any], tmp_path: Path, name: str
) -> None:
    """The running lab is a streaming one: the plan names the two-region lab a run would start
    (its proxies, the region's and the database's), and touches nothing."""
    result, events = audited(
        tmp_path, lab["home"], "run", str(EXPERIMENTS / name), "--dry-run", "--json"
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["target"]["kind"] == "ephemeral-lab" and plan["warnings"] == []
    assert "two-region profile" in plan["target"]["note"]
    names = {p["name"] for p in plan["target"]["proxies"]}
    assert {"gateway-a", "catalog-b", "redis-a", "redis-a-local", "sentinel-3"} <= names
    faults = [
        (
            f["phase"],
            f["activity"],
            f["kind"],
            f["action"],
            f["proxy"],
            f["toxic"] and f["toxic"]["type"],
            f["toxic"] and f["toxic"]["attributes"],
        )
        for f in plan["faults"]
    ]
    assert faults == TWO_REGION[name]
    assert [e for e in events if e[0] == "http.client.send"] == []  # not even the running lab
    assert not (lab["home"] / "runs").exists()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dry_run_on_the_running_lab_plans_the_faults_and_changes_nothing(
    lab: dict[str, Any], tmp_path: Path, name: str
) -> None:
    before = _snapshot(lab)
    result, events = audited(
        tmp_path, lab["home"], "run", str(EXPERIMENTS / name), "--dry-run", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    plan = json.loads(result.stdout)
    assert plan["dry_run"] is True and plan["target"]["kind"] == "running-lab"
    faults = [
        (
            f["phase"],
            f["activity"],
            f["kind"],
            f["action"],
            f["proxy"],
            f["toxic"] and f["toxic"]["type"],
            f["toxic"] and f["toxic"]["attributes"],
        )
        for f in plan["faults"]
    ]
    assert faults == EXPECTED[name]
    for fault in plan["faults"]:
        where = (fault["toxiproxy_url"], fault["listen"], fault["upstream"])
        if not fault["proxy"]:  # on this host: the service under test or a path
            assert where == (lab["toxiproxy_url"], None, None)
            continue
        proxy = lab["proxies"][fault["proxy"]]
        assert where == (lab["toxiproxy_url"], proxy["listen"], proxy["upstream"])
    assert plan["steady_state"] and all(s["fault"] is None for s in plan["steady_state"])
    assert plan["warnings"] == []
    # Nothing but GETs on the lab's own Toxiproxy API; no process, no file, no port.
    assert _others_than_reads_of(lab["toxiproxy_url"], events) == []
    assert [e for e in events if e[0] == "http.client.send"] == [
        ("http.client.send", "b'GET /proxies HTTP/1.1'")
    ]
    assert _snapshot(lab) == before
    assert not (lab["home"] / "runs").exists()


def test_dry_run_text_names_the_toxic_and_where_it_goes(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    result, _ = audited(
        tmp_path, lab["home"], "run", "experiments/latency-injection.yaml", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    catalog, api = lab["proxies"]["catalog"], lab["toxiproxy_url"]
    text = _words(result.stdout)
    assert _words("target: the lab started by 'chaosrun lab up' (variant healthy)") in text
    assert (
        _words(
            "  1. slow-down-catalog: inject latency: add toxic chaosrun_latency_downstream to "
            "proxy catalog: type latency, stream downstream, toxicity 1.0, latency=800 jitter=0"
        )
        in text
    )
    assert (
        _words(
            f"       where: Toxiproxy {api}, proxy catalog listens on {catalog['listen']}, "
            f"upstream {catalog['upstream']}"
        )
        in text
    )
    assert _words(f"       request: POST {api}/proxies/catalog/toxics") in text


def _processes_with_home(home: Path) -> list[int]:
    marker = f"CHAOSRUN_HOME={home}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def test_dry_run_without_a_lab_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = tmp_path / "toxiproxy-server-started"
    fake_server = tmp_path / "toxiproxy-server"
    fake_server.write_text(f"#!/bin/sh\ntouch {started}\nexec sleep 30\n")
    fake_server.chmod(0o755)
    result, events = audited(
        tmp_path,
        home,
        "run",
        "experiments/circuit-breaker.yaml",
        "--dry-run",
        env={"TOXIPROXY_SERVER": str(fake_server)},
    )
    assert result.returncode == 0, result.stderr
    assert _words(
        "target: an ephemeral lab would be started (variant healthy) on free ports of "
        "127.0.0.1 and stopped after the run"
    ) in _words(result.stdout)
    assert _words("load: open loop, 150 req/s over /api/play 67%, /api/browse 33%;") in _words(
        result.stdout
    )
    assert events == []  # no socket, no name lookup, no process, no file written
    assert not started.exists() and not home.exists()
    assert _processes_with_home(home) == []


def _remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.yaml"
    path.write_text(REMOTE)
    return path


def test_a_non_loopback_target_is_refused_before_anything_happens(tmp_path: Path) -> None:
    path, home = _remote(tmp_path), tmp_path / "home"
    refusal = [
        f"chaosrun: {path}:6: extensions[0].target.service_url: host '192.0.2.1' is not "
        "loopback; pass --allow-target 192.0.2.1 to allow it",
        f"chaosrun: {path}:7: extensions[0].target.toxiproxy_url: host '192.0.2.1' is not "
        "loopback; pass --allow-target 192.0.2.1 to allow it",
    ]
    for extra in ([], ["--dry-run"], ["--allow-target", "192.0.2.2"]):
        result, events = audited(tmp_path, home, "run", str(path), *extra)
        assert result.returncode == 2, result.stderr
        assert (result.stdout, result.stderr.splitlines()) == ("", refusal)
        assert events == []
    assert not home.exists()


def test_an_allowed_target_gets_a_plan_without_being_contacted(tmp_path: Path) -> None:
    path, home = _remote(tmp_path), tmp_path / "home"
    args = ("run", str(path), "--dry-run", "--allow-target", "192.0.2.1")
    result, events = audited(tmp_path, home, *args)
    assert result.returncode == 0, result.stderr
    text = _words(result.stdout)
    assert (
        _words("target: explicit target: not contacted by a dry run, so its proxies are not listed")
        in text
    )
    assert (
        _words(
            "       where: Toxiproxy http://192.0.2.1:8474, proxy auth listens on unknown "
            "(not contacted), upstream unknown (not contacted)"
        )
        in text
    )
    assert _words("       request: PATCH http://192.0.2.1:8474/proxies/auth enabled=false") in text
    assert events == []
    result, events = audited(tmp_path, home, *args, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert (plan["target"]["kind"], plan["target"]["proxies"]) == ("url", [])
    assert [(f["kind"], f["action"], f["proxy"]) for f in plan["faults"]] == [
        ("proxy_down", "inject", "auth"),
        ("proxy_down", "revert", "auth"),
    ]
    assert events == []
    assert not home.exists()


def test_dry_run_masks_inline_secrets_in_text_and_json(tmp_path: Path) -> None:
    path, home = tmp_path / "secrets.yaml", tmp_path / "home"
    path.write_text(INLINE_SECRETS)
    echo = "python tests.e2e.test_secrets.echo_line text=Bearer ***"
    pin = "python tests.e2e.test_secrets.fail_with token=*** key=***"
    allow = ("--allow-module", "tests.e2e.test_secrets")
    text, events = audited(tmp_path, home, "run", str(path), "--dry-run", *allow)
    assert (text.returncode, text.stderr, events) == (0, "", [])
    unwrapped = "".join(text.stdout.split())  # a secret split over two lines is still seen
    assert LONG_SECRET not in unwrapped and SHORT_SECRET not in unwrapped
    assert _words(f"  1. would run probe echo-the-token ({echo})") in _words(text.stdout)
    assert _words(f"  2. would run action present-the-pin ({pin})") in _words(text.stdout)
    guard = (
        "token-refused: abort (exit 4) when probe echo-the-token-again (python "
        "tests.e2e.test_secrets.echo_line text=***) is out of tolerance, checked every 1 s (at "
        "the first failure)"
    )
    assert _words(f"  {guard}") in _words(text.stdout)
    data, events = audited(tmp_path, home, "run", str(path), "--dry-run", "--json", *allow)
    assert (data.returncode, data.stderr, events) == (0, "", [])
    assert LONG_SECRET not in data.stdout and SHORT_SECRET not in data.stdout
    plan = json.loads(data.stdout)
    assert [step["provider"] for step in plan["method"]] == [echo, pin]
    assert plan["safeguards"] == [guard]
    assert not home.exists()


def test_bad_flag_values_are_usage_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad, events = audited(
        tmp_path, home, "run", "experiments/latency-injection.yaml", "--allow-target", "http://x"
    )
    assert bad.returncode == 2
    assert bad.stderr == (
        "chaosrun: --allow-target: expected a host name or IP address (no scheme, port or "
        "path), got 'http://x'\n"
    )
    journal = tmp_path / "journal.json"
    args = (
        "run",
        "experiments/latency-injection.yaml",
        "--dry-run",
        "--journal-path",
        str(journal),
    )
    bad, events = audited(tmp_path, home, *args)
    assert (bad.returncode, bad.stderr) == (
        2,
        "chaosrun: --journal-path: a dry run writes no journal\n",
    )
    assert events == [] and not journal.exists() and not home.exists()
