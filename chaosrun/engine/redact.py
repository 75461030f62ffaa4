"""Secret redaction: the values an experiment treats as secret, masked wherever they could surface.

Secret values are resolved the way chaoslib resolves them: every inline value of the `secrets`
block, every env-sourced secret (`{type: env, key: VAR}`) and every env-typed `configuration`
entry read from the environment (raw text, plus its int/float/json conversion). Vault secrets
cannot be resolved here; only their place under a `secrets` key masks them (below). A
configuration `default` is not a secret: it is written in the experiment file itself.

Policy:
- a value of `MIN_SUBSTRING_LEN` characters or more is masked wherever it occurs inside a string,
  also in its JSON-escaped, repr-escaped and URL-encoded forms;
- a shorter non-empty value is masked only where a whole string (or number) equals it: masking
  "on" or "42" inside every string would wreck unrelated text, and the pattern of the masks would
  give the value away anyway;
- in structures, every leaf under a mapping key `secrets` is masked (the experiment's own block,
  and the copy of all resolved secrets chaoslib puts into dynamic-configuration providers), except
  `{type: env|vault, ...}` references, which name a source and hold no secret.

`Redactor.data` and `Redactor.text` are pure. `RedactingStream` and `redact_log_records` apply a
redactor to a process's stdout/stderr and to every log record it creates.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MIN_SUBSTRING_LEN",
    "RedactingStream",
    "Redactor",
    "redact_log_records",
    "secret_values",
]

MASK = "***"
MIN_SUBSTRING_LEN = 4
_REFERENCE_TYPES = ("env", "vault")
_MAX_PENDING = 64 * 1024
_CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "integer": int,
    "float": float,
    "number": float,
    "json": json.loads,
}


def _leaves(value: Any, into: set[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _leaves(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _leaves(item, into)
    elif isinstance(value, str):
        into.add(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        into.add(str(value))


def _secret(value: Any, environ: Mapping[str, str], into: set[str]) -> None:
    """Mirror chaoslib's `load_secrets`: env references, vault (skipped), nested scopes, values."""
    if isinstance(value, Mapping):
        if value.get("type") == "env":
            key = value.get("key")
            if isinstance(key, str) and key in environ:
                into.add(environ[key])
        elif value.get("type") != "vault":
            for item in value.values():
                _secret(item, environ, into)
    else:
        _leaves(value, into)


def _env_configuration(
    entry: Mapping[str, Any], environ: Mapping[str, str], into: set[str]
) -> None:
    """Mirror chaoslib's `load_configuration` for one `{type: env}` entry read from `environ`."""
    key = entry.get("key")
    if not isinstance(key, str) or key not in environ:
        return
    raw = environ[key]
    into.add(raw)
    convert = _CONVERSIONS.get(str(entry.get("env_var_type")))
    if convert is not None:
        with contextlib.suppress(ValueError):
            _leaves(convert(raw), into)


def secret_values(document: Any, environ: Mapping[str, str]) -> frozenset[str]:
    """Every non-empty secret value of an experiment document, resolved against `environ`."""
    found: set[str] = set()
    if not isinstance(document, Mapping):
        return frozenset()
    secrets = document.get("secrets")
    if isinstance(secrets, Mapping):
        _secret(secrets, environ, found)
    configuration = document.get("configuration")
    if isinstance(configuration, Mapping):
        for entry in configuration.values():
            if isinstance(entry, Mapping) and entry.get("type") == "env":
                _env_configuration(entry, environ, found)
    return frozenset(value for value in found if value)


def _forms(value: str) -> set[str]:
    """The value as it may be written out: itself, JSON- and repr-escaped, URL-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }


class Redactor:
    """Masks a fixed set of secret values in text and in JSON-like structures."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = frozenset(value for value in values if value)
        long = [value for value in self.values if len(value) >= MIN_SUBSTRING_LEN]
        patterns = sorted({form for value in long for form in _forms(value)}, key=len, reverse=True)
        # Longest first: Python tries alternatives in order, so a secret that contains another
        # one is masked whole.
        self._pattern = re.compile("|".join(map(re.escape, patterns))) if patterns else None

    @classmethod
    def for_experiment(cls, document: Any, environ: Mapping[str, str]) -> Redactor:
        return cls(secret_values(document, environ))

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        if text in self.values:
            return MASK
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def data(self, value: Any) -> Any:
        """A copy of `value` with every secret masked; the input is never modified."""
        return self._walk(value, masked=False)

    def _walk(self, value: Any, masked: bool) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return MASK if masked else self.text(value)
        if isinstance(value, int | float):
            return MASK if masked or str(value) in self.values else value
        if isinstance(value, Mapping):
            if masked and value.get("type") in _REFERENCE_TYPES:
                masked = False  # an env/vault reference names a source, it holds no secret
            return {
                self.text(key) if isinstance(key, str) else key: self._walk(
                    item, masked or (key == "secrets" and isinstance(item, Mapping))
                )
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(item, masked) for item in value]
        shown = str(value)
        redacted = MASK if masked else self.text(shown)
        return value if redacted == shown else redacted


class RedactingStream(io.TextIOBase):
    """A text stream that writes whole lines, redacted, to the stream it wraps.

    A partial line waits for its newline (or `flush`) so that a secret written in pieces is
    still seen whole; threads share the pending line under a lock. Writes straight to the file
    descriptor (C extensions, child processes inheriting it) bypass it.
    """

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self._stream = stream
        self._redactor = redactor
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._stream.write(self._redactor.text(lines + "\n"))
            if len(self._pending) > _MAX_PENDING:
                self._drain()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._drain()
        self._stream.flush()

    def _drain(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._stream.write(self._redactor.text(pending))


def _redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep both parts, as logging would report them
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = redactor.text(message), ()
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text, record.exc_info = redactor.text(text), None
    elif record.exc_text:
        record.exc_text = redactor.text(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)


def redact_log_records(redactor: Redactor) -> Callable[[], None]:
    """Redact every log record as it is created, whatever logger or handler it goes to.

    The message is formatted with its arguments, and a traceback rendered, at creation, so no
    handler can render the raw values later. Returns a function that restores the old factory.
    """
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record, redactor)
        return record

    logging.setLogRecordFactory(factory)
    return lambda: logging.setLogRecordFactory(previous)
