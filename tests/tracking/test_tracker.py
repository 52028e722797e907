"""Tracker: targets in clutter against truth, M-of-N and deletion rules step by step, batched scale."""

from __future__ import annotations

import numpy as np
import pytest

from shieldwall.tracking.tracker import Tracker, TrackerParams, TrackTable, _popcount
from tracking_scenarios import Radar, ballistic_truth, suborbital_state

POS_R = np.eye(3) * 50.0**2


def clutter(rng, n):
    """Uniform false plots in range 200-1500 km, azimuth 230-300 deg, elevation 0-60 deg."""
    return np.stack([rng.uniform(200e3, 1500e3, n), rng.uniform(np.radians(230), np.radians(300), n),
                     rng.uniform(0.0, np.radians(60), n)], axis=-1)


def test_five_targets_in_clutter_get_one_confirmed_track_each():
    # Reference: the simulated truth; 5 targets >= 100 km apart, Pd 0.9, Poisson(5) clutter per scan.
    rng = np.random.default_rng(11)
    lat = 40.0 + np.array([0.0, 1.0, 2.0, 0.5, 1.5])
    lon = 20.0 + np.array([0.0, 0.5, 0.0, 1.5, 1.8])
    times = np.arange(0.0, 41.0)
    truth = ballistic_truth(suborbital_state(lat, lon, heading_deg=[90, 80, 100, 85, 95]), times)
    radar = Radar(42.0, 26.0)
    tracker = Tracker(TrackerParams(q_accel=0.1))
    ever_confirmed = set()
    for i, t in enumerate(times):
        detected = rng.random(5) < 0.9
        z = np.concatenate([radar.measure(truth[i, detected, :3], rng), clutter(rng, rng.poisson(5.0))])
        tracker.process(t, "rae", z[rng.permutation(len(z))], radar.R, radar.origin_ecef, radar.basis)
        ever_confirmed |= set(tracker.confirmed().ids.tolist())
        if t == 10.0:
            assert len(tracker.confirmed()) == 5      # 3-of-5 confirms within a few scans
    table = tracker.coast_to(times[-1])
    assert len(table) == 5
    dist_m = np.linalg.norm(table.x[:, None, :3] - truth[-1][None, :, :3], axis=-1)
    assert sorted(dist_m.argmin(axis=1)) == [0, 1, 2, 3, 4]    # one track per target
    assert np.all(dist_m.min(axis=1) < 1_000.0)
    # The estimate is consistent with its own covariance (4 sigma per track, RSS position).
    sigma_m = np.sqrt(np.trace(table.P[:, :3, :3], axis1=-2, axis2=-1))
    assert np.all(dist_m.min(axis=1) < 4.0 * sigma_m)
    assert len(ever_confirmed) == 5                   # no false track was ever confirmed


def test_clutter_alone_confirms_nothing_and_tentatives_die():
    rng = np.random.default_rng(12)
    radar = Radar(42.0, 26.0)
    tracker = Tracker(TrackerParams())
    for t in np.arange(0.0, 30.0):
        tracker.process(t, "rae", clutter(rng, 20), radar.R, radar.origin_ecef, radar.basis)
        assert len(tracker.confirmed()) == 0
    # A tentative track lives at most N - M + 1 = 3 windows without a second hit.
    assert tracker.n_tentative <= 4 * 20


def scans_of_one_target(tracker, times, detected):
    x = ballistic_truth(suborbital_state(40.0, 20.0), times)[:, 0]
    rng = np.random.default_rng(0)
    out = []
    for i, t in enumerate(times):
        z = x[i:i + 1, :3] + rng.normal(scale=50.0, size=(1, 3)) if detected[i] else np.empty((0, 3))
        tracker.process(t, "pos", z, POS_R)
        out.append((len(tracker), len(tracker.confirmed())))
    return out


def test_m_of_n_confirmation_and_deletion_after_misses():
    tracker = Tracker(TrackerParams(m_of_n=(3, 5), delete_after_misses=3, miss_window_s=1.0))
    times = np.arange(0.0, 8.0)
    counts = scans_of_one_target(tracker, times, detected=[1, 1, 1, 0, 0, 0, 0, 0])
    # Confirmed on the third hit; misses at t = 3, 4, 5; deleted on the third consecutive miss.
    assert [c for _, c in counts] == [0, 0, 1, 1, 1, 0, 0, 0]
    assert [n for n, _ in counts] == [1, 1, 1, 1, 1, 0, 0, 0]


def test_m_of_n_tolerates_a_miss_and_tentatives_die_when_hopeless():
    tracker = Tracker(TrackerParams(m_of_n=(3, 5)))
    counts = scans_of_one_target(tracker, np.arange(0.0, 4.0), detected=[1, 0, 1, 1])
    assert [c for _, c in counts] == [0, 0, 0, 1]     # hit, miss, hit, hit: 3 of 4
    tracker = Tracker(TrackerParams(m_of_n=(3, 5)))
    counts = scans_of_one_target(tracker, np.arange(0.0, 4.0), detected=[1, 0, 0, 0])
    # One hit then misses: with 3 misses among 5 no 3 hits are possible any more.
    assert [n for n, _ in counts] == [1, 1, 1, 0]


