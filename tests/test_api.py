"""The public Python surface: ``shieldwall.__all__`` is exactly the documented names, each exists and is
the object it claims to be; ``load_scenario`` reads the examples; importing prints nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import shieldwall
from shieldwall.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {"PlanningError", "Run", "Scenario", "ScenarioError", "ShieldwallError", "load_scenario", "run"}


def test_all_lists_exactly_the_public_names():
    assert len(shieldwall.__all__) == len(set(shieldwall.__all__))
    assert set(shieldwall.__all__) == PUBLIC
    for name in shieldwall.__all__:
        assert hasattr(shieldwall, name), name
    # Every other public-looking attribute is a submodule or the version, not a stray export.
    import types
    extra = {n for n in vars(shieldwall) if not n.startswith("_")} - PUBLIC
    assert all(isinstance(getattr(shieldwall, n), types.ModuleType) for n in extra), extra


def test_public_objects_are_the_real_ones():
    from shieldwall import api, errors
    from shieldwall.scenario import loader

    assert shieldwall.run is api.run and shieldwall.Run is api.Run
    assert shieldwall.load_scenario is loader.load_scenario
    assert shieldwall.Scenario is Scenario
    assert issubclass(shieldwall.ScenarioError, shieldwall.ShieldwallError)
    assert issubclass(shieldwall.PlanningError, shieldwall.ShieldwallError)
    assert shieldwall.ShieldwallError is errors.ShieldwallError
    assert isinstance(shieldwall.__version__, str) and shieldwall.__version__


def test_star_import_gives_the_public_names():
    ns: dict = {}
    exec("from shieldwall import *", ns)
    assert {n for n in ns if not n.startswith("__")} == PUBLIC


@pytest.mark.parametrize("name", ["small.yaml", "medium.yaml"])
def test_load_scenario_on_the_examples(name):
    path = ROOT / "examples" / name
    s = shieldwall.load_scenario(path)
    assert isinstance(s, Scenario)
    assert s.nations and s.threats and s.sensors and s.batteries
    # A str path works the same as a Path.
    assert shieldwall.load_scenario(str(path)) == s


def test_load_scenario_bad_file_raises_scenario_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nations: [}\n")
    with pytest.raises(shieldwall.ScenarioError) as info:
        shieldwall.load_scenario(bad)
    assert info.value.problems and all(p.file == str(bad) for p in info.value.problems)
    with pytest.raises(shieldwall.ScenarioError):
        shieldwall.load_scenario(tmp_path / "absent.yaml")


def test_run_rejects_a_bad_seed_before_running():
    s = shieldwall.load_scenario(ROOT / "examples" / "small.yaml")
    for seed in (-1, 1.5, "7", True):
        with pytest.raises(ValueError, match="seed"):
            shieldwall.run(s, seed=seed)


def test_importing_prints_nothing():
    code = "import shieldwall, shieldwall.cli, shieldwall.api"
    res = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""
