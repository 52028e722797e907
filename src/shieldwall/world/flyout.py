"""Kinematic interceptor fly-out: straight-line flight at a boost-then-coast speed profile.

A generic interceptor accelerates uniformly for ``burn_time_s`` up to ``burnout_speed_ms`` and then
coasts at that speed along the straight line from its launcher to the predicted intercept point
(drag and gravity losses are folded into the generic average speed). The same law gives the world's
truth flight and the engagement planner's fly-out time, so plans and flights agree by construction;
terminal homing is modelled separately by the divert capability.
"""

from __future__ import annotations

import numpy as np


def distance_flown_m(tau_s: np.ndarray, burnout_speed_ms: np.ndarray, burn_time_s: np.ndarray) -> np.ndarray:
    """Path length [m] covered ``tau_s`` seconds after launch (0 before launch)."""
    tau = np.maximum(np.asarray(tau_s, float), 0.0)
    v, tb = np.asarray(burnout_speed_ms, float), np.asarray(burn_time_s, float)
    boosting = 0.5 * v / tb * tau**2
    coasting = 0.5 * v * tb + v * (tau - tb)
    return np.where(tau <= tb, boosting, coasting)


def flyout_time_s(distance_m: np.ndarray, burnout_speed_ms: np.ndarray, burn_time_s: np.ndarray) -> np.ndarray:
    """Time [s] after launch to cover straight-line ``distance_m`` (inverse of :func:`distance_flown_m`)."""
    d = np.maximum(np.asarray(distance_m, float), 0.0)
    v, tb = np.asarray(burnout_speed_ms, float), np.asarray(burn_time_s, float)
    d_burn = 0.5 * v * tb
    boosting = np.sqrt(2.0 * d * tb / v)
    coasting = tb + (d - d_burn) / v
    return np.where(d <= d_burn, boosting, coasting)


def position_ecef(tau_s: np.ndarray, launch_ecef: np.ndarray, aim_ecef: np.ndarray,
                  burnout_speed_ms: np.ndarray, burn_time_s: np.ndarray) -> np.ndarray:
    """ECEF positions (..., 3) of interceptors ``tau_s`` after launch on their launch→aim lines.

    Past the aim point the interceptor is held there (its flight ends at intercept or miss).
    """
    seg = np.asarray(aim_ecef, float) - launch_ecef
    length = np.linalg.norm(seg, axis=-1)
    frac = np.clip(distance_flown_m(tau_s, burnout_speed_ms, burn_time_s) / np.maximum(length, 1e-9), 0.0, 1.0)
    return launch_ecef + seg * frac[..., None]
