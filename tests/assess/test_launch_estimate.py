"""Launch-point estimation (:mod:`shieldwall.assess.launch`) against independent references.

* The estimate from a certain state is the ground point and time of its drag-free arc flown backwards
  by the brute-force loop of :mod:`ballistic_monte_carlo` (1 s RK4 steps, bisection), all at once.
* Against the truth launch points of world-model flights it carries the documented boost bias: uprange
  of the launch point, later than the launch.
* Its east/north covariance and mean match a Monte Carlo of the track uncertainty flown back the same
  way (Wald and Hotelling-type tests at a false-alarm probability of 1e-3).
* The alliance node's early warning carries the estimate of each newly threatening track.
"""

from __future__ import annotations

import numpy as np
import pytest
from ballistic_monte_carlo import (chi2_limit, covariance_statistic, drag_free_accel, east_north_m, fly_to_ground,
                                   mean_statistic, state_at, track_covariance, world_flight)

from shieldwall import geo
from shieldwall.assess.launch import LaunchEstimate, estimate_launch_point
from shieldwall.c2.alliance import AllianceNode
from shieldwall.c2.node import Record, Send
from shieldwall.c2.planner import PlanningContext
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.messages import ThreatWarning, TrackReport
from shieldwall.tracking.fusion import FusionCentre

#: Step [s] of the reference flights: backwards in time.
REFERENCE_STEP_S = -1.0


def test_estimate_is_the_ground_point_of_the_arc_flown_back():
    """Burnout, midcourse and late states of four classes in one batch, all labelled with one time
    (100 s): each launch time is that time plus the state's flight time back."""
    flights = [("srbm", 1000.0, "minimum-energy", 90.0), ("mrbm", 2500.0, "lofted", 0.0),
               ("irbm", 5000.0, "depressed", 270.0), ("icbm", 10000.0, "minimum-energy", 45.0)]
    x = np.array([state_at(world_flight(*flight)[0], fraction)[1]
                  for flight in flights for fraction in (0.0, 0.5, 0.9)])
    est = estimate_launch_point(x, np.zeros((len(x), 6, 6)), 100.0)
    back_s, ground = fly_to_ground(x, drag_free_accel, REFERENCE_STEP_S)
    np.testing.assert_allclose(est.launch_ecef, ground, rtol=0.0, atol=0.1)
    np.testing.assert_allclose(est.t_launch_s, 100.0 + back_s, rtol=0.0, atol=1e-4)
    np.testing.assert_allclose(est.cov_en_m2, 0.0, atol=1e-6)
    np.testing.assert_allclose(geo.altitude_m(est.launch_ecef), 0.0, atol=1e-6)
    lat, lon, _ = geo.ecef_to_geodetic(est.launch_ecef)
    np.testing.assert_allclose([est.launch_lat_rad, est.launch_lon_rad], [lat, lon], atol=1e-12)


def _uprange_cross_m(eph, est: LaunchEstimate) -> tuple[float, float]:
    """Distance [m] of the estimate behind the true launch point (away from the impact) and to its
    right, along and across the launch-impact great circle."""
    lat0, lon0, _ = geo.ecef_to_geodetic(eph.launch_ecef[0])
    lat1, lon1, _ = geo.ecef_to_geodetic(eph.impact_ecef[0])
    d = geo.great_circle_m(lat0, lon0, est.launch_lat_rad[0], est.launch_lon_rad[0])
    turn = (geo.initial_bearing(lat0, lon0, est.launch_lat_rad[0], est.launch_lon_rad[0])
            - geo.initial_bearing(lat0, lon0, lat1, lon1))
    return float(-d * np.cos(turn)), float(d * np.sin(turn))


@pytest.mark.parametrize("name, range_km, uprange_km, cross_km, late_s", [("srbm", 1000.0, 14.7, 0.5, 29.0),
                                                                           ("mrbm", 2500.0, 40.4, 2.0, 42.1),
                                                                           ("irbm", 5000.0, 104.6, 7.7, 68.1)])
def test_boost_bias_against_truth_launch_points(name, range_km, uprange_km, cross_km, late_s):
    """From a midcourse state of a minimum-energy flight due east from 40 N 20 E, the figures in the
    :mod:`shieldwall.assess.launch` docstring: the boost (not modelled) puts the estimate uprange of
    the true launch point and later than the launch."""
    eph, _ = world_flight(name, range_km, "minimum-energy", 90.0)
    t_s, x = state_at(eph, 0.5)
    est = estimate_launch_point(x[None], np.zeros((1, 6, 6)), t_s)
    uprange_m, cross_m = _uprange_cross_m(eph, est)
    assert uprange_m == pytest.approx(uprange_km * 1e3, abs=100.0)
    assert cross_m == pytest.approx(cross_km * 1e3, abs=100.0)
    assert est.t_launch_s[0] - eph.launch_time_s[0] == pytest.approx(late_s, abs=0.1)


@pytest.mark.parametrize("name, range_km, kind, seed", [("srbm", 800.0, "depressed", 11),
                                                        ("mrbm", 2000.0, "lofted", 12)])
