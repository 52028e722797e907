"""Decision-cycle latency: one planning node's cycle (threat evaluation, engagement windows, assignment)
for 300 threats in flight against 60 batteries, on one core.

Instance (deterministic for a ``--seed``): the medium example's six nations and 25 defended assets
(``examples/medium.yaml``, built with :func:`shieldwall.sim.build.asset_table` and
:func:`~shieldwall.sim.build.doctrine_spec`), 60 batteries of the built-in catalog's classes spread
around them (25 lower-tier, one at each asset; 15 mid-tier, 12 upper-tier and 8 naval-upper, all
delegated to the alliance node), and a raid of 300 missiles flown with the world model
(:func:`shieldwall.world.ballistic.plan_raid`) from the example's three launch boxes: 60 IRBMs from the
North Atlantic box, 120 MRBMs from the Norwegian Sea box and 120 SRBMs from the Baltic box, each at an
asset in its class's reach (aim points scattered within the asset's radius, a tenth of the SRBMs
lofted). Launch times are staggered so that at the decision time every missile is somewhere between
5 s after burnout and 20 s before impact (uniform over that part of its flight). Each missile's track is its true
state plus a Gaussian error drawn from its covariance: position sigma ``--pos-sigma-m`` and velocity
sigma ``--vel-sigma-ms`` per axis (default 200 m, 20 m/s), each track's pair scaled by a factor
log-uniform in [1/4, 1] (tracks of different maturity), with track times up to one report period
(2 s) old, so evaluation coasts them.

A cycle is ``evaluate(t, ids, x, P, t_state, assets, memo)`` followed by
``plan_cycle(ctx, ev, book, memo)`` (:mod:`shieldwall.c2.planner`), timed with ``time.perf_counter``
on a fresh :class:`PlanningContext` and :class:`EngagementBook` built outside the timed region:

- ``cold``: a fresh :class:`PredictionMemo`: all 300 predictions from scratch;
- ``warm``: the simulation's steady state: the same node ran the previous cycle one decision period
  (2 s) earlier (memo, book and inventory as that cycle left them: its orders are in the book), and
  the tracks have moved on by the period with small updates (each track's error is an AR(1) process,
  correlation 0.9 per period);
- ``warm_empty_book`` (in ``variants``): the warm memo, but a fresh book and inventory, so every
  ready pair is at stake again (the worst case for windows and assignment on a warm memo).

The breakdown times the two calls separately (``evaluation_ms``, ``plan_ms``) and, inside
``plan_cycle``, its calls to ``engagement_windows`` (``windows_ms``) and to the WTA ``solve``
(``assignment_ms``) through wrappers installed on the planner module's names at run time (nothing
in ``src`` changes); ``plan_other_ms`` is the rest of ``plan_cycle`` (trajectories, de-confliction,
order emission). The same wrappers report the WTA instance (batteries, threats, pairs with pk > 0)
and the solver that ran. ``orders`` counts the engagement orders (``Send`` outputs), ``ready_pairs``
the (battery, threat) pairs whose pk is positive in the instance. Every figure is a median over
``--repeats`` cycles (7; 3 with ``--quick``). ``variants`` repeats cold and warm with the doctrine's
solver set to ``fast`` and ``greedy`` (``auto`` is the headline), and once without a memo.

Prints one JSON object (``{"threats", "batteries", "cold_ms", "warm_ms", "max_ms" (the slowest cycle of
each), "evaluation_ms",
"plan_ms", "orders", "solver", "variants", "target_ms", "machine", ...}``); progress goes to stderr.
BLAS/OpenMP threads are pinned to one before NumPy loads.

    .venv/bin/python bench/decision_cycle.py --quick
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from shieldwall import geo  # noqa: E402
from shieldwall.c2 import planner  # noqa: E402
from shieldwall.c2.deconfliction import EngagementBook  # noqa: E402
from shieldwall.c2.node import Send  # noqa: E402
from shieldwall.c2.planner import PlanningContext, PredictionMemo, evaluate, plan_cycle  # noqa: E402
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec  # noqa: E402
from shieldwall.scenario.loader import builtin_catalog, parse_scenario  # noqa: E402
from shieldwall.sim.build import asset_table, doctrine_spec  # noqa: E402
from shieldwall.world.ballistic import plan_raid  # noqa: E402

MEDIUM = Path(__file__).resolve().parents[1] / "examples" / "medium.yaml"
TARGET_MS = 100.0
#: Decision time [s] (absolute; launches are placed before it).
T_DECISION_S = 2000.0
#: Batteries per interceptor class, and how far [km] from their anchor asset they stand.
BATTERY_MIX = (("lower-tier", 25, 20.0), ("mid-tier", 15, 60.0), ("upper-tier", 12, 150.0),
               ("naval-upper", 8, 0.0))
INVENTORY = {"lower-tier": 16, "mid-tier": 8, "upper-tier": 6, "naval-upper": 8}
#: Sea stations [deg] of the ship-based batteries (North Sea, Skagerrak, Kattegat, Baltic).
SEA_STATIONS = ((54.0, 3.0), (55.0, 5.5), (57.8, 8.5), (57.0, 11.3), (55.6, 16.2), (56.5, 18.0),
                (59.75, 21.0), (58.8, 20.0))
#: Launch boxes [deg]: (missile class, count, lat range, lon range, ground range band to the aim [km]).
LAUNCH_BOXES = (("irbm", 60, (39.5, 41.0), (-38.5, -36.0), (3000.0, 4600.0)),
                ("mrbm", 120, (68.0, 71.0), (-2.0, 4.0), (900.0, 2400.0)),
                ("srbm", 120, (56.0, 59.0), (18.5, 21.0), (150.0, 750.0)))
#: Track error correlation from one decision period to the next (small updates).
AR_CORRELATION = 0.9


# ------------------------------------------------------------------------------------------- instance

def _offset_deg(rng: np.random.Generator, lat_deg: float, lon_deg: float, max_km: float) -> tuple[float, float]:
    """A point uniform within ``max_km`` of (lat, lon) [deg] (flat-Earth offset, fine at these ranges)."""
    r_km = max_km * math.sqrt(rng.uniform())
    az = rng.uniform(0.0, 2.0 * math.pi)
    dlat = r_km * math.cos(az) / 111.2
    dlon = r_km * math.sin(az) / (111.2 * math.cos(math.radians(lat_deg)))
    return lat_deg + dlat, lon_deg + dlon


def build_batteries(assets: AssetTable, rng: np.random.Generator) -> list[BatterySpec]:
    """60 batteries of the built-in catalog's classes around the assets (:data:`BATTERY_MIX`)."""
    catalog = builtin_catalog().interceptors
    lat, lon, _ = geo.ecef_to_geodetic(assets.ecef)
    lat, lon = np.degrees(lat), np.degrees(lon)
    by_value = np.argsort(-assets.value, kind="stable")
    out = []
    for cls_name, count, spread_km in BATTERY_MIX:
        c = catalog[cls_name]
        for k in range(count):
            if cls_name == "naval-upper":
                b_lat, b_lon = SEA_STATIONS[k % len(SEA_STATIONS)]
                nation = assets.nations[int(np.argmin((lat - b_lat) ** 2 + (lon - b_lon) ** 2))]
            else:
                a = int(by_value[k % len(by_value)]) if cls_name != "lower-tier" else k % len(lat)
                b_lat, b_lon = _offset_deg(rng, lat[a], lon[a], spread_km)
                nation = assets.nations[a]
            out.append(BatterySpec(
                id=f"{cls_name}-{k + 1}", nation=nation, reports_to=f"{nation}-c2", authority="delegated",
                tier=c.tier, ecef=geo.geodetic_to_ecef(math.radians(b_lat), math.radians(b_lon), 0.0),
                burnout_speed_ms=c.burnout_speed_kms * 1e3, burn_time_s=c.burn_time_s, min_alt_m=c.min_alt_km * 1e3,
                max_alt_m=c.max_alt_km * 1e3, max_range_m=c.max_range_km * 1e3, reaction_time_s=c.reaction_time_s,
                pk=c.pk, divert_m=c.divert_km * 1e3, fire_channels=c.fire_channels, inventory=INVENTORY[cls_name],
                defends=None))
    return out


