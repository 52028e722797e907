"""Tracking against Stone Soup on one data set: seconds per scan and OSPA for each, in the same run.

N nearly-constant-velocity targets in 3-D, scanned every 1 s with detection probability 0.9 and
Poisson(10) clutter per scan, seen by a linear position sensor or by a range / bearing / elevation radar.
Stone Soup runs its standard multi-target chain (KalmanPredictor, Kalman or extended Kalman updater,
DistanceHypothesiser on the Mahalanobis distance, GNNWith2DAssignment, MultiMeasurementInitiator,
UpdateTimeStepsDeleter); Shieldwall runs its Tracker with the constant-velocity motion model. Both get
the same detections, the same noise models and the same gate, initiation (two hits) and deletion
(three missed scans).

Prints one JSON object: ``{"results": [{"sensor", "n", "steps", "stonesoup_steps",
"stonesoup_s_per_scan", "shieldwall_s_per_scan", "speedup", "ospa_stonesoup_m", "ospa_shieldwall_m"},
...], ...}``. Seconds per scan are medians over the scans after the first three (once tracks exist);
OSPA (cut-off 1,000 m, order 1) is the mean over the same scans (the ones Stone Soup ran; Shieldwall's
over all its scans is ``ospa_shieldwall_all_scans_m``). At N = 500 Stone Soup runs fewer scans
(``stonesoup_steps``). ``scale`` times Shieldwall alone on 5,000 targets (``x_real_time``: scan
interval over seconds per scan). ``--quick`` runs only N = 500 with the radar, on fewer scans, and the
5,000-target radar case.

    .venv/bin/python bench/tracking_vs_stonesoup.py --quick
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time

import numpy as np
from scipy.stats import chi2

from shieldwall.tracking import Tracker, TrackerParams
from shieldwall.tracking.metrics import ospa

SCAN_S = 1.0
PD = 0.9
CLUTTER_PER_SCAN = 10.0
Q_M2S3 = 1.0                       # NCV process noise density [m^2/s^3]
POS_SIGMA_M = 30.0                 # linear sensor, per axis
RANGE_SIGMA_M, ANGLE_SIGMA_RAD = 20.0, 1e-3
VEL_PRIOR_MS = 300.0               # initiation: velocity sigma per axis
GATE_PROB = 0.9999
OSPA_CUTOFF_M, OSPA_ORDER = 1_000.0, 1.0
WARM_UP_SCANS = 3


def make_truth(n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """States (steps, n, 6) [m, m/s]: positions uniform over a 200 x 200 km area at 5-15 km height,
    horizontal speeds of ~150 m/s per axis, nearly constant velocity."""
    x = np.empty((steps, n, 6))
    x[0, :, :2] = rng.uniform(-100e3, 100e3, (n, 2))
    x[0, :, 2] = rng.uniform(5e3, 15e3, n)
    x[0, :, 3:5] = rng.normal(0.0, 150.0, (n, 2))
    x[0, :, 5] = rng.normal(0.0, 5.0, n)
    q = Q_M2S3 * np.array([[SCAN_S**3 / 3, SCAN_S**2 / 2], [SCAN_S**2 / 2, SCAN_S]])
    chol = np.linalg.cholesky(q)
    for k in range(1, steps):
        w = rng.standard_normal((n, 3, 2)) @ chol.T          # (n, axis, [pos, vel])
        x[k, :, :3] = x[k - 1, :, :3] + SCAN_S * x[k - 1, :, 3:] + w[..., 0]
        x[k, :, 3:] = x[k - 1, :, 3:] + w[..., 1]
    return x


def to_radar(pos: np.ndarray) -> np.ndarray:
    """Stone Soup's (elevation, bearing, range) of positions (M, 3) seen from the origin."""
    rng_m = np.linalg.norm(pos, axis=-1)
    return np.stack([np.arcsin(pos[:, 2] / rng_m), np.arctan2(pos[:, 1], pos[:, 0]), rng_m], axis=-1)


