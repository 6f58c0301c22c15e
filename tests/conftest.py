from __future__ import annotations

from typing import Any

import pytest

from evplant.line.spec import CompiledLine
from helpers import expo, make_line, station


@pytest.fixture
def two_exponential() -> Any:
    def build(buffer: int) -> CompiledLine:
        return make_line([station("a", expo(1.0)), station("b", expo(1.0))], [buffer])

    return build
