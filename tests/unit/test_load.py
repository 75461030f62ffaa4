"""chaosrun.load: line-numbered loading, strict validation, parsing into chaosrun.model."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosrun.errors import EXIT_USAGE, InputError
from chaosrun.load import MAX_BYTES, check_files, load_experiment, validate_files
from chaosrun.model import (
    KNOWN_VARIANTS,
    ChaosrunSpec,
    Experiment,
    FaultUse,
    LabTarget,
    Slo,
    UrlTarget,
)
from chaosrun.schema import tolerances
from chaosrun.schema.common import MAX_WARNINGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BAD = FIXTURES / "bad"
GOOD = FIXTURES / "good"

# One failure class per fixture: the full message, as `chaosrun validate` prints it.
BAD_CASES = [
    # file level
    ("empty.yaml", "empty.yaml: the file is empty"),
    ("only_comments.yaml", "only_comments.yaml: the file is empty"),
    ("non_utf8.yaml", "non_utf8.yaml:1: not valid UTF-8: unexpected byte 0xe9"),
    (
        "unsupported_extension.txt",
        "unsupported_extension.txt: unsupported file type '.txt'; expected .yaml, .yml or .json",
    ),
    (
        "yaml_syntax_error.yaml",
        "yaml_syntax_error.yaml:5: invalid YAML: while parsing a flow sequence: "
        "expected ',' or ']', but got '<stream end>'",
    ),
    ("json_syntax_error.json", "json_syntax_error.json:4: invalid JSON: Expecting ',' delimiter"),
    (
        "top_level_list.yaml",
        "top_level_list.yaml:1: the top level must be a mapping of experiment keys, got a list",
    ),
    (
        "scalar_top_level.yaml",
        "scalar_top_level.yaml:1: the top level must be a mapping of experiment keys, got a string",
    ),
    ("duplicate_key.yaml", "duplicate_key.yaml:11: title: duplicate key 'title' (first on line 1)"),
    (
        "alias_bomb.yaml",
        "alias_bomb.yaml: document too large: more than 100000 nodes after expanding aliases",
    ),
    (
        "unquoted_date.yaml",
        "unquoted_date.yaml:1: version: 2024-05-01 is read as a date by YAML; quote it",
    ),
    (
        "boolean_key.yaml",
        "boolean_key.yaml:11: method[0].on: key 'on' is read as a boolean by YAML; quote it",
    ),
    (
        "unsupported_tag.yaml",
        "unsupported_tag.yaml:12: configuration.blob: unsupported YAML tag '!!binary'",
    ),
    # top level
    (
        "top_key_misspelled.yaml",
        "top_key_misspelled.yaml:3: metod: unknown key 'metod'; did you mean 'method'?",
    ),
    ("missing_title.yaml", "missing_title.yaml:1: missing required key 'title'"),
    (
        "empty_description.yaml",
        "empty_description.yaml:2: description: expected a non-empty string",
    ),
    ("tags_not_list.yaml", "tags_not_list.yaml:3: tags: expected a list of strings, got a string"),
    (
        "method_not_list.yaml",
        "method_not_list.yaml:3: method: expected a list of activities, got a mapping",
    ),
    (
        "method_empty_without_hypothesis.yaml",
        "method_empty_without_hypothesis.yaml:3: method: an empty method is only for checking a "
        "steady-state hypothesis, and this experiment has no hypothesis probe",
    ),
    (
        "bad_rollback_strategy.yaml",
        "bad_rollback_strategy.yaml:13: runtime.rollbacks.strategy: "
        "unknown strategy 'allways'; did you mean 'always'?",
    ),
    # activities
    (
        "unknown_activity_type.yaml",
        "unknown_activity_type.yaml:4: method[0].type: "
        "unknown activity type 'acton'; did you mean 'action'?",
    ),
    (
        "misspelled_activity_key.yaml",
        "misspelled_activity_key.yaml:6: method[0].provder: "
        "unknown key 'provder'; did you mean 'provider'?",
    ),
    (
        "negative_pause.yaml",
        "negative_pause.yaml:6: method[0].pauses.before: expected a non-negative number, got -1",
    ),
    (
        "ref_unknown_activity.yaml",
        "ref_unknown_activity.yaml:11: method[1].ref: "
        "ref 'slow-catalgo' does not match any earlier activity; did you mean 'slow-catalog'?",
    ),
    (
        "tolerance_on_action.yaml",
        "tolerance_on_action.yaml:6: method[0].tolerance: tolerance is only allowed on probes",
    ),
    (
        "hypothesis_probe_without_tolerance.yaml",
        "hypothesis_probe_without_tolerance.yaml:6: steady-state-hypothesis.probes[0]: "
        "missing required key 'tolerance' (every hypothesis probe needs one)",
    ),
    (
        "hypothesis_ref_without_tolerance.yaml",
        "hypothesis_ref_without_tolerance.yaml:10: steady-state-hypothesis.probes[1]: "
        "missing required key 'tolerance' (every hypothesis probe needs one)",
    ),
    (
        "hypothesis_ref_misspelled_tolerance.yaml",
        "hypothesis_ref_misspelled_tolerance.yaml:11: steady-state-hypothesis.probes[1].toleranse: "
        "unknown key 'toleranse'; did you mean 'tolerance'?",
    ),
    # tolerances
    (
        "float_tolerance.yaml",
        "float_tolerance.yaml:8: steady-state-hypothesis.probes[0].tolerance: "
        "float tolerances are rejected by Chaos Toolkit; "
        "use a range: {type: range, range: [0.99, 1.0]}",
    ),
    (
        "reversed_range_list.yaml",
        "reversed_range_list.yaml:8: steady-state-hypothesis.probes[0].tolerance: "
        "2-element list tolerance is a range [lo, hi] in Chaos Toolkit; 10 > 5 can never match",
    ),
    (
        "empty_list_tolerance.yaml",
        "empty_list_tolerance.yaml:8: steady-state-hypothesis.probes[0].tolerance: "
        "an empty list tolerance can never match",
    ),
    (
        "unknown_tolerance_type.yaml",
        "unknown_tolerance_type.yaml:8: steady-state-hypothesis.probes[0].tolerance.type: "
        "unknown tolerance type 'rnge'; did you mean 'range'?",
    ),
    (
        "reversed_range_tolerance.yaml",
        "reversed_range_tolerance.yaml:10: steady-state-hypothesis.probes[0].tolerance.range: "
        "range [lo, hi] can never match: 1.0 > 0.99",
    ),
    (
        "invalid_regex_tolerance.yaml",
        "invalid_regex_tolerance.yaml:8: steady-state-hypothesis.probes[0].tolerance.pattern: "
        "invalid regular expression: unterminated character set at position 2",
    ),
    (
        "jsonpath_tolerance.yaml",
        "jsonpath_tolerance.yaml:8: steady-state-hypothesis.probes[0].tolerance: "
        "jsonpath tolerance needs 'pip install chaostoolkit-lib[jsonpath]'",
    ),
    # providers
    (
        "unknown_provider_type.yaml",
        "unknown_provider_type.yaml:7: method[0].provider.type: "
        "unknown provider type 'pyhton'; did you mean 'python'?",
    ),
    (
        "process_shell_semicolon.yaml",
        "process_shell_semicolon.yaml:9: method[0].provider.arguments: process arguments use "
        "shell syntax (';'): refused; pass --allow-shell to run them through /bin/sh",
    ),
    (
        "process_shell_pipe.yaml",
        "process_shell_pipe.yaml:9: method[0].provider.arguments: process arguments use "
        "shell syntax ('|'): refused; pass --allow-shell to run them through /bin/sh",
    ),
    (
        "process_arguments_open_quote.yaml",
        "process_arguments_open_quote.yaml:9: method[0].provider.arguments: "
        "cannot split process arguments: no closing quotation",
    ),
    (
        "process_arguments_nested.yaml",
        "process_arguments_nested.yaml:11: method[0].provider.arguments.--tags: "
        "expected a string, a number, a boolean or null, got a list",
    ),
    (
        "process_path_not_found.yaml",
        "process_path_not_found.yaml:8: method[0].provider.path: "
        "cannot find executable 'no-such-chaosrun-tool'",
    ),
    (
        "cannot_import_module.yaml",
        "cannot_import_module.yaml:8: method[0].provider.module: "
        "cannot import module 'chaosrun.no_such_module'",
    ),
    # what Chaos Toolkit refuses to run (a default makes the variable optional)
    (
        "env_key_not_set.yaml",
        "env_key_not_set.yaml:7: configuration.api_token.key: environment variable "
        "'CHAOSRUN_TEST_NEVER_SET_TOKEN' is not set (Chaos Toolkit refuses to run without it; "
        "set it, or give a 'default')",
    ),
    # python providers name allowed modules only, decided before any import
    (
        "module_never_allowed.yaml",
        "module_never_allowed.yaml:8: method[0].provider.module: module 'os' is never "
        "allowed: it runs commands or arbitrary code (use a Chaos Toolkit extension or your "
        "own module)",
    ),
    (
        "module_not_allowed.yaml",
        "module_not_allowed.yaml:8: method[0].provider.module: module 'mylib.faults' is not "
        "allowed: python providers may use chaosrun, chaoslib and installed Chaos Toolkit "
        "extensions; allow it with --allow-module mylib",
    ),
    # chaosrun faults: kind, function, argument binding, limits
    (
        "unknown_fault_kind.yaml",
        "unknown_fault_kind.yaml:8: method[0].provider.module: "
        "unknown fault 'latncy'; did you mean 'latency'?",
    ),
    (
        "unknown_function.yaml",
        "unknown_function.yaml:9: method[0].provider.func: "
        "module 'chaosrun.faults.latency' has no function 'injct'; did you mean 'inject'?",
    ),
    (
        "misspelled_fault_argument.yaml",
        "misspelled_fault_argument.yaml:10: method[0].provider.arguments.latncy_ms: "
        "unknown argument 'latncy_ms' for chaosrun.faults.latency.inject; "
        "did you mean 'latency_ms'?",
    ),
    (
        "wrong_argument_type.yaml",
        "wrong_argument_type.yaml:13: method[0].provider.arguments.toxicity: "
        "expected a number, got 'fast'",
    ),
    (
        "float_for_int_argument.yaml",
        "float_for_int_argument.yaml:10: method[0].provider.arguments.latency_ms: "
        "expected an integer, got 100.5",
    ),
    (
        "missing_required_argument.yaml",
        "missing_required_argument.yaml:10: method[0].provider.arguments: "
        "missing required argument 'proxy' for chaosrun.faults.latency.inject",
    ),
    (
        "argument_supplied_by_toolkit.yaml",
        "argument_supplied_by_toolkit.yaml:10: method[0].provider.arguments.configuration: "
        "argument 'configuration' is supplied by Chaos Toolkit; remove it",
    ),
    (
        "fault_argument_out_of_limits.yaml",
        "fault_argument_out_of_limits.yaml:10: method[0].provider.arguments.latency_ms: "
        "expected latency_ms in [0, 3600000], got -5",
    ),
    # the chaosrun block
    (
        "chaosrun_block_misspelled_key.yaml",
        "chaosrun_block_misspelled_key.yaml:5: extensions[0].dedline_s: "
        "unknown key 'dedline_s'; did you mean 'deadline_s'?",
    ),
    (
        "bad_availability.yaml",
        "bad_availability.yaml:6: extensions[0].slo.availability: "
        "availability is a fraction in (0, 1]; did you mean 0.99?",
    ),
    (
        "unknown_percentile.yaml",
        "unknown_percentile.yaml:6: extensions[0].slo.latency_ms.p42: "
        "unknown percentile 'p42'; expected one of p50, p90, p95, p99, p999",
    ),
    (
        "breaker_state_metric_not_a_selector.yaml",
        "breaker_state_metric_not_a_selector.yaml:9: "
        "extensions[0].expect.circuit_breaker.state_metric: expected a metric selector such as "
        "name{label=\"value\"}, got 'resilience4j_circuitbreaker_state{name=catalog}'",
    ),
    (
        "negative_latency_slo.yaml",
        "negative_latency_slo.yaml:6: extensions[0].slo.latency_ms.p99: "
        "expected a positive number, got -300",
    ),
    (
        "unknown_variant.yaml",
        "unknown_variant.yaml:6: extensions[0].target.lab.variant: "
        "unknown variant 'no-breakr'; did you mean 'no-breaker'?",
    ),
    (
        "lab_and_url_target.yaml",
        "lab_and_url_target.yaml:5: extensions[0].target: "
        "target is one of 'lab', 'service_url' + 'toxiproxy_url' or 'kubernetes', not several",
    ),
    (
        "url_target_missing_toxiproxy.yaml",
        "url_target_missing_toxiproxy.yaml:5: extensions[0].target: "
        "missing required key 'toxiproxy_url' (service_url and toxiproxy_url go together)",
    ),
    (
        "url_target_bad_scheme.yaml",
        "url_target_bad_scheme.yaml:7: extensions[0].target.toxiproxy_url: "
        "expected an http:// or https:// URL, got 'ftp://127.0.0.1:8474'",
    ),
    (
        "bool_as_number.yaml",
        "bool_as_number.yaml:5: extensions[0].deadline_s: expected a number, got true",
    ),
    (
        "deadline_too_long.yaml",
        "deadline_too_long.yaml:5: extensions[0].deadline_s: "
        "expected a number at most 86400, got 100000",
    ),
    # what validates, runs (chaosrun.schema.preflight)
    (
        "http_url_not_a_url.yaml",
        "http_url_not_a_url.yaml:11: steady-state-hypothesis.probes[0].provider.url: "
        "expected an http:// or https:// URL with a host, got 'x'",
    ),
    (
        "http_url_template_not_a_url.yaml",
        "http_url_template_not_a_url.yaml:10: method[0].provider.url: expected an "
        "http:// or https:// URL with a host, got '127.0.0.1:8080/health' (from "
        "'${health}')",
    ),
    (
        "range_tolerance_without_target.yaml",
        "range_tolerance_without_target.yaml:11: "
        "steady-state-hypothesis.probes[0].tolerance: a range tolerance on "
        "chaosrun.probes.sli.live_sli needs a 'target': it returns a mapping (endpoint, "
        "window_s, requests, expected, unanswered, ok, errors, degraded, availability, "
        "p50_ms, p90_ms, p95_ms, p99_ms, max_ms)",
    ),
    (
        "tolerance_target_not_a_key.yaml",
        "tolerance_target_not_a_key.yaml:11: "
        "steady-state-hypothesis.probes[0].tolerance.target: "
        "chaosrun.probes.sli.live_sli returns no key 'availabilty'; did you mean "
        "'availability'?",
    ),
    (
        "fault_argument_template_unresolved.yaml",
        "fault_argument_template_unresolved.yaml:12: "
        "method[0].provider.arguments.latency_ms: '${my_latency}' does not resolve: no "
        "configuration key 'my_latency'; did you mean 'my_latncy'?",
    ),
    (
        "fault_argument_template_wrong_type.yaml",
        "fault_argument_template_wrong_type.yaml:12: "
        "method[0].provider.arguments.latency_ms: '${my_latency}' is 'fast' "
        "(configuration.my_latency, line 4): expected an integer",
    ),
    (
        "fault_argument_template_out_of_limits.yaml",
        "fault_argument_template_out_of_limits.yaml:12: "
        "method[0].provider.arguments.latency_ms: '${my_latency}' is '-5' "
        "(configuration.my_latency, line 4): expected latency_ms in [0, 3600000]",
    ),
    (
        "control_module_missing.yaml",
        "control_module_missing.yaml:7: controls[0].provider.module: cannot import "
        "control module 'chaosrun.no_such_control' (Chaos Toolkit would skip the "
        "control without a word)",
    ),
    (
        "control_module_not_allowed.yaml",
        "control_module_not_allowed.yaml:13: method[0].controls[0].provider.module: "
        "module 'subprocess' is never allowed: it runs commands or arbitrary code (use "
        "a Chaos Toolkit extension or your own module)",
    ),
    (
        "pauses_exceed_deadline.yaml",
        "pauses_exceed_deadline.yaml:5: extensions[0].deadline_s: deadline_s: 4 s "
        "cannot hold the experiment's declared pauses (11 s in all; the longest 10 s at "
        "method[0].pauses.after, line 14)",
    ),
    (
        "target_on_scalar_probe.yaml",
        "target_on_scalar_probe.yaml:8: "
        "steady-state-hypothesis.probes[0].tolerance.target: 'target' picks a key of a "
        "mapping, but chaosrun.probes.service.breaker_state returns a str",
    ),
]

MINIMAL = """\
title: t
description: d
method:
  - type: action
    name: slow
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: catalog, latency_ms: 100}
"""


@pytest.fixture
def in_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the bad-fixtures directory so file names in messages are short and exact."""
    monkeypatch.chdir(BAD)
    monkeypatch.setattr(tolerances, "has_jsonpath", lambda: False)


