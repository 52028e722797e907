"""Sovereignty geometry (shieldwall.policy.territory): territory look-ups, debris footprints, threat classes.

The references are independent of the module: shapely's point-in-polygon (GEOS) for the territory
look-up, a per-sample Python loop with shapely and :func:`shieldwall.geo.destination` for the
footprints, and hand cases from the built-in missile catalog for the classes. Points within 1e-9 deg
of a border are left out of the comparisons (either answer is right there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from shieldwall import geo
from shieldwall.policy.territory import (
    DEBRIS_RADIUS_M,
    MAX_NATIONS,
    TerritoryMap,
    classify_by_range,
    footprint_masks,
    lowest_nation,
    nations_in_mask,
    sample_masks,
)
from shieldwall.scenario.loader import builtin_catalog, load_scenario

ROOT = Path(__file__).resolve().parents[2]
EDGE_DEG = 1e-9
METHODS = ("grid", "bbox", "brute")


def _shapely_reference(polygons_deg, lat_deg, lon_deg):
    """(first nation or -1, uint64 mask of every nation, True where the point is clear of every border)."""
    pts = shapely.points(lon_deg, lat_deg)
    first = np.full(lat_deg.shape, -1)
    mask = np.zeros(lat_deg.shape, np.uint64)
    clear = np.ones(lat_deg.shape, bool)
    for i, p in enumerate(polygons_deg):
        poly = Polygon(np.asarray(p, float)[:, ::-1])  # shapely wants (x, y) = (lon, lat)
        inside = shapely.contains_xy(poly, lon_deg, lat_deg)
        first = np.where((first < 0) & inside, i, first)
        mask |= np.where(inside, np.uint64(1 << i), np.uint64(0))
        clear &= ~shapely.dwithin(poly.boundary, pts, EDGE_DEG)
    return first, mask, clear


def _check_against_shapely(tm, polygons_deg, lat_deg, lon_deg):
    first, mask, clear = _shapely_reference(polygons_deg, lat_deg, lon_deg)
    assert clear.mean() > 0.99  # the border exclusion leaves almost every point in
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    got = {m: tm.mask_at(lat, lon, method=m) for m in METHODS}
    for m in METHODS:  # every method, the prefilters included, agrees with shapely and with brute force
        np.testing.assert_array_equal(got[m][clear], mask[clear], err_msg=m)
        np.testing.assert_array_equal(got[m], got["brute"], err_msg=m)
    np.testing.assert_array_equal(tm.nation_at(lat, lon)[clear], first[clear])


def _near_borders(rng, polygons_deg, n):
    """Points just off the borders (1e-7 to 1e-2 deg either side): where a shortcut would go wrong."""
    out = []
    for p in polygons_deg:
        p = np.asarray(p, float)
        i = rng.integers(0, len(p), n)
        a, b = p[i], p[(i + 1) % len(p)]
        q = a + rng.uniform(0, 1, (n, 1)) * (b - a)
        off = 10.0 ** rng.uniform(-7, -2, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        out.append(q + off * rng.normal(size=(n, 2)))
    pts = np.concatenate(out)
    return pts[:, 0], pts[:, 1]


def _medium():
    return load_scenario(ROOT / "examples" / "medium.yaml")


def test_nation_at_matches_shapely_on_the_medium_example():
    sc = _medium()
    tm = TerritoryMap.from_scenario(sc)
    polys = [n.territory for n in sc.nations]
    assert tm.names == tuple(n.id for n in sc.nations)
    allv = np.concatenate([np.asarray(p) for p in polys])
    rng = np.random.default_rng(5)
    n = 40_000
    lat = rng.uniform(allv[:, 0].min() - 1.0, allv[:, 0].max() + 1.0, n)
    lon = rng.uniform(allv[:, 1].min() - 1.0, allv[:, 1].max() + 1.0, n)
    first, _, clear = _shapely_reference(polys, lat, lon)
    assert (first[clear] >= 0).sum() > 5_000 and (first[clear] < 0).sum() > 5_000  # land and sea both tested
    assert set(first[clear]) == {-1, *range(len(polys))}
    _check_against_shapely(tm, polys, lat, lon)
    _check_against_shapely(tm, polys, *_near_borders(rng, polys, 2_000))
    # Capitals' C2 nodes lie in their own territory; the alliance node (52.10 N 5.12 E) is in Polderland.
    by_nation = {c.nation: c for c in sc.c2_nodes if c.kind == "national"}
    for i, name in enumerate(tm.names):
        c = by_nation[name]
        assert tm.nation_at(np.radians(c.lat_deg), np.radians(c.lon_deg)) == i
    assert tm.names[tm.nation_at(np.radians(52.10), np.radians(5.12))] == "polderland"
    # The vertices themselves, shared borders included, are answered without error.
    v = np.radians(allv)
    assert tm.nation_at(v[:, 0], v[:, 1]).shape == (len(allv),)


def _star_polygon(rng, centre_lat, centre_lon, r_deg):
    v = int(rng.integers(3, 40))
    ang = np.sort(rng.uniform(0.0, 2.0 * np.pi, v))
    rad = r_deg * rng.uniform(0.2, 1.0, v)
    return np.stack([centre_lat + rad * np.sin(ang), centre_lon + rad * np.cos(ang)], axis=1)


@pytest.mark.parametrize("seed", range(4))
def test_random_overlapping_star_polygons_match_shapely(seed):
    rng = np.random.default_rng(100 + seed)
    k = MAX_NATIONS if seed == 0 else int(rng.integers(1, 20))
    polys = [_star_polygon(rng, rng.uniform(-60, 60), rng.uniform(-20, 20), rng.uniform(0.1, 8.0)) for _ in range(k)]
    tm = TerritoryMap([f"n{i}" for i in range(k)], polys)
    n = 20_000
    lat = rng.uniform(-70, 70, n)
    lon = rng.uniform(-30, 30, n)
    # Half the points close to a polygon: most land inside one or near its border.
    pick = rng.integers(0, k, n // 2)
    c = np.array([p.mean(axis=0) for p in polys])[pick]
    lat[: n // 2] = c[:, 0] + rng.normal(0, 2.0, n // 2)
    lon[: n // 2] = c[:, 1] + rng.normal(0, 2.0, n // 2)
    lat = np.clip(lat, -89.0, 89.0)
    _check_against_shapely(tm, polys, lat, lon)
    _check_against_shapely(tm, polys, *_near_borders(rng, polys, 10_000 // k))


def test_overlapping_territories_first_wins_and_the_mask_holds_both():
    a = [[0, 0], [0, 2], [2, 2], [2, 0]]
    b = [[1, 1], [1, 3], [3, 3], [3, 1]]
    tm = TerritoryMap(("a", "b"), [a, b])
    lat, lon = np.radians([0.5, 1.5, 2.5, 5.0]), np.radians([0.5, 1.5, 2.5, 5.0])
    assert tm.nation_at(lat, lon).tolist() == [0, 0, 1, -1]
    assert tm.mask_at(lat, lon).tolist() == [1, 3, 2, 0]
    assert TerritoryMap(("b", "a"), [b, a]).nation_at(lat, lon).tolist() == [1, 0, 0, -1]


def test_a_polygon_across_the_antimeridian():
    poly = [[-10.0, 170.0], [-12.0, -175.0], [5.0, -170.0], [8.0, 178.0], [0.0, 175.0]]
    tm = TerritoryMap(("island",), [poly])
    rng = np.random.default_rng(7)
    lat = rng.uniform(-15, 10, 20_000)
    lon = rng.uniform(165, 195, 20_000)
    # Reference: shapely on longitudes unwrapped east of 0 (no crossing there).
    shifted = np.array(poly)
    shifted[:, 1] = np.mod(shifted[:, 1], 360.0)
    first, _, clear = _shapely_reference([shifted], lat, lon)
    wrapped = np.radians(np.mod(lon + 180.0, 360.0) - 180.0)
    for m in METHODS:
        got = tm.mask_at(np.radians(lat), wrapped, method=m)
        np.testing.assert_array_equal(got[clear], (first[clear] == 0).astype(np.uint64), err_msg=m)
    assert 0.2 < (first[clear] == 0).mean() < 0.8
    # Longitudes beyond +-pi are the same meridians.
    np.testing.assert_array_equal(tm.mask_at(np.radians(lat), np.radians(lon)), tm.mask_at(np.radians(lat), wrapped))


def test_query_shapes_and_points_nowhere():
    tm = TerritoryMap.from_scenario(_medium())
    lat = np.radians(np.full((3, 4), 60.0))
    lon = np.radians(np.linspace(5.5, 40.0, 4))[None, :]
    assert tm.nation_at(lat, lon).shape == (3, 4)
    assert tm.mask_at(lat, lon).dtype == np.uint64
    assert np.ndim(tm.nation_at(np.radians(60.0), np.radians(10.0))) == 0
    assert tm.nation_at(np.radians(-40.0), np.radians(10.0)) == -1  # South Atlantic
    assert tm.nation_at(np.nan, 0.2) == -1
    assert tm.mask_at(np.empty(0), np.empty(0)).shape == (0,)


def test_bad_maps_are_refused():
    sq = [[0, 0], [0, 1], [1, 1], [1, 0]]
    TerritoryMap([f"n{i}" for i in range(MAX_NATIONS)], [sq] * MAX_NATIONS)
    with pytest.raises(ValueError, match="at most 63"):
        TerritoryMap([f"n{i}" for i in range(MAX_NATIONS + 1)], [sq] * (MAX_NATIONS + 1))
    with pytest.raises(ValueError, match="at least 3"):
        TerritoryMap(("a",), [[[0, 0], [1, 1]]])
    with pytest.raises(ValueError, match="one polygon per name"):
        TerritoryMap(("a", "b"), [sq])
    with pytest.raises(ValueError, match="pole"):
        TerritoryMap(("arctic",), [[[80, lon] for lon in (-180, -90, 0, 90)]])
    with pytest.raises(ValueError, match="method"):
        TerritoryMap(("a",), [sq]).mask_at(0.0, 0.0, method="fast")


def test_mask_helpers():
    names = ("a", "b", "c")
    assert nations_in_mask(0, names) == []
    assert nations_in_mask(0b101, names) == ["a", "c"]
    assert nations_in_mask(np.uint64(6), names) == ["b", "c"]
    m = np.array([0, 1, 6, 8, 1 << 62, (1 << 62) | 4], np.uint64)
    assert lowest_nation(m).tolist() == [-1, 0, 1, 3, 62, 2]


# --------------------------------------------------------------------------------------------------
# Footprints: a straight ground track along the equator (a great circle, so due east is along the
# track and due north/south across it), west to east from 0 to 10 deg E.

KM = 1000.0 / geo.R_MEAN_M  # radians of arc per km
OFF = {  # name: (lat_min_deg, lat_max_deg, lon_min_deg, lon_max_deg); samples are every 0.1 deg of longitude
    "alpha": (-1.0, 1.0, 2.05, 2.95),  # crossed
    "bravo": (-1.0, 1.0, 6.05, 6.95),  # crossed
    "north15": (np.degrees(15 * KM), 1.0, 4.05, 4.55),  # 15 km north of the track: inside the corridor
    "south30": (-1.0, -np.degrees(30 * KM), 4.05, 4.55),  # 30 km south: outside
    "south15": (-1.0, -np.degrees(15 * KM), 8.05, 8.45),  # 15 km south: inside
    "landing": (-0.3, 0.3, 10.55, 10.95),  # holds only the impact point of threat 1
}


def _box(lat0, lat1, lon0, lon1):
    return np.array([[lat0, lon0], [lat0, lon1], [lat1, lon1], [lat1, lon0]])


def _footprint_case():
    names = tuple(OFF)
    tm = TerritoryMap(names, [_box(*b) for b in OFF.values()])
    k = 120
    lon = np.zeros((3, k))
    lon[0] = np.linspace(0.0, 11.9, k)  # 0.1 deg (11 km) steps: impact at 10 deg E, then held there
    lon[1] = np.linspace(0.0, 11.9, k)
    lon[2] = np.linspace(3.0, 14.9, k)  # never alive
    land = np.array([100, 60, 0])  # first dead sample
    alt = np.zeros((3, k))
    for s in range(2):
        f = np.arange(k) / land[s]
        alt[s] = np.where(f < 1, 300e3 * 4 * f * (1 - f), 0.0)
        lon[s, land[s]:] = lon[s, land[s]]  # a landed threat is held at its crossing point
    # Threat 1 lands at 6.0 deg E (inside bravo); move its impact to "landing", > 20 km beyond its last live sample.
    lon[1, land[1]:] = 10.8
    alive = np.arange(k)[None, :] < land[:, None]
    # Dead samples after the impact sample hold garbage over alpha: they must not count.
    lon[0, land[0] + 1:] = 2.5
    lat = np.zeros((3, k))
    r = geo.geodetic_to_ecef(np.radians(lat), np.radians(lon), alt)
    return tm, r, alive, land


def _brute_sample_masks(names, r, alive, radius_m, include_impact):
    """Per-sample Python loop: nadir + 4 points from geo.destination, shapely point-in-polygon."""
    polys = [Polygon(_box(*OFF[n])[:, ::-1]) for n in names]
    s_n, k_n = alive.shape
    out = np.zeros((s_n, k_n), np.uint64)
    for s in range(s_n):
        for k in range(k_n):
            impact = include_impact and not alive[s, k] and k > 0 and alive[s, k - 1]
            if not (alive[s, k] or impact):
                continue
            lat, lon, _ = geo.ecef_to_geodetic(r[s, k])
            pts = [(lat, lon)]
            if radius_m > 0:
                pts += [geo.destination(lat, lon, b, radius_m) for b in (0.0, np.pi / 2, np.pi, 1.5 * np.pi)]
            for i, poly in enumerate(polys):
                if any(poly.contains(Point(np.degrees(lo), np.degrees(la))) for la, lo in pts):
                    out[s, k] |= np.uint64(1 << i)
    return out


def _suffix_or(m):
    out = m.copy()
    for k in range(m.shape[1] - 2, -1, -1):
        out[:, k] |= out[:, k + 1]
    return out


@pytest.mark.parametrize("include_impact", [True, False])
@pytest.mark.parametrize("radius_m", [DEBRIS_RADIUS_M, 0.0])
def test_footprint_masks_match_a_per_sample_loop(radius_m, include_impact):
    tm, r, alive, _ = _footprint_case()
    want = _brute_sample_masks(tm.names, r, alive, radius_m, include_impact)
    got = sample_masks(tm, r, alive, radius_m=radius_m, include_impact=include_impact)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        footprint_masks(tm, r, alive, radius_m=radius_m, include_impact=include_impact), _suffix_or(want))


def test_footprint_covers_the_nations_crossed_from_each_sample_on():
    assert DEBRIS_RADIUS_M == pytest.approx(20e3, rel=0.5)
    tm, r, alive, land = _footprint_case()
    masks = footprint_masks(tm, r, alive)
    names = tm.names
    lon0 = np.linspace(0.0, 11.9, r.shape[1])
    margin = np.degrees(DEBRIS_RADIUS_M / geo.R_MEAN_M)
    for k in range(land[0]):  # threat 0: each sample's footprint holds what lies east of it
        # On the track: caught from up to the radius beyond (the west point); off the track: only abeam.
        want = {n for n in ("alpha", "bravo") if OFF[n][3] >= lon0[k] - margin}
        want |= {n for n in ("north15", "south15") if OFF[n][3] >= lon0[k]}
        assert set(nations_in_mask(int(masks[0, k]), names)) == want, (k, lon0[k])
    assert "south30" not in nations_in_mask(int(np.bitwise_or.reduce(masks.ravel())), names)
    assert nations_in_mask(int(masks[0, land[0]]), names) == []  # the impact point, 10 deg E, is at sea
    assert (masks[0, land[0] + 1:] == 0).all()  # held garbage over alpha is not counted
    # Threat 1: its impact point (in "landing") is covered by every intercept before it.
    assert all("landing" in nations_in_mask(int(m), names) for m in masks[1, : land[1] + 1])
    assert "landing" not in nations_in_mask(int(footprint_masks(tm, r, alive, include_impact=False)[1, 0]), names)
    assert (masks[2] == 0).all()  # never alive
    # Threat 0, an intercept past bravo but before south15: only south15 remains.
    k = int(np.searchsorted(lon0, 7.5))
    assert nations_in_mask(int(masks[0, k]), names) == ["south15"]


def test_footprint_masks_far_from_every_territory_and_bad_shapes():
    tm = TerritoryMap.from_scenario(_medium())
    lat = np.radians(np.linspace(-30.0, -20.0, 50))[None, :].repeat(2, axis=0)
    r = geo.geodetic_to_ecef(lat, np.radians(150.0), 100e3)
    assert (footprint_masks(tm, r, np.ones((2, 50), bool)) == 0).all()
    with pytest.raises(ValueError, match=r"\(S, K, 3\)"):
        footprint_masks(tm, r[0], np.ones(50, bool))


def _flights(rng, launch_deg, aim_deg, s_n, k_n):
    """Great-circle flights (S, K, 3) [m ECEF] from random launch to random aim points, and alive (S, K)."""
    launch = np.radians(launch_deg[rng.integers(0, len(launch_deg), s_n)])
    aim = np.radians(aim_deg[rng.integers(0, len(aim_deg), s_n)])
    d = geo.great_circle_m(launch[:, 0], launch[:, 1], aim[:, 0], aim[:, 1])
    brg = geo.initial_bearing(launch[:, 0], launch[:, 1], aim[:, 0], aim[:, 1])
    f = np.minimum(np.arange(k_n)[None, :] / rng.integers(k_n // 2, 2 * k_n, s_n)[:, None], 1.0)
    lat, lon = geo.destination(launch[:, :1], launch[:, 1:], brg[:, None], d[:, None] * f)
    return geo.geodetic_to_ecef(lat, lon, d[:, None] * f * (1 - f)), f < 1


def _check_sample_masks(tm, r, alive):
    """sample_masks (ECEF cap, grid, quiet cells) against the five points of every used sample, brute force."""
    got = sample_masks(tm, r, alive)
    used = alive.copy()
    used[:, 1:] |= alive[:, :-1] & ~alive[:, 1:]
    la, lo, _ = geo.ecef_to_geodetic(r)
    dd = DEBRIS_RADIUS_M / geo.R_MEAN_M
    pts = [(la, lo), (la + dd, lo), (la - dd, lo), (la, lo + dd / np.cos(la)), (la, lo - dd / np.cos(la))]
    want = np.zeros(alive.shape, np.uint64)
    for pla, plo in pts:
        want |= tm.mask_at(pla, plo, method="brute")
    want[~used] = 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(footprint_masks(tm, r, alive), _suffix_or(want))
    return got


def test_footprint_masks_on_the_medium_example_match_the_brute_force_lookup():
    """Flights towards the medium example's assets: the shortcuts (cap, grid, quiet cells) change nothing."""
    sc = _medium()
    tm = TerritoryMap.from_scenario(sc)
    rng = np.random.default_rng(11)
    launch = np.array([[40.0, -37.0], [69.5, 5.0], [57.5, 20.0]])
    aim = np.array([[a.lat_deg, a.lon_deg] for a in sc.assets])
    got = _check_sample_masks(tm, *_flights(rng, launch, aim, 40, 150))
    assert (got != 0).sum() > 500 and (got == 0).sum() > 500


