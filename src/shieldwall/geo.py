"""WGS-84 geodesy: geodetic / ECEF / local ENU frames, great circles, horizon geometry.

All functions are vectorised: they take NumPy arrays of any broadcastable shape (or scalars) and
return arrays of the broadcast shape. Angles are radians unless the name says ``_deg``; lengths are
metres. ECEF is the Earth-centred, Earth-fixed frame (x through the Greenwich meridian on the
equator, z through the north pole); ENU is the local east/north/up frame at a reference point.
"""

from __future__ import annotations

import numpy as np

#: WGS-84 semi-major axis [m].
A_M = 6_378_137.0
#: WGS-84 flattening.
F = 1.0 / 298.257_223_563
#: WGS-84 semi-minor axis [m].
B_M = A_M * (1.0 - F)
#: First eccentricity squared.
E2 = F * (2.0 - F)
#: Second eccentricity squared.
EP2 = E2 / (1.0 - E2)
#: Mean Earth radius (IUGG) [m], used for great-circle distances.
R_MEAN_M = 6_371_008.8
#: Earth's gravitational parameter (WGS-84) [m^3/s^2].
MU_M3S2 = 3.986_004_418e14
#: Second zonal harmonic (EGM96, unnormalised).
J2 = 1.082_626_68e-3
#: Earth's rotation rate [rad/s].
OMEGA_RADS = 7.292_115e-5


def geodetic_to_ecef(lat: np.ndarray, lon: np.ndarray, alt_m: np.ndarray) -> np.ndarray:
    """Geodetic latitude, longitude [rad] and ellipsoidal height [m] to ECEF [m], shape (..., 3)."""
    lat, lon, alt_m = np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt_m, float)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    n = A_M / np.sqrt(1.0 - E2 * sin_lat**2)
    nc = (n + alt_m) * cos_lat
    out = np.empty(np.broadcast_shapes(lat.shape, lon.shape, alt_m.shape) + (3,))
    out[..., 0] = nc * np.cos(lon)
    out[..., 1] = nc * np.sin(lon)
    out[..., 2] = (n * (1.0 - E2) + alt_m) * sin_lat
    return out


