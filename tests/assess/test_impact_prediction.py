"""Trajectory and impact prediction against brute-force references.

References: a scalar, one-threat-at-a-time RK4 loop whose ground crossing is found by bisection (not the
package's secant/Newton search), and a 2000-sample Monte Carlo of the state uncertainty flown the
same brute-force way, against which the unscented impact covariance is checked.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.assess.prediction import ImpactPrediction, predict_impact, predict_trajectories
from shieldwall.geo import altitude_m, ecef_to_geodetic, enu_basis, geodetic_to_ecef
from shieldwall.world.dynamics import ballistic_accel_ecef, rk4_step


def _states(lat_deg, lon_deg, alt_m, v_enu_ms) -> np.ndarray:
    """ECEF states (T, 6) from geodetic positions and ENU velocities."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    r = geodetic_to_ecef(lat, lon, alt_m)
    v = np.einsum("ti,tij->tj", np.asarray(v_enu_ms, float), enu_basis(lat, lon))
    return np.concatenate([r, v], axis=-1)


#: Mixed threats: short and medium range, ascending and descending, one already on the ground.
STATES = _states([40.0, 52.0, -10.0, 5.0, 30.0], [20.0, 5.0, 130.0, -60.0, 0.0],
                 [200e3, 80e3, 400e3, 30e3, -5.0],
                 [[2000.0, 1000.0, 500.0], [-800.0, 300.0, -1500.0], [3000.0, -2500.0, 1200.0],
                  [100.0, 200.0, -900.0], [0.0, 0.0, 0.0]])


def _crossing_by_bisection(r0, v0, step_s):
    """Time into the step and point where a state above ground reaches height 0 (bisection, 60 halvings)."""
    lo, hi = 0.0, step_s
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if altitude_m(rk4_step(r0, v0, mid, ballistic_accel_ecef)[0]) > 0.0:
            lo = mid
        else:
            hi = mid
    return hi, rk4_step(r0, v0, hi, ballistic_accel_ecef)[0]


def _reference_trajectory(x, n_steps, step_s):
    """One threat, scalar loop: positions (n+1, 3), alive (n+1,), flight time to the ground or None."""
    r, v = x[:3].copy(), x[3:].copy()
    rs, alive, t_land = [r], [altitude_m(r) > 0.0], None
    for k in range(n_steps):
        if alive[-1]:
            r1, v1 = rk4_step(r, v, step_s, ballistic_accel_ecef)
            if altitude_m(r1) <= 0.0:
                dt, r1 = _crossing_by_bisection(r, v, step_s)
                t_land = k * step_s + dt
                alive.append(False)
            else:
                alive.append(True)
            r, v = r1, v1
        else:
            alive.append(False)
        rs.append(r)
    return np.array(rs), np.array(alive), t_land


def test_trajectories_match_single_threat_loop():
    step_s, horizon_s = 5.0, 1000.0
    times, r, alive = predict_trajectories(STATES, 100.0, horizon_s, step_s)
    n = len(times) - 1
    assert times[0] == 100.0 and np.allclose(np.diff(times), step_s)
    assert r.shape == (len(STATES), len(times), 3) and alive.shape == (len(STATES), len(times))
    for i, x in enumerate(STATES):
        r_ref, alive_ref, _ = _reference_trajectory(x, n, step_s)
        np.testing.assert_array_equal(alive[i], alive_ref)
        np.testing.assert_allclose(r[i][alive_ref], r_ref[alive_ref], rtol=0, atol=1e-6)
        np.testing.assert_allclose(r[i][~alive_ref], r_ref[~alive_ref], rtol=0, atol=1e-3)
    # The grid stops at the first sample where every threat has landed.
    assert not alive[:, -1].any() and alive[:, -2].any()
    assert not alive[-1].any()  # the threat starting below ground is never alive


def test_trajectories_stop_at_horizon():
    times, r, alive = predict_trajectories(STATES[:1], 0.0, 30.0, 10.0)
    np.testing.assert_array_equal(times, [0.0, 10.0, 20.0, 30.0])
    assert alive.all() and r.shape == (1, 4, 3)


