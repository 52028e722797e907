"""Shared truth and sensor fixtures for the tracking tests: ballistic truth, a ground radar."""

from __future__ import annotations

from functools import partial

import numpy as np

from shieldwall.geo import ecef_to_enu, enu_basis, enu_to_rae, geodetic_to_ecef
from shieldwall.world.dynamics import ballistic_accel_ecef, rk4_step

#: Radar noise of the tests: range 20 m, azimuth and elevation 1 mrad.
R_RAE = np.diag([20.0**2, 1e-3**2, 1e-3**2])


def suborbital_state(lat_deg, lon_deg, alt_m=200e3, speed_ms=3_000.0, heading_deg=90.0, gamma_deg=20.0):
    """ECEF states (K, 6) at geodetic points, moving at ``speed_ms`` with heading and flight-path angle."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    r = geodetic_to_ecef(lat, lon, np.broadcast_to(alt_m, np.shape(lat)))
    hd, g = np.radians(heading_deg), np.radians(gamma_deg)
    v_enu = speed_ms * np.stack(np.broadcast_arrays(np.cos(g) * np.sin(hd), np.cos(g) * np.cos(hd),
                                                    np.sin(g)), axis=-1)
    v = np.einsum("...ji,...j->...i", enu_basis(lat, lon), v_enu)
    return np.concatenate(np.broadcast_arrays(r, v), axis=-1).reshape(-1, 6)


def ballistic_truth(x0, times_s, step_s=0.1):
    """True states (T, K, 6) at ``times_s`` (starting at x0's time 0) by fine RK4 steps, no drag."""
    accel = partial(ballistic_accel_ecef, j2=True, rotating=True)
    r, v = x0[:, :3].copy(), x0[:, 3:].copy()
    t = 0.0
    out = []
    for t_next in times_s:
        n = int(np.ceil((t_next - t) / step_s - 1e-9))
        for _ in range(n):
            r, v = rk4_step(r, v, (t_next - t) / n, accel)
        t = t_next
        out.append(np.concatenate([r, v], axis=-1))
    return np.stack(out)


class Radar:
    """A ground radar measuring range/azimuth/elevation with the noise ``R_RAE``."""

    def __init__(self, lat_deg, lon_deg, alt_m=0.0):
        lat, lon = np.radians(lat_deg), np.radians(lon_deg)
        self.origin_ecef = geodetic_to_ecef(lat, lon, alt_m)
        self.basis = enu_basis(lat, lon)
        self.R = R_RAE

    def rae(self, r_ecef):
        return enu_to_rae(ecef_to_enu(r_ecef, self.origin_ecef, self.basis))

    def measure(self, r_ecef, rng):
        z = self.rae(r_ecef)
        return z + rng.multivariate_normal(np.zeros(3), self.R, size=z.shape[:-1])
