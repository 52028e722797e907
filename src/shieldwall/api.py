"""The analyst's Python API: load a scenario, run it for a seed, read or write the run record.

No printing and no global state: the CLI, Monte Carlo drivers and notebooks all call these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from shieldwall.analysis.metrics import compute_metrics
from shieldwall.policy.audit import AuditChain, write_audit
from shieldwall.scenario.loader import load_scenario
from shieldwall.scenario.schema import Scenario
from shieldwall.sensors.coverage import coverage_footprint
from shieldwall.sim.build import sensor_models
from shieldwall.sim.simulation import Simulation

#: Target altitude [m] at which sensor coverage footprints are drawn in the report.
COVERAGE_ALT_M = 100_000.0


@dataclass(frozen=True)
class Run:
    """The record of one run: ``metrics`` (dict), ``events``, ``tracks`` and ``picture`` (DataFrames;
    ``picture`` scores each recorded alliance picture against truth: OSPA, GOSPA and SIAP counts) and
    ``audit``, the sealed hash chain of every decision a policy rule touched
    (:mod:`shieldwall.policy.audit`; its entry count and head hash are in ``metrics["audit"]``)."""

    scenario: Scenario
    seed: int
    metrics: dict[str, Any]
    events: pd.DataFrame
    tracks: pd.DataFrame
    picture: pd.DataFrame
    audit: AuditChain

    def metrics_json(self) -> str:
        """``metrics.json`` text: sorted keys, so the same run gives the same bytes."""
        return json.dumps(self.metrics, indent=2, sort_keys=True) + "\n"

    def report_html(self) -> str:
        """The self-contained HTML report of this run."""
        from shieldwall.analysis.report import render_report

        coverage = []
        for model, sensor in zip(sensor_models(self.scenario), self.scenario.sensors):
            lat, lon = coverage_footprint(model, COVERAGE_ALT_M)
            coverage.append({"sensor": sensor.id, "nation": sensor.nation,
                             "lat_deg": np.asarray(lat).tolist(), "lon_deg": np.asarray(lon).tolist()})
        return render_report(self.scenario, self.events, self.tracks, self.metrics, coverage, picture=self.picture,
                             audit=self.audit.entries)

    def write(self, directory: str | Path) -> Path:
        """Write the run record to ``directory`` (created if needed) and return the report's path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        scenario = self.scenario.model_dump(mode="json", by_alias=True)
        scenario["settings"]["seed"] = self.seed
        (out / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
        self.events.to_parquet(out / "events.parquet", index=False)
        self.tracks.to_parquet(out / "tracks.parquet", index=False)
        self.picture.to_parquet(out / "picture.parquet", index=False)
        (out / "metrics.json").write_text(self.metrics_json(), encoding="utf-8")
        write_audit(out / "audit.jsonl", self.audit)
        report = out / "report.html"
        report.write_text(self.report_html(), encoding="utf-8")
        return report


def run(scenario: Scenario | str | Path, seed: int | None = None,
        progress: Callable[[float], None] | None = None, *, source: str | None = None) -> Run:
    """Run ``scenario`` (a loaded :class:`Scenario` or a path) with ``seed`` (default: the scenario's).

    ``progress(t_s)`` is called as simulated time advances (for progress bars). ``source`` names the
    scenario in error messages (default: its path, or ``<scenario>``). A raid that cannot be flown (an
    aim point out of its class's reach) raises :class:`~shieldwall.errors.ScenarioError`.
    """
    if not isinstance(scenario, Scenario):
        source = source or str(scenario)
        scenario = load_scenario(scenario)
    seed = scenario.settings.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed={seed!r}: expected a non-negative integer")
    seed = int(seed)
    sim = Simulation(scenario, seed, source or "<scenario>")
    sim.run(progress)
    events = sim.recorder.events_frame()
    picture, tracks = sim.recorder.picture_frame(), sim.recorder.tracks_frame()
    metrics = compute_metrics(scenario, events, sim.threats.ids, sim.threats.classes, seed=seed,
                              messages_sent=sim.messages_sent, messages_lost=sim.messages_lost, picture=picture,
                              tracks=tracks)
    for nation, count in sim.tracks_contributed().items():
        metrics["nations"][nation]["tracks_contributed"] = count
    metrics["audit"] = {"entries": len(sim.audit.entries), "head": sim.audit.head}
    return Run(scenario, seed, metrics, events, tracks, picture, sim.audit)
