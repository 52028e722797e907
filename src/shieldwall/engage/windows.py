"""Engagement windows: where and when each battery can intercept each threat on its predicted trajectory.

A battery can intercept a threat at a sample ``times_s[k]`` of its predicted trajectory when the threat
is still in flight, the point lies inside the interceptor's altitude band and slant range, and an
interceptor launched no earlier than ``t_now + reaction_time`` reaches the point by ``times_s[k]``
on the fly-out law of :mod:`shieldwall.world.flyout` (the law the world itself flies). Everything is
computed over all (battery, threat, time) triples at once, in battery chunks that bound the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from shieldwall.geo import altitude_m, height_bounds_m
from shieldwall.world.flyout import flyout_time_s

#: Elements of one (pair, time) chunk of the window computation (bounds temporary memory).
_CHUNK_ELEMENTS = 1 << 21
#: Every this-many-th sample screens which (battery, threat) pairs can come within range.
_COARSE = 8
#: Threats are windowed in this many groups of similar flight length (see :func:`engagement_windows`).
_LENGTH_GROUPS = 8
#: Margin [m] about the cheap height bounds inside which a sample's exact height is computed; far above
#: the error of either (sub-millimetre).
_HEIGHT_MARGIN_M = 1.0


@dataclass(frozen=True, slots=True)
class InterceptorParams:
    """Interceptor performance of B batteries, each field an array (B,) in SI units (scalars broadcast)."""

    burnout_speed_ms: np.ndarray
    burn_time_s: np.ndarray
    min_alt_m: np.ndarray
    max_alt_m: np.ndarray
    max_range_m: np.ndarray
    reaction_time_s: np.ndarray
    pk: np.ndarray  # single-shot kill probability

    def __post_init__(self) -> None:
        names = [f.name for f in fields(self)]
        arrays = [np.atleast_1d(np.asarray(getattr(self, name), float)) for name in names]
        try:
            arrays = np.broadcast_arrays(*arrays)
        except ValueError:
            shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(names, arrays))
            raise ValueError(f"InterceptorParams fields must be (B,) arrays or scalars; got {shapes}") from None
        for name, a in zip(names, arrays):
            object.__setattr__(self, name, np.array(a))


@dataclass(frozen=True, slots=True)
class Windows:
    """Engagement windows of B batteries against T threats over K predicted time samples.

    Times are absolute [s], NaN where a battery cannot engage a threat at all.
    """

    feasible: np.ndarray  # (B, T, K) bool: intercept at times_s[k] feasible
    earliest_s: np.ndarray  # (B, T): earliest feasible intercept time
    latest_s: np.ndarray  # (B, T): latest feasible intercept time
    launch_s: np.ndarray  # (B, T): launch time of the earliest intercept
    shoot_look_shoot: np.ndarray  # (B, T) bool: a second shot fits after kill assessment of the first
    second_shot_slack_s: np.ndarray  # (B, T): time to spare for that second shot [s] (NaN: none fits)
    blocked: np.ndarray  # (B, T) bool: engageable but for the footprint rule (every intercept excluded)

    @property
    def engageable(self) -> np.ndarray:
        """(B, T) bool: the battery has at least one feasible intercept of the threat."""
        return ~np.isnan(self.earliest_s)


def _band_heights_m(r_ecef: np.ndarray, limits_m: np.ndarray) -> np.ndarray:
    """Heights [m] (...) of points (..., 3) that compare with every one of ``limits_m`` as the exact
    ellipsoidal heights do: exact (:func:`~shieldwall.geo.altitude_m`) where a limit lies within the
    cheap bounds of :func:`~shieldwall.geo.height_bounds_m` (plus a margin), the lower bound elsewhere."""
    lo, hi = height_bounds_m(r_ecef)
    limits = np.sort(np.asarray(limits_m, float).ravel())
    below = np.searchsorted(limits, lo - _HEIGHT_MARGIN_M)
    near = below != np.searchsorted(limits, hi + _HEIGHT_MARGIN_M, "right")  # a limit in [lo - m, hi + m]
    lo[near] = altitude_m(r_ecef[near])
    return lo


def _window_pairs(battery_ecef, params, pb, pt, idx, valid, times_s, r_ecef, alive, alt_m, t_now_s, ka_delay_s,
                  footprint, allowed_bits):
    """Window fields of the (battery ``pb``, threat ``pt``) pairs (P,) over their samples ``idx`` (P, W)
    (``valid`` (P, W): which of them count); the feasibility (P, W) and the (P,) summaries of
    :func:`engagement_windows`."""
    def col(a: np.ndarray) -> np.ndarray:  # (B,) -> (P, 1)
        return a[pb, None]

    rows = pt[:, None]
    r = r_ecef[rows, idx]
    dx = r[..., 0] - col(battery_ecef[:, 0])
    dy = r[..., 1] - col(battery_ecef[:, 1])
    dz = r[..., 2] - col(battery_ecef[:, 2])
    dist_m = np.sqrt(dx * dx + dy * dy + dz * dz)
    del dx, dy, dz, r
    fly_s = flyout_time_s(dist_m, col(params.burnout_speed_ms), col(params.burn_time_s))
    alt = alt_m[rows, idx]
    times = times_s[idx]
    feasible = (valid & alive[rows, idx] & (alt >= col(params.min_alt_m)) & (alt <= col(params.max_alt_m))
                & (dist_m <= col(params.max_range_m)) & (t_now_s + col(params.reaction_time_s) + fly_s <= times))
    blocked = np.zeros(len(pb), bool)
    if footprint is not None:
        ruled_out = (footprint[rows, idx] & ~allowed_bits[pb, pt][:, None]) != 0
        blocked = feasible.any(axis=-1)
        feasible &= ~ruled_out
        blocked &= ~feasible.any(axis=-1)
    n_w = idx.shape[1]
    any_ok = feasible.any(axis=-1)
    k_first = np.argmax(feasible, axis=-1)[:, None]
    k_last = n_w - 1 - np.argmax(feasible[..., ::-1], axis=-1)[:, None]
    earliest = np.where(any_ok, np.take_along_axis(times, k_first, axis=-1)[:, 0], np.nan)
    latest = np.where(any_ok, np.take_along_axis(times, k_last, axis=-1)[:, 0], np.nan)
    launch = np.where(any_ok, earliest - np.take_along_axis(fly_s, k_first, axis=-1)[:, 0], np.nan)
    # Second shot: launched after kill assessment of the first intercept plus reaction time.
    second_ready = earliest + ka_delay_s[pb] + params.reaction_time_s[pb]
    spare = np.where(feasible & (times > earliest[:, None]), times - (second_ready[:, None] + fly_s), -np.inf)
    slack = spare.max(axis=-1)
    sls = slack >= 0.0
    return feasible, earliest, latest, launch, sls, np.where(sls, slack, np.nan), blocked


def _pairs_in_reach(battery_ecef, max_range_m, r_ecef) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(battery, threat) pairs whose trajectory may come within range, and the span [lo, hi] of samples
    (each (P,)) that may: every sample lies within ``_COARSE / 2`` steps of one of every ``_COARSE``-th
    sample (the last included), so within that many times the largest step of it, which lower-bounds
    its distance to the battery; a sample in range is within ``_COARSE / 2`` samples of a coarse sample
    that passes that bound. Rows sorted by battery, then threat."""
    n_t, n_k = r_ecef.shape[:2]
    at = np.unique(np.r_[np.arange(0, n_k, _COARSE), n_k - 1])
    coarse = r_ecef[:, at].reshape(-1, 3)
    with np.errstate(invalid="ignore"):
        steps = np.diff(r_ecef, axis=1)
        step = np.nan_to_num(np.sqrt(np.nanmax(np.einsum("tki,tki->tk", steps, steps), initial=0.0)))
    # Squared distances by one product: |c|^2 - 2 c.b + |b|^2 (rounding far below the margins used).
    d2 = (np.einsum("ni,ni->n", coarse, coarse)[None, :] - 2.0 * (battery_ecef @ coarse.T)
          + np.einsum("bi,bi->b", battery_ecef, battery_ecef)[:, None]).reshape(len(battery_ecef), n_t, at.size)
    reach = (max_range_m + step * (_COARSE // 2)) ** 2
    near = np.nan_to_num(d2, nan=np.inf) <= reach[:, None, None]
    pb, pt = np.nonzero(near.any(axis=-1))
    hits = near[pb, pt]
    lo = at[np.argmax(hits, axis=-1)] - _COARSE // 2
    hi = at[at.size - 1 - np.argmax(hits[:, ::-1], axis=-1)] + _COARSE // 2
    return pb, pt, np.maximum(lo, 0), np.minimum(hi, n_k - 1)


def _band_spans(alt_m: np.ndarray, alive: np.ndarray, min_m: np.ndarray, max_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample (each (L, T)) at which each threat flies inside each altitude band
    [min_m, max_m] (L,) (``alt_m``, ``alive`` (T, K)); last < first where it never does."""
    inside = alive[None] & (alt_m[None] >= min_m[:, None, None]) & (alt_m[None] <= max_m[:, None, None])
    n_k = alt_m.shape[1]
    return np.argmax(inside, axis=-1), np.where(inside.any(axis=-1), n_k - 1 - np.argmax(inside[..., ::-1], axis=-1), -1)


def _width_buckets(width: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Pairs grouped by sample-span width, each group padded to the next power of two (at least 8)
    so that padding wastes at most half of any group: (padded width, pair indices)."""
    padded = np.maximum(8, 1 << np.ceil(np.log2(np.maximum(width, 1))).astype(int))
    return [(int(w), np.flatnonzero(padded == w)) for w in np.unique(padded)]


def engagement_windows(battery_ecef: np.ndarray, params: InterceptorParams, times_s: np.ndarray,
                       r_ecef: np.ndarray, alive: np.ndarray, t_now_s: float,
                       ka_delay_s: float | np.ndarray, footprint: np.ndarray | None = None,
                       allowed_bits: np.ndarray | None = None) -> Windows:
    """Engagement windows of batteries at ``battery_ecef`` (B, 3) against predicted trajectories.

    ``times_s`` (K,), ``r_ecef`` (T, K, 3) and ``alive`` (T, K) are as from
    :func:`shieldwall.assess.prediction.predict_trajectories`. ``ka_delay_s`` (scalar or (B,)) is the
    kill-assessment delay after an intercept. Intercept at ``times_s[k]`` is feasible when the threat is
    alive there, its height is within [min_alt, max_alt], the slant range is at most max_range, and
    ``t_now + reaction_time + flyout_time(range) <= times_s[k]``. The launch time of an intercept is
    ``times_s[k] - flyout_time``. Shoot-look-shoot is possible when some feasible intercept later than
    the earliest one satisfies ``earliest + ka_delay + reaction_time + flyout_time <= times_s[k]``; the
    largest ``times_s[k] - (earliest + ka_delay + reaction_time + flyout_time)`` over them is the time to
    spare for the second shot.

    ``footprint`` (T, K) and ``allowed_bits`` (B, T) (unsigned integer bit masks of regions) exclude
    every intercept whose footprint (the regions an intercept at that sample would affect) has a bit
    the pair does not allow; ``blocked`` marks the pairs engageable but for that rule.

    Only samples that can matter are examined: threats go in groups of similar flight length, each cut
    after its last live sample; each (battery, threat) pair looks only at the span of samples where the
    threat may be within the battery's range (a coarse screen) and flies inside its altitude band.
    """
    battery_ecef = np.asarray(battery_ecef, float).reshape(-1, 3)
    n_b = len(battery_ecef)
    times_s = np.asarray(times_s, float)
    r_ecef = np.asarray(r_ecef, float)
    alive = np.asarray(alive, bool)
    ka_delay_s = np.broadcast_to(np.asarray(ka_delay_s, float), (n_b,))
    if params.pk.shape not in ((1,), (n_b,)):
        raise ValueError(f"params describe {params.pk.shape[0]} batteries, battery_ecef {n_b}")
    params = InterceptorParams(*(np.broadcast_to(getattr(params, f.name), (n_b,)) for f in fields(params)))
    limits = np.concatenate([params.min_alt_m, params.max_alt_m])
    bands, band_of = np.unique(np.c_[params.min_alt_m, params.max_alt_m], axis=0, return_inverse=True)
    band_of = band_of.reshape(-1)
    n_t, n_k = alive.shape
    out = [np.zeros((n_b, n_t, n_k), bool), *(np.full((n_b, n_t), np.nan) for _ in range(3)),
           np.zeros((n_b, n_t), bool), np.full((n_b, n_t), np.nan), np.zeros((n_b, n_t), bool)]
    # Trajectories are padded to the longest one, and most samples of a mixed raid are past their
    # threat's impact: threats of similar flight length go together, cut after their last live sample.
    span = np.where(alive.any(axis=1), n_k - np.argmax(alive[:, ::-1], axis=1), 0) if n_k else np.zeros(n_t, int)
    for group in np.array_split(np.argsort(span, kind="stable"), min(_LENGTH_GROUPS, max(n_t, 1))):
        k = int(span[group].max(initial=0))
        if not k:
            continue
        r, live = r_ecef[group, :k], alive[group, :k]
        prints = footprint[group, :k] if footprint is not None else None
        allowed = allowed_bits[:, group] if footprint is not None else None
        pb, pt, lo, hi = _pairs_in_reach(battery_ecef, params.max_range_m, r)
        if not pb.size:
            continue
        alt_m = _band_heights_m(r, limits)
        band_lo, band_hi = _band_spans(alt_m, live, bands[:, 0], bands[:, 1])
        lo = np.maximum(lo, band_lo[band_of[pb], pt])
        hi = np.minimum(hi, band_hi[band_of[pb], pt])
        keep = hi >= lo
        pb, pt, lo, hi = pb[keep], pt[keep], lo[keep], hi[keep]
        for width, rows in _width_buckets(hi - lo + 1):
            chunk = max(1, _CHUNK_ELEMENTS // width)
            for i in range(0, rows.size, chunk):
                part = rows[i:i + chunk]
                offset = np.arange(width)
                idx = lo[part, None] + offset
                valid = offset <= (hi - lo)[part, None]
                idx = np.minimum(idx, k - 1)
                feasible, *summary = _window_pairs(battery_ecef, params, pb[part], pt[part], idx, valid,
                                                   times_s[:k], r, live, alt_m, t_now_s, ka_delay_s, prints,
                                                   allowed)
                p, w = np.nonzero(feasible)
                out[0][pb[part][p], group[pt[part][p]], idx[p, w]] = True
                for j, values in enumerate(summary, start=1):
                    out[j][pb[part], group[pt[part]]] = values
    return Windows(*out)


def single_shot_pk(windows: Windows, params: InterceptorParams) -> np.ndarray:
    """(B, T) single-shot kill probability of each battery against each threat, 0 where not engageable."""
    return np.where(windows.engageable, params.pk[:, None], 0.0)
