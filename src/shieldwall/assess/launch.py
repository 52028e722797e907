"""Launch-point estimation: where and when a tracked threat's unpowered arc left the ground.

Track states (ECEF position [m] and velocity [m/s]) are flown backwards in time, drag-free, to the
WGS-84 ellipsoid by the unscented transform of :func:`~shieldwall.assess.prediction.predict_ground_crossing`
(a negative step), all threats at once: the estimate is the mean ground point and time of the
back-propagated ballistic arc, with the point's covariance in the local east/north plane there.

Boost is not modelled, so the estimate is biased, and not towards the target: the powered climb starts
vertically and pitches over gradually, so it gains height over less ground than the ballistic arc
through the burnout state, which flown back descends at little more than the burnout flight-path angle
(34-46 deg in the flights below): that arc reaches the ground uprange of (behind) the true launch point, and after the
true launch time (it climbs faster than the boost). From midcourse states of
minimum-energy world-model flights (:mod:`shieldwall.world.ballistic`, launched due east from 40 N
20 E) the estimate lies 15 km (SRBM, 60 s burn, 1,000 km), 40 km (MRBM, 90 s, 2,500 km) and 105 km
(IRBM, 150 s, 5,000 km) uprange, 0.5, 2 and 8 km to the right of the track, and 29 s, 42 s and 68 s
after the launch (``tests/assess/test_launch_estimate.py``). Over the three trajectory types and
headings north, east and west the uprange offset is 11-33 km (SRBM), 27-81 km (MRBM), 69-201 km
(IRBM) and 155-631 km (ICBM, 10,000 km), least for lofted and most for depressed flights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.assess.prediction import predict_ground_crossing

#: Backward RK4 step [s] (drag-free flight: the ground point within 5 cm of a 1 s integration's).
STEP_S = 20.0
#: Longest backward flight [s] followed (a track not back on the ground by then has no estimate).
MAX_FLIGHT_S = 3600.0


@dataclass(frozen=True, slots=True)
class LaunchEstimate:
    """Estimated launch of T threats: the ground point ``launch_ecef`` (T, 3) [m] (geodetic
    ``launch_lat_rad``, ``launch_lon_rad`` (T,)), its covariance ``cov_en_m2`` (T, 2, 2) in the local
    east/north plane there, and the time ``t_launch_s`` (T,) [s] the ballistic arc left the ground;
    NaN where a threat's arc (or a sigma point's) does not reach the ground within the limit."""

    t_launch_s: np.ndarray
    launch_ecef: np.ndarray
    launch_lat_rad: np.ndarray
    launch_lon_rad: np.ndarray
    cov_en_m2: np.ndarray

    @property
    def sigma_major_m(self) -> np.ndarray:
        """(T,) semi-major axis [m] of the point's 1-sigma east/north ellipse."""
        c = self.cov_en_m2
        half_sum, half_diff = 0.5 * (c[:, 0, 0] + c[:, 1, 1]), 0.5 * (c[:, 0, 0] - c[:, 1, 1])
        return np.sqrt(half_sum + np.hypot(half_diff, c[:, 0, 1]))


def estimate_launch_point(x_ecef: np.ndarray, p_ecef: np.ndarray, t_s: float, *, step_s: float = STEP_S,
                          max_flight_s: float = MAX_FLIGHT_S) -> LaunchEstimate:
    """Launch estimates of threats with ECEF state means ``x_ecef`` (T, 6) and covariances ``p_ecef``
    (T, 6, 6) at ``t_s`` [s]: their unpowered, drag-free arcs flown back (RK4 steps of ``step_s`` [s])
    to the ground, for at most ``max_flight_s`` [s]."""
    back = predict_ground_crossing(x_ecef, p_ecef, t_s, -step_s, max_flight_s)[0]
    return LaunchEstimate(back.t_impact_s, back.impact_ecef, back.impact_lat_rad, back.impact_lon_rad,
                          back.cov_en_m2)