def write(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


FAKE_MODULES = (  # modules these tests make up, allowed as --allow-module would
    "chaosrun_fake_provider",
    "chaosrun_fake_broken",
    "chaosrun_fake_exits",
    "chaosrun_fake_needs",
)


def messages(path: Path) -> list[str]:
    return [error.expected for error in validate_files([path], FAKE_MODULES)]


def test_every_bad_fixture_is_in_the_table() -> None:
    on_disk = {p.name for p in BAD.iterdir()} - {"three_errors.yaml"}
    assert on_disk == {name for name, _ in BAD_CASES}
    assert len(BAD_CASES) >= 25


@pytest.mark.usefixtures("in_bad")
@pytest.mark.parametrize(("fixture", "message"), BAD_CASES, ids=[n for n, _ in BAD_CASES])
def test_bad_fixture_fails_with_one_exact_message(fixture: str, message: str) -> None:
    assert [str(error) for error in validate_files([fixture])] == [message]
    with pytest.raises(InputError) as caught:
        load_experiment(fixture)
    assert str(caught.value) == message
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.file == fixture


@pytest.mark.usefixtures("in_bad")
def test_validate_files_reports_every_independent_error() -> None:
    errors = validate_files(["three_errors.yaml"])
    assert [str(error) for error in errors] == [
        "three_errors.yaml:6: extensions[0].slo.availability: "
        "availability is a fraction in (0, 1]; did you mean 0.99?",
        "three_errors.yaml:12: steady-state-hypothesis.probes[0].tolerance: "
        "float tolerances are rejected by Chaos Toolkit; "
        "use a range: {type: range, range: [0.99, 1.0]}",
        "three_errors.yaml:21: method[0].provider.arguments.latncy_ms: "
        "unknown argument 'latncy_ms' for chaosrun.faults.latency.inject; "
        "did you mean 'latency_ms'?",
    ]
    with pytest.raises(InputError) as caught:
        load_experiment("three_errors.yaml")
    assert str(caught.value) == str(errors[0])


@pytest.mark.usefixtures("in_bad")
def test_validate_files_keeps_file_order_and_skips_good_files() -> None:
    good = str(GOOD / "minimal.yaml")
    errors = validate_files(["method_not_list.yaml", good, "empty.yaml", "missing.yaml"])
    assert [error.file for error in errors] == [
        "method_not_list.yaml",
        "empty.yaml",
        "missing.yaml",
    ]
    assert errors[-1].expected == "file not found"
    assert validate_files([good]) == []
    assert validate_files([]) == []


# --- good fixtures -------------------------------------------------------------------------------


def test_minimal_experiment_takes_every_default() -> None:
    experiment = load_experiment(GOOD / "minimal.yaml")
    assert experiment.path == GOOD / "minimal.yaml"
    assert experiment.title == "Minimal experiment"
    assert experiment.chaosrun == ChaosrunSpec()
    assert experiment.chaosrun.target == LabTarget("healthy")
    assert experiment.chaosrun.slo is None
    assert experiment.chaosrun.deadline_s == 300.0
    assert experiment.faults == (
        FaultUse(
            "latency", "inject", (("proxy", "catalog"), ("latency_ms", 800)), "slow-catalog", 4
        ),
    )


def test_full_experiment() -> None:
    experiment = load_experiment(str(GOOD / "full.yaml"))
    assert experiment.chaosrun == ChaosrunSpec(
        target=LabTarget("no-breaker"),
        slo=Slo(availability=0.995, latency_ms=(("p50", 50.0), ("p99", 300.0))),
        deadline_s=90.0,
    )
    slow = (("proxy", "catalog"), ("latency_ms", 800))
    slower = (("proxy", "catalog"), ("latency_ms", 1600), ("toxicity", 1))
    assert experiment.faults == (
        FaultUse("latency", "inject", slow, "slow-catalog", 53),
        FaultUse("latency", "inject", slower, "slower-catalog", 63),
        FaultUse("latency", "revert", (("proxy", "${catalog_proxy}"),), "restore-catalog", 76),
    )
    document = experiment.document
    # Anchors, aliases and merge keys are expanded exactly as yaml.safe_load (Chaos Toolkit) does.
    probes = document["steady-state-hypothesis"]["probes"]
    assert probes[1]["provider"] == probes[0]["provider"]
    assert document["method"][1]["provider"]["arguments"] == {
        "proxy": "catalog",
        "latency_ms": 1600,
        "toxicity": 1,
    }
    assert document["method"][2] == {"ref": "play-availability"}
    assert json.loads(json.dumps(document)) == document


def test_json_with_tabs_url_target() -> None:
    experiment = load_experiment(GOOD / "url_target.json")
    assert experiment.chaosrun == ChaosrunSpec(
        target=UrlTarget("http://127.0.0.1:8080", "http://127.0.0.1:8474"),
        slo=Slo(availability=1.0, latency_ms=(("p999", 1000.0),)),
    )
    # JSON semantics (1e3 is a number), YAML-reader line numbers.
    assert experiment.document["extensions"][0]["slo"]["latency_ms"]["p999"] == 1000.0
    assert experiment.faults == (
        FaultUse("proxy_down", "inject", (("proxy", "auth"),), "take-auth-down", 15),
    )


def test_compact_json() -> None:
    experiment = load_experiment(GOOD / "url_target_compact.json")
    assert experiment.chaosrun.target == UrlTarget(
        "https://svc.local:8443", "http://127.0.0.1:8474"
    )
    assert experiment.chaosrun.deadline_s == 30.0
    assert experiment.faults[0].line == 3


@pytest.mark.parametrize("path", sorted(GOOD.iterdir()), ids=lambda p: p.name)
def test_good_fixtures_match_what_chaos_toolkit_loads(path: Path) -> None:
    import yaml

    text = path.read_text(encoding="utf-8")
    raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert load_experiment(path).document == raw


# Keys Chaos Toolkit ignores, and what it deprecates: warnings, the file stays valid.
GOOD_WARNINGS = {
    "ct_dry_run_key.yaml": [
        "ct_dry_run_key.yaml:3: dry_run: 'dry_run' is ignored by Chaos Toolkit",
        "ct_dry_run_key.yaml:4: owner: 'owner' is ignored by Chaos Toolkit",
        "ct_dry_run_key.yaml:8: method[0].notes: 'notes' is ignored by Chaos Toolkit",
        "ct_dry_run_key.yaml:9: method[0].provider.retries: 'retries' is ignored by Chaos Toolkit",
    ],
    "ct_python_timeout.yaml": [
        "ct_python_timeout.yaml:13: method[0].provider.timeout: "
        "'timeout' is ignored by Chaos Toolkit",
    ],
    "ct_process_mapping_args.yaml": [
        "ct_process_mapping_args.yaml:9: method[0].provider.arguments: "
        "mapping arguments are deprecated by Chaos Toolkit; use a list",
    ],
}


@pytest.mark.parametrize("path", sorted(GOOD.iterdir()), ids=lambda p: p.name)
def test_good_fixture_warnings(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOOD)
    (report,) = check_files([path.name])
    assert report.errors == ()
    expected = GOOD_WARNINGS.get(path.name, [])
    assert [str(warning) for warning in report.warnings] == expected
    assert [str(warning) for warning in load_experiment(path.name).warnings] == expected


@pytest.mark.parametrize(
    ("extra", "errors", "warnings"),
    [
        ("dry: true\n", [], ["'dry' is ignored by Chaos Toolkit"]),
        ("revision: 2\n", ["unknown key 'revision'; did you mean 'version'?"], []),
        ("titel: t2\n", ["unknown key 'titel'; did you mean 'title'?"], []),
    ],
)
def test_unknown_keys_near_a_known_one_are_errors(
    tmp_path: Path, extra: str, errors: list[str], warnings: list[str]
) -> None:
    (report,) = check_files([write(tmp_path, MINIMAL + extra)])
    assert [e.expected for e in report.errors] == errors
    assert [w.expected for w in report.warnings] == warnings


def test_chaosrun_block_keys_stay_errors(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "extensions:\n  - name: chaosrun\n    owner: me\n")
    (report,) = check_files([path])
    assert [(e.key_path, e.expected) for e in report.errors] == [
        ("extensions[0].owner", "unknown key 'owner'")
    ]


def test_keys_next_to_a_ref(tmp_path: Path) -> None:
    text = MINIMAL + "  - {ref: slow, type: action, name: again, pauses: {after: 1}}\n"
    (report,) = check_files([write(tmp_path, text)])
    assert report.errors == ()
    assert [(w.key_path, w.expected) for w in report.warnings] == [
        ("method[1].name", "'name' is ignored by Chaos Toolkit"),
        ("method[1].pauses", "'pauses' is ignored by Chaos Toolkit"),
    ]
    (report,) = check_files([write(tmp_path, MINIMAL + "  - {ref: slow, type: acton}\n")])
    assert [e.expected for e in report.errors] == [
        "unknown activity type 'acton'; did you mean 'action'?"
    ]


def test_warnings_are_bounded(tmp_path: Path) -> None:
    extra = "".join(f"unread{i}: {i}\n" for i in range(MAX_WARNINGS + 5))
    (report,) = check_files([write(tmp_path, MINIMAL + extra)])
    assert report.errors == ()
    assert len(report.warnings) == MAX_WARNINGS + 1
    assert str(report.warnings[-1]) == f"{tmp_path / 'x.yaml'}: 5 more warnings, not listed"


def test_shipped_experiments_are_valid() -> None:
    shipped = sorted((FIXTURES.parents[1] / "experiments").glob("*.y*ml"))
    assert validate_files(shipped) == []


# --- the model -----------------------------------------------------------------------------------


def test_model_is_frozen() -> None:
    spec = ChaosrunSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.deadline_s = 1.0  # type: ignore[misc]
    assert not hasattr(spec, "__dict__")  # slots


def test_known_variants_match_the_lab() -> None:
    from chaosrun.lab.variants import VARIANT_NAMES

    assert KNOWN_VARIANTS == VARIANT_NAMES


# --- file-level problems built on the fly ---------------------------------------------------------


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert messages(tmp_path / "nope.yaml") == ["file not found"]
    (tmp_path / "dir.yaml").mkdir()
    assert messages(tmp_path / "dir.yaml") == ["expected an experiment file, got a directory"]


def test_file_larger_than_one_mib(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "#" * MAX_BYTES)
    assert messages(path) == [f"file is larger than 1 MiB ({MAX_BYTES + len(MINIMAL)} bytes)"]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "configuration: " + "[" * 80 + "]" * 80 + "\n")
    assert messages(path) == ["nested deeper than 64 levels"]
    path = write(tmp_path, "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert [str(e) for e in validate_files([path])] == [f"{path}:1: nested deeper than 64 levels"]
    path = write(tmp_path, "a:\n" + "".join(" " * i + "-\n" for i in range(100)))
    assert [(e.line, e.expected) for e in validate_files([path])] == [
        (66, "nested deeper than 64 levels")
    ]
    path = write(tmp_path, "[" * 50_000 + "]" * 50_000, "x.json")
    assert messages(path) == ["nested deeper than 64 levels"]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "configuration: &loop {self: *loop}\n")
    assert messages(path) == ["nested deeper than 64 levels"]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_experiment(path).title == "t"


