"""The duplicate-engagement count: a launch by one nation while another nation's interceptors are still
on their way to the same threat (before their intercept plus the look), counted by hand."""

import pandas as pd

from shieldwall.analysis.metrics import _duplicate_engagements


def test_only_launches_before_another_nations_look_are_duplicates():
    launches = pd.DataFrame({
        "t_s":    [10.0, 20.0, 55.0, 70.0, 12.0, 30.0],
        "nation": ["a",  "a",  "b",  "b",  "a",  "c"],
        "threat": ["t1", "t1", "t1", "t1", "t2", ""],
        "value":  [50.0, 52.0, 90.0, 100.0, 40.0, 45.0],   # each launch's intercept time [s]
    })
    # t1: a fires twice (same nation: never a duplicate), its interceptors arrive at 50 and 52.
    # Look 8 s: b@55 comes before a's looks (58, 60): a duplicate; b@70 after them: shoot-look-shoot.
    assert _duplicate_engagements(launches, 8.0) == 1
    # No look time: b@55 fires after a's intercepts; nothing is a duplicate.
    assert _duplicate_engagements(launches, 0.0) == 0
    # A look longer than the raid: both of b's launches duplicate a's. t2 has one nation, and the
    # launch with no threat attributed is never counted.
    assert _duplicate_engagements(launches, 1000.0) == 2
