"""What-if comparison of coordination variants: the same raid and seeds under several ways of
organising the alliance, with confidence intervals and paired differences.

A **variant** is a pure transform of a :class:`~shieldwall.scenario.schema.Scenario` (the models are
frozen; every transform returns a copy made with ``model_copy(update=...)``):

``scenario``
    The scenario as written.
``integrated``
    Full sharing and delegation: every battery ``delegated``; every policy's ``sharing`` rules and
    ``authority_changes`` removed, so every kind of information goes to the whole alliance.
    Sovereignty is kept as written (batteries' ``defends``, policies' ``overflight`` and
    ``engage_classes``): it is national law, not coordination.
``national-only``
    Each nation alone with its own sensors and batteries: every battery ``national_only`` with
    ``defends: [its own nation]``; every nation's policy shares every kind of information with
    ``nobody``; authority changes removed. The national C2 node plans for its ``national_only``
    batteries on its own tracks.
``no-sharing:NATION``
    The scenario as written, with NATION's sharing rules replaced by ``to: nobody`` for every kind of
    information (its overflight, rules of engagement and authority changes kept).
``delegated:NATION``
    The scenario as written, with every battery of NATION ``delegated`` (and NATION's authority
    changes removed, so they stay delegated).

Forms can be chained with ``+``, applied left to right: ``integrated+no-sharing:vestria`` is the
integrated alliance with Vestria's data withheld.

**Runs** are paired: run ``k`` of every variant uses seed ``scenario.settings.seed + k``, so
differences between variants are taken seed by seed. The per-run worker, :func:`run_once`, is pure
(scenario and seed in, a small dictionary of figures out), so runs can be spread over processes
(:func:`run_variants`) or any other executor.

**Statistics** (:func:`summarize`): mean, sample standard deviation, ``n`` and the Student-t 95 %
confidence interval of the mean, ``mean ± t(0.975, n - 1) · sd / √n``.
"""

from __future__ import annotations

import math
import multiprocessing
import typing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from shieldwall.errors import ShieldwallError
from shieldwall.scenario.schema import InfoKind, Policy, Scenario, SharingRule

#: Compared metrics: name in the comparison → key of the run's ``metrics.json``.
METRICS: dict[str, str] = {
    "defended_value_lost": "defended_value_lost",
    "leakers": "leakers",
    "interceptors_expended": "interceptors_fired",
    "decision_latency_s": "mean_decision_latency_s",
    "duplicate_engagements": "duplicate_engagements",
}
#: Human labels of the compared metrics (tables, report).
METRIC_LABELS: dict[str, str] = {
    "defended_value_lost": "Defended value lost",
    "leakers": "Leakers",
    "interceptors_expended": "Interceptors expended",
    "decision_latency_s": "Decision latency (s)",
    "duplicate_engagements": "Duplicate engagements",
}
#: Per-nation burden-sharing figures, in output order.
BURDEN: tuple[str, ...] = ("assets_defended_for_others", "interceptors_for_others", "tracks_contributed",
                           "marginal_value_of_sharing")
BURDEN_LABELS: dict[str, str] = {
    "assets_defended_for_others": "Intercepts for others",
    "interceptors_for_others": "Interceptors for others",
    "tracks_contributed": "Tracks contributed",
    "marginal_value_of_sharing": "Marginal value of sharing",
}
#: Every kind of information a policy can share.
INFO_KINDS: tuple[str, ...] = typing.get_args(InfoKind)
#: The variant forms, as a user writes them.
VARIANT_FORMS = ("scenario", "integrated", "national-only", "no-sharing:NATION", "delegated:NATION")
CONFIDENCE = 0.95
DEFAULT_VARIANTS = ("integrated", "national-only")


class VariantError(ShieldwallError, ValueError):
    """A variant name that is not one of :data:`VARIANT_FORMS` (or names an unknown nation)."""


# --------------------------------------------------------------------------------------------------
# Variants: Scenario -> Scenario.


def _policies_by_nation(scenario: Scenario) -> dict[str, Policy]:
    return {p.nation: p for p in scenario.policies}


def _ordered(scenario: Scenario, policies: Mapping[str, Policy]) -> list[Policy]:
    """Policies in the order of the scenario's nations (then any others, as given)."""
    ids = [n.id for n in scenario.nations]
    return [policies[n] for n in ids if n in policies] + [p for n, p in policies.items() if n not in ids]


