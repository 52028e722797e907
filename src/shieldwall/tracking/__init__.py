"""Tracking: ECEF ballistic EKF, UKF and IMM, gated GNN and JPDA association, the multi-target tracker, CI track
fusion, and picture metrics (OSPA, GOSPA)."""

from shieldwall.tracking.association import Assignment, associate, gate_threshold, gnn_assign, mahalanobis_cost
from shieldwall.tracking.ekf import dynamics_jacobian, innovation_covariance, mahalanobis2, predict, process_noise, update
from shieldwall.tracking.fusion import FusionCentre, FusionParams, SystemTrackTable, covariance_intersection
from shieldwall.tracking.imm import IMMParams, IMMState, combined, imm_init, imm_predict, imm_update
from shieldwall.tracking.metrics import GospaResult, GospaSeries, gospa, gospa_series, ospa, ospa_series
from shieldwall.tracking.tracker import Tracker, TrackerParams, TrackTable

__all__ = [
    "Assignment",
    "FusionCentre",
    "FusionParams",
    "GospaResult",
    "GospaSeries",
    "IMMParams",
    "IMMState",
    "SystemTrackTable",
    "TrackTable",
    "Tracker",
    "TrackerParams",
    "associate",
    "combined",
    "covariance_intersection",
    "dynamics_jacobian",
    "gate_threshold",
    "gnn_assign",
    "gospa",
    "gospa_series",
    "imm_init",
    "imm_predict",
    "imm_update",
    "innovation_covariance",
    "mahalanobis2",
    "mahalanobis_cost",
    "ospa",
    "ospa_series",
    "predict",
    "process_noise",
    "update",
]
