"""EKF: Jacobian against the analytic gradient, covariance transition against the flow map, Joseph form
against the information-form Kalman filter, and consistency (NEES / NIS) on a simulated radar track."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy.stats import chi2

from shieldwall.geo import MU_M3S2, OMEGA_RADS
from shieldwall.tracking import ekf
from shieldwall.sensors.measurement import measurement_function, measurement_jacobian, residual
from shieldwall.world.dynamics import ballistic_accel_ecef, rk4_step
from tracking_scenarios import Radar, ballistic_truth, suborbital_state


def test_jacobian_matches_analytic_two_body_and_frame_terms():
    # Reference: d(-mu r/|r|^3)/dr = -mu/|r|^3 (I - 3 r r^T/|r|^2); centrifugal diag(w^2, w^2, 0);
    # Coriolis -2 w x v.
    x = suborbital_state([10.0, 45.0, -60.0], [0.0, 100.0, -30.0], alt_m=[150e3, 600e3, 30e3])
    A = ekf.dynamics_jacobian(x, j2=False)
    r = x[:, :3]
    rn = np.linalg.norm(r, axis=-1)[:, None, None]
    grad = -MU_M3S2 / rn**3 * (np.eye(3) - 3.0 * np.einsum("ki,kj->kij", r, r) / rn**2)
    w = OMEGA_RADS
    grad = grad + np.diag([w * w, w * w, 0.0])
    cor = np.array([[0.0, 2 * w, 0.0], [-2 * w, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(A[:, :3, :3], 0.0)
    np.testing.assert_allclose(A[:, :3, 3:], np.broadcast_to(np.eye(3), (3, 3, 3)))
    np.testing.assert_allclose(A[:, 3:, :3], grad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(A[:, 3:, 3:], np.broadcast_to(cor, (3, 3, 3)), rtol=0, atol=1e-15)


def test_covariance_transition_matches_finite_difference_flow_map():
    # Reference: the state-transition matrix of the nonlinear RK4 flow by central differences.
    x0 = suborbital_state(40.0, 20.0)
    dt = 10.0
    accel = partial(ballistic_accel_ecef, j2=True)
    steps = np.array([10.0, 10.0, 10.0, 0.01, 0.01, 0.01])

    def flow(x):
        r, v = rk4_step(x[:, :3], x[:, 3:], dt, accel)
        return np.concatenate([r, v], axis=-1)

    pert = np.eye(6) * steps
    stm = ((flow(x0 + pert) - flow(x0 - pert)) / (2 * steps[:, None])).T
    _, P1 = ekf.predict(x0, np.eye(6)[None], dt, q_accel=0.0)
    ref = stm @ stm.T
    # F = I + A h + (A h)^2 / 2 with A at the step's start is second order: the neglected third-order
    # term is ~ |grad g| h^3 / 6 ~ 3e-4 relative over a 10 s step.
    assert np.linalg.norm(P1[0] - ref) / np.linalg.norm(ref) < 1e-4
    # ... while the first-order (constant-velocity) transition would be off by ~ |grad g| h^2 / 2.
    cv = np.eye(6) + np.eye(6, k=3) * dt
    assert np.linalg.norm(cv @ cv.T - ref) / np.linalg.norm(ref) > 1e-4


def test_predict_is_batched_per_track_dt_and_zero_dt():
    x = suborbital_state([40.0, 41.0, 42.0], [20.0, 21.0, 22.0])
    P = np.broadcast_to(np.diag([100.0] * 3 + [10.0] * 3), (3, 6, 6))
    dt = np.array([0.0, 3.0, 25.0])
    xb, Pb = ekf.predict(x, P, dt, 2.0)
    assert xb.shape == (3, 6) and Pb.shape == (3, 6, 6)
    np.testing.assert_array_equal(xb[0], x[0])
    np.testing.assert_array_equal(Pb[0], P[0])
    for i in (1, 2):
        xi, Pi = ekf.predict(x[i:i + 1], P[i:i + 1], dt[i], 2.0)
        # Batched runs split every interval into as many sub-steps as the longest needs.
        np.testing.assert_allclose(xb[i], xi[0], rtol=0, atol=1e-3)
        np.testing.assert_allclose(Pb[i], Pi[0], rtol=0, atol=1e-4 * np.abs(Pi[0]).max())
    assert ekf.predict(np.empty((0, 6)), np.empty((0, 6, 6)), 1.0, 1.0)[0].shape == (0, 6)


def test_predict_over_zero_intervals_only_is_the_full_arithmetic_bit_for_bit():
    """The all-zero shortcut returns exactly what the sub-step arithmetic gives a zero-interval row."""
    rng = np.random.default_rng(3)
    x = suborbital_state([40.0, 41.0, 42.0], [20.0, 21.0, 22.0])
    A = rng.normal(size=(3, 6, 6))
    P = A @ np.swapaxes(A, -1, -2) * 1e3 + rng.normal(size=(3, 6, 6))  # not quite symmetric
    x0, P0 = ekf.predict(x, P, 0.0, 2.0)
    xm, Pm = ekf.predict(x, P, np.array([0.0, 0.0, 1e-3]), 2.0)  # the first rows take the arithmetic
    np.testing.assert_array_equal(x0[:2], xm[:2])
    np.testing.assert_array_equal(P0[:2], Pm[:2])
    assert x0 is not x and np.shares_memory(x0, x) is False


def test_process_noise_is_white_noise_acceleration():
    # Reference: Q = q^2 [[dt^3/3, dt^2/2], [dt^2/2, dt]] per axis (Bar-Shalom, Li & Kirubarajan 6.2.2).
    Q = ekf.process_noise(np.array([2.0]), 3.0)[0]
    np.testing.assert_allclose(Q[0, 0], 9 * 8 / 3)
    np.testing.assert_allclose(Q[0, 3], 9 * 4 / 2)
    np.testing.assert_allclose(Q[5, 5], 9 * 2)
    np.testing.assert_allclose(Q[0, 1], 0.0)
    assert np.all(np.linalg.eigvalsh(Q) > -1e-12)


def test_joseph_update_equals_information_form_linear_kf():
    # Reference: the information-form Kalman update P+^-1 = P^-1 + H^T R^-1 H,
    # x+ = P+ (P^-1 x + H^T R^-1 z), on a linear problem with random SPD matrices.
    rng = np.random.default_rng(7)
    k, m = 20, 3
    a = rng.normal(size=(k, 6, 6))
    P = a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(6)
    b = rng.normal(size=(m, m))
    R = b @ b.T + 0.2 * np.eye(m)
    H = rng.normal(size=(k, m, 6))
    x = rng.normal(size=(k, 6))
    z = rng.normal(size=(k, m))
    x_new, P_new, nu, S = ekf.update(x, P, z, R, np.einsum("kij,kj->ki", H, x), H)
    info = np.linalg.inv(P) + np.swapaxes(H, -1, -2) @ np.linalg.inv(R) @ H
    P_ref = np.linalg.inv(info)
    x_ref = np.einsum("kij,kj->ki", P_ref, np.einsum("kij,kj->ki", np.linalg.inv(P), x)
                      + np.einsum("kji,jl,kl->ki", H, np.linalg.inv(R), z))
    np.testing.assert_allclose(P_new, P_ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(x_new, x_ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(nu, z - np.einsum("kij,kj->ki", H, x))
    np.testing.assert_allclose(S, H @ P @ np.swapaxes(H, -1, -2) + R, rtol=1e-12)


def rae_h_H(x, radar):
    """Predicted radar plots (K, 3) and Jacobians (K, 3, 6) from the sensors' measurement model."""
    h = measurement_function("rae", x[:, :3], radar.origin_ecef, radar.basis)
    H = np.zeros((len(x), 3, 6))
    H[:, :, :3] = measurement_jacobian("rae", x[:, :3], radar.origin_ecef, radar.basis)
    return h, H


