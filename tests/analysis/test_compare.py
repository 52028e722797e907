"""``shieldwall compare``: variants as scenario transforms, the statistics, the direction of the
integrated-versus-national-only difference, the JSON shape, determinism and the HTML report.

References: the variants are checked field by field against the rules they implement; the confidence
intervals against ``scipy.stats.t.interval`` and a closed form; the direction test runs a scenario built
(``shared-warning.yaml``) so that only another nation's radar gives the target's battery time to fire;
burden figures against counts taken directly from the run's event log.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import shieldwall
from shieldwall.analysis.compare import (INFO_KINDS, METRICS, VariantError, apply_variant, burden, compare,
                                         describe_variant, paired_difference, plan, run_once, summarize, verdict)
from shieldwall.cli import app
from shieldwall.scenario.loader import load_scenario
from shieldwall.scenario.schema import AuthorityChange, Battery, Link, Overflight, Policy, SharingRule

ROOT = Path(__file__).resolve().parents[2]
MEDIUM = ROOT / "examples" / "medium.yaml"
SMALL = ROOT / "examples" / "small.yaml"
SHARED_WARNING = Path(__file__).with_name("shared-warning.yaml")
STAT_KEYS = {"mean", "ci95", "sd", "n"}


# --------------------------------------------------------------------------------------------------
# Variants.


@pytest.fixture(scope="module")
def medium():
    """The medium example with policies added, so that every transform has rules to act on."""
    s = load_scenario(MEDIUM)
    policies = [
        Policy(nation="nordmark", sharing=[SharingRule(info="tracks", to=["vestria"], coarsen_m=500.0)],
               overflight=Overflight(intercepts_by="nobody"), engage_classes=["srbm"],
               authority_changes=[AuthorityChange(to="delegated", at_s=300.0)]),
        Policy(nation="vestria", sharing=[SharingRule(info="plots", to="nobody")]),
    ]
    return s.model_copy(update={"policies": policies})


def _policy(s, nation):
    return next((p for p in s.policies if p.nation == nation), None)


def _shares_nothing(policy) -> bool:
    return policy is not None and sorted(r.info for r in policy.sharing) == sorted(INFO_KINDS) and all(
        r.to == "nobody" for r in policy.sharing)


def test_scenario_variant_is_the_scenario(medium):
    assert apply_variant(medium, "scenario") == medium


def test_integrated_delegates_everything_and_keeps_sovereignty(medium):
    v = apply_variant(medium, "integrated")
    assert [b.id for b in v.batteries] == [b.id for b in medium.batteries]
    assert all(b.authority == "delegated" for b in v.batteries)
    assert [b.defends for b in v.batteries] == [b.defends for b in medium.batteries]   # national law kept
    assert any(b.defends for b in v.batteries)
    assert [p.nation for p in v.policies] == ["nordmark", "vestria"]
    for p, before in zip(v.policies, medium.policies):
        assert p.sharing == [] and p.authority_changes == []   # no rule: shared with the whole alliance
        assert p.overflight == before.overflight and p.engage_classes == before.engage_classes
    assert medium.batteries[0].authority == "national_approval"   # the input is left as it was


def test_national_only_leaves_each_nation_alone(medium):
    v = apply_variant(medium, "national-only")
    assert all(b.authority == "national_only" and b.defends == [b.nation] for b in v.batteries)
    assert [p.nation for p in v.policies] == [n.id for n in medium.nations]   # one policy per nation
    assert all(_shares_nothing(p) and p.authority_changes == [] for p in v.policies)
    nm = _policy(v, "nordmark")
    assert nm.overflight.intercepts_by == "nobody" and nm.engage_classes == ["srbm"]


def test_no_sharing_withholds_one_nations_data_only(medium):
    v = apply_variant(medium, "no-sharing:osterland")   # a nation with no policy of its own
    assert v.batteries == medium.batteries
    assert _shares_nothing(_policy(v, "osterland"))
    assert _policy(v, "nordmark") == _policy(medium, "nordmark") and _policy(v, "vestria") == _policy(medium, "vestria")
    w = apply_variant(medium, "no-sharing:nordmark")   # a nation with a policy: only its sharing changes
    nm = _policy(w, "nordmark")
    assert _shares_nothing(nm)
    assert nm.overflight == _policy(medium, "nordmark").overflight
    assert nm.authority_changes == _policy(medium, "nordmark").authority_changes
    assert len(w.policies) == len(medium.policies)


def test_delegated_changes_one_nations_batteries(medium):
    v = apply_variant(medium, "delegated:hanselia")
    for b, before in zip(v.batteries, medium.batteries):
        assert b.authority == ("delegated" if b.nation == "hanselia" else before.authority)
        assert b.defends == before.defends
    assert any(b.nation == "hanselia" and b.authority != "delegated" for b in medium.batteries)


def test_variants_chain_with_plus(medium):
    v = apply_variant(medium, "integrated+no-sharing:vestria")
    assert all(b.authority == "delegated" for b in v.batteries)
    assert _shares_nothing(_policy(v, "vestria")) and _policy(v, "nordmark").sharing == []
    assert "then" in describe_variant("integrated+no-sharing:vestria")


@pytest.mark.parametrize(("name", "words"), [
    ("everyone", ["unknown variant 'everyone'", "integrated", "national-only", "no-sharing:NATION"]),
    ("no-sharing:atlantis", ["unknown nation 'atlantis'", "nordmark", "polderland"]),
    ("delegated:", ["unknown nation ''"]),
    ("national-only:nordmark", ["unknown variant"]),
])
def test_unknown_variants_and_nations_are_one_line_errors(medium, name, words):
    with pytest.raises(VariantError) as info:
        apply_variant(medium, name)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_plan_checks_repeats_and_runs(medium):
    with pytest.raises(VariantError, match="twice"):
        plan(medium, ["integrated", "integrated"])
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match=">= 2"):
            plan(medium, ["integrated"], bad)
    p = plan(medium, ["scenario", "no-sharing:vestria"], 3, with_burden=True)
    assert p.seeds == (medium.settings.seed, medium.settings.seed + 1, medium.settings.seed + 2)
    # One withheld variant per nation, reusing one already asked for.
    assert p.extra == tuple(f"no-sharing:{n.id}" for n in medium.nations if n.id != "vestria")
    assert plan(medium, ["integrated"], 2, with_burden=True).extra[0] == "integrated+no-sharing:nordmark"


# --------------------------------------------------------------------------------------------------
# Statistics.


def test_interval_matches_scipy_and_a_closed_form():
    x = [12.0, 15.5, 9.0, 14.0, 11.5, 13.0, 10.0]
    s = summarize(x)
    lo, hi = stats.t.interval(0.95, df=len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert s["n"] == 7 and s["mean"] == pytest.approx(np.mean(x), abs=1e-6)
    assert s["sd"] == pytest.approx(np.std(x, ddof=1), abs=1e-6)
    assert s["ci95"] == pytest.approx([lo, hi], abs=1e-6)
    # Two values 0 and 2: mean 1, sd sqrt(2), standard error 1, t(0.975, 1) = 12.7062 (t tables).
    two = summarize([0.0, 2.0])
    assert two["sd"] == pytest.approx(math.sqrt(2), abs=1e-6)
    assert two["ci95"] == pytest.approx([1 - 12.7062047, 1 + 12.7062047], abs=1e-6)


def test_summaries_skip_missing_values_and_degenerate_cases():
    assert summarize([3.0, None, 5.0])["n"] == 2
    assert summarize([4.0, 4.0, 4.0]) == {"mean": 4.0, "ci95": [4.0, 4.0], "sd": 0.0, "n": 3}
    assert summarize([7.0]) == {"mean": 7.0, "ci95": None, "sd": None, "n": 1}
    assert summarize([None, None]) == {"mean": None, "ci95": None, "sd": None, "n": 0}


def test_paired_difference_is_the_difference_over_paired_seeds():
    base = [100.0, 250.0, None, 80.0, 120.0]
    other = [160.0, 250.0, 90.0, 140.0, None]
    d = paired_difference(other, base)
    paired = [(o, b) for o, b in zip(other, base) if o is not None and b is not None]
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(np.mean([o for o, _ in paired]) - np.mean([b for _, b in paired]), abs=1e-6)
    diffs = [o - b for o, b in paired]
    assert d["ci95"] == pytest.approx(list(stats.t.interval(0.95, 2, loc=np.mean(diffs), scale=stats.sem(diffs))),
                                      abs=1e-6)


def test_burden_reads_the_base_runs_and_withheld_variant():
    s = load_scenario(SHARED_WARNING)

    def run(lost, watch_kills, tracks=None):
        nations = {"watch": {"assets_defended_for_others": watch_kills, "interceptors_for_others": 2 * watch_kills,
                             "tracks_contributed": tracks},
                   "vale": {"assets_defended_for_others": 0, "interceptors_for_others": 0, "tracks_contributed": None}}
        return {"defended_value_lost": lost, "nations": nations}

    runs = {"integrated": [run(0.0, 3, 40), run(100.0, 1, 44)],
            "integrated+no-sharing:watch": [run(100.0, 0), run(100.0, 0)],
            "integrated+no-sharing:vale": [run(0.0, 3), run(100.0, 1)]}
    b = burden(s, runs, "integrated")
    assert set(b) == {"watch", "vale"}
    assert b["watch"]["assets_defended_for_others"]["mean"] == 2.0
    assert b["watch"]["interceptors_for_others"]["mean"] == 4.0
    assert b["watch"]["tracks_contributed"]["mean"] == 42.0 and b["vale"]["tracks_contributed"] is None
    assert b["watch"]["marginal_value_of_sharing"]["mean"] == 50.0   # (100 - 0 + 100 - 100) / 2
    assert b["vale"]["marginal_value_of_sharing"] == {"mean": 0.0, "ci95": [0.0, 0.0], "sd": 0.0, "n": 2}


def test_verdict_words_follow_the_sign():
    assert verdict("integrated", "national-only", {"mean": 312.0, "ci95": [250.0, 374.0]}) == (
        "integrated loses 312.0 less defended value than national-only (95 % CI 250.0 to 374.0)")
    assert verdict("a", "b", {"mean": -20.0, "ci95": [-30.0, -10.0]}) == (
        "a loses 20.0 more defended value than b (95 % CI 10.0 to 30.0)")


# --------------------------------------------------------------------------------------------------
# Runs: the direction of the difference, and burden figures against the event log.


def test_shared_tracks_make_integrated_defence_lose_less_than_national_only():
    scenario = load_scenario(SHARED_WARNING)
    result = compare(scenario, ["integrated", "national-only"], runs=3, jobs=1)
    integrated, alone = (result["variants"][v]["defended_value_lost"] for v in ("integrated", "national-only"))
    assert integrated["mean"] < alone["mean"]
    diff = result["differences"]["national-only"]["defended_value_lost"]
    assert diff["n"] == 3 and diff["mean"] == pytest.approx(alone["mean"] - integrated["mean"], abs=1e-6)
    # The reason: alone, Vale's own radar sees the missiles too late for its upper-tier battery, so
    # nothing is ever ordered; with Watch's tracks the alliance orders Vale's battery in midcourse.
    assert result["variants"]["national-only"]["interceptors_expended"]["mean"] == 0
    assert result["variants"]["national-only"]["decision_latency_s"]["n"] == 0
    seed = scenario.settings.seed
    alone_run = shieldwall.run(apply_variant(scenario, "national-only"), seed=seed)
    assert not (alone_run.events["kind"] == "order").any()
    assert alone_run.metrics["leakers"] == alone_run.metrics["threats"] == 3
    shared_run = shieldwall.run(apply_variant(scenario, "integrated"), seed=seed)
    fired = shared_run.events[shared_run.events["kind"] == "interceptor_launch"]
    assert set(fired["battery"]) == {"vale-ut"}
    assert shared_run.metrics["defended_value_lost"] < alone_run.metrics["defended_value_lost"]


def test_burden_counts_intercepts_for_others_from_the_event_log():
    """Watch gets a battery of its own within reach of the raid on Vale (and Vale loses hers): every
    Watch intercept and launch is then for another nation."""
    s = load_scenario(SHARED_WARNING)
    watch_ut = Battery.model_validate({"id": "watch-ut", "class": "upper-tier", "nation": "watch", "lat_deg": 40.1,
                                       "lon_deg": -6.5, "inventory": 8, "reports_to": "watch-c2"})
    s = s.model_copy(update={"batteries": [watch_ut],
                             "links": [*s.links, Link(between=("watch-ut", "watch-c2"), latency_ms=4)]})
    result = compare(s, ["integrated"], runs=2, with_burden=True)
    assert set(result) == {"variants", "differences", "runs", "seeds", "scenario", "burden"}
    assert result["differences"] == {}
    kills, launches = [], []
    for seed in result["seeds"]:
        ev = shieldwall.run(apply_variant(s, "integrated"), seed=seed).events
        kills.append(int(((ev["kind"] == "intercept") & (ev["nation"] == "watch")).sum()))
        launches.append(int(((ev["kind"] == "interceptor_launch") & (ev["nation"] == "watch")).sum()))
    watch = result["burden"]["watch"]
    assert sum(kills) > 0
    assert watch["assets_defended_for_others"]["mean"] == pytest.approx(np.mean(kills))
    assert watch["interceptors_for_others"]["mean"] == pytest.approx(np.mean(launches))
    assert result["burden"]["vale"]["interceptors_for_others"]["mean"] == 0
    for nation in ("watch", "vale"):
        assert set(result["burden"][nation]) == {"assets_defended_for_others", "interceptors_for_others",
                                                 "tracks_contributed", "marginal_value_of_sharing"}
        assert set(result["burden"][nation]["marginal_value_of_sharing"]) == STAT_KEYS


def test_run_once_keeps_the_compared_metrics():
    s = load_scenario(SHARED_WARNING)
    full = shieldwall.run(s, seed=5).metrics
    small = run_once(s, 5)
    for name, key in METRICS.items():
        assert small[name] == full[key]
    assert set(small["nations"]) == {"watch", "vale"}


# --------------------------------------------------------------------------------------------------
# The command: JSON shape, determinism over --jobs, the report, errors.


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    args = ["compare", str(SMALL), "--variant", "integrated", "--variant", "national-only", "--runs", "2", "--json"]
    one = CliRunner().invoke(app, [*args, "--jobs", "1", "--out", str(out)])
    two = CliRunner().invoke(app, [*args, "--jobs", "2"])
    return one, two, out


def test_json_shape(cli_runs):
    one, _, _ = cli_runs
    assert one.exit_code == 0, one.output
    data = json.loads(one.stdout)
    assert set(data) == {"variants", "differences", "runs", "seeds", "scenario"}
    assert data["runs"] == 2 and data["seeds"] == [1, 2] and data["scenario"] == "small"
    assert list(data["variants"]) == ["integrated", "national-only"]
    for figures in data["variants"].values():
        assert set(figures) == set(METRICS)
        for s in figures.values():
            assert set(s) == STAT_KEYS
            assert s["ci95"] is None or (len(s["ci95"]) == 2 and s["ci95"][0] <= s["mean"] <= s["ci95"][1])
    assert list(data["differences"]) == ["national-only"]
    d = data["differences"]["national-only"]
    assert d["vs"] == "integrated" and set(d) == {"vs", *METRICS}
    assert all(set(d[m]) == STAT_KEYS for m in METRICS)


def test_output_is_the_same_for_any_job_count(cli_runs):
    one, two, out = cli_runs
    assert two.exit_code == 0, two.output
    assert one.stdout == two.stdout
    assert (out / "compare.json").read_text(encoding="utf-8") == one.stdout


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_self_contained_and_names_each_variant(cli_runs):
    _, _, out = cli_runs
    page = (out / "compare.html").read_text(encoding="utf-8")
    parser = _Parser()
    parser.feed(page)
    assert parser.scripts and not any("src" in s for s in parser.scripts)
    assert not re.search(r"<script[^>]+src=[\"']?https?:", page)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", page)
    text = " ".join(parser.text)
    for name in ("integrated", "national-only"):
        assert name in text
        assert describe_variant(name) in text
    assert "Seeds: 1, 2" in text
    assert "sw-cmp-diff" in page   # the differences figure


@pytest.mark.parametrize(("args", "words"), [
    (["--variant", "everyone"], ["compare: --variant:", "unknown variant 'everyone'"]),
    (["--variant", "no-sharing:atlantis"], ["unknown nation 'atlantis'", "osterland"]),
    (["--runs", "1"], ["compare: --runs:", ">= 2"]),
    (["--runs", "ten"], ["compare: --runs:", "'ten'"]),
    (["--jobs", "0"], ["compare: --jobs:"]),
])
def test_bad_options_are_one_line_errors(args, words):
    res = CliRunner().invoke(app, ["compare", str(SMALL), *args])
    assert res.exit_code == 2
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and all(w in lines[0] for w in words), res.stderr
    assert "Traceback" not in res.output


def test_missing_scenario_is_a_one_line_error(tmp_path):
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2
    assert len([x for x in res.stderr.splitlines() if x.strip()]) == 1 and "not found" in res.stderr


def test_help_teaches_by_example():
    res = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    for words in ("shieldwall compare examples/medium.yaml", "--variant", "national-only", "no-sharing:NATION",
                  "--burden", "--json", "--runs"):
        assert words in res.output