@pytest.mark.parametrize(("lat", "lon", "size_deg"), [
    (70.0, 20.0, 3.0),  # high latitude: east-west offsets span many grid cells
    (10.0, -60.0, 0.4),  # small territories: a fine grid
    (-20.0, 179.0, 2.0),  # across the antimeridian
    (45.0, -179.5, 1.0),  # some across it, some east of it
    (60.0, -178.5, 0.5),  # east of it, the grid's padding reaching west of -180 deg
])
def test_footprint_masks_over_random_territories_match_the_brute_force_lookup(lat, lon, size_deg):
    rng = np.random.default_rng(int(abs(lat * lon)))
    polys = [_star_polygon(rng, lat + rng.normal(0, size_deg), lon + rng.normal(0, size_deg), size_deg)
             for _ in range(5)]
    tm = TerritoryMap([f"n{i}" for i in range(5)], polys)
    ends = np.concatenate(polys) + rng.normal(0, 0.1, (sum(len(p) for p in polys), 2))
    got = _check_sample_masks(tm, *_flights(rng, ends, ends, 30, 200))
    assert (got != 0).sum() > 200


def test_footprint_widening_reaches_across_the_antimeridian():
    # A territory just east of the antimeridian at 60 N; a flight eastwards along 60 N across it.
    tm = TerritoryMap(("east",), [_box(59.5, 60.5, -179.9, -179.0)])
    lon = np.linspace(179.0, 182.0, 151)  # 0.02 deg (1.1 km) steps
    r = geo.geodetic_to_ecef(np.radians(60.0), np.radians(lon), 50e3)[None]
    got = _check_sample_masks(tm, r, np.ones((1, len(lon)), bool))[0]
    # Due east by 20 km is 0.36 deg of longitude at 60 N: the territory's west edge (180.1 deg) is
    # reached from 179.74 deg E on; its east edge (181.0 deg) is left behind after 181.36 deg.
    reach = np.degrees(DEBRIS_RADIUS_M / geo.R_MEAN_M) / np.cos(np.radians(60.0))
    inside = (lon > 180.1 - reach + 1e-6) & (lon < 181.0 + reach - 1e-6)
    edge = (np.abs(lon - (180.1 - reach)) < 1e-3) | (np.abs(lon - (181.0 + reach)) < 1e-3)
    np.testing.assert_array_equal(got[~edge], inside[~edge].astype(np.uint64))


