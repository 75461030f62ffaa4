"""Targets default to loopback: which hosts are refused, with which exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.engine.allow import (
    find_violations,
    is_loopback,
    parse_allowed,
    refusals,
    require_allowed,
)
from chaosrun.engine.reach import substitute
from chaosrun.errors import InputError, UsageError
from chaosrun.load import load_experiment
from chaosrun.model import Experiment

HEAD = "title: t\ndescription: d\n"


def _url_target(service: str, toxiproxy: str = "http://127.0.0.1:8474") -> str:
    return (
        "extensions:\n"
        "  - name: chaosrun\n"
        "    target:\n"
        f"      service_url: {service}\n"
        f"      toxiproxy_url: {toxiproxy}\n"
    )


def _probe(url: str, name: str = "p") -> str:
    return f"  - type: probe\n    name: {name}\n    provider: {{type: http, url: '{url}'}}\n"


def _experiment(tmp_path: Path, body: str, method: str | None = None) -> Experiment:
    path = tmp_path / "exp.yaml"
    method = method if method is not None else _probe("http://127.0.0.1:1/health")
    path.write_text(HEAD + body + "method:\n" + method)
    return load_experiment(path)


def _messages(experiment: Experiment, allowed: tuple[str, ...] = (), **environ: str) -> list[str]:
    violations = find_violations(experiment, parse_allowed(allowed), environ)
    return [f"chaosrun: {error}" for error in refusals(experiment, violations)]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.2",
        "127.255.255.254",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
        "LocalHost",
        "::ffff:127.0.0.1",
        "0:0:0:0:0:0:0:1",
    ],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "192.168.1.1",
        "example.com",
        "0.0.0.0",
        "128.0.0.1",
        "::2",
        "::",
        "192.0.2.1",
        "2001:db8::1",
        "localhost.example.com",
        "my-localhost",
        "127.1",
        "",
        "[]",
    ],
)
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("service", "toxiproxy"),
    [
        ("http://127.0.0.2:8080", "http://127.0.0.1:8474"),
        ("http://[::1]:8080", "http://[::1]:8474"),
        ("http://localhost:8080", "http://LOCALHOST:8474"),
    ],
)
def test_loopback_url_targets_pass(tmp_path: Path, service: str, toxiproxy: str) -> None:
    assert _messages(_experiment(tmp_path, _url_target(service, toxiproxy))) == []


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "example.com"])
def test_non_loopback_service_url_is_refused_with_file_line_and_key(
    tmp_path: Path, host: str
) -> None:
    experiment = _experiment(tmp_path, _url_target(f"http://{host}:8080"))
    assert _messages(experiment) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:6: extensions[0].target.service_url: host "
        f"'{host}' is not loopback; pass --allow-target {host} to allow it"
    ]
    with pytest.raises(InputError) as refused:
        require_allowed(experiment)
    assert refused.value.exit_code == 2 and refused.value.line == 6


def test_both_target_urls_are_reported_in_line_order(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path, _url_target("https://DB.Example.com/api", "http://[2001:db8::1]:8474")
    )
    assert _messages(experiment) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:6: extensions[0].target.service_url: host "
        "'db.example.com' is not loopback; pass --allow-target db.example.com to allow it",
        f"chaosrun: {tmp_path / 'exp.yaml'}:7: extensions[0].target.toxiproxy_url: host "
        "'2001:db8::1' is not loopback; pass --allow-target 2001:db8::1 to allow it",
    ]


def test_allow_target_allows_exactly_the_named_hosts(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path, _url_target("https://DB.Example.com/api", "http://[2001:db8::1]:8474")
    )
    assert _messages(experiment, ("db.example.COM", "[2001:0db8:0::1]")) == []
    assert _messages(experiment, ("db.example.com", "2001:db8::1")) == []
    only_db = _messages(experiment, ("db.example.com",))
    assert len(only_db) == 1 and "toxiproxy_url" in only_db[0]
    # An address is not its name and a name is never resolved.
    assert len(_messages(experiment, ("example.com", "2001:db8::2"))) == 2


def test_http_provider_urls_are_checked_everywhere(tmp_path: Path) -> None:
    body = (
        "steady-state-hypothesis:\n"
        "  title: h\n"
        "  probes:\n"
        "    - type: probe\n"
        "      name: remote\n"
        "      tolerance: 200\n"
        "      provider: {type: http, url: 'http://10.0.0.1/health'}\n"
        "    - type: probe\n"
        "      name: nested\n"
        "      tolerance:\n"
        "        type: probe\n"
        "        name: check\n"
        "        provider: {type: http, url: 'http://192.168.1.1/x', arguments: {}}\n"
        "      provider: {type: http, url: 'http://127.0.0.1:1/x'}\n"
    )
    method = _probe("http://example.com/y") + _probe("http://127.0.0.1:2/ok", "local")
    rollbacks = "rollbacks:\n" + _probe("http://localhost/ok", "back").replace("probe", "action")
    experiment = _experiment(tmp_path, body, method + rollbacks)
    file = tmp_path / "exp.yaml"
    assert _messages(experiment) == [
        f"chaosrun: {file}:9: steady-state-hypothesis.probes[0].provider.url: host '10.0.0.1' "
        "is not loopback; pass --allow-target 10.0.0.1 to allow it",
        f"chaosrun: {file}:15: steady-state-hypothesis.probes[1].tolerance.provider.url: host "
        "'192.168.1.1' is not loopback; pass --allow-target 192.168.1.1 to allow it",
        f"chaosrun: {file}:20: method[0].provider.url: host 'example.com' is not loopback; "
        "pass --allow-target example.com to allow it",
    ]
    assert _messages(experiment, ("10.0.0.1", "192.168.1.1", "example.com")) == []


def test_target_templates_are_the_target_itself(tmp_path: Path) -> None:
    lab = _experiment(
        tmp_path,
        "",
        _probe("${chaosrun_service_url}/health") + _probe("$chaosrun_toxiproxy_url", "t"),
    )
    assert _messages(lab) == []
    remote = _experiment(
        tmp_path, _url_target("http://10.0.0.1:8080"), _probe("${chaosrun_service_url}/health")
    )
    assert [m.split(": ")[2] for m in _messages(remote)] == ["extensions[0].target.service_url"]
    assert _messages(remote, ("10.0.0.1",)) == []


def test_a_target_template_elsewhere_in_the_url_does_not_hide_its_host(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path, "", _probe("http://evil.example/?next=${chaosrun_service_url}")
    )
    assert _messages(experiment) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:6: method[0].provider.url: host 'evil.example' is "
        "not loopback; pass --allow-target evil.example to allow it"
    ]


def test_configuration_templates_are_filled_as_chaos_toolkit_will(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = "configuration:\n  api: http://192.168.1.1:9000\n"
    experiment = _experiment(tmp_path, inline, _probe("${api}/x"))
    assert _messages(experiment) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:8: method[0].provider.url: host '192.168.1.1' is "
        "not loopback; pass --allow-target 192.168.1.1 to allow it"
    ]
    from_env = "configuration:\n  api: {type: env, key: API_URL}\n"
    monkeypatch.setenv("API_URL", "http://127.0.0.1:1")  # validation refuses an unset one
    experiment = _experiment(tmp_path, from_env, _probe("${api}/x"))
    assert _messages(experiment, API_URL="http://127.0.0.1:9000") == []
    assert _messages(experiment, API_URL="http://10.0.0.1:9000") == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:8: method[0].provider.url: host '10.0.0.1' is "
        "not loopback; pass --allow-target 10.0.0.1 to allow it"
    ]
    assert _messages(experiment) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:8: method[0].provider.url: cannot tell which host "
        "'${api}/x' points to before the run; write the host in the file or in its "
        "configuration"
    ]


def test_substitute_keeps_the_type_of_a_lone_template() -> None:
    mapping = {"n": 5, "proxy": "catalog"}
    assert substitute("${n}", mapping) == 5
    assert substitute({"a": ["${proxy}-x", "$n"], "b": 1}, mapping) == {
        "a": ["catalog-x", "5"],
        "b": 1,
    }
    assert substitute("${unknown}/x", mapping) == "${unknown}/x"


@pytest.mark.parametrize("value", ["", "http://db", "db:5432", "db/x", "user@db", "a b"])
def test_bad_allow_target_values_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError) as bad:
        parse_allowed([value])
    assert str(bad.value) == (
        "--allow-target: expected a host name or IP address (no scheme, port or path), "
        f"got {value!r}"
    )
    assert bad.value.exit_code == 2


def test_allowed_hosts_are_normalised() -> None:
    assert parse_allowed(["DB.example.com.", "[::1]", "2001:0DB8::1", "10.0.0.1"]) == {
        "db.example.com",
        "::1",
        "2001:db8::1",
        "10.0.0.1",
    }


def test_probes_of_the_chaosrun_block_are_checked(tmp_path: Path) -> None:
    from chaosrun.model import ChaosrunSpec

    if "abort_when" not in ChaosrunSpec.__dataclass_fields__:
        pytest.skip("no safeguards in this model")
    body = (
        "extensions:\n"
        "  - name: chaosrun\n"
        "    abort_when:\n"
        "      - probe:\n"
        "          type: probe\n"
        "          name: remote-health\n"
        "          tolerance: 200\n"
        "          provider: {type: http, url: 'http://10.0.0.1/health'}\n"
    )
    assert _messages(_experiment(tmp_path, body)) == [
        f"chaosrun: {tmp_path / 'exp.yaml'}:10: extensions[0].abort_when[0].probe.provider.url: "
        "host '10.0.0.1' is not loopback; pass --allow-target 10.0.0.1 to allow it"
    ]


def test_the_file_is_read_once_refusals_keep_their_lines_without_it(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path, "", _probe("http://10.0.0.1/health"))
    (tmp_path / "exp.yaml").unlink()  # parsed once: nothing may need the file again
    (refused,) = refusals(experiment, find_violations(experiment))
    assert (refused.key_path, refused.line) == ("method[0].provider.url", 6)
