"""Where a sensor can see: visibility geometry, ground footprints and the false-alarm volume.

Visibility rules (the same ones the scans apply before their detection draw):

- **radar**: 0 < range <= ``max_range_m``; ``min_el_rad`` <= elevation <= ``max_el_rad`` (geodetic
  elevation in the site's ENU frame); azimuth within ``half_fov_az_rad`` of ``boresight_az_rad`` (or
  all-round); and the straight line of sight stays above the WGS-84 ellipsoid
  (:func:`shieldwall.geo.line_of_sight_clear`; the clearance height is lowered to a site below the
  ellipsoid, and 1 micrometre below a site on it, so that a site never blocks its own rays).
- **ir** (space-based): the object is above the cloud deck, :data:`IR_CLOUD_TOP_ALT_M` (a motor
  plume is assumed hidden below it; ~10 km is a typical high cloud-top height), the line of sight from
  the satellite stays above that same deck (no limb viewing through the low atmosphere), and the
  slant range is within ``max_range_m``. Azimuth and elevation limits do not apply.

Both rules depend on geometry only; the scans add the in-flight / burning condition and the
detection draw.
"""

from __future__ import annotations

import math

import numpy as np

from shieldwall import geo
from shieldwall.sensors.measurement import measurement_function
from shieldwall.sensors.model import SensorModel

#: Height [m] of the cloud deck that hides a burning motor from a space-based IR sensor.
IR_CLOUD_TOP_ALT_M = 10_000.0
#: Top [m] of the altitude band in which IR false alarms are drawn (upper end of typical burnout heights).
IR_FALSE_ALARM_TOP_ALT_M = 100_000.0
#: Depth [m] below the ellipsoid a radar ray may graze: covers rounding (~1e-9 m) at a site on the
#: ellipsoid while moving the horizon by only sqrt(2 R * 1e-6 m) ~ 4 m.
_LOS_TOLERANCE_M = 1e-6


def _radar_visible(model: SensorModel, r_ecef: np.ndarray, rae: np.ndarray) -> np.ndarray:
    """Radar visibility of ECEF points (N, 3) whose (range, az, el) from the site are ``rae`` (N, 3)."""
    rng_m, az, el = rae[..., 0], rae[..., 1], rae[..., 2]
    ok = (rng_m > 0.0) & (rng_m <= model.max_range_m) & (el >= model.min_el_rad) & (el <= model.max_el_rad)
    if not model.all_round:
        off = np.mod(az - model.boresight_az_rad + np.pi, 2.0 * np.pi) - np.pi
        ok &= np.abs(off) <= model.half_fov_az_rad
    if ok.any():  # the line-of-sight test is skipped where the cheap ones fail for all
        ok &= geo.line_of_sight_clear(model.origin_ecef, r_ecef, min_alt_m=_radar_clearance_m(model))
    return ok


def _radar_clearance_m(model: SensorModel) -> float:
    """Height the radar's line of sight must clear in :func:`shieldwall.geo.line_of_sight_clear`.

    That test scales z by a/b; a point at height h < 0 maps to between a + h and a + h * a/b from the
    centre, so a site below the ellipsoid gets the clearance h * a/b (rays may graze that low).
    """
    return min(model.alt_m, 0.0) * geo.A_M / geo.B_M - _LOS_TOLERANCE_M


def _ir_visible(model: SensorModel, r_ecef: np.ndarray) -> np.ndarray:
    """IR visibility of ECEF points (N, 3) from the satellite of ``model``."""
    above_deck = geo.altitude_m(r_ecef) >= IR_CLOUD_TOP_ALT_M
    in_range = np.linalg.norm(r_ecef - model.origin_ecef, axis=-1) <= model.max_range_m
    clear = geo.line_of_sight_clear(model.origin_ecef, r_ecef, min_alt_m=IR_CLOUD_TOP_ALT_M)
    return above_deck & in_range & clear


def covers(model: SensorModel, r_ecef: np.ndarray) -> np.ndarray:
    """Whether each ECEF point (N, 3) lies in the sensor's coverage (bool (N,)); no detection draw."""
    r = np.asarray(r_ecef, float)
    if model.kind == "ir":
        return _ir_visible(model, r)
    return _radar_visible(model, r, measurement_function("rae", r, model.origin_ecef, model.basis))