def test_update_wraps_azimuth_through_residual():
    # Reference: the same update fed the unwrapped plot azimuth, so that plain z - h is the innovation.
    radar = Radar(40.0, 20.0)
    x = suborbital_state([42.0, 42.1], [20.005, 20.001])   # just east of north: azimuth ~ 0+
    P = np.broadcast_to(np.diag([1e6] * 3 + [1e4] * 3), (2, 6, 6))
    h, H = rae_h_H(x, radar)
    offset = np.array([10.0, -3e-3, 1e-3])
    z = h + offset
    assert np.all(z[:, 1] < 0.0)
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)                  # as a radar reports it: near 2pi
    x_ref, P_ref, _, _ = ekf.update(x, P, h + offset, radar.R, h, H)
    x_new, P_new, nu, _ = ekf.update(x, P, z, radar.R, h, H, partial(residual, "rae"))
    np.testing.assert_allclose(nu, np.broadcast_to(offset, (2, 3)), atol=1e-9)
    np.testing.assert_allclose(x_new, x_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(P_new, P_ref, rtol=1e-9)


def test_filter_consistency_nees_and_nis():
    # Reference: chi-square bounds (Bar-Shalom, Li & Kirubarajan 5.4) for the Monte Carlo average of
    # NEES (6 dof) and NIS (3 dof) over N runs: chi2.ppf([0.025, 0.975], N dof) / N.
    rng = np.random.default_rng(2024)
    n_runs, n_steps = 200, 120
    times = np.arange(0.0, n_steps + 1.0)
    truth = ballistic_truth(suborbital_state(40.0, 20.0), times)[:, 0]
    radar = Radar(42.0, 26.0)
    assert np.all(radar.rae(truth[:, :3])[:, 2] > 0.1)    # in view throughout
    P0 = np.diag([1000.0**2] * 3 + [100.0**2] * 3)
    x = truth[0] + rng.multivariate_normal(np.zeros(6), P0, size=n_runs)
    P = np.broadcast_to(P0, (n_runs, 6, 6)).copy()
    nees, nis = [], []
    for i in range(1, n_steps + 1):
        x, P = ekf.predict(x, P, 1.0, q_accel=1e-3)
        z = radar.measure(np.broadcast_to(truth[i, :3], (n_runs, 3)), rng)
        h, H = rae_h_H(x, radar)
        x, P, nu, S = ekf.update(x, P, z, radar.R, h, H, partial(residual, "rae"))
        nees.append(ekf.mahalanobis2(x - truth[i], P).mean())
        nis.append(ekf.mahalanobis2(nu, S).mean())
    nees, nis = np.array(nees[10:]), np.array(nis[10:])     # after convergence
    lo6, hi6 = chi2.ppf([0.025, 0.975], 6 * n_runs) / n_runs
    lo3, hi3 = chi2.ppf([0.025, 0.975], 3 * n_runs) / n_runs
    assert lo6 < nees.mean() < hi6
    assert lo3 < nis.mean() < hi3
    # Per step, about 95 % of the averages fall inside (steps are correlated: allow slack).
    assert np.mean((nees > lo6) & (nees < hi6)) > 0.8
    assert np.mean((nis > lo3) & (nis < hi3)) > 0.8


def test_jacobian_with_j2_matches_central_differences_of_the_model():
    # Reference: central differences of the acceleration the filter propagates (J2 on).
    x = suborbital_state([10.0, 45.0, -60.0, 80.0], [0.0, 100.0, -30.0, 10.0], alt_m=[150e3, 600e3, 30e3, 1e6])
    A = ekf.dynamics_jacobian(x, j2=True)
    for i in range(6):
        d = np.zeros(6)
        d[i] = 1.0 if i < 3 else 0.1
        plus, minus = x + d, x - d
        col = (ballistic_accel_ecef(plus[:, :3], plus[:, 3:]) - ballistic_accel_ecef(minus[:, :3], minus[:, 3:])) / (2 * d[i])
        np.testing.assert_allclose(A[:, 3:, i], col, rtol=0, atol=1e-12)


def test_default_substep_is_as_good_as_one_second_steps():
    # Reference: the same prediction in 1 s sub-steps.
    x = suborbital_state([10.0, 45.0, -60.0], [0.0, 100.0, -30.0], alt_m=[150e3, 600e3, 30e3])
    P = np.broadcast_to(np.diag([100.0**2] * 3 + [5.0**2] * 3), (3, 6, 6))
    for dt in (30.0, 60.0):
        x_default, P_default = ekf.predict(x, P, dt, 1.0)
        x_fine, P_fine = ekf.predict(x, P, dt, 1.0, max_step_s=1.0)
        assert np.abs(x_default - x_fine).max() < 0.01
        assert np.abs(P_default - P_fine).max() < 2e-3 * np.abs(P_fine).max()


@pytest.mark.parametrize("j2", [True, False])
def test_prediction_flies_the_dynamics_model(j2):
    # Reference: world.dynamics' RK4 step of its drag-free acceleration, which the filter's fused
    # per-component evaluation of the same model must reproduce to rounding.
    x = suborbital_state([10.0, 45.0, -60.0, 89.9], [0.0, 100.0, -30.0, 5.0], alt_m=[150e3, 600e3, 30e3, 1e6])
    dt = np.array([1.0, 7.0, 30.0, -12.0])
    r, v = rk4_step(x[:, :3], x[:, 3:], dt, partial(ballistic_accel_ecef, j2=j2))
    flown, _ = ekf.predict(x, np.zeros((len(x), 6, 6)), dt, 0.0, j2=j2)
    np.testing.assert_allclose(flown, np.concatenate([r, v], axis=-1), rtol=1e-14, atol=1e-9)


def test_constant_velocity_prediction_is_the_textbook_one():
    """``predict_cv`` equals F x and F P F^T + Q written out with full 6x6 matrices (any sign of dt)."""
    rng = np.random.default_rng(5)
    a = rng.normal(size=(5, 6, 6))
    P = a @ a.transpose(0, 2, 1)
    x = rng.normal(size=(5, 6)) * 100.0
    dt = rng.uniform(-4.0, 4.0, 5)
    F = np.stack([np.block([[np.eye(3), d * np.eye(3)], [np.zeros((3, 3)), np.eye(3)]]) for d in dt])
    x_new, P_new = ekf.predict_cv(x, P, dt, 0.7)
    np.testing.assert_allclose(x_new, np.einsum("kij,kj->ki", F, x), rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(P_new, F @ P @ F.transpose(0, 2, 1) + ekf.process_noise(dt, 0.7), rtol=1e-12, atol=1e-12)
