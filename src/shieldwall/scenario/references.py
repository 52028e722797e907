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
    yield from _policy_problems(s, file, nations)
    yield from _unreachable_caveats(s, file)
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


def _policy_problems(s: Scenario, file: str, nations: set[str]) -> Iterator[Problem]:
    """Unknown nations, classes and batteries named by the policies; two policies for one nation."""
    recipients = nations | {"alliance_c2"}
    seen: dict[str, int] = {}
    battery_nation = {b.id: b.nation for b in s.batteries}
    for i, p in enumerate(s.policies):
        where = f"policies[{i}]"
        if p.nation not in nations:
            yield _unknown(file, f"{where}.nation", p.nation, nations, "nation")
        elif p.nation in seen:
            yield Problem(file, f"{where}.nation", f"{p.nation!r} already has a policy (policies[{seen[p.nation]}]; "
                          "expected one policy per nation)")
        seen.setdefault(p.nation, i)
        kinds: dict[str, int] = {}
        for j, rule in enumerate(p.sharing):
            if rule.info in kinds:
                yield Problem(file, f"{where}.sharing[{j}].info", f"{rule.info!r} already has a rule "
                              f"(sharing[{kinds[rule.info]}]; expected one rule per kind of information)")
            kinds.setdefault(rule.info, j)
            for k, n in enumerate(rule.to if isinstance(rule.to, list) else []):
                if n not in recipients:
                    yield _unknown(file, f"{where}.sharing[{j}].to[{k}]", n, recipients, "recipient")
            if rule.coarsen_m > 0 and rule.info not in ("plots", "tracks"):
                yield Problem(file, f"{where}.sharing[{j}].coarsen_m", f"coarsening applies to plots and tracks, "
                              f"not {rule.info!r} (expected coarsen_m only on those)")
        by = p.overflight.intercepts_by
        for k, n in enumerate(by if isinstance(by, list) else []):
            if n not in nations:
                yield _unknown(file, f"{where}.overflight.intercepts_by[{k}]", n, nations, "nation")
        for k, c in enumerate(p.engage_classes or []):
            if c not in s.catalog.missiles:
                yield _unknown(file, f"{where}.engage_classes[{k}]", c, s.catalog.missiles, "missile class")
        for j, change in enumerate(p.authority_changes):
            for k, b in enumerate(change.batteries if isinstance(change.batteries, list) else []):
                if b not in battery_nation:
                    yield _unknown(file, f"{where}.authority_changes[{j}].batteries[{k}]", b, battery_nation, "battery")
                elif battery_nation[b] != p.nation:
                    yield Problem(file, f"{where}.authority_changes[{j}].batteries[{k}]", f"battery {b!r} belongs to "
                                  f"{battery_nation[b]!r} (expected a battery of {p.nation!r}: a nation changes the "
                                  "authority of its own batteries only)")


def _unreachable_caveats(s: Scenario, file: str) -> Iterator[Problem]:
    """A battery whose ``defends`` caveat leaves it no defended asset within its interceptor's reach."""
    for i, b in enumerate(s.batteries):
        cls = s.catalog.interceptors.get(b.interceptor_class)
        if b.defends is None or cls is None:
            continue
        mine = [a for a in s.assets if a.nation in b.defends]
        if not mine:
            yield Problem(file, f"batteries[{i}].defends", f"{b.id!r} may defend only {b.defends}, which have no "
                          "defended assets (expected nations with assets)")
            continue
        dist_km = [float(great_circle_m(*map(math.radians, (b.lat_deg, b.lon_deg, a.lat_deg, a.lon_deg)))) / 1e3
                   for a in mine]
        k = min(range(len(mine)), key=dist_km.__getitem__)
        if dist_km[k] - mine[k].radius_km > cls.max_range_km:
            yield Problem(file, f"batteries[{i}].defends", f"{b.id!r} may defend only {b.defends}, but their nearest "
                          f"asset {mine[k].id!r} is {dist_km[k]:.0f} km away, beyond its {cls.max_range_km:g} km reach "
                          "(expected a caveat allowing an asset it can reach)")
