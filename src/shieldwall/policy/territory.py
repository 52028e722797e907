"""Sovereignty geometry: whose territory lies under a point, under an intercept and under its debris.

A policy may forbid an intercept whose predicted intercept point or debris footprint lies over a
nation that has not consented. This module answers the geometric half of that rule, vectorised over
every candidate (threat, intercept sample) at once; the policy engine decides what a covered nation's
consent means.

* :class:`TerritoryMap` — the scenario's national territories (``nations[].territory``) as polygons,
  with :meth:`~TerritoryMap.nation_at` (which nation, -1 for none) and :meth:`~TerritoryMap.mask_at`
  (a ``uint64`` bit mask of the nations at each point: bit ``i`` is ``names[i]``; at most 63 nations).
* :func:`sample_masks` / :func:`footprint_masks` — the nations under each sample of a predicted
  trajectory, and under the debris footprint of an intercept at each sample (model below).
* :func:`nations_in_mask` — the names in a mask, for messages and the audit log.
* :func:`classify_by_range` — a threat's class from its ground range, for rules of engagement by class.

Debris footprint model
----------------------
A hit-to-kill intercept does not stop the threat's mass: the fragments keep most of its momentum and
fall along, or short of, its ballistic path — heavy pieces (the warhead) near the predicted impact
point, light ones earlier along the track, spread across the track by the break-up and by winds. The
footprint of an intercept at sample ``k0`` of a threat's predicted trajectory is therefore taken as
the ground track (the nadir points) of that trajectory from ``k0`` to the predicted impact point,
widened on each side by :data:`DEBRIS_RADIUS_M` = 20 km. For order of magnitude: the Aerospace
Corporation's Center for Orbital and Reentry Debris Studies (CORDS, "What is a debris footprint?",
aerospace.org/cords) describes re-entry break-up footprints 185 to 2,000 km long and typically
20 to 40 km wide, heavy objects travelling furthest downrange; a 20 km half-width (a 40 km corridor)
takes the upper end of that width. This is an assumption for policy screening, not a model of debris
dispersion.

The widening is approximated by testing, at each nadir point, four more points at the radius due
north, south, east and west of it: a cross rather than a disc, so a territory (or a spit of one)
smaller than the gaps between the crosses of consecutive samples could slip through. At 2 s sampling
consecutive nadir points are at most ~15 km apart (7.6 km/s, the fastest catalog class).

Geometric approximations
------------------------
Point-in-polygon is even-odd ray casting in the (longitude, latitude) plane, as a planar GIS would do
on unprojected coordinates: a polygon's edges are straight lines in longitude and latitude, not great
circles. The two differ by about ``L**2 tan(lat) / (8 R)`` for an east-west edge of length ``L``:
about 1.1 km for a 200 km edge at 55 deg N, 8.5 km for a 500 km edge at 60 deg N. That is fine for
national territories drawn with vertices a few hundred kilometres apart or closer; draw longer
borders with more vertices. Every edge is taken the short way round in longitude, so a polygon may
cross the antimeridian (±180 deg); a polygon that encloses a pole is not supported (ValueError).

Speed: :meth:`TerritoryMap.mask_at` answers most points from a lookup grid (2**18 cells over the
territories' bounding boxes, padded by 50 km) and tests exactly, polygon by polygon inside each
polygon's bounding box, only the points in cells that a border may touch; :func:`sample_masks` skips
the four extra points wherever the grid shows one nation (or none) for the whole radius about the
nadir, and the geodetic conversion for samples far from every territory. None of this changes an
answer (the tests compare with a brute-force look-up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shieldwall.geo import R_MEAN_M, ecef_to_geodetic

#: Half-width of the debris corridor about the ground track [m] (see the module docstring).
DEBRIS_RADIUS_M = 20_000.0
#: Most nations a :class:`TerritoryMap` holds: one bit each of a uint64 mask (bit 63 stays free).
MAX_NATIONS = 63

_TWO_PI = 2.0 * np.pi
#: Cells of the lookup grid of :meth:`TerritoryMap.mask_at` (2 MiB of uint64).
_GRID_CELLS = 1 << 18
#: Padding [m] of the lookup grid round the polygons' bounding boxes (at least the debris radius).
_GRID_PAD_M = 50_000.0
#: A grid cell that a border may touch (bit 63: no nation has it).
_BORDER = np.uint64(1 << 63)
#: Largest angle [rad] between a point's geocentric direction and its nadir's geodetic direction
#: (the latitude difference peaks at 0.1924 deg at 45 deg, on the ellipsoid), with headroom.
_GEOCENTRIC_SLACK_RAD = np.radians(0.2)


@dataclass(frozen=True, slots=True)
class _Grid:
    lat0: float  # south edge [rad]
    lon0: float  # west edge [rad]; longitudes east of it, up to one turn
    inv_h: float  # 1 / cell size [1/rad]
    n_lat: int
    n_lon: int
    table: np.ndarray  # (n_lat * n_lon,) uint64: the mask of the cell, or _BORDER
    pad_m: float  # a point outside the grid is at least this far [m] from every polygon (0: no padding)
    lat_ext: float  # the grid's largest |latitude| [rad]


class TerritoryMap:
    """National territory polygons and point-in-territory queries.

    ``names`` (at most :data:`MAX_NATIONS`) index the masks: bit ``i`` of a mask is ``names[i]``.
    ``polygons[i]`` holds the vertices of ``names[i]``'s territory as (V, 2) [lat_deg, lon_deg],
    V >= 3, in either orientation, not closed (the last vertex joins the first). Where polygons
    overlap, :meth:`nation_at` gives the first in order and :meth:`mask_at` every one of them.
    Approximations: see the module docstring (planar even-odd in (lon, lat); edges the short way
    round in longitude; no polygon around a pole).
    """

    def __init__(self, names: Sequence[str], polygons: Sequence[Any]) -> None:
        names = tuple(str(n) for n in names)
        if len(names) != len(polygons):
            raise ValueError(f"{len(names)} nation names but {len(polygons)} polygons (expected one polygon per name)")
        if len(names) > MAX_NATIONS:
            raise ValueError(f"{len(names)} nations: at most {MAX_NATIONS} fit in a uint64 nation mask")
        self.names: tuple[str, ...] = names
        self._lat: list[np.ndarray] = []  # vertex latitudes [rad]
        self._lon: list[np.ndarray] = []  # vertex longitudes [rad], unwrapped, min in [-pi, pi)
        for name, poly in zip(names, polygons):
            p = np.asarray(poly, float)
            if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3 or not np.isfinite(p).all():
                raise ValueError(f"territory of {name!r}: expected at least 3 finite [lat_deg, lon_deg] vertices, "
                                 f"got an array of shape {p.shape}")
            lon_deg = np.unwrap(p[:, 1], period=360.0)
            if abs(lon_deg[-1] - lon_deg[0]) > 180.0:
                raise ValueError(f"territory of {name!r} winds around a pole (its edges taken the short way round "
                                 "in longitude do not close); polygons enclosing a pole are not supported")
            lon = np.radians(lon_deg)
            lon -= _TWO_PI * np.floor((lon.min() + np.pi) / _TWO_PI)
            self._lat.append(np.radians(p[:, 0]))
            self._lon.append(lon)
        #: Bounding boxes (N, 4) [rad]: lat_min, lat_max, lon_min, lon_max (lon_max may exceed pi).
        self._bbox = np.array([(la.min(), la.max(), lo.min(), lo.max()) for la, lo in zip(self._lat, self._lon)],
                              float).reshape(-1, 4)
        self._bits = [np.uint64(1 << i) for i in range(len(names))]
        self._cap = _bounding_cap(self._lat, self._lon)
        self._grid = self._build_grid()
        self._quiet_cache: dict[float, np.ndarray] = {}

    @classmethod
    def from_scenario(cls, scenario: Any) -> TerritoryMap:
        """The territories of ``scenario.nations`` (a :class:`~shieldwall.scenario.schema.Scenario`), named by
        nation id."""
        return cls(tuple(n.id for n in scenario.nations), [np.asarray(n.territory, float) for n in scenario.nations])

    def __len__(self) -> int:
        return len(self.names)

    def mask_at(self, lat_rad: Any, lon_rad: Any, *, method: str = "grid") -> np.ndarray:
        """Bit mask (uint64, the broadcast shape of the inputs) of the nations whose territory holds each point.

        Bit ``i`` is ``names[i]``; 0 is no nation (sea, or outside every polygon). Points exactly on a
        border may fall on either side. All methods give the same answer; they differ in speed:

        * ``"grid"`` (default): a lookup grid over the union of the bounding boxes answers every point
          in a cell that no border touches; the others go to ``"bbox"``;
        * ``"bbox"``: a point is tested against a polygon only inside the polygon's bounding box;
        * ``"brute"``: every point against every polygon (a reference for tests).
        """
        if method not in ("grid", "bbox", "brute"):
            raise ValueError(f"method={method!r}: expected 'grid', 'bbox' or 'brute'")
        lat, lon = np.broadcast_arrays(np.asarray(lat_rad, float), np.asarray(lon_rad, float))
        return self._mask_flat(lat.ravel(), lon.ravel(), method).reshape(lat.shape)

    def nation_at(self, lat_rad: Any, lon_rad: Any) -> np.ndarray:
        """Index into :attr:`names` (intp, the broadcast shape of the inputs) of the nation at each point;
        -1 where there is none. Where territories overlap, the first polygon in order wins."""
        return lowest_nation(self.mask_at(lat_rad, lon_rad))

    def _mask_flat(self, lat: np.ndarray, lon: np.ndarray, method: str = "grid") -> np.ndarray:
        if not len(self.names) or not lat.size:
            return np.zeros(lat.shape, np.uint64)
        if lon.min() < -np.pi or lon.max() > np.pi:
            lon = np.mod(lon + np.pi, _TWO_PI) - np.pi
        if method == "brute":
            return self._exact(lat, lon, prefilter=False)
        if method == "bbox" or self._grid is None:
            return self._exact(lat, lon, prefilter=True)
        idx, cell = self._grid_cells(lat, lon)
        m = self._grid.table[cell]
        out = np.zeros(lat.shape, np.uint64)
        out[idx] = m
        k = idx[m >= _BORDER]  # cells a border may touch: test exactly
        if k.size:
            out[k] = self._exact(lat[k], lon[k], prefilter=True)
        return out

    def _grid_cells(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the points (n,) inside the grid (lon in [-pi, pi]) and their flat cell numbers."""
        g = self._grid
        fi = lat - g.lat0  # fractional cell indices (in place: fewer temporaries)
        fi *= g.inv_h
        fj = lon - g.lon0
        if g.lon0 > -np.pi:  # longitudes west of the grid's west edge are east of it, one turn on
            fj[fj < 0.0] += _TWO_PI
        elif g.lon0 < -np.pi:  # the grid starts west of -pi: longitudes near +pi are there too
            fj[fj >= _TWO_PI] -= _TWO_PI
        fj *= g.inv_h
        ok = fi >= 0.0
        ok &= fi < g.n_lat
        ok &= fj < g.n_lon
        ok &= fj >= 0.0  # (NaN fails every test)
        idx = np.flatnonzero(ok)
        cell = fi[idx].astype(np.intp)
        cell *= g.n_lon
        cell += fj[idx].astype(np.intp)
        return idx, cell

    def _quiet(self, radius_m: float) -> np.ndarray | None:
        """Per grid cell: True where every point of the cell has, within ``radius_m`` due north, south,
        east and west, the cell's own (border-free) mask; None without a grid or for a radius beyond
        the grid's padding. Cached per radius."""
        g = self._grid
        if g is None or not radius_m < g.pad_m:
            return None
        if radius_m not in self._quiet_cache:
            d = radius_m / R_MEAN_M
            # A point of cell (i, j) has its four points in cells i +- ri, j +- rj, as floor(f + x) <=
            # floor(f) + ceil(x); the east-west offset d / cos(lat) is largest at the grid's largest |lat|.
            ri = int(np.ceil(d * g.inv_h))
            rj = int(np.ceil(d / np.cos(g.lat_ext) * g.inv_h))
            if ri > 2 * g.n_lat or rj > 2 * g.n_lon:  # windows larger than the map: nothing to gain
                return None
            t = g.table.reshape(g.n_lat, g.n_lon)
            pad = np.zeros((g.n_lat + 2 * ri, g.n_lon + 2 * rj), np.uint64)  # outside the grid: no nation
            pad[ri:ri + g.n_lat, rj:rj + g.n_lon] = t
            lo, hi = _window(pad, ri, rj, np.minimum), _window(pad, ri, rj, np.maximum)
            self._quiet_cache[radius_m] = ((lo == hi) & (hi < _BORDER)).ravel()
        return self._quiet_cache[radius_m]

    def _exact(self, lat: np.ndarray, lon: np.ndarray, prefilter: bool) -> np.ndarray:
        """Masks by even-odd tests of the points (n,) against the polygons; ``lon`` in [-pi, pi]."""
        if prefilter:  # the union of the bounding boxes first: points far from every polygon stop here
            lo, hi = self._bbox.min(axis=0), self._bbox.max(axis=0)
            near = (lat >= lo[0]) & (lat <= hi[1])
            if hi[3] <= np.pi:  # no box crosses the antimeridian: one longitude band
                near &= (lon >= lo[2]) & (lon <= hi[3])
            idx = np.flatnonzero(near)
            lat, lon = lat[idx], lon[idx]
        sub = np.zeros(lat.shape, np.uint64)
        for i, bit in enumerate(self._bits):
            lat_lo, lat_hi, lon_lo, lon_hi = self._bbox[i]
            # Longitudes in [lon_lo, lon_lo + 2 pi): only a polygon crossing the antimeridian needs the shift.
            lon_i = lon if lon_hi <= np.pi else np.where(lon < lon_lo, lon + _TWO_PI, lon)
            if prefilter:
                j = np.flatnonzero((lat >= lat_lo) & (lat <= lat_hi) & (lon_i >= lon_lo) & (lon_i <= lon_hi))
                if j.size:
                    sub[j[_even_odd(lon_i[j], lat[j], self._lon[i], self._lat[i])]] |= bit
            else:
                sub[_even_odd(lon_i, lat, self._lon[i], self._lat[i])] |= bit
        if not prefilter:
            return sub
        out = np.zeros(near.shape, np.uint64)
        out[idx] = sub
        return out

    def _build_grid(self, target_cells: int = _GRID_CELLS) -> _Grid | None:
        """The lookup grid of :meth:`mask_at`: square cells [rad] over the union of the bounding boxes,
        each holding the mask of its interior or, where a border may touch the cell, :data:`_BORDER`.

        Longitudes run east from the west edge of one bounding box, the one that makes the grid
        narrowest; None if the boxes cover every longitude, and the map goes without a grid.
        """
        if not len(self.names):
            return None
        lat0, lat1 = float(self._bbox[:, 0].min()), float(self._bbox[:, 1].max())
        # The longitude frame: start at the west edge of one box, chosen so the frame is narrowest;
        # each polygon is shifted by whole turns into it.
        west, width = self._bbox[:, 2], self._bbox[:, 3] - self._bbox[:, 2]
        shifted = west[:, None] + np.mod(west[None, :] - west[:, None], _TWO_PI)  # [start, polygon]
        spans = (shifted + width[None, :]).max(axis=1) - west
        best = int(np.argmin(spans))
        if spans[best] >= _TWO_PI:
            return None
        lon0, lon1 = float(west[best]), float(west[best] + spans[best])
        turns = shifted[best] - west  # per polygon: its shift into the frame (0 or 2 pi)
        # Padding all round, so that a point outside the grid is at least pad_m from every polygon.
        pad = _GRID_PAD_M / R_MEAN_M
        lat0, lat1 = max(lat0 - pad, -np.pi / 2), min(lat1 + pad, np.pi / 2)
        lat_ext = max(abs(lat0), abs(lat1))
        pad_lon = pad / np.cos(lat_ext) if lat_ext < np.radians(89.0) else np.inf
        pad_m = _GRID_PAD_M
        if (lon1 - lon0) + 2.0 * pad_lon < _TWO_PI:
            lon0, lon1 = lon0 - pad_lon, lon1 + pad_lon
        else:  # a grid round the world has no room for padding east and west
            pad_m = 0.0
        span_lat, span_lon = lat1 - lat0, lon1 - lon0
        # Square cells, about target_cells of them, and at most 2,048 along a side (thin maps).
        h = max(np.sqrt(span_lat * span_lon / target_cells), max(span_lat, span_lon) / 2048.0, 1e-9)
        n_lat, n_lon = int(span_lat / h) + 1, int(span_lon / h) + 1
        # Border cells: sample every edge at most h/2 apart and mark the cells of the samples and their
        # eight neighbours; a cell an edge touches holds a point within h/4 of a sample, so it is marked.
        border = np.zeros((n_lat + 2, n_lon + 2), bool)  # one cell of padding all round
        for lat, lon, turn in zip(self._lat, self._lon, turns):
            lon = lon + turn
            dlat, dlon = np.roll(lat, -1) - lat, np.roll(lon, -1) - lon
            n = np.ceil(np.maximum(np.abs(dlat), np.abs(dlon)) / (0.5 * h)).astype(np.intp) + 1  # steps per edge
            e = np.repeat(np.arange(len(lat)), n + 1)
            t = (np.arange(len(e)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)) / n[e]  # 0 .. 1 along each edge
            i = np.floor((lat[e] + t * dlat[e] - lat0) / h).astype(np.intp)
            j = np.floor((lon[e] + t * dlon[e] - lon0) / h).astype(np.intp)
            border[np.clip(i, -1, n_lat) + 1, np.clip(j, -1, n_lon) + 1] = True
        grown = border.copy()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                grown[1:-1, 1:-1] |= border[1 + di:n_lat + 1 + di, 1 + dj:n_lon + 1 + dj]
        clear = ~grown[1:-1, 1:-1]
        # A run of border-free cells along a row is free of borders (closed cells, the shared sides
        # too), so one mask holds for the whole run: test the centre of its first cell.
        first = clear.copy()
        first[:, 1:] &= ~clear[:, :-1]
        first, clear = first.ravel(), clear.ravel()
        starts = np.flatnonzero(first)
        ci, cj = np.divmod(starts, n_lon)
        centre_lon = np.mod(lon0 + (cj + 0.5) * h + np.pi, _TWO_PI) - np.pi
        run_mask = self._exact(lat0 + (ci + 0.5) * h, centre_lon, prefilter=True)
        table = np.full(n_lat * n_lon, _BORDER, np.uint64)
        table[clear] = run_mask[np.cumsum(first)[clear] - 1]
        return _Grid(lat0, lon0, 1.0 / h, n_lat, n_lon, table, pad_m, lat_ext)

    def _maybe_near_ecef(self, r_ecef: np.ndarray, margin_m: float) -> np.ndarray:
        """False only for ECEF points (n, 3) whose nadir is certainly more than ``margin_m`` from every polygon."""
        if self._cap is None:
            return np.ones(len(r_ecef), bool)
        centre, radius = self._cap
        angle = radius + _GEOCENTRIC_SLACK_RAD + margin_m / R_MEAN_M
        if angle >= np.pi / 2:
            return np.ones(len(r_ecef), bool)
        dot = r_ecef @ centre
        return (dot > 0) & (dot * dot >= np.cos(angle) ** 2 * np.einsum("ij,ij->i", r_ecef, r_ecef))