def fly_raid(assets: AssetTable, rng: np.random.Generator):
    """The raid's truth flights (:data:`LAUNCH_BOXES`), launched so that every missile is past burnout
    and not yet down at :data:`T_DECISION_S`. Returns (ephemeris, burn time (N,))."""
    catalog = builtin_catalog().missiles
    a_lat, a_lon, _ = geo.ecef_to_geodetic(assets.ecef)
    rows = []
    for cls_name, count, lat_box, lon_box, band_km in LAUNCH_BOXES:
        c = catalog[cls_name]
        n = 0
        while n < count:
            l_lat, l_lon = rng.uniform(*lat_box), rng.uniform(*lon_box)
            rng_km = geo.great_circle_m(math.radians(l_lat), math.radians(l_lon), a_lat, a_lon) / 1e3
            ok = np.flatnonzero((rng_km >= band_km[0]) & (rng_km <= band_km[1]))
            if not ok.size:
                continue
            a = int(rng.choice(ok, p=assets.value[ok] / assets.value[ok].sum()))
            aim = _offset_deg(rng, math.degrees(a_lat[a]), math.degrees(a_lon[a]), 0.8 * assets.radius_m[a] / 1e3)
            kind = "lofted" if cls_name == "srbm" and rng.uniform() < 0.1 else "minimum-energy"
            rows.append((l_lat, l_lon, *aim, c.burn_time_s, c.burnout_speed_max_kms * 1e3,
                         c.ballistic_coefficient_kgm2, kind))
            n += 1
    cols = list(zip(*rows))
    num = [np.array(x, float) for x in cols[:7]]
    kinds = list(cols[7])
    # Fly once to learn each flight's duration, then again with launch times staggered around it.
    first = plan_raid(*num[:4], 0.0, *num[4:], kinds)
    flight_s = first.impact_time_s - first.launch_time_s
    lo = num[4] + 5.0
    hi = np.maximum(flight_s - 20.0, lo + 1.0)
    tau = rng.uniform(lo, hi)
    return plan_raid(*num[:4], T_DECISION_S - tau, *num[4:], kinds), num[4]