def test_yaml_control_character(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "x: \x07\n")
    assert [str(e) for e in validate_files([path])] == [
        f"{path}:11: invalid YAML: unacceptable character #x0007"
    ]


def test_two_documents(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "---\n" + MINIMAL)
    error = validate_files([path])[0]
    assert (error.line, error.expected) == (
        11,
        "invalid YAML: expected a single document in the stream: but found another document",
    )


def test_json_duplicate_key_has_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{"title": "a",\n "description": "d",\n "title": "b"}', "x.json")
    errors = validate_files([path])
    assert [(e.key_path, e.line, e.expected) for e in errors] == [
        ("", 1, "missing required key 'method'"),
        ("title", 3, "duplicate key 'title' (first on line 1)"),
    ]


def test_merge_key_needs_mappings(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "configuration:\n  <<: [1]\n")
    assert [(e.key_path, e.line, e.expected) for e in validate_files([path])] == [
        ("configuration.<<", 12, "a merge key '<<' takes a mapping or a list of mappings")
    ]


def test_unexpected_exceptions_become_input_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("chaosrun.load.validate_document", boom)
    path = write(tmp_path, MINIMAL)
    assert [str(e) for e in validate_files([path])] == [
        f"{path}: cannot validate: unexpected RuntimeError: boom"
    ]


