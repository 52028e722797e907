"""IMM (Blom & Bar-Shalom 1988) on a medium-range ballistic flight from the world model (boost, midcourse,
re-entry) seen by one ground radar: accuracy against single-model EKFs, midcourse consistency (NEES),
mode probabilities per phase, and batch-versus-single-track equality."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy.stats import chi2

from shieldwall.geo import ecef_to_geodetic
from shieldwall.sensors.measurement import measurement_function, measurement_jacobian, residual
from shieldwall.tracking import ekf, imm
from shieldwall.world.ballistic import plan_raid
from tracking_scenarios import Radar

N_RUNS = 30          # Monte Carlo runs (measurement noise and initial error), one batch of tracks
P0 = np.diag([1000.0**2] * 3 + [200.0**2] * 3)
RES = partial(residual, "rae")


class Scenario:
    """MRBM class flight (90 s burn, beta 15,000 kg/m^2, ~1,000 km minimum-energy), a radar 300 km short
    of the aim point; scans every 1-2 s (random) while the elevation is above 0.5 deg."""

    def __init__(self):
        rng = np.random.default_rng(20240611)
        eph = plan_raid(32.0, 35.0, 32.0, 45.6, 0.0, 90.0, 5000.0, 15000.0, "minimum-energy")
        self.radar = Radar(32.8, 42.5)
        ts = [0.0]
        while ts[-1] < eph.impact_time_s[0]:
            ts.append(ts[-1] + rng.uniform(1.0, 2.0))
        ts = np.array(ts[:-1])
        truth = np.array([np.concatenate(eph.state(t)[:2], axis=-1)[0] for t in ts])
        seen = np.flatnonzero(self.radar.rae(truth[:, :3])[:, 2] > np.radians(0.5))
        sl = slice(seen[0], seen[-1] + 1)
        self.t, self.truth = ts[sl], truth[sl]
        self.alt = ecef_to_geodetic(self.truth[:, :3])[2]
        self.burnout = eph.burnout_time_s[0]
        descending = np.arange(len(self.t)) > np.argmax(self.alt)
        self.boost = self.t < self.burnout
        self.reentry = descending & (self.alt < 100e3)
        self.mid = ~self.boost & ~self.reentry
        self.z = np.stack([self.radar.measure(np.broadcast_to(r, (N_RUNS, 3)), rng) for r in self.truth[:, :3]])
        self.x0 = self.truth[0] + rng.multivariate_normal(np.zeros(6), P0, size=N_RUNS)

    def measure(self, x):
        h = measurement_function("rae", x[:, :3], self.radar.origin_ecef, self.radar.basis)
        H = np.zeros((len(x), 3, 6))
        H[:, :, :3] = measurement_jacobian("rae", x[:, :3], self.radar.origin_ecef, self.radar.basis)
        return h, H

    def run_ekf(self, q):
        x, P = self.x0.copy(), np.broadcast_to(P0, (N_RUNS, 6, 6)).copy()
        x, P, *_ = ekf.update(x, P, self.z[0], self.radar.R, *self.measure(x), RES)
        xs = [x]
        for i in range(1, len(self.t)):
            x, P = ekf.predict(x, P, self.t[i] - self.t[i - 1], q)
            x, P, *_ = ekf.update(x, P, self.z[i], self.radar.R, *self.measure(x), RES)
            xs.append(x)
        return np.array(xs)

    def run_imm(self, params=imm.IMMParams()):
        s = imm.imm_init(self.x0, np.broadcast_to(P0, (N_RUNS, 6, 6)))
        s, _ = imm.imm_update(s, self.z[0], self.radar.R, self.measure, RES, params)
        xs, Ps, mus = [], [], []
        for i in range(len(self.t)):
            if i:
                s = imm.imm_predict(s, self.t[i] - self.t[i - 1], params)
                s, _ = imm.imm_update(s, self.z[i], self.radar.R, self.measure, RES, params)
            x, P = imm.combined(s)
            xs.append(x), Ps.append(P), mus.append(s.mu)
        return np.array(xs), np.array(Ps), np.array(mus)


@pytest.fixture(scope="module")
def sc():
    s = Scenario()
    s.imm_x, s.imm_P, s.imm_mu = s.run_imm()
    return s


def rmse(sc, xs, mask):
    return float(np.sqrt(((xs[mask][..., :3] - sc.truth[mask][:, None, :3]) ** 2).sum(-1).mean()))


def test_scenario_covers_all_phases(sc):
    assert sc.boost.sum() >= 10 and sc.mid.sum() >= 100 and sc.reentry.sum() >= 20
    assert sc.alt[-1] < 15e3


def test_imm_beats_best_single_model_ekf_in_every_phase(sc):
    # Reference: the tracker's drag-free EKF at q = 1, 10, 50 m/s^2/sqrt(s), same plots and start.
    phases = {"boost": sc.boost, "midcourse": sc.mid, "reentry": sc.reentry}
    ekfs = {q: sc.run_ekf(q) for q in (1.0, 10.0, 50.0)}
    totals = {q: rmse(sc, xs, slice(None)) for q, xs in ekfs.items()}
    best = min(totals, key=totals.get)
    table = {name: {"imm": rmse(sc, sc.imm_x, m), **{f"ekf q={q:g}": rmse(sc, xs, m) for q, xs in ekfs.items()}}
             for name, m in phases.items()}
    print("\nposition RMSE [m] per phase:", table, "best EKF over the flight: q =", best)
    for name, m in phases.items():
        assert table[name]["imm"] < rmse(sc, ekfs[best], m), name


def test_imm_nees_in_midcourse_within_chi2_band(sc):
    # Reference: 95 % band of the Monte Carlo mean NEES, chi2(6 N) / N (Bar-Shalom, Li & Kirubarajan 5.4),
    # over steady midcourse: a minute after burnout until the descent reaches 100 km.
    steady = sc.mid & (sc.t > sc.burnout + 60.0)
    nees = ekf.mahalanobis2(sc.imm_x - sc.truth[:, None], sc.imm_P).mean(axis=1)[steady]
    lo, hi = chi2.ppf([0.025, 0.975], 6 * N_RUNS) / N_RUNS
    print(f"\nmidcourse NEES mean {nees.mean():.2f}, band [{lo:.2f}, {hi:.2f}], "
          f"steps inside {np.mean((nees > lo) & (nees < hi)):.2f}")
    assert lo < nees.mean() < hi
    assert np.mean((nees > lo) & (nees < hi)) > 0.6


def test_mode_probabilities_follow_the_flight_phase(sc):
    mu = sc.imm_mu.mean(axis=1)
    low = sc.reentry & (sc.alt < 25e3)            # drag > ~10 m/s^2 for beta 15,000 kg/m^2
    print("\nmean mode probabilities (boost, ballistic, reentry): boost", mu[sc.boost].mean(0).round(3),
          "midcourse", mu[sc.mid].mean(0).round(3), "below 25 km", mu[low].mean(0).round(3))
    assert low.sum() >= 3
    assert np.argmax(mu[sc.boost].mean(0)) == imm.BOOST
    assert np.argmax(mu[sc.mid].mean(0)) == imm.BALLISTIC
    assert np.argmax(mu[low].mean(0)) == imm.REENTRY


def test_batch_equals_single_track_runs(sc):
    # Reference: each track filtered alone. Tracks differ in state, plots and (per-track) scan intervals;
    # intervals are at most 2 s, so every track takes one sub-step in batch and alone alike.
    k, steps = 4, 25
    rng = np.random.default_rng(9)
    dts = rng.uniform(0.5, 2.0, size=(steps, k))
    start = np.flatnonzero(sc.t > sc.burnout - 20.0)[0]
    x0 = sc.x0[:k] + np.array([0.0, 1.0, 2.0, 3.0])[:, None]
    z = sc.z[start:start + steps, :k]
    truth_x = sc.truth[start]
    P = np.broadcast_to(P0, (k, 6, 6))
    mu0 = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])

    def run(sel):
        s = imm.imm_init(x0[sel] * 0 + truth_x + (x0[sel] - sc.truth[0]) * 0.1, P[sel], mu0[sel])
        for i in range(steps):
            s = imm.imm_predict(s, dts[i, sel], imm.IMMParams())
            s, ll = imm.imm_update(s, z[i, sel], sc.radar.R, sc.measure, RES)
        return s, ll

    batch, ll_b = run(slice(None))
    for j in range(k):
        one, ll_1 = run(slice(j, j + 1))
        np.testing.assert_allclose(batch.x[j], one.x[0], rtol=1e-12, atol=1e-6)
        np.testing.assert_allclose(batch.P[j], one.P[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(batch.mu[j], one.mu[0], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(ll_b[j], ll_1[0], rtol=1e-9)


def test_transition_matrix_is_stochastic_and_composes():
    # Reference: Chapman-Kolmogorov, Pi(a + b) = Pi(a) Pi(b), and rows summing to one.
    p = imm.IMMParams()
    a, b = p.transition(np.array([0.7, 1.9]))
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-14)
    np.testing.assert_allclose(p.transition(2.6), a @ b, atol=1e-14)
    np.testing.assert_allclose(np.diag(p.transition(1.0)), np.exp(-1.0 / np.array(p.sojourn_s)), rtol=1e-3)


def test_tracker_with_imm_motion_holds_the_boosting_missile(sc):
    """The Tracker's ``motion="imm"`` option on one object's plots (run 0), both trackers starting tracks
    from plot pairs: the IMM tracker keeps one track through boost, closer to the truth than the
    ballistic-EKF tracker's (which loses the accelerating missile and restarts)."""
    from shieldwall.tracking import Tracker, TrackerParams

    def run(motion):
        tracker = Tracker(TrackerParams(motion=motion, q_accel=10.0, m_of_n=(2, 3), initiation="two-point"))
        err, count = np.full(len(sc.t), np.nan), np.zeros(len(sc.t), int)
        for i, t in enumerate(sc.t):
            tracker.process(t, "rae", sc.z[i, :1], sc.radar.R, sc.radar.origin_ecef, sc.radar.basis)
            table = tracker.confirmed()
            count[i] = len(table)
            if len(table):
                err[i] = np.min(np.linalg.norm(table.x[:, :3] - sc.truth[i, :3], axis=-1))
        return err, count

    (imm_err, imm_n), (ekf_err, ekf_n) = run("imm"), run("ballistic")
    boost = sc.boost & (sc.t > sc.t[1])
    assert np.all(imm_n[boost] == 1) and np.any(ekf_n[boost] > 1)
    assert np.sqrt(np.mean(imm_err[boost] ** 2)) < np.sqrt(np.mean(ekf_err[boost] ** 2))