def _share_nothing(policy: Policy | None, nation: str) -> Policy:
    """``policy`` (or a fresh one) with every kind of information shared with nobody."""
    sharing = [SharingRule(info=k, to="nobody") for k in INFO_KINDS]
    if policy is None:
        return Policy(nation=nation, sharing=sharing)
    return policy.model_copy(update={"sharing": sharing})


def integrated(scenario: Scenario) -> Scenario:
    """Every battery delegated; no sharing rules and no authority changes; sovereignty as written."""
    batteries = [b.model_copy(update={"authority": "delegated"}) for b in scenario.batteries]
    policies = [p.model_copy(update={"sharing": [], "authority_changes": []}) for p in scenario.policies]
    return scenario.model_copy(update={"batteries": batteries, "policies": policies})


def national_only(scenario: Scenario) -> Scenario:
    """Every battery national-only, defending its own nation; every nation shares nothing."""
    batteries = [b.model_copy(update={"authority": "national_only", "defends": [b.nation]})
                 for b in scenario.batteries]
    policies = _policies_by_nation(scenario)
    for n in scenario.nations:
        policy = _share_nothing(policies.get(n.id), n.id)
        policies[n.id] = policy.model_copy(update={"authority_changes": []})
    return scenario.model_copy(update={"batteries": batteries, "policies": _ordered(scenario, policies)})


def no_sharing(scenario: Scenario, nation: str) -> Scenario:
    """``nation`` shares every kind of information with nobody; everything else as given."""
    policies = _policies_by_nation(scenario)
    policies[nation] = _share_nothing(policies.get(nation), nation)
    return scenario.model_copy(update={"policies": _ordered(scenario, policies)})


def delegated(scenario: Scenario, nation: str) -> Scenario:
    """Every battery of ``nation`` delegated (and its authority changes removed)."""
    batteries = [b.model_copy(update={"authority": "delegated"}) if b.nation == nation else b
                 for b in scenario.batteries]
    policies = [p.model_copy(update={"authority_changes": []}) if p.nation == nation else p
                for p in scenario.policies]
    return scenario.model_copy(update={"batteries": batteries, "policies": policies})


_PLAIN: dict[str, Callable[[Scenario], Scenario]] = {
    "scenario": lambda s: s, "integrated": integrated, "national-only": national_only}
_PER_NATION: dict[str, Callable[[Scenario, str], Scenario]] = {"no-sharing": no_sharing, "delegated": delegated}
_DESCRIPTIONS = {
    "scenario": "the scenario as written",
    "integrated": "every battery delegated to the alliance; no sharing restrictions and no authority changes "
                  "(everything shared with the whole alliance); sovereignty (defends, overflight, "
                  "engage_classes) as written",
    "national-only": "each nation alone: every battery national_only defending its own nation, every nation "
                     "sharing nothing, no authority changes",
    "no-sharing": "{nation} shares nothing (every kind of information to nobody)",
    "delegated": "every battery of {nation} delegated",
}


def _parts(name: str, nations: Sequence[str]) -> list[tuple[str, str | None]]:
    """``name`` split into (form, nation) steps; :class:`VariantError` on anything unknown."""
    if not isinstance(name, str) or not name.strip():
        raise VariantError(f"empty variant name (expected one of: {', '.join(VARIANT_FORMS)})")
    steps = []
    for part in name.split("+"):
        form, colon, nation = part.partition(":")
        if not colon and form in _PLAIN:
            steps.append((form, None))
        elif colon and form in _PER_NATION:
            if nation not in nations:
                raise VariantError(f"unknown nation {nation!r} in variant {name!r} "
                                   f"(expected one of: {', '.join(nations)})")
            steps.append((form, nation))
        else:
            raise VariantError(f"unknown variant {part!r} (expected one of: {', '.join(VARIANT_FORMS)}, "
                               "or several joined with +)")
    return steps


def check_variant(name: str, scenario: Scenario) -> None:
    """Raise :class:`VariantError` (one line) unless ``name`` is a valid variant of ``scenario``."""
    _parts(name, [n.id for n in scenario.nations])


def apply_variant(scenario: Scenario, name: str) -> Scenario:
    """``scenario`` transformed by the variant ``name`` (see the module docstring)."""
    out = scenario
    for form, nation in _parts(name, [n.id for n in scenario.nations]):
        out = _PLAIN[form](out) if nation is None else _PER_NATION[form](out, nation)
    return out