def track_covariances(n: int, pos_sigma_m: float, vel_sigma_ms: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 6, 6) diagonal track covariances: the given sigmas scaled per track by a log-uniform factor
    in [1/4, 1]."""
    scale = np.exp(rng.uniform(math.log(0.25), 0.0, n))
    P = np.zeros((n, 6, 6))
    idx = np.arange(3)
    P[:, idx, idx] = ((pos_sigma_m * scale) ** 2)[:, None]
    P[:, idx + 3, idx + 3] = ((vel_sigma_ms * scale) ** 2)[:, None]
    return P


@dataclasses.dataclass
class Picture:
    """A node's track picture at one decision time."""

    t_s: float
    ids: np.ndarray
    x: np.ndarray
    P: np.ndarray
    t_state_s: np.ndarray


def pictures(eph, P: np.ndarray, period_s: float, rng: np.random.Generator) -> tuple[Picture, Picture]:
    """Track pictures at the decision time and one period later: truth (at each track's state time, up
    to a period old) plus an error drawn from ``P``, correlated :data:`AR_CORRELATION` between the two."""
    n = len(P)
    chol = np.linalg.cholesky(P)
    ids = np.arange(1, n + 1, dtype=np.int64)
    e0 = np.einsum("nij,nj->ni", chol, rng.standard_normal((n, 6)))
    w = np.einsum("nij,nj->ni", chol, rng.standard_normal((n, 6)))
    e1 = AR_CORRELATION * e0 + math.sqrt(1.0 - AR_CORRELATION ** 2) * w
    out = []
    for t_s, err in ((T_DECISION_S, e0), (T_DECISION_S + period_s, e1)):
        age = rng.uniform(0.0, period_s, n)
        x = np.empty((n, 6))
        for s in np.unique(np.round(age, 1)):  # truth at each track's own state time (0.1 s grid)
            rows = np.flatnonzero(np.round(age, 1) == s)
            r, v, in_flight, _ = eph.state(t_s - s)
            x[rows, :3], x[rows, 3:] = r[rows], v[rows]
        t_state = t_s - np.round(age, 1)
        out.append(Picture(t_s, ids, x + err, P.copy(), t_state))
    return out[0], out[1]


