from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

from evplant.line.spec import CompiledLine
from helpers import expo, make_line, station

# CI runs the same examples every time (no flaky reds); locally, hypothesis explores
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def two_exponential() -> Any:
    def build(buffer: int) -> CompiledLine:
        return make_line([station("a", expo(1.0)), station("b", expo(1.0))], [buffer])

    return build
