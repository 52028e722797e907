"""Shieldwall: an open testbed for coordinated ballistic-missile defence across an alliance.

The public surface is small and stable::

    import shieldwall
    scenario = shieldwall.load_scenario("examples/small.yaml")
    result = shieldwall.run(scenario, seed=7)
    result.metrics["leakers"], result.events, result.tracks
    result.write("runs/small")
"""

__version__ = "0.1.0"  # before the imports: modules below read it

from shieldwall.api import Run, run  # noqa: E402
from shieldwall.errors import PlanningError, ScenarioError, ShieldwallError  # noqa: E402
from shieldwall.scenario.loader import load_scenario  # noqa: E402
from shieldwall.scenario.schema import Scenario  # noqa: E402

__all__ = ["PlanningError", "Run", "Scenario", "ScenarioError", "ShieldwallError", "load_scenario", "run"]
