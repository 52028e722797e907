"""The standard message catalog (version 1): typed, immutable messages exchanged between nodes.

Positions and velocities are ECEF [m, m/s]; times are simulation seconds. Batches (plots, tracks)
travel as one message holding arrays, as real track-reporting networks do, so per-object overhead
stays out of the hot path. No message carries truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CATALOG_VERSION = 1


@dataclass(frozen=True, slots=True)
class PlotReport:
    """One sensor scan's detections (sensor → its national node)."""

    sensor: str
    nation: str
    t_s: float
    kind: str  # "rae": (range m, azimuth rad, elevation rad) in the sensor's ENU; "pos": ECEF m
    z: np.ndarray  # (M, 3)
    R: np.ndarray  # (3, 3) measurement noise covariance
    origin_ecef: np.ndarray  # (3,)
    basis: np.ndarray  # (3, 3) ENU rows in ECEF


@dataclass(frozen=True, slots=True)
class TrackReport:
    """A nation's confirmed tracks with covariance (national node → alliance node)."""

    nation: str
    t_s: float
    ids: np.ndarray  # (K,) national track numbers
    x: np.ndarray  # (K, 6) ECEF state at t_update_s
    P: np.ndarray  # (K, 6, 6)
    t_update_s: np.ndarray  # (K,) time of each track's last measurement update
    sensor_ids: tuple[str, ...] = ()  # (S,) the reporting sensors (empty when withheld by policy)
    sensor_ecef: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (S, 3) their sites [m]
    track_sensors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))  # (K, S) fed track k


@dataclass(frozen=True, slots=True)
class ThreatWarning:
    """Early warning of a threat (alliance → every national node).

    The launch estimate (None where there is none) is the ground point of the track's ballistic arc
    flown backwards (:mod:`shieldwall.assess.launch`: boost not modelled, so it lies uprange of the
    true launch point), with the semi-major axis of its 1-sigma east/north ellipse.
    """

    t_s: float
    track: int
    impact_lat_deg: float
    impact_lon_deg: float
    impact_time_s: float
    assets: tuple[str, ...]
    launch_lat_deg: float | None = None
    launch_lon_deg: float | None = None
    launch_sigma_m: float | None = None


@dataclass(frozen=True, slots=True)
class EngagementOrder:
    """Task a battery to engage a track (alliance or national node → battery, maybe via its nation)."""

    order_id: str
    issued_s: float
    issuer: str
    battery: str
    track: int
    track_state: np.ndarray  # (6,) ECEF state of the track at issued_s
    aim_ecef: np.ndarray  # (3,) predicted intercept point
    intercept_s: float
    launch_s: float  # planned launch time
    latest_launch_s: float  # after this the window is closed
    shots: int


@dataclass(frozen=True, slots=True)
class EngagementStatus:
    """What became of an order (battery or national node → alliance, and broadcast for de-confliction)."""

    order_id: str
    t_s: float
    battery: str
    nation: str
    track: int
    status: str  # "reserved" (ordered, not yet fired) | "launched" | "denied" | "expired" | "no_inventory" | ...
    target_ecef: np.ndarray  # (3,) where the engaged threat was at t_s, for de-confliction
    intercept_s: float
    shots: int


@dataclass(frozen=True, slots=True)
class AuthorityChange:
    """A nation changes the command authority of some of its batteries (national node → alliance)."""

    t_s: float
    nation: str
    batteries: tuple[str, ...]
    authority: str  # "delegated" | "national_approval" | "national_only"
    rule: str  # the policy entry that made the change


@dataclass(frozen=True, slots=True)
class LaunchCommand:
    """A battery firing (battery → the world); the only message that acts on truth."""

    battery: str
    order_id: str
    t_s: float
    aim_ecef: np.ndarray
    intercept_s: float
    shots: int