# --------------------------------------------------------------------------------------------------
# Threat classes by ground range, with the built-in catalog's bands:
# srbm [100, 1000], mrbm [1000, 3000], irbm [3000, 5500], icbm [5500, 12000] km.


def _catalog_bands():
    missiles = builtin_catalog().missiles
    names = tuple(missiles)
    return names, np.array([missiles[n].nominal_range_km for n in names], float)


@pytest.mark.parametrize(("range_km", "expected"), [
    (300, "srbm"), (100, "srbm"), (999, "srbm"),
    (1000, "srbm"),  # on the srbm/mrbm bound: srbm's band (900 km) is narrower than mrbm's (2,000 km)
    (1001, "mrbm"), (2000, "mrbm"),
    (3000, "mrbm"),  # mrbm (2,000 km) narrower than irbm (2,500 km)
    (4000, "irbm"), (5500, "irbm"),  # irbm (2,500 km) narrower than icbm (6,500 km)
    (5501, "icbm"), (9000, "icbm"), (12000, "icbm"),
    (20, "srbm"), (99.9, "srbm"),  # below every band: the nearest
    (15000, "icbm"),  # beyond every band: the nearest
])
def test_classify_by_range_on_the_builtin_catalog(range_km, expected):
    names, bands = _catalog_bands()
    assert set(names) >= {"srbm", "mrbm", "irbm", "icbm"}
    assert names[int(classify_by_range(np.array(range_km * 1e3), names, bands))] == expected


