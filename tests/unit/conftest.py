"""Hypothesis profile for `make mutation` (selected there with --hypothesis-profile=mutation).

Every mutant must meet the same examples, so a kill does not depend on luck: derandomized, and no
example database (mutmut's workers would otherwise replay each other's failures in any order).
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("mutation", derandomize=True, database=None)