def ecef_to_geodetic(r_ecef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF [m] (..., 3) to geodetic latitude, longitude [rad] and height [m].

    Bowring's closed form from his 1985 starting value, without iteration: latitude within 1e-12 rad
    and height within 0.1 µm from 1,000 km below the ellipsoid to 100,000 km above it; the height
    stays sub-millimetre down to 6,000 km below it.
    """
    r = np.asarray(r_ecef, float)
    lat, alt = _latitude_height(r)
    return lat, np.arctan2(r[..., 1], r[..., 0]), alt


def _latitude_height(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic latitude [rad] and height [m] of ECEF points ``r`` (..., 3): one Bowring step, no trigonometry
    but the latitude's arctangent (see :func:`ecef_to_geodetic`; the floors only keep the Earth's centre finite)."""
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    p = np.hypot(x, y)
    # Parametric latitude beta: tan(beta) = (b z / (a p)) (1 + e'^2 b / |r|) (Bowring 1985).
    tz = z * (1.0 + EP2 * B_M / np.maximum(np.hypot(p, z), 1.0))
    tp = p * (A_M / B_M)
    k = np.maximum(np.hypot(tz, tp), 1e-300)
    sin_b, cos_b = tz / k, tp / k
    # tan(lat) = num / den.
    num = z + EP2 * B_M * (sin_b * sin_b * sin_b)
    den = np.maximum(p - E2 * A_M * (cos_b * cos_b * cos_b), 0.0)
    k = np.maximum(np.hypot(num, den), 1e-300)
    sin_lat, cos_lat = num / k, den / k
    # Distance along the normal: accurate at the poles and the equator alike.
    alt = p * cos_lat + z * sin_lat - A_M * np.sqrt(1.0 - E2 * (sin_lat * sin_lat))
    return np.arctan2(num, den), alt


def altitude_m(r_ecef: np.ndarray) -> np.ndarray:
    """Ellipsoidal height [m] of ECEF points (..., 3)."""
    return _latitude_height(np.asarray(r_ecef, float))[1]


def height_bounds_m(r_ecef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds [m] (...) on the ellipsoidal height of ECEF points (..., 3), without trigonometry.

    Scaling z by a/b maps the ellipsoid onto the sphere of radius a and stretches every distance by a
    factor between 1 and a/b; the height's magnitude is the distance to the ellipsoid, so with
    ``d = rho - a`` (``rho`` the scaled radius) the height lies between ``d`` and ``d * b/a``: within
    0.34 % of itself.
    """
    r = np.asarray(r_ecef, float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2] * (A_M / B_M)
    d = np.sqrt(x * x + y * y + z * z) - A_M
    d_shrunk = d * (B_M / A_M)
    return np.minimum(d, d_shrunk), np.maximum(d, d_shrunk)


def enu_basis(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) whose rows are the east, north, up unit vectors in ECEF."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    out = np.empty(np.broadcast_shapes(lat.shape, lon.shape) + (3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 0, 2] = -so, co, 0.0  # east
    out[..., 1, 0], out[..., 1, 1], out[..., 1, 2] = -sl * co, -sl * so, cl  # north
    out[..., 2, 0], out[..., 2, 1], out[..., 2, 2] = cl * co, cl * so, sl  # up
    return out


def ecef_to_enu(r_ecef: np.ndarray, origin_ecef: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Points (..., 3) in ECEF to ENU [m] about ``origin_ecef`` with ``basis`` from :func:`enu_basis`."""
    d = np.asarray(r_ecef, float) - origin_ecef
    return np.einsum("...ij,...j->...i", basis, d)


def enu_to_ecef(r_enu: np.ndarray, origin_ecef: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ecef_to_enu`."""
    return np.einsum("...ji,...j->...i", basis, np.asarray(r_enu, float)) + origin_ecef


def wrap_azimuth(az_rad: np.ndarray) -> np.ndarray:
    """Azimuths wrapped to [0, 2pi); unlike a bare ``np.mod``, a tiny negative angle gives 0, not 2pi."""
    az = np.mod(az_rad, 2.0 * np.pi)
    return np.where(az < 2.0 * np.pi, az, 0.0)


def enu_to_rae(r_enu: np.ndarray) -> np.ndarray:
    """ENU vectors (..., 3) to (range [m], azimuth [rad, clockwise from north, 0..2pi), elevation [rad])."""
    e, n, u = r_enu[..., 0], r_enu[..., 1], r_enu[..., 2]
    out = np.empty(np.shape(r_enu), float)
    rng = np.sqrt(e * e + n * n + u * u)
    out[..., 0] = rng
    out[..., 1] = wrap_azimuth(np.arctan2(e, n))
    out[..., 2] = np.arcsin(np.minimum(np.maximum(u / np.maximum(rng, 1e-9), -1.0), 1.0))
    return out


def rae_to_enu(rae: np.ndarray) -> np.ndarray:
    """(range [m], azimuth [rad], elevation [rad]) (..., 3) to ENU vectors (..., 3)."""
    rng, az, el = rae[..., 0], rae[..., 1], rae[..., 2]
    ce = np.cos(el)
    return np.stack([rng * ce * np.sin(az), rng * ce * np.cos(az), rng * np.sin(el)], axis=-1)


def great_circle_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance [m] on the mean-radius sphere (haversine), angles in radians."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2.0 * R_MEAN_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def initial_bearing(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Initial great-circle bearing [rad, clockwise from north] from point 1 to point 2."""
    dlon = lon2 - lon1
    y = np.sin(dlon) * np.cos(lat2)
    x = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon)
    return np.mod(np.arctan2(y, x), 2.0 * np.pi)


def destination(lat, lon, bearing, distance_m) -> tuple[np.ndarray, np.ndarray]:
    """Point reached from (lat, lon) along a great circle with initial ``bearing`` [rad] after ``distance_m``."""
    d = np.asarray(distance_m, float) / R_MEAN_M
    lat2 = np.arcsin(np.sin(lat) * np.cos(d) + np.cos(lat) * np.sin(d) * np.cos(bearing))
    lon2 = lon + np.arctan2(np.sin(bearing) * np.sin(d) * np.cos(lat), np.cos(d) - np.sin(lat) * np.sin(lat2))
    return lat2, np.mod(lon2 + np.pi, 2.0 * np.pi) - np.pi


#: ECEF to the coordinates in which the ellipsoid is the sphere of radius A_M (z scaled by a/b).
_SPHERE_SCALE = np.array([1.0, 1.0, A_M / B_M])
_SPHERE_SCALE.setflags(write=False)


def line_of_sight_clear(a_ecef: np.ndarray, b_ecef: np.ndarray, min_alt_m: float = 0.0) -> np.ndarray:
    """True where the straight segment a→b stays above the Earth (ellipsoid height ``min_alt_m``).

    The Earth is scaled to a sphere by dividing z by (1 - f), which maps the ellipsoid exactly onto a
    sphere of radius ``A_M``; straight lines stay straight under that scaling, so the closest-approach
    test is exact for the ellipsoid (to first order in ``min_alt_m``).
    """
    a = np.asarray(a_ecef, float) * _SPHERE_SCALE
    d = np.asarray(b_ecef, float) * _SPHERE_SCALE - a
    dd = np.maximum(np.add.reduce(d * d, axis=-1), 1e-12)
    s = np.minimum(np.maximum(-np.add.reduce(a * d, axis=-1) / dd, 0.0), 1.0)
    closest = a + s[..., None] * d
    return np.sqrt(np.add.reduce(closest * closest, axis=-1)) >= A_M + min_alt_m