def test_impact_of_certain_state_matches_reference():
    pred = predict_impact(STATES, np.zeros((len(STATES), 6, 6)), 50.0, step_s=2.0)
    assert isinstance(pred, ImpactPrediction)
    for i, x in enumerate(STATES[:-1]):
        r_ref, _, t_land = _reference_trajectory(x, 2000, 2.0)
        r_ref = r_ref[-1]
        assert pred.t_impact_s[i] == pytest.approx(50.0 + t_land, abs=1e-6)
        np.testing.assert_allclose(pred.impact_ecef[i], r_ref, atol=1e-3)
    np.testing.assert_allclose(pred.cov_en_m2, 0.0, atol=1e-6)
    np.testing.assert_allclose(altitude_m(pred.impact_ecef), 0.0, atol=1e-6)
    lat, lon, _ = ecef_to_geodetic(pred.impact_ecef)
    np.testing.assert_allclose([pred.impact_lat_rad, pred.impact_lon_rad], [lat, lon], atol=1e-12)
    # Already on the ground: impact now, where it is.
    assert pred.t_impact_s[-1] == 50.0


def test_impact_without_landing_is_nan():
    pred = predict_impact(STATES[:2], np.zeros((2, 6, 6)), 0.0, step_s=2.0, max_flight_s=20.0)
    assert np.isnan(pred.t_impact_s).all() and np.isnan(pred.cov_en_m2).all()


def _monte_carlo_impacts(x, p, n, rng, step_s=2.0):
    """Impact points (n, 3) of n samples of N(x, p), flown by a batched RK4 loop with bisection crossings."""
    samples = rng.multivariate_normal(x, p, size=n)
    r, v = samples[:, :3].copy(), samples[:, 3:].copy()
    last_r, last_v = np.empty((n, 3)), np.empty((n, 3))  # state at the start of the landing step
    flying = np.ones(n, bool)
    while flying.any():
        idx = np.flatnonzero(flying)
        r1, v1 = rk4_step(r[idx], v[idx], step_s, ballistic_accel_ecef)
        landed = idx[altitude_m(r1) <= 0.0]
        last_r[landed], last_v[landed] = r[landed], v[landed]
        r[idx], v[idx] = r1, v1
        flying[landed] = False
    lo, hi = np.zeros(n), np.full(n, step_s)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        above = altitude_m(rk4_step(last_r, last_v, mid, ballistic_accel_ecef)[0]) > 0.0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return rk4_step(last_r, last_v, hi, ballistic_accel_ecef)[0]


@pytest.mark.parametrize("i", [0, 1, 2])
def test_unscented_impact_matches_monte_carlo(i):
    rng = np.random.default_rng(1000 + i)
    a = rng.normal(size=(6, 6)) * np.array([150.0] * 3 + [4.0] * 3)[:, None]
    p = a @ a.T / 6 + np.diag([100.0**2] * 3 + [2.0**2] * 3)
    x = STATES[i]
    pred = predict_impact(x[None], p[None], 0.0)
    mc = _monte_carlo_impacts(x, p, 2000, rng)
    basis = enu_basis(pred.impact_lat_rad[0], pred.impact_lon_rad[0])[:2]
    en = (mc - pred.impact_ecef[0]) @ basis.T
    mc_cov = np.cov(en.T)
    ut_cov = pred.cov_en_m2[0]
    # Covariance: within Monte Carlo sampling error (~3 % on a variance with 2000 samples).
    assert np.linalg.norm(ut_cov - mc_cov) / np.linalg.norm(mc_cov) < 0.15
    np.testing.assert_allclose(np.sqrt(np.diag(ut_cov)), np.sqrt(np.diag(mc_cov)), rtol=0.1)
    # Mean: the sample mean lies within a few standard errors of the UT mean impact point.
    std_err = np.sqrt(np.diag(mc_cov) / len(mc))
    assert np.all(np.abs(en.mean(axis=0)) < 5 * std_err)
    # And close to the deterministic flight of the mean state (the UT adds second-order corrections).
    certain = predict_impact(x[None], np.zeros((1, 6, 6)), 0.0)
    offset = np.linalg.norm(certain.impact_ecef[0] - pred.impact_ecef[0])
    assert offset < 0.05 * np.sqrt(np.trace(ut_cov))


def test_impact_is_vectorised_over_threats():
    rng = np.random.default_rng(7)
    p = np.stack([np.diag(rng.uniform(1e2, 1e4, 6)) for _ in range(4)])
    batch = predict_impact(STATES[:4], p, 0.0)
    for i in range(4):
        single = predict_impact(STATES[i:i + 1], p[i:i + 1], 0.0)
        for name in ImpactPrediction.__slots__:
            np.testing.assert_allclose(getattr(batch, name)[i], getattr(single, name)[0], rtol=1e-12, atol=1e-9)
    assert batch.cov_en_m2.shape == (4, 2, 2) and batch.impact_ecef.shape == (4, 3)