# --- generic python-provider binding, against a fake module ---------------------------------------


def _fake_module() -> types.ModuleType:
    module = types.ModuleType("chaosrun_fake_provider")
    source = """
from typing import Optional

def act(count: int, name: "str", flag: bool = False, ratio: Optional[float] = None,
        when: "float | None" = None, anything=None, configuration=None, secrets=None):
    return None

def loose(**kwargs):
    return None

def within(value, limit: float):
    return value <= limit

def no_value(limit: float):
    return True

def _private():
    return None

helper = 42
"""
    exec(compile(source, "chaosrun_fake_provider.py", "exec"), module.__dict__)
    return module


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chaosrun_fake_provider", _fake_module())


def _action(func: str, arguments: dict[str, Any] | None) -> str:
    provider: dict[str, Any] = {"type": "python", "module": "chaosrun_fake_provider", "func": func}
    if arguments is not None:
        provider["arguments"] = arguments
    doc = {
        "title": "t",
        "description": "d",
        "method": [{"type": "action", "name": "a", "provider": provider}],
    }
    return json.dumps(doc, indent=1)


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize(
    ("func", "arguments", "expected"),
    [
        ("act", {"count": 1, "name": "n"}, []),
        ("act", {"count": 1, "name": "n", "flag": True, "ratio": 2, "when": None}, []),
        ("act", {"count": "${n}", "name": "n", "ratio": "${r}", "anything": [1]}, []),
        ("act", {"count": True, "name": "n"}, ["expected an integer, got true"]),
        ("act", {"count": 1, "name": 5}, ["expected a string, got 5"]),
        ("act", {"count": 1, "name": "n", "flag": 1}, ["expected a boolean, got 1"]),
        ("act", {"count": 1, "name": "n", "ratio": "x"}, ["expected a number, got 'x'"]),
        ("act", {"count": 1, "name": "n", "when": False}, ["expected a number, got false"]),
        ("act", {"count": 1, "name": "n", "ratio": None}, []),
        ("act", {"count": 1}, ["missing required argument 'name' for chaosrun_fake_provider.act"]),
        (
            "act",
            None,
            [
                "missing required argument 'count' for chaosrun_fake_provider.act",
                "missing required argument 'name' for chaosrun_fake_provider.act",
            ],
        ),
        (
            "act",
            {"count": 1, "name": "n", "colour": 1},
            ["unknown argument 'colour' for chaosrun_fake_provider.act"],
        ),
        (
            "act",
            {"count": 1, "name": "n", "secrets": {}},
            ["argument 'secrets' is supplied by Chaos Toolkit; remove it"],
        ),
        ("loose", {"whatever": 1, "else": [2]}, []),
        ("act", [1, 2], ["expected a mapping of argument names, got a list"]),
        ("helper", {}, ["module 'chaosrun_fake_provider' has no function 'helper'"]),
        (
            "_privat",
            {},
            ["module 'chaosrun_fake_provider' has no function '_privat'"],
        ),
    ],
)
def test_python_binding(
    tmp_path: Path, func: str, arguments: dict[str, Any] | None, expected: list[str]
) -> None:
    assert messages(write(tmp_path, _action(func, arguments), "x.json")) == expected


