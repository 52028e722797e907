"""Shieldwall: an open testbed for coordinated ballistic-missile defence across an alliance.

The public surface is small and stable::

    import shieldwall
    scenario = shieldwall.load_scenario("examples/small.yaml")
    result = shieldwall.run(scenario, seed=7)
    result.metrics["leakers"], result.events, result.tracks
    result.write("runs/small")
"""

from shieldwall.api import Run, run
from shieldwall.errors import PlanningError, ScenarioError, ShieldwallError
from shieldwall.scenario.loader import load_scenario
from shieldwall.scenario.schema import Scenario

__all__ = ["PlanningError", "Run", "Scenario", "ScenarioError", "ShieldwallError", "load_scenario", "run"]
__version__ = "0.1.0"
