"""A minimal deterministic discrete-event engine: a heap ordered by (time, insertion order).

The engine knows nothing of the domain. Ties in time resolve in scheduling order, so a run is
reproducible bit for bit.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Engine:
    """Virtual-time event queue; ``now`` is the time [s] of the event being processed."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = 0

    def at(self, t_s: float, action: Callable[..., Any], *args: Any) -> None:
        """Schedule ``action(*args)`` at time ``t_s`` (not earlier than now)."""
        if t_s < self.now:
            t_s = self.now
        heapq.heappush(self._queue, (t_s, self._seq, action, args))
        self._seq += 1

    def run(self, until_s: float, on_advance: Callable[[float], None] | None = None) -> None:
        """Process events in order until the queue is empty or the next event is after ``until_s``."""
        queue = self._queue
        while queue and queue[0][0] <= until_s:
            t_s, _, action, args = heapq.heappop(queue)
            if on_advance is not None and t_s > self.now:
                on_advance(t_s)
            self.now = t_s
            action(*args)
        self.now = until_s
