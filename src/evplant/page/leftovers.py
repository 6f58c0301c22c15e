"""What a page server leaves behind, and how the next one clears it.

A server without ``--out`` writes into a temporary folder ``evplant-serve-*`` holding
its process id (``serve.pid``); it removes the folder when it stops, and a server that
starts removes the folders of servers that died (their process is gone). In a folder
given with ``--out``, nothing is removed: a job's lock left by a dead server is taken
away and its folder marked unfinished (``UNFINISHED.txt``), its finished chunks kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .. import atomic
from ..outdir import process_alive
from .jobs import UNFINISHED

log = logging.getLogger("evplant.page")
PREFIX = "evplant-serve-"
PID = "serve.pid"


def _pid(path: Path) -> int:
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def make_temporary() -> Path:
    """A new temporary folder for this server, with its process id in it."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    (folder / PID).write_text(f"{os.getpid()}\n", encoding="utf-8")
    return folder


def remove_temporary(folder: Path) -> None:
    """Remove this server's own temporary folder (only one it made)."""
    if folder.name.startswith(PREFIX) and _pid(folder / PID) == os.getpid():
        shutil.rmtree(folder, ignore_errors=True)


def clear_dead_servers(tmp: Path | None = None) -> list[Path]:
    """Remove the temporary folders of page servers whose process is gone; return them.
    A folder without a process id (an older server's) is left alone."""
    removed = []
    root = Path(tmp or tempfile.gettempdir())
    for folder in root.glob(f"{PREFIX}*"):
        pid = _pid(folder / PID)
        if folder.is_dir() and not folder.is_symlink() and pid > 0 and not process_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.info("removed %d folder(s) of page servers that died: %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed


def clear_dead_locks(out: Path) -> list[Path]:
    """In an output folder: take away job locks whose process is gone and mark their
    folders unfinished; return the folders."""
    marked: list[Path] = []
    if not out.is_dir():
        return marked
    for lock in out.rglob(".*.lock"):
        pid = _pid(lock)
        if pid == os.getpid() or (pid > 0 and process_alive(pid)):
            continue
        folder = lock.parent / lock.name[1: -len(".lock")]
        with contextlib.suppress(OSError):
            lock.unlink()
        if folder.is_dir() and not (folder / UNFINISHED).exists():
            with contextlib.suppress(OSError):
                atomic.write_text(folder / UNFINISHED, (
                    "interrupted: the page server running this job stopped before it "
                    "finished.\nOnly finished parts are here: each chunks/chunk-*.parquet "
                    "holds whole replications, written atomically.\n"))
            marked.append(folder)
    if marked:
        log.info("cleared %d lock(s) of jobs whose server died", len(marked))
    return marked
