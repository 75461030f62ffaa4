"""Secret values of an experiment, and their redaction in text, structures, streams and logs."""

from __future__ import annotations

import copy
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chaosrun.engine.journal import compose_journal
from chaosrun.engine.redact import (
    MASK,
    RedactingStream,
    Redactor,
    redact_log_records,
    secret_values,
)

ENV = {
    "API_TOKEN": "tok-from-env-123",
    "DB_PASSWORD": "pw-from-env-456",
    "PORT": "18080",
    "JSON_CREDS": '{"user": "svc-user", "password": "json-pass-789", "pin": 424242}',
    "SHORT": "xy",
}
DOC: dict[str, Any] = {
    "title": "t",
    "configuration": {
        "plain": "not-a-secret-url",
        "api_token": {"type": "env", "key": "API_TOKEN"},
        "port": {"type": "env", "key": "PORT", "env_var_type": "int"},
        "creds": {"type": "env", "key": "JSON_CREDS", "env_var_type": "json"},
        "region": {"type": "env", "key": "UNSET_REGION", "default": "eu-west-1"},
        "dynamic": {"type": "probe", "name": "p", "provider": {"type": "python"}},
    },
    "secrets": {
        "db": {
            "password": {"type": "env", "key": "DB_PASSWORD"},
            "user": "inline-user-name",
            "nested": {"deeper": "inline-deep-value", "n": 987654},
        },
        "vault": {"token": {"type": "vault", "path": "secret/x", "key": "token"}},
        "missing": {"gone": {"type": "env", "key": "NOT_IN_ENV"}},
        "short": {"pin": "ab", "flag": True, "empty": ""},
        "listed": {"keys": ["list-item-one", "list-item-two"]},
    },
}


def test_secret_values_resolve_inline_env_and_env_typed_configuration() -> None:
    assert secret_values(DOC, ENV) == {
        # configuration of type env: the raw value and its conversion's leaves
        "tok-from-env-123",
        "18080",
        ENV["JSON_CREDS"],
        "svc-user",
        "json-pass-789",
        "424242",
        # secrets: env, inline, nested, numbers, lists; vault and missing env vars skipped
        "pw-from-env-456",
        "inline-user-name",
        "inline-deep-value",
        "987654",
        "ab",
        "list-item-one",
        "list-item-two",
    }


def test_no_secrets_without_a_document_or_an_environment() -> None:
    assert secret_values(None, ENV) == frozenset()
    assert secret_values({"secrets": "oops", "configuration": []}, ENV) == frozenset()
    assert "tok-from-env-123" not in secret_values(DOC, {})
    assert not Redactor([])
    assert Redactor([]).text("anything") == "anything"


def test_a_configuration_default_is_not_a_secret_and_a_bad_conversion_is_ignored() -> None:
    doc = {
        "configuration": {
            "region": {"type": "env", "key": "REGION", "default": "eu-west-1"},
            "port": {"type": "env", "key": "PORT", "env_var_type": "int"},
        }
    }
    assert secret_values(doc, {}) == frozenset()
    assert secret_values(doc, {"PORT": "not-a-number"}) == {"not-a-number"}


def test_text_masks_every_occurrence_longest_first() -> None:
    redactor = Redactor(["s3cret-token", "s3cret-token-extended", "other-value"])
    assert redactor.text("a s3cret-token-extended and s3cret-token, other-value!") == (
        f"a {MASK} and {MASK}, {MASK}!"
    )


def test_text_masks_escaped_and_url_encoded_forms() -> None:
    value = 'p@ss "word"/+1'
    redactor = Redactor([value])
    assert redactor.text(json.dumps({"k": value})) == '{"k": "***"}'
    assert redactor.text(repr({"k": value})) == "{'k': '***'}"
    assert redactor.text("GET /x?token=p%40ss+%22word%22%2F%2B1 HTTP/1.1") == (
        "GET /x?token=*** HTTP/1.1"
    )
    assert redactor.text("/x?token=p%40ss%20%22word%22%2F%2B1") == "/x?token=***"


def test_short_values_are_masked_only_as_whole_strings() -> None:
    redactor = Redactor(["ab", "1"])
    assert redactor.text("ab") == MASK
    assert redactor.text("abc tab lab") == "abc tab lab"
    assert redactor.data({"pin": "ab", "count": 1, "ratio": 1.5, "word": "cab"}) == {
        "pin": MASK,
        "count": MASK,
        "ratio": 1.5,
        "word": "cab",
    }


def test_data_masks_nested_values_keys_and_numbers_without_touching_the_input() -> None:
    redactor = Redactor.for_experiment(DOC, ENV)
    value = {
        "output": {
            "echo": ["Bearer tok-from-env-123", ("pw-from-env-456",)],
            "tok-from-env-123": True,
            "port": 18080,
            "other_port": 18081,
            "ok": True,
            "none": None,
        },
        "exception": ["ValueError: bad password json-pass-789\n"],
    }
    before = copy.deepcopy(value)
    assert redactor.data(value) == {
        "output": {
            "echo": [f"Bearer {MASK}", [MASK]],
            MASK: True,
            "port": MASK,
            "other_port": 18081,
            "ok": True,
            "none": None,
        },
        "exception": [f"ValueError: bad password {MASK}\n"],
    }
    assert value == before
    assert redactor.data(redactor.data(value)) == redactor.data(value)


