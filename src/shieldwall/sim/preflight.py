"""System checks of a valid scenario, reported as warnings: can the pieces actually work together?

- every sensor and battery has a network path to the C2 node it reports to and to the alliance node;
- every battery can reach (ground range within its interceptor's range) an asset it may defend;
- every threat's aim point lies inside some radar's coverage (at 20 km altitude above it).
"""

from __future__ import annotations

import math

import numpy as np

from shieldwall import geo
from shieldwall.comms.network import Network
from shieldwall.errors import Problem
from shieldwall.scenario.references import aim_point_deg
from shieldwall.scenario.schema import Scenario
from shieldwall.sensors.coverage import covers
from shieldwall.sim.build import alliance_node_id, link_models, sensor_models

#: Altitude [m] above an aim point at which a threat must be visible to some radar.
TERMINAL_CHECK_ALT_M = 20_000.0


def preflight(s: Scenario, file: str) -> list[Problem]:
    """Warnings about a scenario that validates but would not work as a system."""
    out: list[Problem] = []
    net = Network(link_models(s))
    alliance = alliance_node_id(s)
    for section, items in (("sensors", s.sensors), ("batteries", s.batteries)):
        for i, x in enumerate(items):
            for target, what in ((x.reports_to, "its C2 node"), (alliance, "the alliance node")):
                if net.route(x.id, target) is None:
                    out.append(Problem(file, f"{section}[{i}]", f"{x.id!r} has no network path to {what} "
                                       f"{target!r} (expected links connecting them)", "warning"))
    lat = np.radians([a.lat_deg for a in s.assets])
    lon = np.radians([a.lon_deg for a in s.assets])
    nations = np.array([a.nation for a in s.assets])
    for i, b in enumerate(s.batteries):
        reach_m = s.catalog.interceptors[b.interceptor_class].max_range_km * 1e3
        d = geo.great_circle_m(math.radians(b.lat_deg), math.radians(b.lon_deg), lat, lon)
        allowed = np.ones(len(nations), bool) if b.defends is None else np.isin(nations, b.defends)
        if not (allowed & (d <= reach_m)).any():
            out.append(Problem(file, f"batteries[{i}]", f"{b.id!r} can reach no asset it may defend "
                               f"(expected an allowed asset within {reach_m / 1e3:.0f} km)", "warning"))
    radars = [m for m in sensor_models(s) if m.kind == "radar"]
    for i, _ in enumerate(s.threats):
        alat, alon = aim_point_deg(s, i)
        point = geo.geodetic_to_ecef(math.radians(alat), math.radians(alon), TERMINAL_CHECK_ALT_M)
        if not any(bool(covers(m, point[None, :])[0]) for m in radars):
            out.append(Problem(file, f"threats[{i}].aim", f"aim point ({alat:.2f}, {alon:.2f}) is outside every "
                               "radar's coverage (expected a radar that sees the threat's descent)", "warning"))
    return out
