"""`evplant run` stays light: closed forms in place of scipy.stats and scipy.special give
the same numbers, and the run's modules import neither scipy.stats, scipy.special,
scipy.sparse, dask nor plotly.graph_objects."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from evplant.venture.channel import weibull_logsf
from evplant.venture.episodes import geom_ppf
from evplant.venture.finance import CapexItem, beta_cdf
from evplant.venture.market import softmax


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


@pytest.mark.parametrize(("a", "b"), [(1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (2.0, 2.0)])
def test_beta_cdf_is_scipys_on_every_span(a: float, b: float) -> None:
    """Every span a capex item can have within the longest horizon (and beyond it, by
    hand: up to 2,500 months, the same)."""
    for n in range(1, 601):
        edges = np.linspace(0.0, 1.0, n + 1)
        mine = np.array([beta_cdf(a, b, float(e)) for e in edges])
        assert np.array_equal(mine, special.betainc(a, b, edges)), n


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.just(0.0), st.floats(1e-16, 1.0)),
    st.sampled_from([(1.0, 2.0), (2.0, 1.0), (2.0, 2.0)]),
)
def test_beta_cdf_is_scipys_anywhere(x: float, ab: tuple[float, float]) -> None:
    assert beta_cdf(*ab, x) == float(special.betainc(*ab, x))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-60.0, 60.0), min_size=1, max_size=12))
def test_softmax_is_scipys(utilities: list[float]) -> None:
    x = np.array(utilities + [0.0])
    assert np.array_equal(softmax(x), special.softmax(x))


def test_run_modules_import_no_heavy_packages() -> None:
    code = (
        "import sys\n"
        "import evplant.cli, evplant.run, evplant.scenario, evplant.report, evplant.results\n"
        "import evplant.venture, evplant.plant.model\n"
        "heavy = [m for m in ('scipy.stats', 'scipy.special', 'scipy.sparse', 'scipy.linalg',\n"
        "                     'dask', 'distributed', 'plotly.graph_objects')\n"
        "         if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_line_loads_no_model() -> None:
    """`evplant --help` loads typer and rich and little else: no numpy, no models, no
    writers (each command imports what it needs)."""
    code = (
        "import sys\n"
        "import evplant.cli\n"
        "heavy = [m for m in ('numpy', 'pydantic', 'pyarrow', 'scipy', 'numba', 'yaml',\n"
        "                     'json', 'plotly', 'evplant.run', 'evplant.scenario')\n"
        "         if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
