"""The one nearest-rank percentile used for exact (non-histogram) figures."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["nearest_rank"]


def nearest_rank(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]) of an ascending sequence; 0.0 when it is empty.

    The rank is ceil(q * n); the small epsilon keeps float products such as 0.07 * 100 =
    7.000000000000001 on rank 7 rather than 8.
    """
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values) - 1e-9))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])
