"""Sensor measurement models: radar and space-based IR scans, visibility, and measurement functions."""

from shieldwall.sensors.coverage import (IR_CLOUD_TOP_ALT_M, IR_FALSE_ALARM_TOP_ALT_M, coverage_footprint, covers,
                                         false_alarm_density)
from shieldwall.sensors.infrared import ir_scan
from shieldwall.sensors.measurement import (measurement_function, measurement_jacobian, rae_covariance_to_ecef,
                                            rae_to_ecef, residual)
from shieldwall.sensors.model import SensorModel
from shieldwall.sensors.radar import radar_scan, radar_snr, swerling1_pd
from shieldwall.sensors.scan import Scan, plot_covariance_ecef, scan_to_ecef

__all__ = [
    "IR_CLOUD_TOP_ALT_M",
    "IR_FALSE_ALARM_TOP_ALT_M",
    "Scan",
    "SensorModel",
    "coverage_footprint",
    "covers",
    "false_alarm_density",
    "ir_scan",
    "measurement_function",
    "measurement_jacobian",
    "plot_covariance_ecef",
    "radar_scan",
    "radar_snr",
    "rae_covariance_to_ecef",
    "rae_to_ecef",
    "residual",
    "scan_to_ecef",
    "swerling1_pd",
]
