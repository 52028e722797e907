"""The output of one sensor scan: plots, their noise covariance and the frame they are expressed in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.sensors.measurement import MeasurementKind, rae_covariance_to_ecef, rae_to_ecef


@dataclass(frozen=True, slots=True, eq=False)
class Scan:
    """The plots of one sensor at one time; arrays are read-only.

    ``kind`` ``"rae"``: rows of ``z`` are (range [m], azimuth [rad, 0..2pi), elevation [rad]) in the
    sensor's ENU frame (``origin_ecef``, ``basis``); ``"pos"``: rows are ECEF positions [m].
    ``R`` (3, 3) is the measurement-noise covariance of every row. ``truth_index`` (M,) is the index of
    the true object behind each plot, -1 for a false alarm: it is for the recorder and metrics only and
    must not be passed to a node.
    """

    sensor: str
    t_s: float
    kind: MeasurementKind
    z: np.ndarray
    R: np.ndarray
    origin_ecef: np.ndarray
    basis: np.ndarray
    truth_index: np.ndarray

    def __post_init__(self) -> None:
        # Freeze the arrays; a caller's writeable array is copied first so that its owner cannot
        # change the scan afterwards (the scan functions hand over read-only arrays: no copy).
        for name, dtype in (("z", float), ("R", float), ("origin_ecef", float), ("basis", float),
                            ("truth_index", np.intp)):
            a = np.asarray(getattr(self, name), dtype)
            if a.flags.writeable:
                a = a.copy()
                a.setflags(write=False)
            object.__setattr__(self, name, a)

    def __len__(self) -> int:
        return self.z.shape[0]


def scan_to_ecef(scan: Scan) -> np.ndarray:
    """ECEF positions (M, 3) [m] of a scan's plots (for track initiation)."""
    if scan.kind == "pos":
        return scan.z.copy()
    return rae_to_ecef(scan.z, scan.origin_ecef, scan.basis)


def plot_covariance_ecef(scan: Scan) -> np.ndarray:
    """Linearised ECEF position covariance (M, 3, 3) of each plot of a scan (for track initiation)."""
    if scan.kind == "pos":
        return np.broadcast_to(scan.R, (len(scan), 3, 3)).copy()
    return rae_covariance_to_ecef(scan.z, scan.R, scan.basis)
