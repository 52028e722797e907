"""From a validated scenario to SI models: sensor models, battery specs, asset table, the threat
list expanded from raids, links and the node graph. Units are converted here, once."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from shieldwall import geo
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.network import LinkModel
from shieldwall.errors import Problem, ScenarioError
from shieldwall.scenario.references import aim_point_deg
from shieldwall.scenario.schema import Scenario
from shieldwall.sensors.model import SensorModel
from shieldwall.world.ballistic import AimError, Ephemeris, plan_raid

#: Altitude [m] of a space-based IR sensor whose scenario entry gives none (geostationary).
GEO_ALT_M = 35_786_000.0


@dataclass(frozen=True, slots=True)
class ThreatList:
    """Every individual missile of the raid (count/spacing expanded), as arrays in scenario order."""

    ids: tuple[str, ...]
    classes: tuple[str, ...]
    launch_lat_deg: np.ndarray
    launch_lon_deg: np.ndarray
    aim_lat_deg: np.ndarray
    aim_lon_deg: np.ndarray
    launch_time_s: np.ndarray
    burn_time_s: np.ndarray
    burnout_speed_max_ms: np.ndarray
    beta_kgm2: np.ndarray
    rcs_m2: np.ndarray
    trajectory: tuple[str, ...]
    group: tuple[int, ...]  # index of the scenario's threats[] entry each missile comes from


def threat_list(s: Scenario) -> ThreatList:
    rows = []
    for i, t in enumerate(s.threats):
        cls = s.catalog.missiles[t.missile_class]
        lat, lon = aim_point_deg(s, i)
        for k in range(t.count):
            ident = t.id if t.count == 1 else f"{t.id}-{k + 1}"
            rows.append((ident, t.missile_class, t.launch.lat_deg, t.launch.lon_deg, lat, lon,
                         t.launch_time_s + k * t.spacing_s, cls.burn_time_s, cls.burnout_speed_max_kms * 1e3,
                         cls.ballistic_coefficient_kgm2, cls.rcs_m2, t.trajectory, i))
    cols = list(zip(*rows))
    arr = [np.array(c, float) for c in cols[2:11]]
    return ThreatList(tuple(cols[0]), tuple(cols[1]), *arr, tuple(cols[11]), tuple(cols[12]))


def _fly(t: ThreatList, rows: np.ndarray) -> Ephemeris:
    return plan_raid(t.launch_lat_deg[rows], t.launch_lon_deg[rows], t.aim_lat_deg[rows], t.aim_lon_deg[rows],
                     t.launch_time_s[rows], t.burn_time_s[rows], t.burnout_speed_max_ms[rows], t.beta_kgm2[rows],
                     [t.trajectory[i] for i in rows])


def plan_threats(s: Scenario, file: str = "<scenario>") -> tuple[ThreatList, Ephemeris]:
    """The raid's missiles and their aimed truth flights.

    Raises :class:`ScenarioError` with one problem per ``threats[]`` entry whose aim point is out of its
    missile class's reach (or cannot be hit), each naming the entry and what the class allows.
    """
    t = threat_list(s)
    try:
        return t, _fly(t, np.arange(len(t.ids)))
    except AimError:
        pass
    problems = []
    group = np.array(t.group)
    for k, entry in enumerate(s.threats):
        try:
            _fly(t, np.flatnonzero(group == k))
        except AimError as exc:
            cls = s.catalog.missiles[entry.missile_class]
            problems.append(Problem(file, f"threats[{k}]", f"{entry.id!r}: {exc.reason} (expected an aim point "
                                    f"within reach of class {entry.missile_class!r}, whose burnout_speed_max_kms "
                                    f"is {cls.burnout_speed_max_kms:g}; nominal range {cls.nominal_range_km} km)"))
    raise ScenarioError(problems)


def sensor_models(s: Scenario) -> list[SensorModel]:
    out = []
    for x in s.sensors:
        c = s.catalog.sensors[x.sensor_class]
        alt_m = x.alt_m if (c.kind == "radar" or x.alt_m > 0) else GEO_ALT_M
        out.append(SensorModel(
            name=x.id, kind=c.kind, lat_rad=math.radians(x.lat_deg), lon_rad=math.radians(x.lon_deg), alt_m=alt_m,
            boresight_az_rad=math.radians(x.boresight_az_deg), half_fov_az_rad=math.radians(c.half_fov_az_deg),
            min_el_rad=math.radians(c.min_el_deg), max_el_rad=math.radians(c.max_el_deg),
            max_range_m=c.max_range_km * 1e3, range_sigma_m=c.range_sigma_m, angle_sigma_rad=c.angle_sigma_mrad * 1e-3,
            snr_ref_db=c.snr_ref_db, ref_range_m=c.ref_range_km * 1e3, pfa=c.pfa, revisit_s=c.revisit_s,
            false_alarms_per_scan=c.false_alarms_per_scan, pos_sigma_m=c.pos_sigma_m, pd_ir=c.pd))
    return out


def battery_specs(s: Scenario) -> list[BatterySpec]:
    out = []
    for b in s.batteries:
        c = s.catalog.interceptors[b.interceptor_class]
        ecef = geo.geodetic_to_ecef(math.radians(b.lat_deg), math.radians(b.lon_deg), 0.0)
        out.append(BatterySpec(
            id=b.id, nation=b.nation, reports_to=b.reports_to, authority=b.authority, tier=c.tier, ecef=ecef,
            burnout_speed_ms=c.burnout_speed_kms * 1e3, burn_time_s=c.burn_time_s, min_alt_m=c.min_alt_km * 1e3,
            max_alt_m=c.max_alt_km * 1e3, max_range_m=c.max_range_km * 1e3, reaction_time_s=c.reaction_time_s,
            pk=c.pk, divert_m=c.divert_km * 1e3, fire_channels=c.fire_channels, inventory=b.inventory,
            defends=frozenset(b.defends) if b.defends is not None else None))
    return out


def asset_table(s: Scenario) -> AssetTable:
    lat = np.radians([a.lat_deg for a in s.assets])
    lon = np.radians([a.lon_deg for a in s.assets])
    return AssetTable(tuple(a.id for a in s.assets), tuple(a.nation for a in s.assets),
                      geo.geodetic_to_ecef(lat, lon, 0.0), np.array([a.radius_km * 1e3 for a in s.assets]),
                      np.array([a.value for a in s.assets], float))


def link_models(s: Scenario) -> list[LinkModel]:
    return [LinkModel(k.between[0], k.between[1], k.kind, k.latency_ms / 1e3, k.jitter_ms / 1e3, k.loss)
            for k in s.links]


def doctrine_spec(s: Scenario) -> DoctrineSpec:
    d = s.doctrine
    a = s.assignment
    return DoctrineSpec(d.salvo_size, d.high_value_salvo_size, d.high_value_threshold, d.shoot_look_shoot,
                        d.kill_assessment_delay_s, d.allow_duplicate_engagements, s.settings.decision_period_s,
                        d.min_raid_negation, tuple(sorted(d.interceptor_cost.items())), a.solver, a.planning,
                        tuple((e.asset, e.count, e.probability) for e in a.expected_threats))


def scenario_digest(s: Scenario) -> str:
    """SHA-256 (hex) of the scenario's canonical JSON: names the exact scenario an audit log belongs to."""
    return hashlib.sha256(s.model_dump_json(by_alias=True).encode("utf-8")).hexdigest()


def alliance_node_id(s: Scenario) -> str:
    return next(c.id for c in s.c2_nodes if c.kind == "alliance")
