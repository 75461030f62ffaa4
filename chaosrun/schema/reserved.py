"""Keys chaosrun adds to the configuration its activities see: an experiment may not define them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaosrun.names import RESERVED_PREFIX
from chaosrun.schema.common import Ctx, join

__all__ = ["check_reserved_keys"]


def check_reserved_keys(ctx: Ctx, doc: Mapping[str, Any]) -> None:
    configuration = doc.get("configuration")
    if not isinstance(configuration, Mapping):
        return
    for key in configuration:
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            ctx.err(
                join("configuration", key),
                f"configuration keys starting with '{RESERVED_PREFIX}' are chaosrun's: it sets "
                f"them to the run's target; rename '{key}'",
            )
