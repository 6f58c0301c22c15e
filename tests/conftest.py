from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from evplant.line.spec import CompiledLine
from helpers import expo, make_line, station

# On CI every run explores new examples from a seed that changes per run and is printed
# in pytest's header: a red run reproduces with ``HYPOTHESIS_SEED=<seed> pytest ...``.
# Example counts stay modest (CI has two cores); tests that set max_examples keep theirs.
settings.register_profile("ci", print_blob=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _hypothesis_seed() -> int | None:
    given = os.environ.get("HYPOTHESIS_SEED")
    if given:
        return int(given)
    if os.environ.get("CI"):
        # fresh OS entropy, through NumPy's SeedSequence like every other stream here
        return int(np.random.SeedSequence().entropy % 2**32)  # type: ignore[operator]
    return None  # locally: hypothesis's own random exploration and example database


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # before hypothesis's plugin reads its --hypothesis-seed option; an explicit option wins
    if config.getoption("hypothesis_seed", None) is None:
        seed = _hypothesis_seed()
        if seed is not None:
            config.option.hypothesis_seed = str(seed)


def _seed_line(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        return "hypothesis seed: random (set HYPOTHESIS_SEED=<int> to fix it)"
    return f"hypothesis seed: {seed} (reproduce with HYPOTHESIS_SEED={seed})"


def pytest_report_header(config: pytest.Config) -> str:
    return _seed_line(config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # the header is hidden under -q (scripts/check): say it again at the end
    terminalreporter.write_line(_seed_line(config))


@pytest.fixture
def two_exponential() -> Any:
    def build(buffer: int) -> CompiledLine:
        return make_line([station("a", expo(1.0)), station("b", expo(1.0))], [buffer])

    return build