def test_long_integration_steps_match_short_ones():
    """40 s RK4 steps with Hermite samples in between reproduce the 2 s integration (drag-free flight)."""
    t_fine, r_fine, alive_fine = predict_trajectories(STATES, 0.0, 900.0, 2.0)
    t_long, r_long, alive_long = predict_trajectories(STATES, 0.0, 900.0, 2.0, integration_step_s=40.0)
    np.testing.assert_array_equal(t_fine, t_long)
    np.testing.assert_array_equal(alive_fine, alive_long)
    assert np.linalg.norm(r_fine - r_long, axis=-1).max() < 1.0
    coarse = predict_impact(STATES, np.zeros((len(STATES), 6, 6)), 0.0, step_s=40.0)
    fine = predict_impact(STATES, np.zeros((len(STATES), 6, 6)), 0.0, step_s=2.0)
    np.testing.assert_allclose(coarse.impact_ecef, fine.impact_ecef, atol=1.0)
    np.testing.assert_allclose(coarse.t_impact_s, fine.t_impact_s, atol=1e-3)
    with pytest.raises(ValueError, match="whole multiple"):
        predict_trajectories(STATES, 0.0, 100.0, 2.0, integration_step_s=5.0)


def test_carried_flights_with_no_offset_are_the_integrated_trajectories():
    """The mean flights kept by the unscented prediction, carried by a zero offset, sample exactly as the
    trajectories integrated from the same states (cut short on request; at chosen times alike)."""
    from shieldwall.assess.prediction import carried_positions, carried_trajectories, predict_impact_and_flights

    P = np.broadcast_to(np.diag([300.0**2] * 3 + [10.0**2] * 3), (len(STATES), 6, 6))
    impact, flights = predict_impact_and_flights(STATES, P, 5.0, step_s=40.0)
    np.testing.assert_array_equal(impact.impact_ecef, predict_impact(STATES, P, 5.0, step_s=40.0).impact_ecef)
    got = carried_trajectories(flights, np.zeros((len(STATES), 6)), 5.0, 2.0)
    ref = predict_trajectories(STATES, 5.0, float(got[0][-1] - 5.0), 2.0, integration_step_s=40.0)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    short = carried_trajectories(flights, np.zeros((len(STATES), 6)), 5.0, 2.0, max_samples=7)
    for a, b in zip(short, got):
        np.testing.assert_array_equal(a, b[..., :7] if a.ndim == 1 else b[:, :7])
    picks = np.array([0, 3, 50, len(got[0]) - 1])
    at = carried_positions(flights, np.zeros((len(STATES), 6)), got[0][picks])
    np.testing.assert_allclose(at, got[1][:, picks], rtol=0, atol=1e-6)


def test_flight_store_gathers_what_was_put():
    """Flights of different lengths put in slots (some freed and reused) come back as they were: the
    bracketing step of a time, and the whole flight from there, with times shifted to match."""
    from shieldwall.assess.prediction import SigmaFlightStore, predict_impact_and_flights

    P = np.broadcast_to(np.diag([300.0**2] * 3 + [10.0**2] * 3), (len(STATES), 6, 6))
    store = SigmaFlightStore(40.0, 90)
    _, a = predict_impact_and_flights(STATES[:2], P[:2], 0.0, step_s=40.0)
    _, b = predict_impact_and_flights(STATES[2:], P[2:], 100.0, step_s=40.0)
    first = store.put(a)
    store.release(first[:1])
    slots = np.concatenate([store.put(b), first[1:]])
    flights = [(b, i) for i in range(3)] + [(a, 1)]
    win = store.window(slots, 190.0)
    full = store.gather(slots, 190.0)
    for j, (f, i) in enumerate(flights):
        k = int(np.ceil((190.0 - f.t0_s[i]) / 40.0 - 1e-9)) - 1
        assert win.t0_s[j] == f.t0_s[i] + 40.0 * k
        np.testing.assert_array_equal(win.r[j], f.r[i][:, k:k + 2])
        np.testing.assert_array_equal(win.t_land_s[j], f.t_land_s[i] - 40.0 * k)
        k0 = int(round((full.t0_s[j] - f.t0_s[i]) / 40.0))
        n = f.r.shape[2] - k0
        np.testing.assert_array_equal(full.r[j][:, :n], f.r[i][:, k0:])
        assert np.all(full.r[j][:, n:] == f.r[i][:, -1:])
        np.testing.assert_array_equal(full.impact[j], f.impact[i])