def make_scans(truth: np.ndarray, sensor: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Per scan the detections (M, 3): detected targets with noise, then clutter, in random order;
    positions (x, y, z) for the linear sensor, (elevation, bearing, range) for the radar."""
    scans = []
    for k in range(len(truth)):
        pos = truth[k, rng.random(truth.shape[1]) < PD, :3]
        n_fa = rng.poisson(CLUTTER_PER_SCAN)
        if sensor == "linear":
            z = pos + rng.normal(0.0, POS_SIGMA_M, pos.shape)
            fa = np.column_stack([rng.uniform(-120e3, 120e3, (n_fa, 2)), rng.uniform(4e3, 16e3, n_fa)])
        else:
            z = to_radar(pos) + rng.normal(0.0, 1.0, pos.shape) * [ANGLE_SIGMA_RAD, ANGLE_SIGMA_RAD, RANGE_SIGMA_M]
            fa = np.column_stack([rng.uniform(0.02, 0.2, n_fa), rng.uniform(-np.pi, np.pi, n_fa),
                                  rng.uniform(5e3, 150e3, n_fa)])
        scans.append(rng.permutation(np.concatenate([z, fa])))
    return scans


def noise_cov(sensor: str) -> np.ndarray:
    """Measurement noise covariance in each sensor's own measurement order."""
    if sensor == "linear":
        return np.diag([POS_SIGMA_M**2] * 3)
    return np.diag([ANGLE_SIGMA_RAD**2, ANGLE_SIGMA_RAD**2, RANGE_SIGMA_M**2])


def run_shieldwall(scans: list[np.ndarray], sensor: str) -> tuple[list[float], list[np.ndarray]]:
    """Seconds and confirmed track positions (at the scan time) per scan."""
    tracker = Tracker(TrackerParams(motion="cv", q_accel=np.sqrt(Q_M2S3), gate_prob=GATE_PROB, m_of_n=(2, 3),
                                    delete_after_misses=3, miss_window_s=SCAN_S, max_position_sigma_m=20e3,
                                    init_velocity_sigma_ms=VEL_PRIOR_MS))
    R = noise_cov(sensor)
    if sensor == "radar":  # ours: (range, azimuth from north clockwise, elevation) in an east/north/up frame
        R = np.diag([RANGE_SIGMA_M**2, ANGLE_SIGMA_RAD**2, ANGLE_SIGMA_RAD**2])
    origin, basis = np.zeros(3), np.eye(3)
    seconds, positions = [], []
    for k, z in enumerate(scans):
        if sensor == "radar":
            z = np.column_stack([z[:, 2], np.mod(0.5 * np.pi - z[:, 1], 2.0 * np.pi), z[:, 0]])
        t_s = k * SCAN_S
        start = time.perf_counter()
        tracker.process(t_s, "pos" if sensor == "linear" else "rae", z, R, origin, basis)
        table = tracker.coast_to(t_s)
        seconds.append(time.perf_counter() - start)
        positions.append(table.x[:, :3])
    return seconds, positions


def run_stonesoup(scans: list[np.ndarray], sensor: str) -> tuple[list[float], list[np.ndarray]]:
    """The same with Stone Soup's components, step by step as its MultiTargetTracker runs them."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater, KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q_M2S3)] * 3)
    predictor = KalmanPredictor(transition)
    if sensor == "linear":
        model = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=noise_cov(sensor))
        updater = KalmanUpdater(model)
    else:
        model = CartesianToElevationBearingRange(ndim_state=6, mapping=(0, 2, 4), noise_covar=noise_cov(sensor))
        updater = ExtendedKalmanUpdater(model)
    gate = float(np.sqrt(chi2.ppf(GATE_PROB, 3)))
    hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=gate)
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeStepsDeleter(3)
    prior = GaussianState(np.zeros((6, 1)), np.diag([1e6, VEL_PRIOR_MS**2] * 3))
    initiator = MultiMeasurementInitiator(prior, UpdateTimeStepsDeleter(2), GNNWith2DAssignment(hypothesiser),
                                          updater, measurement_model=model, min_points=2)
    start_time = datetime.datetime(2026, 1, 1)
    tracks: set = set()
    seconds, positions = [], []
    for k, z in enumerate(scans):
        when = start_time + datetime.timedelta(seconds=k * SCAN_S)
        detections = {Detection(row.reshape(3, 1), timestamp=when, measurement_model=model) for row in z}
        start = time.perf_counter()
        hypotheses = associator.associate(tracks, detections, when)
        used = set()
        for track in tracks:
            hyp = hypotheses[track]
            if hyp.measurement:
                track.append(updater.update(hyp))
                used.add(hyp.measurement)
            else:
                track.append(hyp.prediction)
        tracks -= deleter.delete_tracks(tracks)
        tracks |= initiator.initiate(detections - used, when)
        seconds.append(time.perf_counter() - start)
        positions.append(np.array([np.ravel(t.state_vector)[[0, 2, 4]] for t in tracks]).reshape(-1, 3))
    return seconds, positions


def score(truth: np.ndarray, positions: list[np.ndarray]) -> float:
    """Mean OSPA [m] over the scans after the warm-up."""
    return statistics.fmean(ospa(truth[k, :, :3], positions[k], OSPA_CUTOFF_M, OSPA_ORDER)
                            for k in range(WARM_UP_SCANS, len(positions)))


def case(sensor: str, n: int, steps: int, ss_steps: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    truth = make_truth(n, steps, rng)
    scans = make_scans(truth, sensor, rng)
    sw_s, sw_pos = run_shieldwall(scans, sensor)
    ss_s, ss_pos = run_stonesoup(scans[:ss_steps], sensor)
    sw_med = statistics.median(sw_s[WARM_UP_SCANS:])
    ss_med = statistics.median(ss_s[WARM_UP_SCANS:])
    out = {"sensor": sensor, "n": n, "steps": steps, "stonesoup_steps": ss_steps,
           "stonesoup_s_per_scan": round(ss_med, 6), "shieldwall_s_per_scan": round(sw_med, 6),
           "speedup": round(ss_med / sw_med, 1),
           "ospa_stonesoup_m": round(score(truth, ss_pos), 2),
           "ospa_shieldwall_m": round(score(truth, sw_pos[:ss_steps]), 2),
           "ospa_shieldwall_all_scans_m": round(score(truth, sw_pos), 2)}
    print(f"  {sensor:6s} N={n:4d}: Stone Soup {ss_med * 1e3:9.2f} ms/scan, Shieldwall {sw_med * 1e3:7.3f} ms/scan, "
          f"x{out['speedup']}, OSPA {out['ospa_stonesoup_m']} / {out['ospa_shieldwall_m']} m", file=sys.stderr)
    return out


def scale_case(sensor: str, n: int, steps: int, seed: int) -> dict:
    """Shieldwall alone on a large raid: seconds per scan and how much faster than the 1 s scans."""
    rng = np.random.default_rng(seed)
    truth = make_truth(n, steps, rng)
    seconds, positions = run_shieldwall(make_scans(truth, sensor, rng), sensor)
    per_scan = statistics.median(seconds[WARM_UP_SCANS:])
    print(f"  {sensor:6s} N={n:4d}: Shieldwall {per_scan * 1e3:7.1f} ms/scan", file=sys.stderr)
    return {"sensor": sensor, "n": n, "steps": steps, "shieldwall_s_per_scan": round(per_scan, 4),
            "x_real_time": round(SCAN_S / per_scan, 2), "ospa_shieldwall_m": round(score(truth, positions), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only N = 500 with the radar, on fewer scans")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        plan = [("radar", 500, 20, 8)]
    else:
        plan = [(sensor, n, 60, 60 if n < 500 else 12) for sensor in ("linear", "radar") for n in (10, 100, 500)]
    results = [case(sensor, n, steps, ss_steps, args.seed) for sensor, n, steps, ss_steps in plan]
    scale = [scale_case(sensor, 5000, 12, args.seed) for sensor in (("radar",) if args.quick else ("linear", "radar"))]
    print(json.dumps({"results": results, "scale": scale, "scan_s": SCAN_S, "pd": PD, "clutter_per_scan": CLUTTER_PER_SCAN,
                      "ospa_cutoff_m": OSPA_CUTOFF_M, "ospa_order": OSPA_ORDER, "warm_up_scans": WARM_UP_SCANS,
                      "seed": args.seed, "machine": {"python": platform.python_version(),
                                                     "platform": platform.platform()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
