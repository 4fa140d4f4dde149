"""benchmarks/monitoring.py keeps working: its `--quick` run times real jobs (`Monitors.run`
over a home's prediction log) and prints every row of its table (no timing is asserted:
tests never judge wall-clock times)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "monitoring.py"


def quick(*options: str, cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--cache", str(cache), *options],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quick_run(tmp_path):
    out = quick("--skip-evidently", "--profile", str(tmp_path / "jobs.prof"), cache=tmp_path)
    for row in (
        "(a)  one plain pass: baseline and target window",
        "(a') one plain pass: baseline and both windows",
        "(b)  skew job, nothing cached",
        "(c)  skew job, null quantiles cached",
        "(c)  null quantiles, first computation",
        "(c') skew job, baseline and null quantiles cached",
        "(b2) skew + drift job, nothing cached",
        "(c2) skew + drift job, baseline and nulls cached",
    ):
        assert row in out
    # (e) is a real job in a process of its own: it read every row of the log.
    assert "(e)  job over 200,000 rows in 1 files" in out and "peak RSS" in out
    assert "200,000 rows read" in out
    assert "Conveyor flags 5: c0, c1, n0, n1, n2" in out  # the features that moved far
    assert "Evidently" not in out
    assert (tmp_path / "jobs.prof").stat().st_size > 0


@pytest.mark.network
def test_quick_run_with_evidently(tmp_path):
    """Creates Evidently's own environment (from PyPI) under the cache the first time."""
    cache = Path.home() / ".cache" / "conveyor-bench"
    out = quick("--skip-rss", cache=cache)
    assert "(d)  Evidently Report([DataDriftPreset()])" in out
    assert "Evidently flags" in out