#: Midcourse and late-flight threats with track-like uncertainty (position sigma 200 m, velocity 5 m/s).
CARRY_STATES = _states([55.0, 58.0, 57.0], [15.0, 5.0, 20.0], [150e3, 250e3, 40e3],
                       [[1500.0, -800.0, 300.0], [-1200.0, 900.0, 100.0], [1500.0, 500.0, -1200.0]])
CARRY_P = np.broadcast_to(np.diag([200.0**2] * 3 + [5.0**2] * 3), (3, 6, 6))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 3.0), st.floats(0.3, 1.5))
def test_carried_prediction_matches_a_fresh_one(seed, offset, shrink):
    """A prediction carried to a state moved by up to three sigma-point spreads, with its covariance
    scaled, agrees with the unscented prediction made afresh there: the impact point within a tenth of
    its own spread, the covariance within 5 %, the trajectory within the same distance; and the
    carry's own estimate of its second-order error is of the size of the error left (within a factor
    of two: the estimate bounds the second-order term only; higher ones grow with the offset)."""
    from shieldwall.assess.prediction import carried_trajectories, carry_prediction, predict_impact_and_flights
    from shieldwall.tracking.ekf import predict

    _, flights = predict_impact_and_flights(CARRY_STATES, CARRY_P, 0.0, step_s=40.0)
    x1, P1 = predict(CARRY_STATES, CARRY_P, 20.0, 0.0)
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(3, 6))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    x = x1 + np.sqrt(3.0) * offset * np.einsum("tij,tj->ti", np.linalg.cholesky(P1), d)
    P = P1 * shrink
    carried = carry_prediction(flights, x, P, 20.0)
    fresh, fresh_flights = predict_impact_and_flights(x, P, 20.0, step_s=40.0)
    assert carried.valid.all()
    np.testing.assert_allclose(carried.offset, offset, rtol=0.05, atol=0.01)
    spread = np.sqrt(np.trace(fresh.cov_en_m2, axis1=1, axis2=2))
    error = np.linalg.norm(carried.impact.impact_ecef - fresh.impact_ecef, axis=-1)
    assert np.all(error <= 0.1 * spread)
    assert np.all(error <= 2.0 * carried.curvature_m + 5.0)
    np.testing.assert_allclose(carried.impact.t_impact_s, fresh.t_impact_s, atol=0.5)
    np.testing.assert_allclose(np.trace(carried.impact.cov_en_m2, axis1=1, axis2=2), spread**2, rtol=0.05)
    t_c, r_c, a_c = carried_trajectories(flights, carried.c, 20.0, 2.0)
    t_f, r_f, a_f = carried_trajectories(fresh_flights, np.zeros((3, 6)), 20.0, 2.0)
    k = min(len(t_c), len(t_f))
    np.testing.assert_array_equal(t_c[:k], t_f[:k])
    both = a_c[:, :k] & a_f[:, :k]
    assert np.all(np.linalg.norm(r_c[:, :k] - r_f[:, :k], axis=-1) <= np.where(both, 0.1 * spread[:, None], np.inf))


def test_a_coasted_state_carries_the_old_prediction():
    """Flying the old mean on without an update gives back the old prediction (to the metre the 40 s
    Hermite steps leave between them)."""
    from shieldwall.assess.prediction import carry_prediction, predict_impact_and_flights
    from shieldwall.tracking.ekf import predict

    old, flights = predict_impact_and_flights(CARRY_STATES, CARRY_P, 0.0, step_s=40.0)
    x1, P1 = predict(CARRY_STATES, CARRY_P, 30.0, 0.0, max_step_s=2.0)
    carried = carry_prediction(flights, x1, P1, 30.0)
    assert np.all(carried.offset < 0.01) and np.all(carried.curvature_m < 1.0)
    np.testing.assert_allclose(carried.impact.impact_ecef, old.impact_ecef, atol=5.0)
    np.testing.assert_allclose(carried.impact.cov_en_m2, old.cov_en_m2, rtol=0.02)
