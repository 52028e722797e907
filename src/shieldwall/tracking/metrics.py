"""Picture-quality metrics: OSPA and GOSPA distances between true and estimated target positions.

Both compare truth positions ``x`` (N, d) with estimated (track) positions ``y`` (M, d) [m] and
charge localisation and cardinality errors in one distance [m]. Pair distances are Euclidean and cut
off at ``c`` (``cutoff_m``); the order ``p >= 1`` weights large errors.

* OSPA (Schuhmacher, Vo & Vo, IEEE TSP 56(8), 2008), with ``n = max(N, M)``:
  ``(1/n (min_pi sum_i min(c, |x_i - y_pi(i)|)^p + c^p |M - N|))^(1/p)``, over one-to-one
  assignments pi of the smaller set into the larger; 0 for two empty sets, c when exactly one is
  empty. A metric bounded by c: an error per target.
* GOSPA (Rahmathullah, García-Fernández & Svensson, FUSION 2017): the same minimum without the
  ``1/n`` and at ``c^p / alpha`` per target of the larger set left over, ``0 < alpha <= 2``. For
  alpha = 2 it equals the minimum over assignments of only pairs closer than c of
  ``sum d^p + c^p / 2 (#missed + #false)``: localisation error plus missed and false targets.

The optimal assignment is one :func:`scipy.optimize.linear_sum_assignment` on the cut-off distances
raised to p. :func:`ospa_series` and :func:`gospa_series` take long-format (time, position) rows, as
a run record's track table holds them, and solve one small assignment per distinct time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True, slots=True)
class GospaResult:
    """GOSPA ``distance`` [m] and its parts [m^p], with ``distance**p == localisation + missed + false``.

    ``localisation`` sums the cut-off distances ``min(d, c)^p`` of the assigned pairs; ``missed`` and
    ``false`` are ``c^p / alpha`` for each of the ``n_missed`` truths and ``n_false`` estimates left
    unassigned. With alpha = 2 only pairs closer than c are assigned (a pair at c or beyond costs the
    same as one missed and one false target); with alpha < 2 all ``min(N, M)`` pairs of the optimal
    assignment are, and the counts are the cardinality difference.
    """

    distance: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int


@dataclass(frozen=True, slots=True)
class GospaSeries:
    """GOSPA at each time ``t_s`` (T,) [s]: the fields of :class:`GospaResult` as arrays (T,)."""

    t_s: np.ndarray
    distance: np.ndarray
    localisation: np.ndarray
    missed: np.ndarray
    false: np.ndarray
    n_missed: np.ndarray
    n_false: np.ndarray


def ospa(truth: np.ndarray, estimates: np.ndarray, cutoff_m: float, order: float = 1.0) -> float:
    """OSPA distance [m] between truth positions (N, d) and estimated positions (M, d) [m].

    ``cutoff_m`` is c [m], ``order`` is p; an empty set may be given as ``[]``. See the module docstring.
    """
    x, y = _point_sets(truth, estimates)
    _check(cutoff_m, order)
    return _ospa(x, y, cutoff_m, order)


def gospa(truth: np.ndarray, estimates: np.ndarray, cutoff_m: float, order: float = 1.0,
          alpha: float = 2.0) -> GospaResult:
    """GOSPA distance [m] between truth positions (N, d) and estimated positions (M, d) [m], with its parts.

    ``cutoff_m`` is c [m], ``order`` is p, ``0 < alpha <= 2``; an empty set may be given as ``[]``.
    See the module docstring and :class:`GospaResult`.
    """
    x, y = _point_sets(truth, estimates)
    _check(cutoff_m, order, alpha)
    return _gospa(x, y, cutoff_m, order, alpha)


def ospa_series(truth_t_s: np.ndarray, truth: np.ndarray, est_t_s: np.ndarray, estimates: np.ndarray,
                cutoff_m: float, order: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """OSPA [m] at each time of long-format rows: truth positions (N, d) [m] at ``truth_t_s`` (N,) [s]
    and estimated positions (M, d) [m] at ``est_t_s`` (M,) [s], rows in any order.

    Returns the sorted distinct times (T,) [s] of both tables and the OSPA (T,) at each. Times match
    exactly (sample the truth at the track times); at a time only one table has, the other set is
    empty and the OSPA is c. From a run record:
    ``ospa_series(truth.t_s, truth[["x", "y", "z"]], tracks.t_s, tracks[["x_m", "y_m", "z_m"]], c)``.
    """
    _check(cutoff_m, order)
    times, steps = _steps(truth_t_s, truth, est_t_s, estimates)
    return times, np.array([_ospa(x, y, cutoff_m, order) for x, y in steps], float)


def gospa_series(truth_t_s: np.ndarray, truth: np.ndarray, est_t_s: np.ndarray, estimates: np.ndarray,
                 cutoff_m: float, order: float = 1.0, alpha: float = 2.0) -> GospaSeries:
    """GOSPA at each time of long-format rows, as :func:`ospa_series` takes them; see :func:`gospa`."""
    _check(cutoff_m, order, alpha)
    times, steps = _steps(truth_t_s, truth, est_t_s, estimates)
    results = [_gospa(x, y, cutoff_m, order, alpha) for x, y in steps]
    parts = np.array([(r.distance, r.localisation, r.missed, r.false) for r in results], float).reshape(-1, 4)
    counts = np.array([(r.n_missed, r.n_false) for r in results], np.int64).reshape(-1, 2)
    return GospaSeries(t_s=times, distance=parts[:, 0], localisation=parts[:, 1], missed=parts[:, 2],
                       false=parts[:, 3], n_missed=counts[:, 0], n_false=counts[:, 1])


def _ospa(x: np.ndarray, y: np.ndarray, c: float, p: float) -> float:
    """:func:`ospa` of checked point sets."""
    n = max(len(x), len(y))
    if n == 0:
        return 0.0
    cost, _ = _optimal_pairs(x, y, c, p)
    return float(((np.sum(cost) + c**p * abs(len(x) - len(y))) / n) ** (1.0 / p))


def _gospa(x: np.ndarray, y: np.ndarray, c: float, p: float, alpha: float) -> GospaResult:
    """:func:`gospa` of checked point sets."""
    cost, inside = _optimal_pairs(x, y, c, p)
    assigned = inside if alpha == 2.0 else np.ones(len(cost), bool)
    n_pairs = int(np.count_nonzero(assigned))
    localisation = float(np.sum(cost[assigned]))
    n_missed, n_false = len(x) - n_pairs, len(y) - n_pairs
    unit = float(c**p / alpha)
    missed, false = unit * n_missed, unit * n_false
    return GospaResult(distance=float((localisation + missed + false) ** (1.0 / p)), localisation=localisation,
                       missed=missed, false=false, n_missed=n_missed, n_false=n_false)


def _optimal_pairs(x: np.ndarray, y: np.ndarray, c: float, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Costs ``min(d, c)^p`` (min(N, M),) of the pairs of an optimal assignment, and whether ``d < c``.

    A distance that is NaN (a non-finite position) counts as c: such a point is never assigned.
    """
    if len(x) == 0 or len(y) == 0:
        return np.empty(0), np.empty(0, bool)
    diff = x[:, None, :] - y[None, :, :]
    dist = np.sqrt(np.add.reduce(diff * diff, axis=-1))
    cost = np.fmin(dist, c) ** p
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols], dist[rows, cols] < c


