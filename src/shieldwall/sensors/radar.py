"""Radar scans: Swerling I detection, Gaussian range/azimuth/elevation plots and Poisson false alarms."""

from __future__ import annotations

import numpy as np

from shieldwall import geo
from shieldwall.sensors.coverage import _radar_sector, _radar_visible
from shieldwall.sensors.model import SensorModel
from shieldwall.sensors.scan import Scan

#: Relative widening of the range gate applied to ECEF distances before the exact range test.
_RANGE_GATE = 1.0 + 1e-9


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


_EMPTY_PLOTS = _read_only(np.empty((0, 3)))
_EMPTY_INDEX = _read_only(np.empty(0, np.intp))


def _per_object(a, n: int, dtype) -> np.ndarray:
    """``a`` as an (n,) array; a scalar is broadcast."""
    a = np.asarray(a, dtype)
    return a if a.shape == (n,) else np.broadcast_to(a, (n,))


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
    noise = rng.standard_normal((n, 3))
    detected = _EMPTY_INDEX
    z_true = _EMPTY_PLOTS
    # Only objects in flight and within range can be detected; the range gate on the ECEF distance is a
    # hair wide for rounding, and the exact visibility tests follow on the few objects left.
    flying = _per_object(in_flight, n, bool).nonzero()[0]
    if flying.size:
        d = r[flying] - model.origin_ecef
        near = flying[np.add.reduce(d * d, axis=1) <= (model.max_range_m * _RANGE_GATE) ** 2]
        if near.size:
            rae = geo.enu_to_rae(geo.ecef_to_enu(r[near], model.origin_ecef, model.basis))
            rcs = _per_object(rcs_m2, n, float)[near]
            pd = swerling1_pd(model.pfa, radar_snr(model, np.maximum(rae[:, 0], 1.0), rcs))
            hit = _radar_visible(model, r[near], rae) & (draw[near] < pd)
            if hit.any():
                detected = near[hit]
                sigma = np.array([model.range_sigma_m, model.angle_sigma_rad, model.angle_sigma_rad])
                z_true = rae[hit] + noise[detected] * sigma

    n_fa = rng.poisson(model.false_alarms_per_scan)
    n_plots = detected.size + n_fa
    if n_plots:
        az0, az_width, el0, el_width = _radar_sector(model)
        u = rng.random((n_fa, 3))
        z_fa = u * np.array([model.max_range_m, az_width, el_width]) + np.array([0.0, az0, el0])
        order = rng.permutation(n_plots)
        z = np.concatenate([z_true, z_fa])[order]
        z[:, 1] = geo.wrap_azimuth(z[:, 1])
        z, truth_index = _read_only(z), _read_only(np.concatenate([detected, np.full(n_fa, -1, np.intp)])[order])
    else:  # nothing to draw: no false-alarm positions, and shuffling nothing draws no numbers
        z, truth_index = _EMPTY_PLOTS, _EMPTY_INDEX
    return Scan(sensor=model.name, t_s=float(t_s), kind="rae", z=z, R=model.noise_cov, origin_ecef=model.origin_ecef,
                basis=model.basis, truth_index=truth_index)
