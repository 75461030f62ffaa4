"""The whole Chaos Toolkit document: top-level keys, sections, then every activity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaosrun.model import FaultUse
from chaosrun.schema.activities import Activities
from chaosrun.schema.common import Ctx, check_keys, want_str
from chaosrun.schema.sections import SECTIONS

__all__ = ["TOP_KEYS", "validate_document"]

TOP_KEYS = (
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "controls",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
)


def validate_document(ctx: Ctx, doc: Mapping[str, Any]) -> tuple[FaultUse, ...]:
    """Check the whole Chaos Toolkit document; return the chaosrun faults its actions use."""
    check_keys(ctx, "", doc, TOP_KEYS, toolkit=True)
    for key in ("title", "description"):
        if key not in doc:
            ctx.missing("", key)
        else:
            want_str(ctx, key, doc[key])
    for key, check in SECTIONS.items():
        if key in doc:
            check(ctx, key, doc[key])
    walker = Activities(ctx)
    if "steady-state-hypothesis" in doc:
        walker.hypothesis("steady-state-hypothesis", doc["steady-state-hypothesis"])
    if "method" not in doc:
        ctx.missing("", "method")
    else:
        walker.method("method", doc["method"])
        if doc["method"] == [] and not _has_probes(doc.get("steady-state-hypothesis")):
            ctx.err(
                "method",
                "an empty method is only for checking a steady-state hypothesis, and this "
                "experiment has no hypothesis probe",
            )
    if "rollbacks" in doc:
        walker.sequence("rollbacks", doc["rollbacks"], "rollback")
    return tuple(walker.faults)


def _has_probes(hypothesis: object) -> bool:
    """Chaos Toolkit runs an empty method "for only checking steady state hypothesis"; with
    no probe either, the experiment would check nothing and still pass."""
    return isinstance(hypothesis, dict) and bool(hypothesis.get("probes"))