def _window(a: np.ndarray, ri: int, rj: int, op: np.ufunc) -> np.ndarray:
    """``op`` (minimum or maximum) over the (2 ri + 1, 2 rj + 1) window about each cell of the interior
    of ``a`` (padded by ri rows and rj columns on each side)."""
    return _slide(_slide(a, 2 * ri + 1, op).T, 2 * rj + 1, op).T


def _slide(a: np.ndarray, w: int, op: np.ufunc) -> np.ndarray:
    """``op`` over ``a[k:k + w]`` along the first axis, for k = 0 .. len(a) - w: O(log w) passes (doubling)."""
    p = 1
    while 2 * p <= w:
        a = op(a[:-p], a[p:])  # windows of 2p from windows of p
        p *= 2
    return op(a[: len(a) - (w - p)], a[w - p:])  # two windows of p, overlapping, make one of w


def _even_odd(px: np.ndarray, py: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd rule: True where (px, py) is inside the closed polygon with vertices (x, y).

    A ray from each point towards +x crosses edge (x1, y1)-(x2, y2) when py lies in [min y, max y)
    (the half-open rule counts a ray through a vertex once) and the edge is right of the point there.
    """
    inside = np.zeros(px.shape, bool)
    x1, y1 = float(x[-1]), float(y[-1])
    for x2, y2 in zip(x.tolist(), y.tolist()):
        if y1 != y2:  # a horizontal edge never crosses a horizontal ray under the half-open rule
            spans = (py < y1) != (py < y2)
            inside ^= spans & (px < x1 + (py - y1) * ((x2 - x1) / (y2 - y1)))
        x1, y1 = x2, y2
    return inside


def _bounding_cap(lats: list[np.ndarray], lons: list[np.ndarray]) -> tuple[np.ndarray, float] | None:
    """A spherical cap (unit centre, angular radius [rad]) holding every polygon, with its interior; None if none.

    Polygons are treated on the unit sphere with geodetic latitude as spherical latitude. Each edge is
    densified (straight in lon/lat) so the cap holds the edges as drawn (to a few metres). An interior
    point lies on a meridian arc between two boundary points (one north, one south of it), and a cap
    under a hemisphere holds every great-circle arc between two of its points, so it holds the interior.
    """
    if not lats:
        return None
    pts = []
    for lat, lon in zip(lats, lons):
        t = np.linspace(0.0, 1.0, 33)[:, None]
        la = lat + t * (np.roll(lat, -1) - lat)
        lo = lon + t * (np.roll(lon, -1) - lon)
        pts.append(np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1).reshape(-1, 3))
    p = np.concatenate(pts)
    c = p.mean(axis=0)
    norm = np.linalg.norm(c)
    if norm < 1e-6:
        return None
    c /= norm
    radius = float(np.arccos(np.clip(p @ c, -1.0, 1.0)).max()) + 1e-4
    return c, radius


def lowest_nation(mask: Any) -> np.ndarray:
    """Index (intp) of the lowest set bit of each uint64 ``mask`` — the first nation in order — or -1 for 0."""
    m = np.asarray(mask, np.uint64)
    flat = m.reshape(-1)  # arrays, not 0-d scalars: uint64 arithmetic wraps silently
    low = flat & (~flat + np.uint64(1))  # two's complement: the lowest set bit alone
    _, exp = np.frexp(low.astype(float))  # 2**i = 0.5 * 2**(i + 1), exact for i < 64
    return np.where(flat == 0, -1, exp - 1).astype(np.intp).reshape(m.shape)


def nations_in_mask(mask: int, names: Sequence[str]) -> list[str]:
    """The names whose bits are set in ``mask`` (bit ``i`` is ``names[i]``), in ``names`` order."""
    m = int(mask)
    return [name for i, name in enumerate(names) if (m >> i) & 1]


def sample_masks(territory: TerritoryMap, r_ecef: np.ndarray, alive: np.ndarray, *,
                 radius_m: float = DEBRIS_RADIUS_M, include_impact: bool = True) -> np.ndarray:
    """Nations (S, K) uint64 under each sample of predicted trajectories ``r_ecef`` (S, K, 3) [m ECEF].

    A sample's mask is that of its nadir point and, for ``radius_m > 0``, of the four points
    ``radius_m`` due north, south, east and west of it (north/south along the meridian, east/west
    along the parallel; meaningless within ``radius_m`` of a pole). Samples with ``alive`` (S, K)
    False give 0, except — with ``include_impact`` — the first dead sample after a live one:
    :func:`shieldwall.assess.prediction.predict_trajectories` holds a landed threat at its ground
    crossing point, so that sample is the predicted impact point.
    """
    r = np.asarray(r_ecef, float)
    alive = np.asarray(alive, bool)
    if r.ndim != 3 or r.shape[-1] != 3 or alive.shape != r.shape[:2]:
        raise ValueError(f"r_ecef {r.shape} and alive {alive.shape}: expected (S, K, 3) and (S, K)")
    used = alive.copy()
    if include_impact:
        used[:, 1:] |= alive[:, :-1] & ~alive[:, 1:]
    out = np.zeros(alive.size, np.uint64)
    idx = np.flatnonzero(used.ravel())
    pts = r.reshape(-1, 3)[idx]
    near = territory._maybe_near_ecef(pts, max(radius_m, 0.0))
    idx, pts = idx[near], pts[near]
    if not idx.size:
        return out.reshape(alive.shape)
    lat, lon, _ = ecef_to_geodetic(pts)
    if radius_m <= 0:
        out[idx] = territory._mask_flat(lat, lon)
        return out.reshape(alive.shape)
    acc = np.zeros(len(idx), np.uint64)
    quiet = territory._quiet(radius_m)
    if quiet is None:
        loud = np.arange(len(idx))
    else:  # a sample in a quiet cell has the cell's mask at all five points; outside the grid, none
        gi, cell = territory._grid_cells(lat, lon)
        q = quiet[cell]
        acc[gi[q]] = territory._grid.table[cell[q]]
        loud = gi[~q]
    la, lo = lat[loud], lon[loud]
    d = radius_m / R_MEAN_M
    dlon = d / np.maximum(np.cos(la), 1e-9)
    north, south = np.minimum(la + d, np.pi / 2), np.maximum(la - d, -np.pi / 2)
    m = territory._mask_flat(np.concatenate([la, north, south, la, la]),
                             np.concatenate([lo, lo, lo, lo + dlon, lo - dlon]))
    acc[loud] = np.bitwise_or.reduce(m.reshape(5, -1), axis=0)
    out[idx] = acc
    return out.reshape(alive.shape)


def footprint_masks(territory: TerritoryMap, r_ecef: np.ndarray, alive: np.ndarray, *,
                    radius_m: float = DEBRIS_RADIUS_M, include_impact: bool = True) -> np.ndarray:
    """Nations (S, K) uint64 under the debris footprint of an intercept at each sample of each trajectory.

    ``masks[s, k0]`` is the OR of :func:`sample_masks` over samples ``k0 .. K-1`` of threat ``s``: the
    ground track from the intercept point's nadir to the predicted impact, widened by ``radius_m``
    (the model is in the module docstring). Dead samples add nothing but the impact point (see
    :func:`sample_masks`); a sample at or after the impact has the impact point's mask or 0.
    """
    m = sample_masks(territory, r_ecef, alive, radius_m=radius_m, include_impact=include_impact)
    return np.bitwise_or.accumulate(m[:, ::-1], axis=1)[:, ::-1]


def classify_by_range(ground_range_m: Any, class_names: Sequence[str], nominal_range_km: Any) -> np.ndarray:
    """Index (intp, shape of ``ground_range_m``) of the threat class whose nominal range band holds each range.

    ``nominal_range_km`` (C, 2) are the classes' [min, max] ground ranges [km] (the catalog's
    ``nominal_range_km``), ``class_names`` (C,) their names. A range inside several bands (bounds
    included, e.g. 1,000 km between ``srbm`` [100, 1000] and ``mrbm`` [1000, 3000]) gets the narrowest
    band; a range inside none gets the band nearest to it; remaining ties go to the first class.
    """
    bands = np.asarray(nominal_range_km, float).reshape(-1, 2) * 1e3
    if len(bands) != len(class_names) or not len(bands):
        raise ValueError(f"{len(class_names)} class names and {len(bands)} range bands "
                         "(expected as many of each, at least one)")
    rng = np.asarray(ground_range_m, float)
    lo, hi = bands[:, 0], bands[:, 1]
    gap = np.maximum(np.maximum(lo - rng[..., None], rng[..., None] - hi), 0.0)  # 0 inside a band
    # Inside a band: key = width - (largest width + 1) < 0, narrowest least; outside every band: key = gap > 0.
    width = hi - lo
    key = np.where(gap == 0.0, width - width.max() - 1.0, gap)
    return np.argmin(key, axis=-1).astype(np.intp)