def describe_variant(name: str) -> str:
    """One sentence saying what the variant ``name`` changes (for tables and reports)."""
    words = []
    for part in name.split("+"):
        form, _, nation = part.partition(":")
        words.append(_DESCRIPTIONS.get(form, part).format(nation=nation))
    text = "; then ".join(words)
    return text[:1].upper() + text[1:] + "."


def withheld_variant(base: str, nation: str) -> str:
    """The variant measuring ``nation``'s marginal value of sharing against ``base``: the base with
    ``nation``'s data withheld (``no-sharing:NATION`` itself when the base is ``scenario``)."""
    return f"no-sharing:{nation}" if base == "scenario" else f"{base}+no-sharing:{nation}"


# --------------------------------------------------------------------------------------------------
# Runs.


def run_once(scenario: Scenario, seed: int) -> dict[str, Any]:
    """Run ``scenario`` with ``seed`` and keep the figures a comparison needs: the :data:`METRICS`
    (``decision_latency_s`` None when nothing was ordered) and, per nation, ``assets_defended_for_others``
    (intercepts by its batteries of threats the alliance judged to threaten only other nations'
    assets), ``interceptors_for_others`` (the metrics' ``interceptors_fired_for_others``) and
    ``tracks_contributed`` (None when the metrics do not report it). Pure: the same inputs give the
    same dictionary, in any process."""
    from shieldwall.api import run

    try:
        result = run(scenario, seed)
    except ShieldwallError as exc:   # re-raised plain, so it crosses process boundaries intact
        raise ShieldwallError(str(exc)) from None
    m = result.metrics
    nations = {}
    for nid, figs in m["nations"].items():
        nations[nid] = {"assets_defended_for_others": figs.get("kills_for_others"),
                        "interceptors_for_others": figs.get("interceptors_fired_for_others"),
                        "tracks_contributed": figs.get("tracks_contributed")}
    return {**{name: m.get(key) for name, key in METRICS.items()}, "nations": nations}


def _run_task(task: tuple[Scenario, int]) -> dict[str, Any]:
    return run_once(*task)


