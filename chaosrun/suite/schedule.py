"""Which queued experiment may start now (pure).

Experiments on a lab of their own run side by side, up to `parallel` at once; experiments that
share an explicit target run one at a time (one Toxiproxy serves one run: the lock would refuse
the second), in file order, while own-lab experiments fill the other slots.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosrun.suite.collect import OWN_LAB

__all__ = ["startable"]


def startable(queued: Sequence[str], running: Sequence[str], parallel: int) -> list[int]:
    """Indexes into `queued` (lanes, in suite order) to start now, given the running lanes."""
    free = parallel - len(running)
    busy = {lane for lane in running if lane != OWN_LAB}
    chosen: list[int] = []
    for index, lane in enumerate(queued):
        if free <= 0:
            break
        if lane != OWN_LAB:
            if lane in busy:
                continue
            busy.add(lane)
        chosen.append(index)
        free -= 1
    return chosen
