"""The unscented impact prediction against a Monte Carlo of the world model.

Midcourse states of truth flights (:mod:`shieldwall.world.ballistic`) with a correlated track-like
covariance (position ~300 m, velocity ~10 m/s) are sampled 4,000 times and every sample is flown to the
ground with the world's own unpowered physics (gravity with J2, frame terms and drag below 150 km with
the class's ballistic coefficient), by the brute-force loop of :mod:`ballistic_monte_carlo`, which first
shows that it reproduces the truth impact. The prediction, made as the planners make it (60 s steps), is
drag-free: its covariance must match the samples' (a Wald test on the three distinct entries with their
fourth-moment sampling covariance), and its mean impact point and time must match the samples' mean
less the drag offset of the mean state (that state flown with and without drag), each at a false-alarm
probability of 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from ballistic_monte_carlo import (chi2_limit, covariance_statistic, drag_free_accel, east_north_m, fly_to_ground,
                                   mean_statistic, state_at, track_covariance, truth_accel, world_flight)

from shieldwall.assess.prediction import predict_impact
from shieldwall.c2.planner import INTEGRATION_STEP_S

SAMPLES = 4000
#: Step [s] of the reference flights (truth's step in the air).
REFERENCE_STEP_S = 1.0


@pytest.mark.parametrize("name, range_km, kind, seed", [("srbm", 600.0, "minimum-energy", 1),
                                                        ("mrbm", 2000.0, "lofted", 2),
                                                        ("irbm", 4000.0, "depressed", 3)])
def test_predicted_impact_matches_a_monte_carlo_of_the_world_model(name, range_km, kind, seed):
    eph, beta = world_flight(name, range_km, kind, heading_deg=60.0)
    t0, x0 = state_at(eph, 0.4)
    accel = truth_accel(beta)
    flight_s, hit = fly_to_ground(x0[None], accel, REFERENCE_STEP_S)
    assert np.linalg.norm(hit[0] - eph.impact_ecef[0]) < 2.0            # the reference flies as truth does
    assert t0 + flight_s[0] == pytest.approx(eph.impact_time_s[0], abs=0.01)

    rng = np.random.default_rng(seed)
    P = track_covariance(rng, 300.0, 10.0)
    pred = predict_impact(x0[None], P[None], t0, step_s=INTEGRATION_STEP_S)
    centre = pred.impact_ecef[0]
    mc_s, mc_hit = fly_to_ground(rng.multivariate_normal(x0, P, size=SAMPLES), accel, REFERENCE_STEP_S)
    en = east_north_m(mc_hit, centre)
    assert covariance_statistic(en, pred.cov_en_m2[0]) < chi2_limit(3)

    free_s, free_hit = fly_to_ground(x0[None], drag_free_accel, REFERENCE_STEP_S)
    drag_en = east_north_m(hit, centre)[0] - east_north_m(free_hit, centre)[0]
    drag_s = flight_s[0] - free_s[0]
    expected = np.array([*drag_en, pred.t_impact_s[0] + drag_s])
    assert mean_statistic(np.column_stack([en, t0 + mc_s]), expected) < chi2_limit(3)
