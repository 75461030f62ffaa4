"""A pod's capacity: how many requests a second it serves before it sheds the rest (503), as a
service that protects itself from overload does. A token bucket: `rate` tokens a second, at
most `burst` saved up. Pure apart from the clock the caller passes in."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Capacity"]


@dataclass(slots=True)
class Capacity:
    rate: float
    burst: float
    tokens: float = -1.0  # full at the first request
    last: float = 0.0

    def take(self, now: float) -> bool:
        """Whether a request arriving at `now` (seconds, monotonic) is served."""
        if self.tokens < 0:
            self.tokens, self.last = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
