"""A cheap relevance screen: which tracks could come down near a set of defended assets.

A node that defends a few assets (a nation planning for its own batteries) need not fuse and
evaluate every track of the alliance's picture. :func:`vacuum_impact_ecef` gives, in closed form, the
point where each track's state would come down on a Keplerian arc (drag-free, spherical Earth of the
local radius, Earth rotation during the flight accounted for); :func:`near_assets` keeps the tracks
whose point lies within a margin of an asset. The arc differs from the full prediction
(:mod:`shieldwall.assess.prediction`: J2, ellipsoid) by tens of kilometres at most for ballistic
flights of a few thousand kilometres, and the velocity uncertainty of a track moves it by about
``sigma_v * time_of_flight``; the margin covers both (:data:`SCREEN_MARGIN_M` plus
:data:`SCREEN_SIGMAS` such sigmas). A track still under boost comes down short of where it will: it
is screened by where it would come down now and passes once its arc reaches the assets. A state
that never comes down (unbound) or is already on the ground passes, so nothing is dropped for want
of an answer.
"""

from __future__ import annotations

import numpy as np

from shieldwall.geo import A_M, B_M, OMEGA_RADS
from shieldwall.world.kepler import free_flight_angle_rad, time_of_flight_s

#: Fixed margin [m] of the screen: the Keplerian arc against the full prediction, plus asset radii.
SCREEN_MARGIN_M = 150_000.0
#: Velocity sigmas (times the time of flight) added to the margin.
SCREEN_SIGMAS = 5.0


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (cheaper than :func:`numpy.cross` for small N)."""
    return np.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def vacuum_impact_ecef(x_ecef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where states ``x_ecef`` (N, 6) [m, m/s, ECEF] would come down on a Keplerian arc: the ECEF point
    (N, 3) on the sphere of the ground radius below each state (the ellipsoid's geocentric radius at
    the state's latitude), and the time of flight (N,) [s] (NaN where the arc never comes down)."""
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    r, v = x[:, :3], x[:, 3:]
    v_in = v + OMEGA_RADS * np.stack([-r[:, 1], r[:, 0], np.zeros(len(r))], axis=1)  # inertial velocity
    r_m = np.sqrt(np.einsum("ni,ni->n", r, r))
    speed = np.sqrt(np.einsum("ni,ni->n", v_in, v_in))
    r_hat = r / r_m[:, None]
    fpa = np.arcsin(np.clip(np.einsum("ni,ni->n", r_hat, v_in) / np.maximum(speed, 1e-9), -1.0, 1.0))
    sin2 = r_hat[:, 2] ** 2                         # of the geocentric latitude
    ground_m = A_M * B_M / np.sqrt(B_M * B_M * (1.0 - sin2) + A_M * A_M * sin2)
    end_m = np.minimum(ground_m, r_m)
    angle = free_flight_angle_rad(r_m, speed, fpa, end_m)
    tof = time_of_flight_s(r_m, speed, fpa, end_m)
    along = _cross(_cross(r, v_in), r)              # in the orbital plane, ahead of r
    along /= np.maximum(np.sqrt(np.einsum("ni,ni->n", along, along)), 1e-9)[:, None]
    point_in = end_m[:, None] * (np.cos(angle)[:, None] * r_hat + np.sin(angle)[:, None] * along)
    turn = -OMEGA_RADS * tof                        # the Earth turns under the flight
    c, s = np.cos(turn), np.sin(turn)
    point = np.stack([c * point_in[:, 0] - s * point_in[:, 1], s * point_in[:, 0] + c * point_in[:, 1],
                      point_in[:, 2]], axis=1)
    return point, tof


def near_assets(x_ecef: np.ndarray, P: np.ndarray, asset_ecef: np.ndarray) -> np.ndarray:
    """(N,) whether each track (states (N, 6), covariances (N, 6, 6)) may come down within
    :data:`SCREEN_MARGIN_M` plus :data:`SCREEN_SIGMAS` velocity sigmas times its time of flight of an
    asset at ``asset_ecef`` (A, 3); True where the arc gives no answer."""
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    if not len(x) or not len(asset_ecef):
        return np.zeros(len(x), bool)
    point, tof = vacuum_impact_ecef(x)
    sigma_v = np.sqrt(np.trace(np.asarray(P, float)[:, 3:, 3:], axis1=1, axis2=2))
    reach = SCREEN_MARGIN_M + SCREEN_SIGMAS * sigma_v * np.nan_to_num(tof, nan=0.0)
    d = np.linalg.norm(point[:, None, :] - np.asarray(asset_ecef, float)[None, :, :], axis=-1).min(axis=1)
    return ~np.isfinite(d) | ~np.isfinite(tof) | (d <= reach)
