"""Cross-reference checks over a whole scenario: unknown ids, unknown classes, duplicate ids,
reports-to targets that are not C2 nodes, ranges a missile class cannot reach."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator

from shieldwall.errors import Problem
from shieldwall.geo import great_circle_m
from shieldwall.scenario.schema import Scenario


def _unknown(file: str, path: str, value: str, known: Iterable[str], what: str) -> Problem:
    choices = sorted(known)
    listed = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return Problem(file, path, f"unknown {what} {value!r} (expected one of: {listed})")


def aim_point_deg(scenario: Scenario, index: int) -> tuple[float, float]:
    """Aim (lat_deg, lon_deg) of threat ``index``, resolving an asset reference."""
    aim = scenario.threats[index].aim
    if aim.asset is not None:
        asset = next(a for a in scenario.assets if a.id == aim.asset)
        return asset.lat_deg, asset.lon_deg
    return aim.lat_deg, aim.lon_deg  # type: ignore[return-value]


def check_references(s: Scenario, file: str) -> Iterator[Problem]:
    """Yield a problem for every dangling or duplicate reference (all are errors)."""
    nations = {n.id for n in s.nations}
    c2 = {c.id: c for c in s.c2_nodes}
    node_ids = [c.id for c in s.c2_nodes] + [x.id for x in s.sensors] + [b.id for b in s.batteries]
    nodes = set(node_ids)
    for section, ids in (("nations", [n.id for n in s.nations]), ("assets", [a.id for a in s.assets]),
                         ("threats", [t.id for t in s.threats]), ("nodes", node_ids)):
        for ident, count in Counter(ids).items():
            if count > 1:
                yield Problem(file, section, f"id {ident!r} is used {count} times (expected unique ids)")
    alliance = [c.id for c in s.c2_nodes if c.kind == "alliance"]
    if len(alliance) != 1:
        yield Problem(file, "c2_nodes", f"{len(alliance)} alliance nodes (expected exactly one with kind: alliance)")
    for i, c in enumerate(s.c2_nodes):
        if c.nation is not None and c.nation not in nations:
            yield _unknown(file, f"c2_nodes[{i}].nation", c.nation, nations, "nation")
    for i, a in enumerate(s.assets):
        if a.nation not in nations:
            yield _unknown(file, f"assets[{i}].nation", a.nation, nations, "nation")
    for section, items, catalog, what in (("sensors", s.sensors, s.catalog.sensors, "sensor class"),
                                          ("batteries", s.batteries, s.catalog.interceptors, "interceptor class")):
        for i, x in enumerate(items):
            cls = x.sensor_class if section == "sensors" else x.interceptor_class
            if cls not in catalog:
                yield _unknown(file, f"{section}[{i}].class", cls, catalog, what)
            if x.nation not in nations:
                yield _unknown(file, f"{section}[{i}].nation", x.nation, nations, "nation")
            if x.reports_to not in c2:
                yield _unknown(file, f"{section}[{i}].reports_to", x.reports_to, c2, "C2 node")
    for i, b in enumerate(s.batteries):
        for j, n in enumerate(b.defends or []):
            if n not in nations:
                yield _unknown(file, f"batteries[{i}].defends[{j}]", n, nations, "nation")
    for i, link in enumerate(s.links):
        for j, end in enumerate(link.between):
            if end not in nodes:
                yield _unknown(file, f"links[{i}].between[{j}]", end, nodes, "node")
    assets = {a.id for a in s.assets}
    for i, e in enumerate(s.assignment.expected_threats):
        if e.asset not in assets:
            yield _unknown(file, f"assignment.expected_threats[{i}].asset", e.asset, assets, "asset")
    for i, t in enumerate(s.threats):
        if t.missile_class not in s.catalog.missiles:
            yield _unknown(file, f"threats[{i}].class", t.missile_class, s.catalog.missiles, "missile class")
            continue
        if t.aim.asset is not None and t.aim.asset not in assets:
            yield _unknown(file, f"threats[{i}].aim.asset", t.aim.asset, assets, "asset")
            continue
        lat, lon = aim_point_deg(s, i)
        rng_km = float(great_circle_m(*map(math.radians, (t.launch.lat_deg, t.launch.lon_deg, lat, lon)))) / 1e3
        max_km = s.catalog.missiles[t.missile_class].nominal_range_km[1]
        if rng_km > max_km:
            yield Problem(file, f"threats[{i}].aim", f"{rng_km:.0f} km from the launch point is beyond class "
                          f"{t.missile_class!r} (expected at most {max_km:.0f} km)")
        if rng_km < 50.0:
            yield Problem(file, f"threats[{i}].aim", f"{rng_km:.0f} km from the launch point (expected at least 50 km)")
