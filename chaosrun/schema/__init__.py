"""Strict validation of a Chaos Toolkit experiment document, with file, key path and line in errors.

The document is plain data (see `chaosrun.schema.yamlmap`); `Ctx.lines` maps key paths such as
`method[2].provider.arguments` to 1-based line numbers. Every problem becomes one `InputError`
in `Ctx.errors`; validation keeps going so that `chaosrun validate` can report them all.

Modules: `common` (context and shared checks), `document` (top level), `sections`, `activities`,
`providers`, `python_provider`, `tolerances`, `extension` (the chaosrun block), `measurement`
(load, rto, expect), `safeguards` (abort_when), and for reading files `source` (bytes -> text),
`yamlmap` (text -> plain data + line map) and `limits` (the hostile-input bounds it enforces).
"""

from chaosrun.schema.common import (
    Ctx,
    check_keys,
    describe,
    did_you_mean,
    is_number,
    join,
    one_of,
    show,
    want_bool,
    want_list,
    want_mapping,
    want_number,
    want_str,
)
from chaosrun.schema.document import TOP_KEYS, validate_document
from chaosrun.schema.python_provider import fault_kinds
from chaosrun.schema.tolerances import has_jsonpath

__all__ = [
    "TOP_KEYS",
    "Ctx",
    "check_keys",
    "describe",
    "did_you_mean",
    "fault_kinds",
    "has_jsonpath",
    "is_number",
    "join",
    "one_of",
    "show",
    "validate_document",
    "want_bool",
    "want_list",
    "want_mapping",
    "want_number",
    "want_str",
]