def test_data_masks_secrets_blocks_but_keeps_env_and_vault_references() -> None:
    redacted = Redactor.for_experiment(DOC, ENV).data({"experiment": DOC})["experiment"]
    assert redacted["secrets"] == {
        "db": {
            "password": {"type": "env", "key": "DB_PASSWORD"},
            "user": MASK,
            "nested": {"deeper": MASK, "n": MASK},
        },
        "vault": {"token": {"type": "vault", "path": "secret/x", "key": "token"}},
        "missing": {"gone": {"type": "env", "key": "NOT_IN_ENV"}},
        "short": {"pin": MASK, "flag": True, "empty": MASK},
        "listed": {"keys": [MASK, MASK]},
    }
    assert redacted["configuration"] == DOC["configuration"]


def test_data_masks_the_resolved_secrets_chaoslib_copies_into_dynamic_configuration() -> None:
    # Values it cannot know (a vault secret) are masked by their place under `secrets`.
    provider = {"type": "python", "secrets": {"vault": {"token": "from-vault-only"}}}
    assert Redactor([]).data({"provider": provider}) == {
        "provider": {"type": "python", "secrets": {"vault": {"token": MASK}}}
    }
    # A python provider's list of secret scopes names them; it is not masked.
    assert Redactor([]).data({"secrets": ["db", "vault"]}) == {"secrets": ["db", "vault"]}


def test_data_redacts_other_objects_only_when_they_render_a_secret() -> None:
    class Shown:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    harmless = Shown("harmless")
    redactor = Redactor(["tok-from-env-123"])
    assert redactor.data([harmless])[0] is harmless
    assert redactor.data([Shown("x tok-from-env-123")]) == [f"x {MASK}"]


def test_compose_journal_masks_the_worker_journal_and_the_rebuilt_one() -> None:
    worker: dict[str, Any] = {
        "status": "completed",
        "experiment": DOC,
        "run": [{"activity": {"name": "a"}, "output": "got tok-from-env-123"}],
    }
    chaosrun = {"run_id": "r", "note": "inline-user-name"}
    journal = compose_journal(DOC, worker, [], chaosrun, 0.0, None, environ=ENV)
    assert journal["run"][0]["output"] == f"got {MASK}"
    assert journal["experiment"]["secrets"]["db"]["user"] == MASK
    assert journal["chaosrun"]["note"] == MASK
    assert worker["run"][0]["output"] == "got tok-from-env-123"  # input untouched

    events = [{"event": "activity", "at": 1.0, "run": {"output": "pw-from-env-456"}}]
    rebuilt = compose_journal(DOC, None, events, {}, 0.0, "failed", environ=ENV)
    assert rebuilt["run"] == [{"output": MASK}]
    assert rebuilt["experiment"]["secrets"]["db"]["nested"] == {"deeper": MASK, "n": MASK}
    assert "inline-deep-value" not in json.dumps(rebuilt)


def test_compose_journal_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_TOKEN", "tok-from-process-env")
    worker: dict[str, Any] = {"status": "completed", "run": [{"output": "tok-from-process-env"}]}
    assert compose_journal(DOC, worker, [], {}, 0.0, None)["run"] == [{"output": MASK}]


def test_stream_writes_whole_lines_redacted() -> None:
    sink = io.StringIO()
    stream = RedactingStream(sink, Redactor(["tok-from-env-123"]))
    stream.write("token: tok-fr")
    assert sink.getvalue() == ""  # a partial line waits: the secret may be split
    stream.write("om-env-123\nnext ")
    assert sink.getvalue() == f"token: {MASK}\n"
    print("tok-from-env-123", "tail", file=stream)
    stream.write("unterminated tok-from-env-123")
    stream.flush()
    assert sink.getvalue() == f"token: {MASK}\nnext {MASK} tail\nunterminated {MASK}"
    assert stream.writable() and not stream.isatty()


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("chaosrun.tests.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    restore = redact_log_records(Redactor(["tok-from-env-123"]))
    try:
        yield logger, sink
    finally:
        restore()
        logger.removeHandler(handler)


def test_log_records_are_redacted_with_their_arguments_and_tracebacks(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, sink = captured
    logger.debug("  => succeeded with '%s'", {"echo": "tok-from-env-123"})
    logger.info("Running experiment: tok-from-env-123")
    logger.warning("%s %s", "bad", "format", "args")  # logging would report it; still redacted
    try:
        raise ValueError("refused tok-from-env-123")
    except ValueError:
        logger.exception("activity failed")
    lines = sink.getvalue().splitlines()
    assert lines[:3] == [
        f"DEBUG   => succeeded with '{{'echo': '{MASK}'}}'",
        f"INFO Running experiment: {MASK}",
        "WARNING %s %s ('bad', 'format', 'args')",
    ]
    assert lines[3] == "ERROR activity failed"
    assert lines[-1] == f"ValueError: refused {MASK}"
    assert "tok-from-env-123" not in sink.getvalue()


def test_log_redaction_is_undone_by_its_restore_function() -> None:
    before = logging.getLogRecordFactory()
    restore = redact_log_records(Redactor(["tok-from-env-123"]))
    assert logging.getLogRecordFactory() is not before
    restore()
    assert logging.getLogRecordFactory() is before
