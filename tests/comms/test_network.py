"""Link models and routing (shieldwall.comms.network).

Routes are checked against brute-force enumeration of every simple path on random small graphs; the
transit-delay sampler against closed forms (sum of latencies, rectified-Gaussian mean, probability of
surviving every hop) over many seeded draws with bounds of several standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from shieldwall.comms.network import LinkModel, Network


def _link(a, b, latency_s, jitter_s=0.0, loss=0.0, kind="terrestrial") -> LinkModel:
    return LinkModel(a, b, kind, latency_s, jitter_s, loss)


def _all_simple_path_costs(links: list[LinkModel], src: str, dst: str) -> list[float]:
    """Latency of every simple path src -> dst (parallel links are distinct paths)."""
    adj: dict[str, list[tuple[str, LinkModel]]] = {}
    for k in links:
        adj.setdefault(k.a, []).append((k.b, k))
        adj.setdefault(k.b, []).append((k.a, k))
    costs = []

    def walk(node, seen, cost):
        if node == dst:
            costs.append(cost)
            return
        for nxt, k in adj.get(node, ()):
            if nxt not in seen:
                walk(nxt, seen | {nxt}, cost + k.latency_s)

    walk(src, {src}, 0.0)
    return costs


def _follows(path: tuple[LinkModel, ...], src: str, dst: str) -> bool:
    """True when the links chain from src to dst, each starting where the previous one ended."""
    node = src
    for k in path:
        if node == k.a:
            node = k.b
        elif node == k.b:
            node = k.a
        else:
            return False
    return node == dst


NODES = [f"n{i}" for i in range(6)]


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 6))
    nodes = NODES[:n]
    edges = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes),
                                    st.floats(0.0, 1.0, allow_nan=False)), max_size=12))
    links = [_link(a, b, lat) for a, b, lat in edges if a != b]
    return nodes, links


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_route_is_the_shortest_simple_path(graph, data):
    nodes, links = graph
    src, dst = data.draw(st.sampled_from(nodes)), data.draw(st.sampled_from(nodes))
    net = Network(links)
    path = net.route(src, dst)
    if src == dst:
        assert path == ()
        return
    costs = _all_simple_path_costs(links, src, dst)
    if not costs:
        assert path is None
        assert net.transit(src, dst, np.random.default_rng(0)) is None
        return
    assert path is not None and _follows(path, src, dst)
    assert all(k in links for k in path)
    assert sum(k.latency_s for k in path) == pytest.approx(min(costs), abs=1e-12)
    # Undirected: the way back is as short.
    back = net.route(dst, src)
    assert sum(k.latency_s for k in back) == pytest.approx(min(costs), abs=1e-12)
    # With neither jitter nor loss, transit is the route's latency exactly.
    assert net.transit(src, dst, np.random.default_rng(1)) == pytest.approx(min(costs), abs=1e-12)


def test_shortest_by_latency_not_by_hops():
    net = Network([_link("a", "d", 0.5), _link("a", "b", 0.1), _link("b", "c", 0.1), _link("c", "d", 0.1)])
    assert [(k.a, k.b) for k in net.route("a", "d")] == [("a", "b"), ("b", "c"), ("c", "d")]
    assert [(k.a, k.b) for k in net.route("d", "a")] == [("c", "d"), ("b", "c"), ("a", "b")]
    # Of two parallel links the faster one carries the traffic.
    slow, fast = _link("x", "y", 0.2, kind="satcom"), _link("x", "y", 0.05, kind="tdl")
    assert Network([slow, fast]).route("x", "y") == (fast,)


def test_unreachable_and_unknown_nodes():
    net = Network([_link("a", "b", 0.01), _link("c", "d", 0.01)])
    rng = np.random.default_rng(0)
    assert net.route("a", "c") is None and net.transit("a", "c", rng) is None
    assert net.route("a", "nowhere") is None and net.transit("nowhere", "a", rng) is None
    assert net.route("nowhere", "nowhere") == ()
    assert net.transit("a", "a", rng) == 0.0


N_DRAWS = 40_000


def _draws(net: Network, src: str, dst: str, seed: int, n: int = N_DRAWS) -> list[float | None]:
    rng = np.random.default_rng(seed)
    return [net.transit(src, dst, rng) for _ in range(n)]


def test_transit_delay_mean_and_spread_are_sums_over_the_hops():
    hops = [_link("a", "b", 0.020, 0.002), _link("b", "c", 0.250, 0.010), _link("c", "d", 0.008, 0.001)]
    net = Network(hops)
    d = np.array(_draws(net, "a", "d", seed=11), dtype=float)
    mean = sum(k.latency_s for k in hops)
    sd = math.sqrt(sum(k.jitter_s**2 for k in hops))     # truncation at 0 is > 8 sigma away on every hop
    assert abs(d.mean() - mean) < 5 * sd / math.sqrt(len(d))
    # Sample standard deviation of a Gaussian: standard error sd / sqrt(2 (n - 1)).
    assert abs(d.std(ddof=1) - sd) < 5 * sd / math.sqrt(2 * (len(d) - 1))
    assert (d > 0).all()


def test_jitter_is_truncated_at_zero_per_hop():
    # One hop whose jitter exceeds its latency: delay = max(L + J Z, 0), a rectified Gaussian with mean
    # L Phi(L/J) + J phi(L/J) and P(delay = 0) = Phi(-L/J).
    lat, jit = 0.010, 0.020
    net = Network([_link("a", "b", lat, jit)])
    d = np.array(_draws(net, "a", "b", seed=5), dtype=float)
    x = lat / jit
    mean = lat * norm.cdf(x) + jit * norm.pdf(x)
    second = (lat**2 + jit**2) * norm.cdf(x) + lat * jit * norm.pdf(x)
    sd = math.sqrt(second - mean**2)
    assert (d >= 0.0).all()
    assert abs(d.mean() - mean) < 5 * sd / math.sqrt(len(d))
    p0 = norm.cdf(-x)
    assert abs((d == 0.0).mean() - p0) < 5 * math.sqrt(p0 * (1 - p0) / len(d))


def test_loss_rate_is_one_minus_the_product_of_hop_survivals():
    hops = [_link("a", "b", 0.01, 0.001, 0.05), _link("b", "c", 0.02, 0.0, 0.10), _link("c", "d", 0.03, 0.0, 0.0),
            _link("d", "e", 0.01, 0.0, 0.02)]
    net = Network(hops)
    d = _draws(net, "a", "e", seed=7)
    lost = np.mean([x is None for x in d])
    p = 1.0 - np.prod([1.0 - k.loss for k in hops])
    assert abs(lost - p) < 5 * math.sqrt(p * (1 - p) / len(d))
    # Only whole deliveries come back, each the sum of all hops' latencies (jitter aside).
    kept = np.array([x for x in d if x is not None])
    assert abs(kept.mean() - sum(k.latency_s for k in hops)) < 5 * 0.001 / math.sqrt(len(kept))
    # Loss is in the route's hops only: the other direction and a sub-route lose at their own rates.
    d_ce = _draws(net, "c", "e", seed=8, n=20_000)
    lost_ce = np.mean([x is None for x in d_ce])
    assert abs(lost_ce - 0.02) < 5 * math.sqrt(0.02 * 0.98 / 20_000)


def test_certain_loss_and_no_loss():
    rng = np.random.default_rng(0)
    assert all(Network([_link("a", "b", 0.1, 0.0, 1.0)]).transit("a", "b", rng) is None for _ in range(100))
    assert all(Network([_link("a", "b", 0.1, 0.0, 0.0)]).transit("a", "b", rng) == 0.1 for _ in range(100))


def test_same_seed_same_delays_and_losses():
    net = Network([_link("a", "b", 0.02, 0.005, 0.1), _link("b", "c", 0.3, 0.05, 0.2)])
    first, again = _draws(net, "a", "c", seed=42, n=500), _draws(net, "a", "c", seed=42, n=500)
    assert first == again
    other = _draws(net, "a", "c", seed=43, n=500)
    assert other != first
    # A fresh Network built from the same links behaves identically.
    rebuilt = Network([_link("a", "b", 0.02, 0.005, 0.1), _link("b", "c", 0.3, 0.05, 0.2)])
    assert _draws(rebuilt, "a", "c", seed=42, n=500) == first