def test_launch_covariance_matches_a_monte_carlo(name, range_km, kind, seed):
    """4,000 samples of a midcourse track state (position ~300 m, velocity ~10 m/s, correlated) flown back."""
    eph, _ = world_flight(name, range_km, kind, heading_deg=30.0)
    t_s, x = state_at(eph, 0.5)
    rng = np.random.default_rng(seed)
    P = track_covariance(rng, 300.0, 10.0)
    est = estimate_launch_point(x[None], P[None], t_s)
    back_s, ground = fly_to_ground(rng.multivariate_normal(x, P, size=4000), drag_free_accel, REFERENCE_STEP_S)
    en = east_north_m(ground, est.launch_ecef[0])
    assert covariance_statistic(en, est.cov_en_m2[0]) < chi2_limit(3)
    assert mean_statistic(np.column_stack([en, t_s + back_s]), np.array([0.0, 0.0, est.t_launch_s[0]])) < chi2_limit(3)


def test_sigma_major_is_the_root_of_the_largest_eigenvalue():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(50, 2, 2)) * rng.uniform(1.0, 1e4, size=(50, 1, 1))
    cov = a @ np.swapaxes(a, 1, 2)
    cov[0] = np.diag([4.0, 4.0])                     # circular
    est = LaunchEstimate(*(np.zeros((50,) + s) for s in ((), (3,), (), ())), cov_en_m2=cov)
    np.testing.assert_allclose(est.sigma_major_m, np.sqrt(np.linalg.eigvalsh(cov)[:, -1]), rtol=1e-9)


def test_alliance_warning_carries_the_launch_estimate():
    """A national track of a midcourse threat aimed at an asset: every nation is warned once, with the
    estimated launch point of the track's state (uprange of the truth launch by the boost bias). The
    one battery has no rounds, so nothing is planned."""
    eph, _ = world_flight("mrbm", 2500.0, "minimum-energy", 90.0)
    t_s, x = state_at(eph, 0.5)
    P = np.diag([300.0**2] * 3 + [10.0**2] * 3)
    assets = AssetTable(("capital", "port"), ("n1", "n2"), np.stack([eph.impact_ecef[0], eph.launch_ecef[0]]),
                        np.array([30e3, 30e3]), np.array([100.0, 50.0]))
    doctrine = DoctrineSpec(salvo_size=1, high_value_salvo_size=2, high_value_threshold=50.0, shoot_look_shoot=True,
                            kill_assessment_delay_s=8.0, allow_duplicate_engagements=False, decision_period_s=2.0)
    empty = BatterySpec(id="b1", nation="n1", reports_to="aoc", authority="delegated", tier="lower",
                        ecef=eph.impact_ecef[0], burnout_speed_ms=1500.0, burn_time_s=10.0, min_alt_m=5e3,
                        max_alt_m=30e3, max_range_m=60e3, reaction_time_s=8.0, pk=0.8, divert_m=2e3,
                        fire_channels=1, inventory=0, defends=None)
    node = AllianceNode("aoc", PlanningContext("aoc", [empty], assets, doctrine, np.zeros(1)), FusionCentre(),
                        {"n1": "n1-c2", "n2": "n2-c2"}, 2.0)
    node.on_message(t_s, TrackReport("n1", t_s, np.array([7]), x[None], P[None], np.array([t_s])))
    sent = [o for o in node.on_timer(t_s, "decide") if isinstance(o, Send) and isinstance(o.msg, ThreatWarning)]
    assert sorted(o.dest for o in sent) == ["n1-c2", "n2-c2"]
    warning = sent[0].msg
    assert warning.assets == ("capital",)
    est = estimate_launch_point(x[None], P[None], t_s)
    assert warning.launch_lat_deg == pytest.approx(np.degrees(est.launch_lat_rad[0]), abs=1e-9)
    assert warning.launch_lon_deg == pytest.approx(np.degrees(est.launch_lon_rad[0]), abs=1e-9)
    assert warning.launch_sigma_m == pytest.approx(est.sigma_major_m[0], rel=1e-9)
    truth_lat, truth_lon, _ = geo.ecef_to_geodetic(eph.launch_ecef[0])
    miss_m = geo.great_circle_m(truth_lat, truth_lon, np.radians(warning.launch_lat_deg),
                                np.radians(warning.launch_lon_deg))
    assert 40.4e3 - 3.0 * warning.launch_sigma_m < miss_m < 40.4e3 + 3.0 * warning.launch_sigma_m
    for t_later in (t_s + 6.0, t_s + 11.0):                 # reports keep the track; a full cycle runs at 11 s
        r, v, *_ = eph.state(t_later)
        node.on_message(t_later, TrackReport("n1", t_later, np.array([7]), np.concatenate([r, v], axis=-1),
                                             P[None], np.array([t_later])))
    later = node.on_timer(t_later, "decide")
    picture = [o.fields["ids"] for o in later if isinstance(o, Record) and o.kind == "picture"]
    assert len(picture) == 1 and list(picture[0]) == [warning.track]     # the same track, evaluated again
    assert not [o for o in later if isinstance(o, Send) and isinstance(o.msg, ThreatWarning)]
