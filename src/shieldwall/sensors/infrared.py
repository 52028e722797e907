"""Space-based infrared launch detection: burning motors above the cloud deck, reported as ECEF positions."""

from __future__ import annotations

import numpy as np

from shieldwall import geo
from shieldwall.sensors.coverage import IR_CLOUD_TOP_ALT_M, IR_FALSE_ALARM_TOP_ALT_M, _ir_false_alarm_cap, _ir_visible
from shieldwall.sensors.model import SensorModel
from shieldwall.sensors.scan import Scan


def ir_scan(model: SensorModel, t_s: float, r_ecef: np.ndarray, boosting: np.ndarray,
            rng: np.random.Generator) -> Scan:
    """One scan of a generic geostationary-like infrared sensor over N objects at ``r_ecef`` (N, 3).

    The satellite sits at ``alt_m`` above the sub-satellite point (``lat_rad``, ``lon_rad``). An object
    is detected, with probability ``pd_ir`` per scan, when its motor is burning (``boosting``), it is
    above the cloud deck (:data:`~shieldwall.sensors.coverage.IR_CLOUD_TOP_ALT_M`), the line of sight
    from the satellite clears that deck and the slant range is within ``max_range_m``.

    Simplification: the plot is the object's ECEF position plus isotropic Gaussian error of
    ``pos_sigma_m`` per axis (``R = pos_sigma_m**2 * I``), standing for the 3-D fix that stereo viewing
    by two or more satellites, or a plume-height assumption, gives a launch-detection system; a single
    sensor's line-of-sight-only geometry is not modelled. Poisson(``false_alarms_per_scan``) false
    plots are uniform in area over the cap visible at the cloud deck and uniform in height between
    :data:`~shieldwall.sensors.coverage.IR_CLOUD_TOP_ALT_M` and
    :data:`~shieldwall.sensors.coverage.IR_FALSE_ALARM_TOP_ALT_M`. Plots come in random order.

    Random numbers: one uniform and three normals per object whether visible or not, then the false
    alarms, then the shuffle.
    """
    if model.kind != "ir":
        raise ValueError(f"ir_scan needs a 'ir' sensor; {model.name!r} is {model.kind!r}")
    r = np.asarray(r_ecef, float).reshape(-1, 3)
    n = r.shape[0]
    draw = rng.random(n)
    noise = rng.standard_normal((n, 3))
    detected = np.flatnonzero(np.broadcast_to(np.asarray(boosting, bool), (n,)))  # geometry for these only
    if detected.size:
        detected = detected[_ir_visible(model, r[detected])]
        detected = detected[draw[detected] < model.pd_ir]
    z = r[detected] + noise[detected] * model.pos_sigma_m

    truth_index = detected
    n_fa = rng.poisson(model.false_alarms_per_scan)
    if n_fa:
        u = rng.random((n_fa, 3))
        cos_cap = np.cos(_ir_false_alarm_cap(model))
        central = np.arccos(1.0 - u[:, 0] * (1.0 - cos_cap))  # uniform in area on the cap
        lat, lon = geo.destination(model.lat_rad, model.lon_rad, 2.0 * np.pi * u[:, 1], central * geo.R_MEAN_M)
        alt = IR_CLOUD_TOP_ALT_M + u[:, 2] * (IR_FALSE_ALARM_TOP_ALT_M - IR_CLOUD_TOP_ALT_M)
        z = np.concatenate([z, geo.geodetic_to_ecef(lat, lon, alt).reshape(-1, 3)])
        truth_index = np.concatenate([detected, np.full(n_fa, -1, np.intp)])

    order = rng.permutation(z.shape[0])
    z, truth_index = z[order], truth_index[order]
    z.setflags(write=False)
    truth_index.setflags(write=False)
    return Scan(sensor=model.name, t_s=float(t_s), kind="pos", z=z, R=model.noise_cov, origin_ecef=model.origin_ecef,
                basis=model.basis, truth_index=truth_index)
