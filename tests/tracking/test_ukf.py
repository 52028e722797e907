"""UKF against references: a Monte Carlo of the flight for the predicted moments, the EKF where the
problem is linear, and filter consistency (NEES inside its chi-square band) on simulated radar data."""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.stats import chi2

from shieldwall.sensors.measurement import measurement_function, residual
from shieldwall.tracking import ekf, ukf
from shieldwall.world.dynamics import drag_free_rk4
from tracking_scenarios import Radar, ballistic_truth, suborbital_state


def test_prediction_matches_a_monte_carlo_of_the_flight():
    """Mean and covariance after 300 s of ballistic flight from a wide uncertainty: the UKF's moments
    against 20,000 sampled states flown by the same RK4 (within sampling error), no process noise."""
    x0 = suborbital_state([45.0], [15.0])
    P0 = np.diag([2_000.0**2] * 3 + [40.0**2] * 3)[None]
    mean, cov = ukf.predict(x0, P0, 300.0, 0.0, max_step_s=10.0)
    rng = np.random.default_rng(1)
    samples = rng.multivariate_normal(x0[0], P0[0], size=20_000)
    y = samples.T.copy()
    for _ in range(30):
        y = drag_free_rk4(y, 10.0)
    flown = y.T
    sd = np.sqrt(np.diag(np.cov(flown.T)))
    np.testing.assert_allclose(mean[0], flown.mean(axis=0), atol=0.05 * sd.max())
    np.testing.assert_allclose(np.sqrt(np.diag(cov[0])), sd, rtol=0.03)


def test_linear_measurement_update_equals_the_kalman_update():
    """With a position measurement the update is linear: UKF and (Joseph-form) EKF agree."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 6, 6))
    P = a @ a.swapaxes(-1, -2) * 100.0 + np.eye(6)
    x = rng.normal(size=(4, 6)) * 1e5
    R = np.diag([30.0**2] * 3)
    z = x[:, :3] + rng.normal(0.0, 30.0, (4, 3))
    H = np.zeros((4, 3, 6))
    H[:, :, :3] = np.eye(3)
    x_e, P_e, _, _ = ekf.update(x, P, z, R, x[:, :3], H)
    x_u, P_u, _, _ = ukf.update(x, P, z, R, lambda s: s[..., :3])
    np.testing.assert_allclose(x_u, x_e, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(P_u, P_e, rtol=1e-8, atol=1e-6)


def test_nees_is_consistent_on_simulated_radar_tracks():
    """A UKF tracking three midcourse objects with a radar for 60 scans, over 40 Monte Carlo runs: the
    mean NEES over the last 30 scans lies inside its 95 % chi-square band."""
    radar = Radar(42.0, 12.0)
    x_true0 = suborbital_state([45.0, 44.0, 46.0], [15.0, 16.0, 14.5], heading_deg=[270.0, 260.0, 280.0])
    times = np.arange(0.0, 61.0, 1.0)
    truth = ballistic_truth(x_true0, times)
    rng = np.random.default_rng(3)
    runs, k = 40, len(x_true0)
    P0 = np.diag([500.0**2] * 3 + [50.0**2] * 3)
    x = np.tile(x_true0, (runs, 1)) + rng.multivariate_normal(np.zeros(6), P0, size=runs * k)
    P = np.broadcast_to(P0, (runs * k, 6, 6)).copy()
    measure = partial(measurement_function, "rae", origin_ecef=radar.origin_ecef, basis=radar.basis)
    nees = []
    for i, t in enumerate(times[1:], start=1):
        x, P = ukf.predict(x, P, 1.0, 0.0)
        z = radar.measure(np.repeat(truth[i][None], runs, axis=0).reshape(-1, 6)[:, :3], rng)
        x, P, _, _ = ukf.update(x, P, z, radar.R, lambda s: measure(s[..., :3]), partial(residual, "rae"))
        if i > 30:
            e = x - np.repeat(truth[i][None], runs, axis=0).reshape(-1, 6)
            nees.append(np.mean(ekf.mahalanobis2(e, P)))
    lo, hi = chi2.ppf([0.025, 0.975], 6 * runs * k) / (runs * k)
    assert lo <= np.mean(nees) <= hi * 1.05, (np.mean(nees), lo, hi)
