"""Engagement windows against a brute-force scalar loop over every (battery, threat, time) triple,
and against the fly-out law itself (an interceptor launched at the planned time meets the threat)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shieldwall.assess.prediction import predict_trajectories
from shieldwall.engage import windows as windows_module
from shieldwall.engage.windows import InterceptorParams, Windows, engagement_windows, single_shot_pk
from shieldwall.geo import altitude_m, enu_basis, geodetic_to_ecef
from shieldwall.world.flyout import flyout_time_s, position_ecef

T_NOW_S = 40.0
KA_DELAY_S = 6.0


def _scenario(n_threats=8, n_batteries=6, seed=0):
    """Threats descending on a region and batteries of mixed tiers spread over it."""
    rng = np.random.default_rng(seed)
    lat = np.radians(rng.uniform(49.0, 51.0, n_threats))
    lon = np.radians(rng.uniform(9.0, 12.0, n_threats))
    r0 = geodetic_to_ecef(lat, lon, rng.uniform(120e3, 250e3, n_threats))
    v_enu = np.column_stack([rng.uniform(1000.0, 2000.0, n_threats), rng.uniform(-800.0, 800.0, n_threats),
                             rng.uniform(-1500.0, 200.0, n_threats)])
    x = np.concatenate([r0, np.einsum("ti,tij->tj", v_enu, enu_basis(lat, lon))], axis=-1)
    times, r, alive = predict_trajectories(x, 30.0, 400.0, 2.0)
    b_lat = np.radians(rng.uniform(49.0, 52.0, n_batteries))
    b_lon = np.radians(rng.uniform(10.0, 16.0, n_batteries))
    batteries = geodetic_to_ecef(b_lat, b_lon, rng.uniform(0.0, 500.0, n_batteries))
    params = InterceptorParams(
        burnout_speed_ms=rng.uniform(1200.0, 3500.0, n_batteries), burn_time_s=rng.uniform(4.0, 25.0, n_batteries),
        min_alt_m=rng.uniform(0.0, 40e3, n_batteries), max_alt_m=rng.uniform(60e3, 200e3, n_batteries),
        max_range_m=rng.uniform(80e3, 400e3, n_batteries), reaction_time_s=rng.uniform(3.0, 15.0, n_batteries),
        pk=rng.uniform(0.6, 0.9, n_batteries))
    return batteries, params, times, r, alive


def _brute_force(batteries, params, times, r, alive, t_now_s, ka_delay_s, footprint=None, allowed=None):
    """Scalar reference: every (b, t, k) decided on its own, then per-(b, t) summaries by plain loops;
    with ``footprint`` (T, K) and ``allowed`` (B, T) region bit masks, an intercept whose footprint has a
    region the pair does not allow is excluded."""
    n_b, (n_t, n_k) = len(batteries), alive.shape
    feasible = np.zeros((n_b, n_t, n_k), bool)
    fly = np.zeros((n_b, n_t, n_k))
    for b in range(n_b):
        for t in range(n_t):
            for k in range(n_k):
                dx, dy, dz = (float(r[t, k, i]) - float(batteries[b, i]) for i in range(3))
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                fly[b, t, k] = float(flyout_time_s(d, params.burnout_speed_ms[b], params.burn_time_s[b]))
                alt = float(altitude_m(r[t, k]))
                feasible[b, t, k] = bool(alive[t, k] and params.min_alt_m[b] <= alt <= params.max_alt_m[b]
                                         and d <= params.max_range_m[b]
                                         and t_now_s + params.reaction_time_s[b] + fly[b, t, k] <= times[k])
    blocked = np.zeros((n_b, n_t), bool)
    if footprint is not None:
        for b in range(n_b):
            for t in range(n_t):
                engageable = feasible[b, t].any()
                for k in range(n_k):
                    if int(footprint[t, k]) & ~int(allowed[b, t]):
                        feasible[b, t, k] = False
                blocked[b, t] = engageable and not feasible[b, t].any()
    earliest = np.full((n_b, n_t), np.nan)
    latest = np.full((n_b, n_t), np.nan)
    launch = np.full((n_b, n_t), np.nan)
    sls = np.zeros((n_b, n_t), bool)
    slack = np.full((n_b, n_t), np.nan)
    for b in range(n_b):
        for t in range(n_t):
            ks = [k for k in range(n_k) if feasible[b, t, k]]
            if not ks:
                continue
            earliest[b, t], latest[b, t] = times[ks[0]], times[ks[-1]]
            launch[b, t] = times[ks[0]] - fly[b, t, ks[0]]
            ready = earliest[b, t] + ka_delay_s + params.reaction_time_s[b]
            spare = [times[k] - (ready + fly[b, t, k]) for k in ks if times[k] > earliest[b, t]]
            sls[b, t] = any(x >= 0 for x in spare)
            if sls[b, t]:
                slack[b, t] = max(spare)
    return feasible, earliest, latest, launch, sls, slack, blocked


@pytest.mark.parametrize("chunk_elements", [1 << 21, 1])
def test_windows_match_brute_force_loop(monkeypatch, chunk_elements):
    monkeypatch.setattr(windows_module, "_CHUNK_ELEMENTS", chunk_elements)  # 1: one battery per chunk
    batteries, params, times, r, alive = _scenario()
    w = engagement_windows(batteries, params, times, r, alive, T_NOW_S, KA_DELAY_S)
    feasible, earliest, latest, launch, sls, slack, _ = _brute_force(batteries, params, times, r, alive, T_NOW_S,
                                                                     KA_DELAY_S)
    # The scenario exercises every branch: feasible and not, with and without shoot-look-shoot.
    assert 0.02 < feasible.mean() < 0.8
    assert sls.any() and (~sls & ~np.isnan(earliest)).any() and np.isnan(earliest).any()
    np.testing.assert_array_equal(w.feasible, feasible)
    np.testing.assert_array_equal(w.earliest_s, earliest)
    np.testing.assert_array_equal(w.latest_s, latest)
    np.testing.assert_array_equal(w.launch_s, launch)
    np.testing.assert_array_equal(w.shoot_look_shoot, sls)
    np.testing.assert_allclose(w.second_shot_slack_s, slack, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(w.engageable, ~np.isnan(earliest))


def test_footprint_rule_matches_brute_force_loop():
    batteries, params, times, r, alive = _scenario(seed=3)
    rng = np.random.default_rng(3)
    # Three regions; each sample's footprint covers the regions from a random point of the path on (as
    # a suffix-OR footprint does), and each pair allows a random subset.
    regions = rng.integers(0, 8, r.shape[:2]).astype(np.uint64)
    footprint = np.bitwise_or.accumulate(regions[:, ::-1], axis=1)[:, ::-1]
    allowed = rng.integers(0, 8, (len(batteries), r.shape[0])).astype(np.uint64)
    w = engagement_windows(batteries, params, times, r, alive, T_NOW_S, KA_DELAY_S, footprint, allowed)
    feasible, earliest, latest, launch, sls, slack, blocked = _brute_force(
        batteries, params, times, r, alive, T_NOW_S, KA_DELAY_S, footprint, allowed)
    assert blocked.any() and (~np.isnan(earliest)).any()   # the rule bites somewhere, not everywhere
    np.testing.assert_array_equal(w.feasible, feasible)
    np.testing.assert_array_equal(w.earliest_s, earliest)
    np.testing.assert_array_equal(w.launch_s, launch)
    np.testing.assert_array_equal(w.shoot_look_shoot, sls)
    np.testing.assert_array_equal(w.blocked, blocked)


def test_planned_launch_meets_the_threat():
    batteries, params, times, r, alive = _scenario(seed=1)
    w = engagement_windows(batteries, params, times, r, alive, T_NOW_S, KA_DELAY_S)
    b, t = np.nonzero(w.engageable)
    assert len(b) > 0
    assert np.all(w.launch_s[b, t] >= T_NOW_S + params.reaction_time_s[b])
    k = np.searchsorted(times, w.earliest_s[b, t])
    aim = r[t, k]
    flown = position_ecef(w.earliest_s[b, t] - w.launch_s[b, t], batteries[b], aim,
                          params.burnout_speed_ms[b], params.burn_time_s[b])
    np.testing.assert_allclose(flown, aim, atol=1e-6)


def test_shapes_scalar_parameters_and_pk():
    batteries, _, times, r, alive = _scenario(n_threats=5, n_batteries=3, seed=2)
    params = InterceptorParams(burnout_speed_ms=3000.0, burn_time_s=10.0, min_alt_m=0.0, max_alt_m=300e3,
                               max_range_m=600e3, reaction_time_s=5.0, pk=[0.7, 0.8, 0.9])
    w = engagement_windows(batteries, params, times, r, alive, T_NOW_S, [5.0, 6.0, 7.0])
    assert isinstance(w, Windows)
    assert w.feasible.shape == (3, 5, len(times)) and w.feasible.dtype == bool
    for name in ("earliest_s", "latest_s", "launch_s", "shoot_look_shoot", "second_shot_slack_s"):
        assert getattr(w, name).shape == (3, 5)
    assert np.all((w.earliest_s <= w.latest_s) | ~w.engageable)
    pk = single_shot_pk(w, params)
    np.testing.assert_array_equal(pk, np.where(w.engageable, [[0.7], [0.8], [0.9]], 0.0))


def test_nothing_feasible_after_the_threats_land_or_too_late():
    batteries, params, times, r, alive = _scenario(n_threats=4, n_batteries=3, seed=3)
    w = engagement_windows(batteries, params, times, r, alive, times[-1] + 1.0, KA_DELAY_S)
    assert not w.feasible.any() and np.isnan(w.earliest_s).all() and not w.shoot_look_shoot.any()


def test_mismatched_parameters_are_refused():
    batteries, params, times, r, alive = _scenario(n_threats=2, n_batteries=3, seed=4)
    with pytest.raises(ValueError, match="batteries"):
        engagement_windows(batteries[:2], params, times, r, alive, T_NOW_S, KA_DELAY_S)
    with pytest.raises(ValueError, match="InterceptorParams"):
        InterceptorParams(burnout_speed_ms=[1.0, 2.0], burn_time_s=[1.0, 2.0, 3.0], min_alt_m=0.0, max_alt_m=1.0,
                          max_range_m=1.0, reaction_time_s=1.0, pk=0.5)


def test_band_heights_compare_with_the_limits_as_exact_heights_do():
    """The cheap height bounds bracket the geodetic height, and the heights the windows use give every
    comparison with the altitude limits the exact heights give, points on and near the limits included."""
    from shieldwall.engage.windows import _band_heights_m
    from shieldwall.geo import altitude_m, geodetic_to_ecef, height_bounds_m

    rng = np.random.default_rng(11)
    limits = np.array([0.0, 15e3, 40e3, 150e3])
    alt = np.concatenate([rng.uniform(-5e3, 400e3, 4000), np.repeat(limits, 50) + rng.normal(0.0, 0.5, 200),
                          np.repeat(limits, 3)])
    lat, lon = np.radians(rng.uniform(-90.0, 90.0, alt.size)), np.radians(rng.uniform(-180.0, 180.0, alt.size))
    r = geodetic_to_ecef(lat, lon, alt)
    exact = altitude_m(r)
    lo, hi = height_bounds_m(r)
    assert np.all(lo <= exact + 1e-6) and np.all(exact <= hi + 1e-6)
    assert np.all(hi - lo <= 0.0034 * np.abs(exact) + 1e-6)
    band = _band_heights_m(r.reshape(4, -1, 3), limits).ravel()
    np.testing.assert_array_equal(band[:, None] >= limits, exact[:, None] >= limits)
    np.testing.assert_array_equal(band[:, None] <= limits, exact[:, None] <= limits)