# ------------------------------------------------------------------------------------------- timing

class Probe:
    """Wrappers on the planner module's ``engagement_windows`` and ``solve``: time spent in each and the
    WTA instance of the last call. Installed for the whole run (a perf_counter pair per call)."""

    def __init__(self) -> None:
        self._windows, self._solve = planner.engagement_windows, planner.solve
        self.reset()
        planner.engagement_windows = self.windows
        planner.solve = self.solve

    def reset(self) -> None:
        self.windows_s = self.solve_s = 0.0
        self.instance: dict = {}

    def windows(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._windows(*args, **kwargs)
        finally:
            self.windows_s += time.perf_counter() - start

    def solve(self, problem, solver="auto", **kwargs):
        start = time.perf_counter()
        try:
            sol = self._solve(problem, solver, **kwargs)
        finally:
            self.solve_s += time.perf_counter() - start
        self.instance = {"batteries": int(problem.pk.shape[0]), "threats": int(problem.pk.shape[1]),
                         "pairs": int(np.count_nonzero(problem.pk > 0)), "solver_ran": sol.solver}
        return sol


@dataclasses.dataclass
class Cycle:
    evaluation_s: float
    plan_s: float
    windows_s: float
    assignment_s: float
    orders: int
    instance: dict
    threatening: int


def _context(batteries, assets, doctrine) -> tuple[PlanningContext, EngagementBook]:
    ctx = PlanningContext("alliance-bmdoc", batteries, assets, doctrine, np.zeros(len(batteries)))
    return ctx, EngagementBook(doctrine.kill_assessment_delay_s)


def one_cycle(pic: Picture, ctx, book, memo, assets, probe: Probe) -> Cycle:
    probe.reset()
    start = time.perf_counter()
    ev = evaluate(pic.t_s, pic.ids, pic.x, pic.P, pic.t_state_s, assets, memo)
    mid = time.perf_counter()
    out = plan_cycle(ctx, ev, book, memo)
    end = time.perf_counter()
    threatening = int(np.count_nonzero((ev.value_at_risk > 0) & (ev.p_hit >= planner.THREAT_P_MIN).any(axis=1)))
    return Cycle(mid - start, end - mid, probe.windows_s, probe.solve_s,
                 sum(isinstance(o, Send) for o in out), probe.instance, threatening)


def run_mode(mode: str, pics, batteries, assets, doctrine, repeats: int, probe: Probe) -> list[Cycle]:
    """``repeats`` timed cycles of ``mode`` ('cold', 'warm', 'warm_empty_book', 'no_memo'), each on
    fresh state built (and, for the warm modes, the previous cycle run) outside the timed region."""
    first, second = pics
    cycles = []
    for _ in range(repeats):
        ctx, book = _context(batteries, assets, doctrine)
        if mode == "cold":
            cycles.append(one_cycle(first, ctx, book, PredictionMemo(), assets, probe))
        elif mode == "no_memo":
            cycles.append(one_cycle(first, ctx, book, None, assets, probe))
        else:
            memo = PredictionMemo()
            one_cycle(first, ctx, book, memo, assets, probe)  # the previous cycle (untimed)
            if mode == "warm_empty_book":
                ctx, book = _context(batteries, assets, doctrine)
            cycles.append(one_cycle(second, ctx, book, memo, assets, probe))
    return cycles


def summarise(cycles: list[Cycle]) -> dict:
    med = lambda f: round(1e3 * statistics.median(f(c) for c in cycles), 2)  # noqa: E731
    last = cycles[-1]
    return {
        "ms": med(lambda c: c.evaluation_s + c.plan_s),
        "evaluation_ms": med(lambda c: c.evaluation_s),
        "plan_ms": med(lambda c: c.plan_s),
        "windows_ms": med(lambda c: c.windows_s),
        "assignment_ms": med(lambda c: c.assignment_s),
        "plan_other_ms": med(lambda c: c.plan_s - c.windows_s - c.assignment_s),
        "max_ms": round(1e3 * max(c.evaluation_s + c.plan_s for c in cycles), 2),
        "orders": last.orders,
        "threatening_tracks": last.threatening,
        "wta": last.instance,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--repeats", type=int, default=None, help="timed cycles per mode (default 7, 3 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pos-sigma-m", type=float, default=200.0, help="track position sigma per axis [m]")
    parser.add_argument("--vel-sigma-ms", type=float, default=20.0, help="track velocity sigma per axis [m/s]")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    if hasattr(os, "sched_setaffinity"):  # one core: the process stays on the first CPU it may use
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(args.seed)

    scenario = parse_scenario(yaml.safe_load(MEDIUM.read_text()), str(MEDIUM))
    assets = asset_table(scenario)
    base = doctrine_spec(scenario)
    batteries = build_batteries(assets, rng)
    start = time.perf_counter()
    eph, _ = fly_raid(assets, rng)
    print(f"  raid of {len(eph)} flown in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    P = track_covariances(len(eph), args.pos_sigma_m, args.vel_sigma_ms, rng)
    pics = pictures(eph, P, base.decision_period_s, rng)
    in_flight = int(eph.state(T_DECISION_S)[2].sum())

    probe = Probe()
    results: dict[str, dict] = {}
    for solver in ("auto", "fast", "greedy"):
        doctrine = dataclasses.replace(base, solver=solver)
        run_mode("cold", pics, batteries, assets, doctrine, 1, probe)  # warm-up: imports, caches
        modes = ("cold", "warm", "warm_empty_book") + (("no_memo",) if solver == "auto" else ())
        for mode in modes:
            results[f"{mode}/{solver}"] = s = summarise(run_mode(mode, pics, batteries, assets, doctrine, repeats,
                                                                 probe))
            print(f"  {solver:6s} {mode:16s} {s['ms']:8.1f} ms  (evaluation {s['evaluation_ms']:.1f}, windows "
                  f"{s['windows_ms']:.1f}, assignment {s['assignment_ms']:.1f}, other {s['plan_other_ms']:.1f}; "
                  f"{s['orders']} orders, WTA {s['wta']})", file=sys.stderr)

    cold, warm = results["cold/auto"], results["warm/auto"]
    tiers: dict[str, int] = {}
    for b in batteries:
        tiers[b.tier] = tiers.get(b.tier, 0) + 1
    print(json.dumps({
        "threats": len(eph),
        "batteries": len(batteries),
        "cold_ms": cold["ms"],
        "warm_ms": warm["ms"],
        "max_ms": {"cold": cold["max_ms"], "warm": warm["max_ms"]},
        "evaluation_ms": {"cold": cold["evaluation_ms"], "warm": warm["evaluation_ms"]},
        "plan_ms": {"cold": cold["plan_ms"], "warm": warm["plan_ms"]},
        "breakdown_ms": {m: {k: results[f"{m}/auto"][k] for k in ("evaluation_ms", "windows_ms", "assignment_ms",
                                                                    "plan_other_ms")}
                         for m in ("cold", "warm")},
        "plan_split": {m: {k: round(results[f"{m}/auto"][f"{k}_ms"] / results[f"{m}/auto"]["plan_ms"], 3)
                           for k in ("windows", "assignment", "plan_other")} for m in ("cold", "warm")},
        "orders": {"cold": cold["orders"], "warm": warm["orders"]},
        "ready_pairs": {"cold": cold["wta"].get("pairs", 0), "warm": warm["wta"].get("pairs", 0)},
        "wta_instance": {"cold": cold["wta"], "warm": warm["wta"]},
        "threatening_tracks": cold["threatening_tracks"],
        "in_flight": in_flight,
        "solver": "auto",
        "variants": {k: v for k, v in results.items() if k not in ("cold/auto", "warm/auto")},
        "target_ms": TARGET_MS,
        "meets_target": {"cold": cold["ms"] < TARGET_MS, "warm": warm["ms"] < TARGET_MS},
        "instance": {"battery_tiers": tiers, "pos_sigma_m": args.pos_sigma_m, "vel_sigma_ms": args.vel_sigma_ms,
                     "sigma_scale": "log-uniform [0.25, 1] per track", "decision_period_s": base.decision_period_s,
                     "launch_boxes": {c: n for c, n, *_ in LAUNCH_BOXES}},
        "repeats": repeats,
        "seed": args.seed,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
                    "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "threads": os.environ.get("OMP_NUM_THREADS"),
                    "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
