"""Output folders as a user meets them: an --out that is a file or under one, a folder
another run is writing, a lock its dead owner left, a full or read-only disk. Each is
exit 2 with a message and nothing partial; the lock is gone after every run."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app

runner = CliRunner()
SHORT = ["--set", "horizon.end=2024-03", "--quiet"]


def run(out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "beijing-etown-2023", "--out", str(out), *SHORT, *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr


def test_an_out_that_is_a_file_or_under_one_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    code, stderr = run(afile)
    assert code == 2 and f"error: {afile}: is a file, not a folder" in stderr
    code, stderr = run(afile / "sub" / "run")
    assert code == 2 and f"lies under {afile}, which is a file" in stderr
    assert afile.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_folder_being_written_by_a_live_run_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".run.lock").write_text(f"{other.pid}\n")
        code, stderr = run(out)
        assert code == 2
        assert f"error: {out}: is being written by another run (pid {other.pid})" in stderr
        assert not out.exists() and (tmp_path / ".run.lock").exists()  # theirs, left alone
    finally:
        other.kill()
        other.wait()
    # its owner is dead now: the stale lock is taken over, and removed after the run
    code, stderr = run(out)
    assert code == 0, stderr
    assert (out / "summary.json").exists() and not (tmp_path / ".run.lock").exists()


@pytest.mark.parametrize(
    ("err", "message"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the folder is on a read-only file system")],
)
def test_a_full_or_read_only_disk_is_a_message_and_nothing_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, message: str
) -> None:
    import evplant.results as results

    real = results.pq.write_table
    calls = {"n": 0}

    def fail_later(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] > 3:  # some files are written before the disk gives out
            raise OSError(err, "simulated")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(results.pq, "write_table", fail_later)
    out = tmp_path / "deep" / "run"
    code, stderr = run(out)
    assert code == 2
    assert f"error: {out}: cannot write the output: {message}; nothing was written" in stderr
    assert list(tmp_path.iterdir()) == []  # no folder, no temporary file, no lock


def test_a_full_disk_during_mc_keeps_the_replications_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evplant.experiments.run as mc_run

    out = tmp_path / "mc"
    args = ["mc", "beijing-etown-2023", "-r", "2", "--out", str(out), *SHORT]

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "simulated")

    with monkeypatch.context() as m:
        m.setattr(mc_run, "write_monthly", full)
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "the disk is full; finished replications are kept" in result.stderr
    # no summary without its report: the outputs are written as a set, or not at all
    names = sorted(p.name for p in out.iterdir())
    assert names == ["chunks", "manifest.json"]
    again = runner.invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 replications run" in again.output
    assert {"summary.json", "report.html", "replications.csv"} <= {p.name for p in out.iterdir()}
    assert not (tmp_path / ".mc.lock").exists()


@pytest.mark.parametrize("after_s", [1.0, 2.5])
def test_a_run_killed_midway_leaves_nothing_partial_and_its_lock_is_taken_over(
    tmp_path: Path, after_s: float
) -> None:
    import os
    import signal
    import time

    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "evplant.cli",
        "run",
        "beijing-etown-2023",
        "--out",
        str(out),
        "--set",
        "horizon.end=2024-09",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():  # the whole set or nothing (a dot-named temporary is never read)
        names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        full = [
            "monthly.csv", "monthly.parquet", "report.html", "state.json", "summary.json", "tables"
        ]
        assert names in ([], ["tables"], full), names
    code, stderr = run(out)
    assert code == 0, stderr
    assert not (tmp_path / ".run.lock").exists()
