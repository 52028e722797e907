"""The pure C2 nodes driven by hand: battery firing rules, national approval delays, the engagement
book (de-confliction gate against brute-force distances, refunds, busy channels) and node purity."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.c2.battery import BatteryNode
from shieldwall.c2.deconfliction import SAME_THREAT_GATE_M, EngagementBook
from shieldwall.c2.national import ApprovalModel, NationalNode
from shieldwall.c2.node import WORLD, Audit, Record, Send, Timer
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.messages import EngagementOrder, EngagementStatus, LaunchCommand
from shieldwall.policy.rules import PolicyBook
from shieldwall.tracking.tracker import TrackerParams

DOCTRINE = DoctrineSpec(salvo_size=1, high_value_salvo_size=2, high_value_threshold=50.0, shoot_look_shoot=True,
                        kill_assessment_delay_s=8.0, allow_duplicate_engagements=False, decision_period_s=2.0)


def _spec(inventory=4, channels=1, authority="delegated"):
    return BatterySpec(id="b1", nation="n1", reports_to="n1-c2", authority=authority, tier="lower",
                       ecef=np.array([6.4e6, 0.0, 0.0]), burnout_speed_ms=1500.0, burn_time_s=10.0,
                       min_alt_m=5e3, max_alt_m=30e3, max_range_m=60e3, reaction_time_s=8.0, pk=0.8,
                       divert_m=2e3, fire_channels=channels, inventory=inventory, defends=None)


def _order(i=1, launch_s=100.0, intercept_s=140.0, shots=2, aim=(6.45e6, 0.0, 0.0)):
    return EngagementOrder(order_id=f"o{i}", issued_s=90.0, issuer="alliance", battery="b1", track=i,
                           track_state=np.zeros(6), aim_ecef=np.array(aim), intercept_s=intercept_s,
                           launch_s=launch_s, latest_launch_s=launch_s + 1.0, shots=shots)


def _statuses(out):
    return [o.msg.status for o in out if isinstance(o, Send) and isinstance(o.msg, EngagementStatus)]


def test_battery_fires_at_the_planned_time_and_reports():
    node = BatteryNode(_spec(), ("n1-c2", "alliance"))
    out = node.on_message(95.0, _order())
    assert out == [Timer(100.0, "o1")]
    out = node.on_timer(100.0, "o1")
    launches = [o.msg for o in out if isinstance(o, Send) and o.dest == WORLD]
    assert len(launches) == 1 and isinstance(launches[0], LaunchCommand) and launches[0].shots == 2
    assert sorted(o.dest for o in out if isinstance(o, Send) and o.dest != WORLD) == ["alliance", "n1-c2"]
    assert _statuses(out) == ["launched", "launched"]
    assert node.inventory == 2


def test_battery_late_order_expires_and_stock_and_channels_limit():
    node = BatteryNode(_spec(inventory=3, channels=1), ("alliance",))
    node.on_message(200.0, _order(1, launch_s=100.0))          # arrives after its window closed
    assert _statuses(node.on_timer(200.0, "o1")) == ["expired"]
    node.on_message(95.0, _order(2, launch_s=100.0, intercept_s=140.0, shots=2))
    node.on_timer(100.0, "o2")
    node.on_message(101.0, _order(3, launch_s=110.0, intercept_s=150.0, shots=2))
    assert _statuses(node.on_timer(110.0, "o3")) == ["no_channel"]  # its one channel is busy until 140 s
    node.on_message(141.0, _order(4, launch_s=145.0, intercept_s=180.0, shots=2))
    out = node.on_timer(145.0, "o4")
    assert [o.msg.shots for o in out if isinstance(o, Send) and o.dest == WORLD] == [1]  # one round left
    node.on_message(181.0, _order(5, launch_s=185.0, intercept_s=220.0))
    assert _statuses(node.on_timer(185.0, "o5")) == ["no_inventory"]


def _national(approval: ApprovalModel, seed: int = 0) -> NationalNode:
    """A national node with no batteries of its own to plan for, deciding on alliance orders."""
    return NationalNode("n1-c2", "n1", "alliance", planner=None, tracker_params=TrackerParams(), report_period_s=2.0,
                        approval=approval, policy=PolicyBook(("n1",), {}), rng=np.random.default_rng(seed))


def test_national_approval_delay_is_lognormal_with_the_scenario_moments():
    node = _national(ApprovalModel(30.0, 10.0), seed=3)
    draws = np.array([node.approval_delay_s() for _ in range(20000)])
    assert abs(draws.mean() - 30.0) < 4 * 10.0 / np.sqrt(len(draws))
    assert abs(draws.std() - 10.0) < 0.3
    assert (draws > 0).all()


def test_national_node_approves_in_time_or_lets_expire():
    node = _national(ApprovalModel(5.0, 0.0))
    out = node.on_message(90.0, _order(1, launch_s=100.0))
    timer = next(o for o in out if isinstance(o, Timer))
    assert timer.t_s == pytest.approx(95.0)
    out = node.on_timer(timer.t_s, timer.key)
    assert [o.kind for o in out if isinstance(o, Record)] == ["approved"]
    assert [o.dest for o in out if isinstance(o, Send)] == ["b1"]
    out = node.on_message(99.0, _order(2, launch_s=100.0))
    timer = next(o for o in out if isinstance(o, Timer))
    out = node.on_timer(timer.t_s, timer.key)   # 104 s > latest launch 101 s
    assert [o.kind for o in out if isinstance(o, Record)] == ["expired"]
    assert _statuses(out) == ["expired"]


def test_an_approval_past_its_deadline_is_a_denial_and_the_order_is_never_fired():
    # Decisions take 30 s (no spread); the deadline is 10 s: every order is denied at the deadline.
    node = _national(ApprovalModel(30.0, 0.0, deadline_s=10.0))
    out = node.on_message(90.0, _order(1, launch_s=200.0))
    timer = next(o for o in out if isinstance(o, Timer))
    assert timer.t_s == pytest.approx(100.0)
    out = node.on_timer(timer.t_s, timer.key)
    assert not [o for o in out if isinstance(o, Send) and o.dest == "b1"]   # never reaches the battery
    assert _statuses(out) == ["denied"]
    audit = next(o for o in out if isinstance(o, Audit))
    assert (audit.kind, audit.rule) == ("denied", "approval:n1-c2:deadline")


def test_denials_come_at_the_scenario_rate():
    node = _national(ApprovalModel(5.0, 0.0, denial_rate=0.3), seed=11)
    n, denied = 2000, 0
    for k in range(n):
        out = node.on_message(0.0, _order(k, launch_s=100.0))
        timer = next(o for o in out if isinstance(o, Timer))
        denied += _statuses(node.on_timer(timer.t_s, timer.key)) == ["denied"]
    # Binomial(2000, 0.3): sd = sqrt(n p (1 - p)) = 20.5 orders.
    assert abs(denied - 0.3 * n) < 4 * np.sqrt(n * 0.3 * 0.7)


def _straight_tracks(rng):
    """Five tracks flying straight lines sampled every 2 s for 100 s: (times (50,), positions (5, 50, 3))."""
    times = np.arange(0.0, 100.0, 2.0)
    return times, rng.normal(size=(5, 1, 3)) * 50e3 + rng.normal(size=(5, 1, 3)) * 1e3 * times[None, :, None]


def _others_engage(book, rng, times, tracks, spread_m):
    """Three other nodes' launched engagements, each aimed within ``spread_m`` of a random track's
    position at its intercept time; returns their (intercept time, aim point)."""
    engagements = []
    for i in range(3):
        when = float(rng.choice(times))
        aim = tracks[rng.integers(5), int(when / 2.0)] + rng.normal(size=3) * spread_m
        book.observe(EngagementStatus(f"x{i}", 0.0, "other", "n2", -1, "launched", aim, when, 1))
        engagements.append((when, aim))
    return engagements


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_engaged_mask_matches_brute_force_distances(seed):
    rng = np.random.default_rng(seed)
    book = EngagementBook(8.0)
    times, tracks = _straight_tracks(rng)
    engagements = _others_engage(book, rng, times, tracks, 20e3)
    mask = book.engaged_mask(np.arange(5), times, tracks)
    expected = [any(np.linalg.norm(tracks[t, int(w / 2.0)] - a) < SAME_THREAT_GATE_M for w, a in engagements)
                for t in range(5)]
    assert mask.tolist() == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_engaged_mask_gates_on_track_uncertainty_and_tracks_born_since_the_order(seed):
    rng = np.random.default_rng(seed)
    book = EngagementBook(8.0)
    times, tracks = _straight_tracks(rng)
    sig_p, sig_v = rng.uniform(100.0, 3000.0, 5), rng.uniform(1.0, 60.0, 5)
    P = np.zeros((5, 6, 6))
    P[:, :3, :3] = (sig_p ** 2)[:, None, None] * np.eye(3)
    P[:, 3:, 3:] = (sig_v ** 2)[:, None, None] * np.eye(3)
    others, own = _others_engage(book, rng, times, tracks, 8e3), []
    # Own orders on track 1 (which then knew tracks 0-2) and on track 9 (which knew 9 and 0): tracks born
    # since an order may be its object tracked anew; tracks it knew are others.
    for i, (track, known) in enumerate(((1, (0, 1, 2)), (9, (9, 0)))):
        when = float(rng.choice(times))
        aim = tracks[rng.integers(5), int(when / 2.0)] + rng.normal(size=3) * 8e3
        book.add_order(dataclasses.replace(_order(10 + i, intercept_s=when, aim=aim), track=track), np.array(known))
        own.append((track, known, when, aim))
    mask = book.engaged_mask(np.arange(5), times, tracks, P, 0.0)

    def within(t, when, aim):  # gate: 3 sigma of track and aim (RSS of both), in [5, 25] km
        sigma = np.sqrt(3 * sig_p[t] ** 2 + 3 * (when * sig_v[t]) ** 2)
        gate = min(max(3.0 * np.sqrt(2.0) * sigma, 5e3), 25e3)
        return np.linalg.norm(tracks[t, int(when / 2.0)] - aim) < gate

    expected = [t == 1 or any(within(t, w, a) for w, a in others)
                or any(within(t, w, a) for track, known, w, a in own if t != track and t not in known)
                for t in range(5)]
    assert mask.tolist() == expected


def test_book_refunds_failed_orders_and_counts_busy_channels():
    book = EngagementBook(8.0)
    book.add_order(_order(1, intercept_s=140.0, shots=2))
    book.add_order(_order(2, intercept_s=160.0, shots=1))
    assert book.busy_channels(["b1", "b2"], 100.0).tolist() == [2, 0]
    assert book.busy_channels(["b1"], 150.0).tolist() == [1]
    failed = book.observe(EngagementStatus("o2", 101.0, "b1", "n1", 2, "expired", np.zeros(3), 160.0, 0))
    assert failed is not None and failed.shots == 1
    assert book.observe(EngagementStatus("o1", 101.0, "b1", "n1", 1, "launched", np.zeros(3), 140.0, 2)) is None
    assert book.busy_channels(["b1"], 100.0).tolist() == [1]


def test_node_logic_is_pure():
    """No node module touches the wall clock, sockets, threads or global randomness."""
    forbidden = {"time", "socket", "asyncio", "threading", "random", "datetime", "os", "subprocess"}
    for path in (Path(__file__).resolve().parents[2] / "src" / "shieldwall" / "c2").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)


def test_prediction_memo_carries_small_changes_and_repredicts_large_ones():
    """A coasted or slightly updated track carries its prediction (agreeing with a fresh one to a small
    fraction of the impact spread, trajectory included); a state moved by many sigma is predicted afresh."""
    from shieldwall.assess.prediction import predict_impact, predict_trajectories
    from shieldwall.c2.planner import INTEGRATION_STEP_S, PREDICTION_STEP_S, PredictionMemo
    from shieldwall.geo import enu_basis, geodetic_to_ecef
    from shieldwall.tracking.ekf import predict

    lat, lon = np.radians([55.0, 58.0]), np.radians([15.0, 5.0])
    r = geodetic_to_ecef(lat, lon, np.array([150e3, 250e3]))
    v = np.einsum("ti,tij->tj", np.array([[1500.0, -800.0, 300.0], [-1200.0, 900.0, 100.0]]), enu_basis(lat, lon))
    x0 = np.concatenate([r, v], axis=-1)
    P0 = np.broadcast_to(np.diag([200.0**2] * 3 + [5.0**2] * 3), (2, 6, 6)).copy()
    memo = PredictionMemo()
    ids = np.array([7, 9])
    assets = AssetTable(("a",), ("n1",), np.zeros((1, 3)), np.ones(1), np.ones(1))
    first, _ = memo.impacts(ids, x0, P0, 100.0, assets)
    x1, P1 = predict(x0, P0, 4.0, 0.0)
    x1[:, :3] += 50.0                                    # a small update
    carried, _ = memo.impacts(ids, x1, P1, 104.0, assets)
    fresh = predict_impact(x1, P1, 104.0, step_s=INTEGRATION_STEP_S)
    spread = np.sqrt(np.trace(fresh.cov_en_m2, axis1=1, axis2=2))
    assert np.all(np.linalg.norm(carried.impact_ecef - fresh.impact_ecef, axis=-1) < 0.02 * spread)
    assert np.all(np.linalg.norm(carried.impact_ecef - first.impact_ecef, axis=-1) > 1.0)   # it moved
    times, paths, alive = memo.trajectories(np.arange(2), 104.0)
    t_ref, p_ref, a_ref = predict_trajectories(x1, 104.0, float(np.max(fresh.t_impact_s) - 104.0) + PREDICTION_STEP_S,
                                               PREDICTION_STEP_S, integration_step_s=INTEGRATION_STEP_S)
    k = min(len(times), len(t_ref))
    np.testing.assert_allclose(times[:k], t_ref[:k])
    both = alive[:, :k] & a_ref[:, :k]
    assert np.linalg.norm(paths[:, :k] - p_ref[:, :k], axis=-1)[both].max() < 20.0
    moved = x1.copy()
    moved[0, :3] += 20 * 200.0
    again, _ = memo.impacts(ids, moved, P1, 104.0, assets)
    direct = predict_impact(moved[:1], P1[:1], 104.0, step_s=INTEGRATION_STEP_S)
    np.testing.assert_array_equal(again.impact_ecef[0], direct.impact_ecef[0])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_engagement_quality_matches_sampled_position_spread(seed):
    """The linear sigma at intercept equals the RSS spread of positions flown on by sampled velocities."""
    from shieldwall.c2.planner import ENGAGEMENT_QUALITY_SIGMAS, _engagement_quality

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, 6)) * np.array([100.0] * 3 + [3.0] * 3)[:, None]
    P = (a @ a.T)[None]
    tgo = rng.uniform(0.0, 200.0, size=(1, 1))
    samples = rng.multivariate_normal(np.zeros(6), P[0], size=20000)
    spread = np.sqrt(np.mean(np.sum((samples[:, :3] + tgo[0, 0] * samples[:, 3:]) ** 2, axis=1)))
    limit = ENGAGEMENT_QUALITY_SIGMAS * spread
    assert _engagement_quality(P, tgo, np.array([limit * 1.05]))[0, 0]
    assert not _engagement_quality(P, tgo, np.array([limit * 0.95]))[0, 0]


def test_duplicate_tracks_of_one_object_are_flagged_once():
    from shieldwall.c2.planner import SAME_OBJECT_M, _duplicates

    t = np.arange(40.0)[None, :, None]
    base = np.array([6.5e6, 0.0, 0.0]) + t * np.array([0.0, 2000.0, -500.0])
    paths = np.concatenate([base, base + SAME_OBJECT_M / 3, base + np.array([0.0, 0.0, 60e3]), base + SAME_OBJECT_M / 2])
    alive = np.ones(paths.shape[:2], bool)
    assert _duplicates(paths, alive).tolist() == [False, True, False, True]
    alive[1] = False   # a track that is already down shares no flight with the others
    assert _duplicates(paths, alive).tolist() == [False, False, False, True]


def test_cycle_gate_runs_a_cycle_exactly_when_something_could_have_changed():
    """Each reason to plan (refresh time, a battery coming due, a channel freeing, new track numbers,
    a changed book or inventory) makes the gate run the cycle; with none of them it skips."""
    from shieldwall.c2.planner import DUE_MARGIN_S, REFRESH_S, CycleGate, PlanningContext

    assets = AssetTable(("a",), ("n1",), np.zeros((1, 3)), np.ones(1), np.ones(1))
    ctx = PlanningContext("alliance", [_spec()], assets, DOCTRINE, extra_delay_s=np.zeros(1))
    book, gate, ids = EngagementBook(8.0), CycleGate(), np.array([3, 7])
    assert gate.needed(0.0, ids, book, ctx)                       # never ran
    ctx.next_due_s = 100.0
    gate.ran(0.0, ids, book, ctx)
    step = 0.5 * REFRESH_S
    assert not gate.needed(step, ids, book, ctx)
    assert gate.needed(REFRESH_S, ids, book, ctx)                 # refresh
    assert gate.needed(step, np.array([3, 8]), book, ctx)         # a new track number
    ctx.next_due_s = step + DUE_MARGIN_S
    assert gate.needed(step, ids, book, ctx)                      # a battery comes due within the margin
    ctx.next_due_s = 100.0
    ctx.inventory[0] -= 1
    assert gate.needed(step, ids, book, ctx)                      # inventory moved
    ctx.inventory[0] += 1
    book.add_order(_order(intercept_s=step + DUE_MARGIN_S + 0.5 * REFRESH_S))
    assert gate.needed(step, ids, book, ctx)                      # the book moved
    gate.ran(step, ids, book, ctx)
    assert not gate.needed(step + 0.25 * REFRESH_S, ids, book, ctx)
    assert gate.needed(step + 0.75 * REFRESH_S, ids, book, ctx)  # its fire channel frees within the margin
