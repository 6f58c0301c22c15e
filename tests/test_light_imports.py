"""`evplant run` stays light: closed forms in place of scipy.stats give the same numbers,
and the run's modules import neither scipy.stats, dask nor plotly.graph_objects."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from evplant.venture.channel import weibull_logsf
from evplant.venture.episodes import geom_ppf
from evplant.venture.finance import CapexItem


@pytest.mark.parametrize(("shape", "scale"), [(2.0, 30.0), (1.0, 10_000.0), (0.7, 3.5), (3.3, 52)])
def test_weibull_logsf_is_scipys(shape: float, scale: float) -> None:
    x = np.arange(48) * 4.348214285714286
    expected = stats.weibull_min(shape, scale=scale).logsf(x)
    assert np.array_equal(weibull_logsf(x, shape, scale), expected)


def test_geom_ppf_is_scipys() -> None:
    rng = np.random.default_rng(7)
    qs = np.concatenate([[0.0, 1e-12, 0.5, 1 - 1e-12], rng.random(3000)])
    for mean in (1.0001, 1.5, 2.0, 3.0, 6.5, 12.0, 119.9):
        p = 1.0 / mean
        expected = stats.geom.ppf(qs, p)
        assert [geom_ppf(float(q), p) for q in qs] == expected.tolist()


@pytest.mark.parametrize("profile", ["even", "front", "back", "s_curve"])
def test_capex_profile_is_the_beta_cdf(profile: str) -> None:
    item = CapexItem(
        name="x", total_cny=7.3e9, start_month="2024-03", end_month="2026-08", profile=profile
    )
    _, spend = item.monthly()
    a, b = {"even": (1, 1), "front": (1, 2), "back": (2, 1), "s_curve": (2, 2)}[profile]
    edges = np.linspace(0.0, 1.0, spend.size + 1)
    assert np.array_equal(spend, 7.3e9 * np.diff(stats.beta.cdf(edges, a, b)))


def test_run_modules_import_no_heavy_packages() -> None:
    code = (
        "import sys\n"
        "import evplant.cli, evplant.run, evplant.scenario, evplant.report, evplant.results\n"
        "import evplant.venture, evplant.plant.model\n"
        "heavy = [m for m in ('scipy.stats', 'dask', 'distributed', 'plotly.graph_objects')\n"
        "         if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
