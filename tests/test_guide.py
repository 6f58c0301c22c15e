"""docs/guide.md runs as a notebook: its ```python blocks in order, in one namespace,
in an empty folder holding a copy of tests/data/tiny-plant.yaml.

A ```python block followed by a ```text block (only blank lines between) must print
exactly that text: lines compared one by one after stripping trailing spaces, and
numbers in them to a relative tolerance of 1e-6 (so that a full-precision float's last
digit is not in question); everything else must match exactly. A ```python block with
no ```text block after it must print nothing.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "guide.md"
TINY = ROOT / "tests" / "data" / "tiny-plant.yaml"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclass
class Cell:
    code: str
    line: int  # where the block starts in the guide
    expected: str | None


def cells(text: str) -> list[Cell]:
    """The guide's ```python blocks, each with the ```text block that follows it."""
    out: list[Cell] = []
    last_end = 0
    for m in _FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if lang == "python":
            out.append(Cell(body, line, None))
        elif lang == "text" and out and out[-1].expected is None:
            between = text[last_end : m.start()]
            if not between.strip():
                out[-1].expected = body
        last_end = m.end()
    return out


def same_line(got: str, want: str) -> bool:
    """Equal text, and numbers equal to a relative 1e-6."""
    got, want = got.rstrip(), want.rstrip()
    if _NUMBER.sub("#", got) != _NUMBER.sub("#", want):
        return False
    for a, b in zip(_NUMBER.findall(got), _NUMBER.findall(want), strict=True):
        if not math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12):
            return False
    return True


def test_the_comparison_rule() -> None:
    assert same_line("throughput 59.95004163197", "throughput 59.950041631973356")
    assert not same_line("throughput 59.96", "throughput 59.95")
    assert not same_line("bottleneck weld", "bottleneck paint")
    text = "```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\n"
    parsed = cells(text)
    assert [(c.code, c.expected) for c in parsed] == [("print(1)\n", "1\n"), ("x = 2\n", None)]


def test_the_guide_runs_and_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(TINY, tmp_path / TINY.name)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    found = cells(GUIDE.read_text(encoding="utf-8"))
    assert len(found) >= 10, "the guide lost its examples"
    for cell in found:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(cell.code, f"docs/guide.md:{cell.line}", "exec"), namespace)
        got = printed.getvalue().splitlines()
        want = (cell.expected or "").splitlines()
        where = f"docs/guide.md:{cell.line}"
        assert len(got) == len(want), f"{where} printed:\n{printed.getvalue()}"
        for g, w in zip(got, want, strict=True):
            assert same_line(g, w), f"{where}: printed {g!r}, the guide says {w!r}"