def run_variants(scenarios: Mapping[str, Scenario], seeds: Sequence[int], jobs: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every scenario of ``scenarios`` (variant name → scenario) run with every seed: variant name →
    one :func:`run_once` dictionary per seed, in the order of ``seeds``. ``jobs`` > 1 runs them in
    that many worker processes; the result does not depend on ``jobs``. ``progress(done, total)`` is
    called after each run."""
    tasks = [(name, k) for name in scenarios for k in range(len(seeds))]
    total = len(tasks)
    results: dict[tuple[str, int], dict[str, Any]] = {}
    if jobs <= 1 or total <= 1:
        for name, k in tasks:
            results[name, k] = run_once(scenarios[name], seeds[k])
            if progress:
                progress(len(results), total)
    else:
        context = multiprocessing.get_context("spawn")   # no fork of a threaded process; same on every OS
        with ProcessPoolExecutor(max_workers=min(jobs, total), mp_context=context) as pool:
            futures = {pool.submit(_run_task, (scenarios[name], seeds[k])): (name, k) for name, k in tasks}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in done:
                    if f.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise f.exception()
                    results[futures[f]] = f.result()
                    if progress:
                        progress(len(results), total)
    return {name: [results[name, k] for k in range(len(seeds))] for name in scenarios}


# --------------------------------------------------------------------------------------------------
# Statistics.


def _round(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 6)


def summarize(values: Sequence[float | None], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """``{"mean", "ci95": [lo, hi], "sd", "n"}`` of the values that are not None: the sample mean,
    the sample standard deviation (n - 1 in the denominator) and the Student-t confidence interval
    of the mean. With one value ``sd`` and ``ci95`` are None; with none ``mean`` is None too."""
    x = np.array([v for v in values if v is not None], float)
    n = int(len(x))
    if n == 0:
        return {"mean": None, "ci95": None, "sd": None, "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": _round(mean), "ci95": None, "sd": None, "n": 1}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": _round(mean), "ci95": [_round(mean - half), _round(mean + half)], "sd": _round(sd), "n": n}


def paired_difference(variant: Sequence[float | None], base: Sequence[float | None]) -> dict[str, Any]:
    """:func:`summarize` of ``variant[k] - base[k]`` over the runs ``k`` where both are known."""
    return summarize([v - b for v, b in zip(variant, base, strict=True) if v is not None and b is not None])


def _column(runs: Sequence[Mapping[str, Any]], metric: str) -> list[float | None]:
    return [r.get(metric) for r in runs]


def _nation_column(runs: Sequence[Mapping[str, Any]], nation: str, key: str) -> list[float | None]:
    return [(r["nations"].get(nation) or {}).get(key) for r in runs]


def statistics(runs: Mapping[str, Sequence[Mapping[str, Any]]], variants: Sequence[str]) -> tuple[dict, dict]:
    """Per-variant summaries and paired differences of each later variant against the first."""
    summary = {v: {m: summarize(_column(runs[v], m)) for m in METRICS} for v in variants}
    base = variants[0]
    differences = {v: {"vs": base, **{m: paired_difference(_column(runs[v], m), _column(runs[base], m))
                                      for m in METRICS}}
                   for v in variants[1:]}
    return summary, differences


def burden(scenario: Scenario, runs: Mapping[str, Sequence[Mapping[str, Any]]], base: str) -> dict[str, Any]:
    """Per nation, from the runs of the ``base`` variant: intercepts and interceptors for others, tracks
    contributed (None when the metrics lack it), and the marginal value of its sharing (the paired
    difference in defended value lost of :func:`withheld_variant` minus the base)."""
    out = {}
    for n in scenario.nations:
        withheld = runs[withheld_variant(base, n.id)]
        tracks = _nation_column(runs[base], n.id, "tracks_contributed")
        out[n.id] = {
            "assets_defended_for_others": summarize(_nation_column(runs[base], n.id, "assets_defended_for_others")),
            "interceptors_for_others": summarize(_nation_column(runs[base], n.id, "interceptors_for_others")),
            "tracks_contributed": None if all(t is None for t in tracks) else summarize(tracks),
            "marginal_value_of_sharing": paired_difference(_column(withheld, "defended_value_lost"),
                                                           _column(runs[base], "defended_value_lost")),
        }
    return out


# --------------------------------------------------------------------------------------------------
# The whole comparison.


@dataclass(frozen=True)
class Plan:
    """What a comparison will run: the variants asked for, the extra burden variants, the seeds."""

    variants: tuple[str, ...]
    extra: tuple[str, ...]
    seeds: tuple[int, ...]

    @property
    def total_runs(self) -> int:
        return (len(self.variants) + len(self.extra)) * len(self.seeds)


def plan(scenario: Scenario, variants: Sequence[str] = DEFAULT_VARIANTS, runs: int = 10,
         with_burden: bool = False) -> Plan:
    """Check the request and list what it runs. :class:`VariantError` for an unknown or repeated
    variant, :class:`ValueError` for fewer than 2 runs (a confidence interval needs two)."""
    variants = tuple(variants) or DEFAULT_VARIANTS
    for v in variants:
        check_variant(v, scenario)
    repeated = sorted({v for v in variants if variants.count(v) > 1})
    if repeated:
        raise VariantError(f"variant {repeated[0]!r} given twice (expected each variant once)")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise ValueError(f"runs={runs!r}: expected an integer >= 2 (a confidence interval needs two runs)")
    extra = ()
    if with_burden:
        extra = tuple(w for w in (withheld_variant(variants[0], n.id) for n in scenario.nations)
                      if w not in variants)
    seeds = tuple(scenario.settings.seed + k for k in range(runs))
    return Plan(variants, extra, seeds)


def compare(scenario: Scenario, variants: Sequence[str] = DEFAULT_VARIANTS, runs: int = 10, *,
            jobs: int = 1, with_burden: bool = False,
            progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run ``scenario`` under each variant with the same ``runs`` seeds and return the comparison:

    ``{"variants": {name: {metric: {"mean", "ci95", "sd", "n"}}}, "differences": {name: {"vs": first,
    metric: {...}}}, "runs": N, "seeds": [...], "scenario": name}`` plus ``"burden": {nation: {...}}``
    with ``with_burden`` (which runs one extra variant per nation, :func:`withheld_variant`).
    Differences are paired, later variant minus the first, seed by seed. The result is the same for
    any ``jobs``.
    """
    p = plan(scenario, variants, runs, with_burden)
    scenarios = {v: apply_variant(scenario, v) for v in p.variants + p.extra}
    results = run_variants(scenarios, p.seeds, jobs=jobs, progress=progress)
    summary, differences = statistics(results, p.variants)
    out: dict[str, Any] = {"variants": summary, "differences": differences, "runs": len(p.seeds),
                           "seeds": list(p.seeds), "scenario": scenario.name}
    if with_burden:
        out["burden"] = burden(scenario, results, p.variants[0])
    return out


# --------------------------------------------------------------------------------------------------
# Words and tables.


def _num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def interval(s: Mapping[str, Any] | None, digits: int = 1) -> str:
    """``mean ± half-width`` of a summary (``—`` where unknown)."""
    if not s or s.get("mean") is None:
        return "—"
    if not s.get("ci95"):
        return _num(s["mean"], digits)
    lo, hi = s["ci95"]
    return f"{_num(s['mean'], digits)} ± {_num((hi - lo) / 2, digits)}"


def ci_text(s: Mapping[str, Any] | None, digits: int = 1) -> str:
    """``lo to hi`` of a summary's 95 % interval (``—`` where unknown)."""
    if not s or not s.get("ci95"):
        return "—"
    lo, hi = s["ci95"]
    return f"{_num(lo, digits)} to {_num(hi, digits)}"


def verdict(first: str, other: str, diff: Mapping[str, Any]) -> str:
    """One line on defended value lost, e.g. ``integrated loses 312.0 less defended value than
    national-only (95 % CI 250.0 to 374.0)``; ``diff`` is the paired difference other − first."""
    mean, ci = diff.get("mean"), diff.get("ci95")
    if mean is None:
        return f"{first} and {other}: no paired runs to compare"
    if mean == 0 and (not ci or ci == [0.0, 0.0]):
        return f"{first} and {other} lose the same defended value in every paired run"
    if mean >= 0:
        lo, hi = (ci or [None, None])
        words = f"{first} loses {_num(mean)} less defended value than {other}"
    else:
        lo, hi = (-ci[1], -ci[0]) if ci else (None, None)
        words = f"{first} loses {_num(-mean)} more defended value than {other}"
    return words + (f" (95 % CI {_num(lo)} to {_num(hi)})" if ci else "")


def tables(result: Mapping[str, Any]) -> list[Any]:
    """Rich renderables for the terminal: the variants' means with their 95 % intervals, the paired
    differences, the burden-sharing figures (when present) and the verdict lines."""
    from rich.table import Table
    from rich.text import Text

    names = list(result["variants"])
    n = result["runs"]
    seeds = result["seeds"]
    main = Table(title=f"{result['scenario']} — {n} runs per variant (seeds {seeds[0]}–{seeds[-1]}), "
                       "mean ± 95 % CI half-width", show_header=True, header_style="bold")
    main.add_column("metric")
    for v in names:
        main.add_column(Text(v), justify="right")
    for m, label in METRIC_LABELS.items():
        main.add_row(label, *[interval(result["variants"][v][m]) for v in names])
    out: list[Any] = [main]
    if result["differences"]:
        diff = Table(title=f"Paired differences (variant − {names[0]}), mean and 95 % CI",
                     show_header=True, header_style="bold")
        diff.add_column("metric")
        for v in result["differences"]:
            diff.add_column(Text(f"{v} − {names[0]}"), justify="right")
        for m, label in METRIC_LABELS.items():
            cells = []
            for v, d in result["differences"].items():
                s = d[m]
                cells.append("—" if s["mean"] is None else f"{_num(s['mean'])} ({ci_text(s)})")
            diff.add_row(label, *cells)
        out.append(diff)
    if "burden" in result:
        table = Table(title=f"Burden sharing ({names[0]}), mean ± 95 % CI half-width",
                      show_header=True, header_style="bold")
        table.add_column("nation")
        for key in BURDEN:
            table.add_column(BURDEN_LABELS[key], justify="right")
        for nation, figs in result["burden"].items():
            table.add_row(Text(nation), *[interval(figs[key]) for key in BURDEN])
        out.append(table)
    for v, d in result["differences"].items():
        out.append(Text(verdict(names[0], v, d["defended_value_lost"])))
    return out
