"""The discrete-event engine (shieldwall.sim.engine): events run in (time, scheduling order), checked
against Python's stable sort; the horizon is honoured; events scheduled while running are ordered too."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.sim.engine import Engine

# Few distinct times, so ties are common.
times = st.lists(st.integers(0, 8).map(lambda t: t * 0.5), max_size=40)


@settings(max_examples=300, deadline=None)
@given(times, st.floats(-1.0, 5.0))
def test_events_run_in_time_order_ties_in_insertion_order(ts, horizon):
    engine = Engine()
    seen: list[tuple[float, int, float]] = []
    for i, t in enumerate(ts):
        engine.at(t, lambda i, t: seen.append((t, i, engine.now)), i, t)
    engine.run(horizon)
    expected = sorted(((t, i) for i, t in enumerate(ts) if t <= horizon), key=lambda x: x[0])  # stable
    assert [(t, i) for t, i, _ in seen] == expected
    assert all(now == t for t, _, now in seen)          # now is the time of the event being run
    assert engine.now == horizon
    # The rest runs on the next call, in the same order.
    engine.run(10.0)
    assert [(t, i) for t, i, _ in seen] == sorted(((t, i) for i, t in enumerate(ts)), key=lambda x: x[0])
    assert engine.now == 10.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.lists(st.integers(-3, 3), max_size=3)), min_size=1, max_size=15))
def test_events_scheduled_while_running_keep_the_order(plan):
    """Each event schedules children at offsets from now (negative offsets mean 'now'); the times run
    never go backwards, and among equal times events run in the order they were scheduled."""
    engine = Engine()
    run: list[tuple[float, int]] = []
    scheduled: list[tuple[float, int]] = []   # (time it will run at, scheduling sequence number)

    def schedule(t, children):
        seq = len(scheduled)
        scheduled.append((max(t, engine.now), seq))
        engine.at(t, fire, seq, children)

    def fire(seq, children):
        run.append((engine.now, seq))
        for offset in children:
            schedule(engine.now + offset, [])

    for t, children in plan:
        schedule(float(t), children)
    engine.run(100.0)
    assert run == sorted(scheduled)                          # (time, scheduling order) exactly
    assert all(a[0] <= b[0] for a, b in zip(run, run[1:]))


def test_stops_at_the_horizon_inclusive():
    engine = Engine()
    fired = []
    for t in (1.0, 2.0, 2.0, 3.0):
        engine.at(t, fired.append, t)
    engine.run(2.0)
    assert fired == [1.0, 2.0, 2.0] and engine.now == 2.0
    engine.run(2.5)
    assert fired == [1.0, 2.0, 2.0] and engine.now == 2.5
    # Scheduling in the past runs at the current time, after what is already due then.
    engine.at(0.5, fired.append, "late")
    engine.run(3.0)
    assert fired == [1.0, 2.0, 2.0, "late", 3.0]


def test_on_advance_reports_each_new_time_once():
    engine = Engine()
    advanced = []
    for t in (0.0, 1.0, 1.0, 4.0, 7.0):
        engine.at(t, lambda: None)
    engine.run(5.0, on_advance=advanced.append)
    assert advanced == [1.0, 4.0]           # not 0.0 (now already), not 7.0 (after the horizon)
    assert engine.now == 5.0


def test_empty_engine_advances_to_the_horizon():
    engine = Engine()
    engine.run(12.5)
    assert engine.now == 12.5
