"""Closed-form two-body (Keplerian) relations of ballistic flight: range, time of flight, minimum energy.

These are the textbook relations for an unpowered body in a central inverse-square field (no J2, no
drag), written in terms of the quantities a missile designer uses: radius ``r_m`` [m] from the Earth's
centre, speed ``v_ms`` [m/s] and flight-path angle ``fpa_rad`` [rad, above the local horizontal, the
plane normal to the radius vector], all in an inertial frame. Every function is vectorised over arrays
of any broadcastable shape. Conics that never come back down to the end radius give NaN.
"""

from __future__ import annotations

import numpy as np

from shieldwall.geo import MU_M3S2


def specific_energy_jkg(r_m: np.ndarray, v_ms: np.ndarray) -> np.ndarray:
    """Specific orbital energy [J/kg] = v^2/2 - mu/r (conserved on a Keplerian arc)."""
    return 0.5 * np.asarray(v_ms, float) ** 2 - MU_M3S2 / np.asarray(r_m, float)


def _conic(r_m, v_ms, fpa_rad):
    """Semi-latus rectum p [m], eccentricity e and true anomaly [rad, in [0, 2 pi)] of the state (r, v, fpa).

    e is NaN for an unbound state (parabola or hyperbola: it never comes back down)."""
    r, v, g = np.asarray(r_m, float), np.asarray(v_ms, float), np.asarray(fpa_rad, float)
    p = (r * v * np.cos(g)) ** 2 / MU_M3S2
    ecos, esin = p / r - 1.0, p / r * np.tan(g)
    e = np.where(r * v * v < 2.0 * MU_M3S2, np.hypot(ecos, esin), np.nan)
    return p, e, np.mod(np.arctan2(esin, ecos), 2.0 * np.pi)  # in [0, 2 pi): past apogee is beyond pi


def _descent_anomaly(p, e, nu0, r_end_m):
    """True anomaly [rad] where the conic next comes down through ``r_end_m`` (NaN if it never does)."""
    cos_nu = (p / np.asarray(r_end_m, float) - 1.0) / np.maximum(e, 1e-300)
    ok = np.abs(cos_nu) <= 1.0
    nu_end = 2.0 * np.pi - np.arccos(np.clip(cos_nu, -1.0, 1.0))
    nu_end = np.where(nu_end < nu0, nu_end + 2.0 * np.pi, nu_end)
    return np.where(ok, nu_end, np.nan)


def free_flight_angle_rad(r_m: np.ndarray, v_ms: np.ndarray, fpa_rad: np.ndarray,
                          r_end_m: np.ndarray) -> np.ndarray:
    """Central angle [rad] flown from the state (r, v, fpa) until the descending conic reaches ``r_end_m``.

    This is the Keplerian range angle; times a radius it is a ground range.
    """
    p, e, nu0 = _conic(r_m, v_ms, fpa_rad)
    return _descent_anomaly(p, e, nu0, r_end_m) - nu0


def time_of_flight_s(r_m: np.ndarray, v_ms: np.ndarray, fpa_rad: np.ndarray,
                     r_end_m: np.ndarray) -> np.ndarray:
    """Time [s] from the state (r, v, fpa) until the descending (elliptic) conic reaches ``r_end_m``."""
    p, e, nu0 = _conic(r_m, v_ms, fpa_rad)
    nu1 = _descent_anomaly(p, e, nu0, r_end_m)
    a = p / np.maximum(1.0 - e * e, 1e-12)
    root = np.sqrt(np.clip(1.0 - e * e, 0.0, None))

    def mean_anomaly(nu):
        ecc_anom = np.arctan2(root * np.sin(nu), e + np.cos(nu))
        ecc_anom = ecc_anom + 2.0 * np.pi * np.floor((nu - ecc_anom + np.pi) / (2.0 * np.pi))
        return ecc_anom - e * np.sin(ecc_anom)

    return (mean_anomaly(nu1) - mean_anomaly(nu0)) * np.sqrt(a**3 / MU_M3S2)


def minimum_energy(r1_m: np.ndarray, r2_m: np.ndarray, angle_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flight-path angle [rad] and speed [m/s] at radius ``r1_m`` of the least-energy conic to ``r2_m``.

    ``angle_rad`` is the central angle between the two radius vectors. The minimum-energy ellipse has
    semi-major axis s/2 (s: semi-perimeter of the triangle centre-P1-P2) and its empty focus on the chord,
    so its tangent at P1 makes half the angle between the chord and the downward vertical; with
    r1 = r2 this is the classical (pi - angle) / 4.
    """
    r1, r2, th = np.asarray(r1_m, float), np.asarray(r2_m, float), np.asarray(angle_rad, float)
    chord = np.sqrt(r1 * r1 + r2 * r2 - 2.0 * r1 * r2 * np.cos(th))
    cos_p1 = np.clip((r1 * r1 + chord * chord - r2 * r2) / (2.0 * r1 * chord), -1.0, 1.0)
    semi_major = 0.25 * (r1 + r2 + chord)
    return 0.5 * np.arccos(cos_p1), np.sqrt(MU_M3S2 * (2.0 / r1 - 1.0 / semi_major))


def speed_for_angle_ms(r1_m: np.ndarray, r2_m: np.ndarray, angle_rad: np.ndarray,
                       fpa_rad: np.ndarray) -> np.ndarray:
    """Speed [m/s] at ``r1_m`` with flight-path angle ``fpa_rad`` that reaches ``r2_m`` after ``angle_rad``.

    From the orbit equation in 1/r: 1/r2 = mu/h^2 (1 - cos a) + cos(a)/r1 - tan(fpa) sin(a)/r1 with
    h = r1 v cos(fpa). NaN where no ellipse joins the two points with that angle.
    """
    r1, r2, th, g = (np.asarray(x, float) for x in (r1_m, r2_m, angle_rad, fpa_rad))
    denom = r1 * r1 * np.cos(g) ** 2 * (1.0 / r2 - np.cos(th) / r1 + np.tan(g) * np.sin(th) / r1)
    v2 = MU_M3S2 * (1.0 - np.cos(th)) / np.where(denom > 0.0, denom, np.nan)
    return np.sqrt(v2)
