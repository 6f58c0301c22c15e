"""Atomic writes: an interrupted write leaves the old file whole and no temporary files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from evplant import atomic
from evplant.results import read_run, write_run


class Interrupted(Exception):
    pass


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_write_replaces_the_file_with_the_plain_open_mode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "out.txt"
    atomic.write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    atomic.write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert listing(target.parent) == ["out.txt"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("mode", ["w", "wb"])
def test_an_exception_mid_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, mode: str
) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(Interrupted), atomic.atomic_open(target, mode) as fh:
        fh.write("half a new" if mode == "w" else b"half a new")
        fh.flush()
        # the half-written data is on disk, in the temporary file beside the target
        tmp = [p for p in tmp_path.iterdir() if p.name != "table.csv"]
        assert len(tmp) == 1 and tmp[0].name.startswith(".table.csv.")
        raise Interrupted
    assert target.read_text() == "old\n"
    assert listing(tmp_path) == ["table.csv"]


def test_a_failed_rename_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "summary.json"
    target.write_text("{}")

    def refuse(src: Any, dst: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="disk gone"):
        atomic.write_text(target, '{"new": 1}')
    assert target.read_text() == "{}"
    assert listing(tmp_path) == ["summary.json"]


def test_a_keyboard_interrupt_is_cleaned_up_too(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(KeyboardInterrupt), atomic.atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert listing(tmp_path) == []


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_interrupted_while_writing_keeps_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evplant.run import simulate
    from evplant.scenario import load_scenario

    sc, _ = load_scenario("beijing-etown", ["horizon.end=2024-04", "venture=null"])
    out = tmp_path / "run"
    write_run(out, simulate(sc, 0), "<html>old</html>")
    before = tree(out)
    assert "summary.json" in before and len(before) > 4

    import evplant.results as results

    original = results.pq.write_table
    calls = []

    def half_then_fail(table: Any, where: Any) -> None:
        calls.append(where)
        if len(calls) == 2:  # the second table: the first one is already written whole
            Path(where).write_bytes(b"PAR1 only half")
            raise Interrupted
        original(table, where)

    monkeypatch.setattr(results.pq, "write_table", half_then_fail)
    with pytest.raises(Interrupted):
        write_run(out, simulate(sc, 1), "<html>new</html>")
    assert len(calls) == 2
    # every file as it was, and no temporary file left anywhere in the folder
    assert tree(out) == before
    assert not [p for p in out.rglob(".*")]
    folder = read_run(out)
    assert json.loads((out / "summary.json").read_text()) == folder.summary