def _tolerance_probe(func: str, arguments: dict[str, Any] | None) -> str:
    provider: dict[str, Any] = {"type": "python", "module": "chaosrun_fake_provider", "func": func}
    if arguments is not None:
        provider["arguments"] = arguments
    tolerance = {"type": "probe", "name": "check", "provider": provider}
    return MINIMAL + (
        "steady-state-hypothesis:\n  title: ok\n  probes:\n"
        "    - {type: probe, name: p, provider: {type: http, url: 'http://127.0.0.1:1/'},\n"
        f"       tolerance: {json.dumps(tolerance)}}}\n"
    )


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize(
    ("func", "arguments", "expected"),
    [
        ("within", {"limit": 3}, []),
        (
            "within",
            None,
            ["missing required key 'arguments' (Chaos Toolkit adds 'value' to it)"],
        ),
        (
            "within",
            {"limit": 3, "value": 1},
            ["argument 'value' is supplied by Chaos Toolkit; remove it"],
        ),
        (
            "no_value",
            {"limit": 3},
            [
                "chaosrun_fake_provider.no_value must take an argument 'value' "
                "(the probe output to check)"
            ],
        ),
    ],
)
def test_probe_tolerance_gets_value_from_chaos_toolkit(
    tmp_path: Path, func: str, arguments: dict[str, Any] | None, expected: list[str]
) -> None:
    assert messages(write(tmp_path, _tolerance_probe(func, arguments))) == expected


