"""Radar scans: Swerling I detection, Gaussian range/azimuth/elevation plots and Poisson false alarms."""

from __future__ import annotations

import numpy as np

from shieldwall.sensors.coverage import _radar_sector, _radar_visible
from shieldwall.geo import wrap_azimuth
from shieldwall.sensors.measurement import measurement_function
from shieldwall.sensors.model import SensorModel
from shieldwall.sensors.scan import Scan


def radar_snr(model: SensorModel, range_m: np.ndarray, rcs_m2: np.ndarray) -> np.ndarray:
    """Linear single-pulse-equivalent SNR: ``snr_ref * rcs / 1 m^2 * (ref_range / range)^4``."""
    return model.snr_ref * np.asarray(rcs_m2, float) * (model.ref_range_m / np.asarray(range_m, float)) ** 4


def swerling1_pd(pfa: float, snr: np.ndarray) -> np.ndarray:
    """Swerling I probability of detection ``pfa ** (1 / (1 + snr))`` (snr linear)."""
    return pfa ** (1.0 / (1.0 + np.asarray(snr, float)))


def radar_scan(model: SensorModel, t_s: float, r_ecef: np.ndarray, rcs_m2: np.ndarray, in_flight: np.ndarray,
               rng: np.random.Generator) -> Scan:
    """One radar scan over N objects at ECEF positions ``r_ecef`` (N, 3).

    An object is detected when it is in flight, visible (:func:`shieldwall.sensors.covers`) and wins a
    Swerling I draw with ``Pd = pfa ** (1 / (1 + SNR))``, SNR from :func:`radar_snr`. Its plot is the
    true (range, azimuth, elevation) plus independent Gaussian errors of ``range_sigma_m`` and
    ``angle_sigma_rad``; azimuth is wrapped to [0, 2pi). Poisson(``false_alarms_per_scan``) false plots
    are added, uniform in range over [0, max_range] and uniform in azimuth and elevation over the sector
    (see :func:`shieldwall.sensors.false_alarm_density`). Plots come in random order.

    Random numbers: one uniform and three normals per object whether visible or not, then the false
    alarms, then the shuffle; so a change in one object's visibility does not shift the other draws.
    """
    if model.kind != "radar":
        raise ValueError(f"radar_scan needs a 'radar' sensor; {model.name!r} is {model.kind!r}")
    r = np.asarray(r_ecef, float).reshape(-1, 3)
    n = r.shape[0]
    draw = rng.random(n)
    sigma = np.array([model.range_sigma_m, model.angle_sigma_rad, model.angle_sigma_rad])
    noise = rng.standard_normal((n, 3)) * sigma
    detected = np.empty(0, np.intp)
    z_true = np.empty((0, 3))
    flying = np.flatnonzero(np.broadcast_to(np.asarray(in_flight, bool), (n,)))  # only these can be detected
    if flying.size:
        rae = measurement_function("rae", r[flying], model.origin_ecef, model.basis)
        rcs = np.broadcast_to(np.asarray(rcs_m2, float), (n,))[flying]
        pd = swerling1_pd(model.pfa, radar_snr(model, np.maximum(rae[:, 0], 1.0), rcs))
        hit = _radar_visible(model, r[flying], rae) & (draw[flying] < pd)
        detected = flying[hit]
        z_true = rae[hit] + noise[detected]

    n_fa = rng.poisson(model.false_alarms_per_scan)
    az0, az_width, el0, el_width = _radar_sector(model)
    u = rng.random((n_fa, 3))
    z_fa = np.column_stack([u[:, 0] * model.max_range_m, az0 + u[:, 1] * az_width, el0 + u[:, 2] * el_width])

    order = rng.permutation(z_true.shape[0] + n_fa)
    z = np.concatenate([z_true, z_fa])[order]
    z[:, 1] = wrap_azimuth(z[:, 1])
    truth_index = np.concatenate([detected, np.full(n_fa, -1, np.intp)])[order]
    R = np.diag(sigma**2)
    for a in (z, truth_index, R):
        a.setflags(write=False)
    return Scan(sensor=model.name, t_s=float(t_s), kind="rae", z=z, R=R, origin_ecef=model.origin_ecef,
                basis=model.basis, truth_index=truth_index)
