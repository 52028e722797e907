"""The sensor parameter record: one sensor's site, field of view, noise and detection figures in SI."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from shieldwall import geo

SensorKind = Literal["radar", "ir"]


@dataclass(frozen=True, slots=True)
class SensorModel:
    """One sensor, as plain SI floats (radians, metres, seconds); built from the scenario by its loader.

    ``kind`` is ``"radar"`` (range/azimuth/elevation plots, :func:`~shieldwall.sensors.radar_scan`) or
    ``"ir"`` (space-based infrared launch detection, :func:`~shieldwall.sensors.ir_scan`). Fields a kind
    does not use are carried but ignored: an IR sensor ignores the azimuth/elevation limits and the
    radar noise and SNR figures; a radar ignores ``pos_sigma_m`` and ``pd_ir``.

    For an IR sensor the site is the sub-satellite point (``lat_rad``, ``lon_rad``) and ``alt_m`` is
    the satellite's height (about 35,786 km for a geostationary-like platform).

    ``origin_ecef`` (3,) and ``basis`` (3, 3) (rows: east, north, up unit vectors in ECEF, from
    :func:`shieldwall.geo.enu_basis`), ``snr_ref`` (linear) and ``noise_cov`` (3, 3), the covariance of
    a plot's error (radar: diag(range_sigma_m², angle_sigma_rad², angle_sigma_rad²) in (m, rad, rad);
    IR: pos_sigma_m² I in m²), are derived once at construction; they are read-only and excluded from
    comparison, hashing and ``repr``.
    """

    name: str
    kind: SensorKind
    lat_rad: float
    lon_rad: float
    alt_m: float
    #: Centre of the azimuth sector [rad, clockwise from north].
    boresight_az_rad: float
    #: Half-width of the azimuth sector [rad]; pi (or more) means all-round.
    half_fov_az_rad: float
    min_el_rad: float
    max_el_rad: float
    max_range_m: float
    range_sigma_m: float
    angle_sigma_rad: float
    #: Single-pulse-equivalent SNR [dB] of a 1 m^2 target at ``ref_range_m``.
    snr_ref_db: float
    ref_range_m: float
    #: Probability of false alarm per resolution cell (enters the Swerling I Pd).
    pfa: float
    revisit_s: float
    #: Poisson mean of false plots per scan over the whole surveillance volume.
    false_alarms_per_scan: float
    #: IR: isotropic 1-sigma error of a reported ECEF position [m].
    pos_sigma_m: float
    #: IR: probability of detecting a visible burning motor in one scan.
    pd_ir: float

    origin_ecef: np.ndarray = field(init=False, repr=False, compare=False)
    basis: np.ndarray = field(init=False, repr=False, compare=False)
    snr_ref: float = field(init=False, repr=False, compare=False)
    noise_cov: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The loader has checked the user's input; these guard the contract between loader and kernel.
        if self.kind not in ("radar", "ir"):
            raise ValueError(f"sensor {self.name!r}: kind must be 'radar' or 'ir', not {self.kind!r}")
        positive = ("max_range_m", "range_sigma_m", "angle_sigma_rad", "ref_range_m", "revisit_s", "pos_sigma_m")
        for name in positive:
            if not getattr(self, name) > 0.0:
                raise ValueError(f"sensor {self.name!r}: {name} must be > 0, got {getattr(self, name)!r}")
        if not self.half_fov_az_rad > 0.0:
            raise ValueError(f"sensor {self.name!r}: half_fov_az_rad must be > 0, got {self.half_fov_az_rad!r}")
        if not -math.pi / 2 <= self.min_el_rad <= self.max_el_rad <= math.pi / 2:
            raise ValueError(
                f"sensor {self.name!r}: need -pi/2 <= min_el_rad <= max_el_rad <= pi/2, "
                f"got {self.min_el_rad!r}, {self.max_el_rad!r}")
        if not 0.0 < self.pfa < 1.0:
            raise ValueError(f"sensor {self.name!r}: pfa must be in (0, 1), got {self.pfa!r}")
        if not 0.0 <= self.pd_ir <= 1.0:
            raise ValueError(f"sensor {self.name!r}: pd_ir must be in [0, 1], got {self.pd_ir!r}")
        if not self.false_alarms_per_scan >= 0.0:
            raise ValueError(
                f"sensor {self.name!r}: false_alarms_per_scan must be >= 0, got {self.false_alarms_per_scan!r}")
        origin = geo.geodetic_to_ecef(self.lat_rad, self.lon_rad, self.alt_m)
        basis = geo.enu_basis(self.lat_rad, self.lon_rad)
        if self.kind == "ir":
            noise_cov = np.eye(3) * self.pos_sigma_m**2
        else:
            noise_cov = np.diag(np.array([self.range_sigma_m, self.angle_sigma_rad, self.angle_sigma_rad]) ** 2)
        for a in (origin, basis, noise_cov):
            a.setflags(write=False)
        object.__setattr__(self, "origin_ecef", origin)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "snr_ref", 10.0 ** (self.snr_ref_db / 10.0))
        object.__setattr__(self, "noise_cov", noise_cov)

    @property
    def all_round(self) -> bool:
        """True when the azimuth sector covers the full circle."""
        return self.half_fov_az_rad >= math.pi