def test_import_failures_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "chaosrun_fake_broken.py").write_text("1 / 0\n")
    (tmp_path / "chaosrun_fake_exits.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "chaosrun_fake_needs.py").write_text("import chaosrun_fake_absent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("chaosrun_fake_broken", "chaosrun_fake_exits", "chaosrun_fake_needs"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    found = []
    for name in ("chaosrun_fake_broken", "chaosrun_fake_exits", "chaosrun_fake_needs"):
        text = MINIMAL.replace("chaosrun.faults.latency", name)
        found += messages(write(tmp_path, text))
    assert found == [
        "cannot import module 'chaosrun_fake_broken': ZeroDivisionError: division by zero",
        "cannot import module 'chaosrun_fake_exits': SystemExit: 3",
        "cannot import module 'chaosrun_fake_needs': No module named 'chaosrun_fake_absent'",
    ]


# --- robustness ----------------------------------------------------------------------------------


WEIRD = [
    b"\x00\x01\x02",
    b"{",
    b"[]",
    b"null",
    b"42",
    b"? [a]\n: b\n",
    b"1: x\n",
    b"title: !custom x\n",
    b"!!set {a, b}\n",
    b"method: !!omap [{a: 1}]\n",
    b"method: [{ref: 3}, {ref: ''}, null, [], {type: probe}]\n",
    b"title: t\ndescription: d\nmethod: [{type: probe, name: n, provider: []}]\n",
    b"title: t\ndescription: d\nmethod: [{type: probe, name: n, provider: {type: 1}}]\n",
    b"title: t\ndescription: d\nmethod: [{type: probe, name: n, provider: {type: python,"
    b" module: '', func: ''}}]\n",
    b"title: t\ndescription: d\nmethod: [{type: probe, name: n, provider: {type: python,"
    b" module: .rel, func: f}}]\n",
    b"title: t\ndescription: d\nmethod: [{type: probe, name: n, provider: {type: python,"
    b" module: 'a..b', func: f}}]\n",
    b"steady-state-hypothesis: {probes: [{tolerance: {type: probe}}]}\n",
    b"steady-state-hypothesis: {probes: [{type: probe, tolerance: {type: range, range: [a]}}]}\n",
    b"extensions: [{name: chaosrun, target: {lab: 3}, slo: {latency_ms: []}}, {name: chaosrun}]\n",
    b"extensions: [{name: chaosrun, target: {service_url: 'http://[::1', toxiproxy_url: 3}}]\n",
    b"runtime: {hypothesis: {freq: .nan, strategy: 3}, rollbacks: []}\n",
]


@pytest.mark.parametrize("data", WEIRD)
def test_weird_input_gives_input_errors_only(
    tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, data)
    errors = validate_files([path])
    assert errors and all(isinstance(e, InputError) for e in errors)
    with pytest.raises(InputError):
        load_experiment(path)
    assert capsys.readouterr() == ("", "")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_never_raises_anything_but_input_error(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    try:
        experiment = load_experiment(path)
    except InputError:
        return
    assert isinstance(experiment, Experiment)