def _point_sets(truth: np.ndarray, estimates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Truth and estimates as float arrays (N, d) and (M, d); ``[]`` stands for an empty set."""
    x, y = np.asarray(truth, float), np.asarray(estimates, float)
    x, y = (a.reshape(0, 0) if a.ndim == 1 and a.size == 0 else a for a in (x, y))
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"positions of shapes {x.shape} and {y.shape}: expected (N, d) and (M, d) arrays")
    if len(x) and len(y) and x.shape[1] != y.shape[1]:
        raise ValueError(f"positions of shapes {x.shape} and {y.shape}: truth and estimates differ in dimension")
    return x, y


def _check(cutoff_m: float, order: float, alpha: float = 2.0) -> None:
    """Refuse a cut-off, order or alpha outside the range where OSPA and GOSPA are metrics."""
    if not 0.0 < cutoff_m < np.inf:
        raise ValueError(f"cutoff_m={cutoff_m!r}: expected a positive finite distance in metres")
    if not 1.0 <= order < np.inf:
        raise ValueError(f"order={order!r}: expected a finite order p >= 1")
    if not 0.0 < alpha <= 2.0:
        raise ValueError(f"alpha={alpha!r}: expected 0 < alpha <= 2")


def _steps(truth_t_s: np.ndarray, truth: np.ndarray, est_t_s: np.ndarray,
           estimates: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Sorted distinct times (T,) of both tables and the (truth, estimates) position sets at each."""
    t_x = np.asarray(truth_t_s, float).reshape(-1)
    t_y = np.asarray(est_t_s, float).reshape(-1)
    x, y = _point_sets(truth, estimates)
    if len(t_x) != len(x) or len(t_y) != len(y):
        raise ValueError(f"{len(t_x)} truth times for {len(x)} positions, {len(t_y)} estimate times for "
                         f"{len(y)} positions: expected one time per position")
    times = np.unique(np.concatenate([t_x, t_y]))
    return times, list(zip(_split_by_time(times, t_x, x), _split_by_time(times, t_y, y)))


def _split_by_time(times: np.ndarray, t: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
    """Rows of ``points`` at each of the sorted ``times`` (which hold every value of ``t``)."""
    order = np.argsort(t, kind="stable")
    points = points[order]
    starts = np.searchsorted(t[order], times)
    return [points[a:b] for a, b in zip(starts, np.append(starts[1:], len(t)))]
