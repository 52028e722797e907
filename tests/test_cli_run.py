"""`shieldwall run` through the console script: the run directory, the summary, and bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIELDWALL = Path(sys.executable).with_name("shieldwall")


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(SHIELDWALL), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_run_writes_the_record_and_says_where(tmp_path):
    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text())
    data["settings"]["duration_s"] = 300          # the first engagements, quickly
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "record"
    res = _run("run", str(scenario), "--seed", "3", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "Report:" in res.stdout and "report.html" in res.stdout
    for name in ("scenario.yaml", "events.parquet", "tracks.parquet", "metrics.json", "report.html"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 3 and metrics["threats"] == 7
    assert "interceptors fired" in res.stdout
    # The scenario as run carries the seed used, so it reproduces the run.
    assert yaml.safe_load((out / "scenario.yaml").read_text())["settings"]["seed"] == 3
    html = (out / "report.html").read_text()
    assert "<script" in html                            # self-contained: nothing fetched from elsewhere
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html, re.IGNORECASE)


def test_run_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = _run("run", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr + missing.stdout
    assert "nope.yaml" in missing.stderr and "not found" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("nations: [}\n")
    broken = _run("run", str(bad))
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert f"{bad}:" in broken.stderr and "line 1" in broken.stderr
    seed = _run("run", str(ROOT / "examples" / "small.yaml"), "--seed", "-1", "--out", str(tmp_path / "x"))
    assert seed.returncode == 2 and "Traceback" not in seed.stderr