def test_a_scan_of_another_sensor_is_not_a_miss():
    # Sensor A sees the target every second; sensor B, scanning at the half seconds, never does.
    tracker = Tracker(TrackerParams(delete_after_misses=1))
    x = ballistic_truth(suborbital_state(40.0, 20.0), np.arange(0.0, 20.0))[:, 0]
    for i, t in enumerate(np.arange(0.0, 20.0)):
        tracker.process(t, "pos", x[i:i + 1, :3], POS_R)
        tracker.process(t + 0.5, "pos", np.empty((0, 3)), POS_R)
    table = tracker.confirmed()
    assert len(table) == 1 and table.n_updates[0] == 20 and table.t_update_s[0] == 19.0


def test_confirmed_and_coast_to_are_copies_and_ids_increase():
    tracker = Tracker(TrackerParams(m_of_n=(1, 1), first_id=100, max_position_sigma_m=1e6))
    x = suborbital_state([40.0, 41.0, 42.0], [20.0, 21.0, 22.0])
    tracker.process(0.0, "pos", x[:, :3], POS_R)
    table = tracker.confirmed()
    assert isinstance(table, TrackTable) and list(table.ids) == [100, 101, 102]
    table.x[:] = 0.0
    coasted = tracker.coast_to(10.0)
    assert np.all(coasted.t_s == 10.0) and np.all(coasted.t_update_s == 0.0)
    np.testing.assert_allclose(tracker.confirmed().x[:, :3], x[:, :3])
    assert np.all(np.trace(coasted.P[:, 3:, 3:], axis1=-2, axis2=-1)
                  >= np.trace(tracker.confirmed().P[:, 3:, 3:], axis1=-2, axis2=-1))
    tracker.process(1.0, "pos", x[:1, :3] + 1e6, POS_R)          # far away: a new track
    assert list(tracker.confirmed().ids) == [100, 101, 102, 103]
    with pytest.raises(ValueError, match="m_of_n"):
        TrackerParams(m_of_n=(4, 3))


def test_three_hundred_targets_each_get_one_track():
    # The batched path at scale: 300 targets, 300 plots a scan.
    rng = np.random.default_rng(5)
    n = 300
    x0 = suborbital_state(38.0 + rng.uniform(0, 6, n), 16.0 + rng.uniform(0, 8, n),
                          heading_deg=rng.uniform(60, 120, n))
    times = np.arange(0.0, 8.0)
    truth = ballistic_truth(x0, times, step_s=1.0)
    radar = Radar(42.0, 26.0)
    tracker = Tracker(TrackerParams(q_accel=0.1))
    for i, t in enumerate(times):
        tracker.process(t, "rae", radar.measure(truth[i, :, :3], rng), radar.R, radar.origin_ecef, radar.basis)
    table = tracker.confirmed()
    assert len(table) == n and tracker.n_tentative == 0
    dist_m = np.linalg.norm(table.x[:, None, :3] - truth[-1][None, :, :3], axis=-1)
    assert len(np.unique(dist_m.argmin(axis=1))) == n


@pytest.mark.parametrize("n_bits", [1, 5, 16, 17, 40, 62])
def test_popcount_counts_the_lowest_bits(n_bits):
    bits = np.random.default_rng(n_bits).integers(0, 1 << 62, 500)
    expected = [bin(int(b) & ((1 << n_bits) - 1)).count("1") for b in bits]
    np.testing.assert_array_equal(_popcount(bits, n_bits), expected)


def test_two_point_initiation_starts_consistent_tracks_from_plot_pairs():
    """Two scans of one straight-line object: a two-point tracker starts nothing on the first plot and,
    on the second, a track whose state error is consistent with its covariance (mean NEES over 3,000
    trials inside the chi-square band); a plot beyond the speed limit pairs with nothing."""
    from scipy.stats import chi2

    from shieldwall.tracking import Tracker, TrackerParams

    rng = np.random.default_rng(21)
    R = np.diag([40.0, 25.0, 60.0]) ** 2
    params = TrackerParams(motion="cv", initiation="two-point", m_of_n=(2, 3), max_speed_ms=3_000.0)
    nees = []
    for _ in range(3000):
        r0, v = rng.uniform(-1e5, 1e5, 3), rng.normal(0.0, 500.0, 3)
        tracker = Tracker(params)
        tracker.process(0.0, "pos", r0 + rng.multivariate_normal(np.zeros(3), R), R)
        assert len(tracker) == 0
        tracker.process(2.0, "pos", r0 + 2.0 * v + rng.multivariate_normal(np.zeros(3), R), R)
        table = tracker.confirmed()
        assert len(table) == 1
        e = table.x[0] - np.concatenate([r0 + 2.0 * v, v])
        nees.append(e @ np.linalg.solve(table.P[0], e))
    lo, hi = chi2.ppf([0.025, 0.975], 6 * len(nees)) / len(nees)
    assert lo <= np.mean(nees) <= hi
    far = Tracker(params)
    far.process(0.0, "pos", np.zeros((1, 3)), R)
    far.process(1.0, "pos", np.array([[5_000.0, 0.0, 0.0]]), R)
    assert len(far) == 0
