"""Link models and routing: messages travel the lowest-latency path; each hop adds latency, Gaussian
jitter (truncated at zero) and an independent loss draw."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class LinkModel:
    a: str
    b: str
    kind: str
    latency_s: float
    jitter_s: float
    loss: float


class Network:
    """An undirected graph of links between node ids with precomputed shortest-latency routes."""

    def __init__(self, links: list[LinkModel]):
        self._adj: dict[str, list[tuple[str, LinkModel]]] = {}
        for link in links:
            self._adj.setdefault(link.a, []).append((link.b, link))
            self._adj.setdefault(link.b, []).append((link.a, link))
        self._routes: dict[tuple[str, str], tuple[LinkModel, ...] | None] = {}

    def route(self, src: str, dst: str) -> tuple[LinkModel, ...] | None:
        """Links on the lowest-latency path from ``src`` to ``dst`` (empty if equal; None if unreachable)."""
        key = (src, dst)
        if key not in self._routes:
            self._routes[key] = self._dijkstra(src, dst)
        return self._routes[key]

    def _dijkstra(self, src: str, dst: str) -> tuple[LinkModel, ...] | None:
        if src == dst:
            return ()
        best = {src: 0.0}
        heap: list[tuple[float, str, tuple[LinkModel, ...]]] = [(0.0, src, ())]
        while heap:
            cost, node, path = heapq.heappop(heap)
            if node == dst:
                return path
            if cost > best.get(node, np.inf):
                continue
            for nxt, link in self._adj.get(node, ()):
                c = cost + link.latency_s
                if c < best.get(nxt, np.inf):
                    best[nxt] = c
                    heapq.heappush(heap, (c, nxt, path + (link,)))
        return None

    def transit(self, src: str, dst: str, rng: np.random.Generator) -> float | None:
        """Sampled delivery delay [s] from ``src`` to ``dst``, or None when lost or unreachable."""
        path = self.route(src, dst)
        if path is None:
            return None
        delay = 0.0
        for link in path:
            if link.loss > 0.0 and rng.random() < link.loss:
                return None
            jitter = link.jitter_s * rng.standard_normal() if link.jitter_s > 0.0 else 0.0
            delay += max(link.latency_s + jitter, 0.0)
        return delay
