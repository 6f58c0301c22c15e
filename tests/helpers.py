"""Small builders for line tests."""

from __future__ import annotations

from typing import Any

from evplant.line.spec import CompiledLine, LineSpec


def make_line(stations: list[dict[str, Any]], buffers: list[int], **extra: Any) -> CompiledLine:
    return LineSpec.model_validate({"stations": stations, "buffers": buffers, **extra}).compile()


def station(name: str, ct: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"name": name, "cycle_time": ct, **kw}


def det(value: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": value}


def expo(mean: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": mean}