def _max_central_angle(site_alt_m: float, target_alt_m: float, min_el_rad: float, clearance_m: float,
                       max_range_m: float) -> float:
    """Largest Earth-central angle [rad] from the site at which a target at ``target_alt_m`` is covered.

    Spherical Earth of radius :data:`shieldwall.geo.R_MEAN_M`; the outer bound of the minimum-elevation
    cone, of the line of sight above ``clearance_m`` and of ``max_range_m``. NaN where nothing is covered.
    """
    r0 = geo.R_MEAN_M
    a, b, c = r0 + site_alt_m, r0 + target_alt_m, r0 + clearance_m
    if target_alt_m < clearance_m or site_alt_m < clearance_m:
        return math.nan
    p = a * math.cos(min_el_rad)  # distance of the min-elevation ray from the Earth's centre
    if p > b:
        return math.nan
    theta_el = math.acos(p / b) - min_el_rad
    theta_los = math.acos(min(c / a, 1.0)) + math.acos(min(c / b, 1.0))
    cos_range = (a * a + b * b - max_range_m**2) / (2.0 * a * b)
    if cos_range > 1.0:
        return math.nan
    theta_range = math.acos(max(cos_range, -1.0))
    theta = min(theta_el, theta_los, theta_range)
    return theta if theta > 0.0 else math.nan


def _footprint_angle(model: SensorModel, alt_m: float) -> float:
    if model.kind == "ir":
        return _max_central_angle(model.alt_m, alt_m, -math.pi / 2, IR_CLOUD_TOP_ALT_M, model.max_range_m)
    return _max_central_angle(model.alt_m, alt_m, model.min_el_rad, min(model.alt_m, 0.0), model.max_range_m)


def coverage_footprint(model: SensorModel, alt_m: float, n: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """Ground trace (lat_deg, lon_deg) of the outer edge of coverage for targets at height ``alt_m``.

    A closed ring for plotting: all-round sensors give ``n`` points on the edge plus the first again; a
    sector radar gives the site, ``n`` points along the arc and the site again. Spherical-Earth
    approximation (mean radius): for each azimuth, the largest ground range at which a target at
    ``alt_m`` is within ``max_range_m``, above the minimum elevation and above the horizon; an inner
    blind zone (above ``max_el_rad``) is not drawn. Empty arrays where nothing at ``alt_m`` is covered.
    """
    theta = _footprint_angle(model, alt_m)
    if math.isnan(theta):
        return np.empty(0), np.empty(0)
    if model.kind == "ir" or model.all_round:
        az = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        az = np.append(az, az[0])
    else:
        az = model.boresight_az_rad + np.linspace(-model.half_fov_az_rad, model.half_fov_az_rad, n)
    lat, lon = geo.destination(model.lat_rad, model.lon_rad, az, theta * geo.R_MEAN_M)
    if not (model.kind == "ir" or model.all_round):
        lat = np.concatenate([[model.lat_rad], lat, [model.lat_rad]])
        lon = np.concatenate([[model.lon_rad], lon, [model.lon_rad]])
    return np.degrees(lat), np.degrees(lon)


def _radar_sector(model: SensorModel) -> tuple[float, float, float, float]:
    """(first azimuth, azimuth width, min elevation, elevation width) [rad] of the radar's sector."""
    if model.all_round:
        return 0.0, 2.0 * math.pi, model.min_el_rad, model.max_el_rad - model.min_el_rad
    return (model.boresight_az_rad - model.half_fov_az_rad, 2.0 * model.half_fov_az_rad,
            model.min_el_rad, model.max_el_rad - model.min_el_rad)


def _ir_false_alarm_cap(model: SensorModel) -> float:
    """Central angle [rad] of the cap over which IR false alarms are drawn (visible at the cloud deck)."""
    theta = _max_central_angle(model.alt_m, IR_CLOUD_TOP_ALT_M, -math.pi / 2, IR_CLOUD_TOP_ALT_M,
                               model.max_range_m)
    return 0.0 if math.isnan(theta) else theta


def false_alarm_density(model: SensorModel) -> float:
    """Spatial density of false plots per scan in the sensor's measurement space.

    Radar: false plots are uniform in (range, azimuth, elevation) over [0, max_range] x sector x
    [min_el, max_el], so the density is ``false_alarms_per_scan`` / (max_range * az width * el width)
    per m·rad² — the constant clutter density that PDA/JPDA and track scores assume.
    IR: uniform in area over the spherical cap visible at the cloud deck and uniform in height in
    [:data:`IR_CLOUD_TOP_ALT_M`, :data:`IR_FALSE_ALARM_TOP_ALT_M`]; density per m³ (thin-shell volume).
    Zero when no false alarms are modelled or the volume is empty.
    """
    lam = model.false_alarms_per_scan
    if model.kind == "ir":
        area = 2.0 * math.pi * geo.R_MEAN_M**2 * (1.0 - math.cos(_ir_false_alarm_cap(model)))
        volume = area * (IR_FALSE_ALARM_TOP_ALT_M - IR_CLOUD_TOP_ALT_M)
    else:
        _, az_width, _, el_width = _radar_sector(model)
        volume = model.max_range_m * az_width * el_width
    return lam / volume if lam > 0.0 and volume > 0.0 else 0.0