def test_classify_by_range_vectorised_against_a_loop():
    names, bands = _catalog_bands()
    ranges = np.array([[300e3, 1000e3, 4e6], [9e6, 20e3, 15e6]])
    got = classify_by_range(ranges, names, bands)
    assert got.shape == (2, 3)
    assert [names[i] for i in got.ravel()] == ["srbm", "srbm", "irbm", "icbm", "srbm", "icbm"]
    # Random bands (nested, overlapping, disjoint) against a plain loop of the documented rule.
    rng = np.random.default_rng(3)
    for _ in range(20):
        c = int(rng.integers(1, 6))
        lo = rng.choice([100.0, 500.0, 1000.0, 2000.0, 4000.0], c)
        b = np.stack([lo, lo + rng.choice([200.0, 1000.0, 3000.0], c)], axis=1)
        r_km = np.concatenate([rng.uniform(0, 8000, 200), b.ravel()])  # the bounds themselves too
        got = classify_by_range(r_km * 1e3, tuple(f"c{i}" for i in range(c)), b)
        for x, g in zip(r_km, got):
            inside = [i for i in range(c) if b[i, 0] <= x <= b[i, 1]]
            if inside:
                want = min(inside, key=lambda i: (b[i, 1] - b[i, 0], i))
            else:
                want = min(range(c), key=lambda i: (max(b[i, 0] - x, x - b[i, 1]), i))
            assert g == want, (x, b)
    with pytest.raises(ValueError):
        classify_by_range(np.array([1.0]), ("a", "b"), bands[:1])
