"""Output folders: refuse one that cannot be written, lock it for the run, and turn a
full or read-only disk into a user error.

A run claims its ``--out`` folder before it simulates: the folder must be a folder (or
not exist yet) under folders, and a lock file beside it, ``.<name>.lock`` holding the
process id, says the folder is being written. A second run into the same folder is
refused while the first lives; a lock left by a process that died is taken over.
:func:`writing` turns the errors of a full disk, a read-only folder or a missing
permission into :class:`~evplant.errors.EvplantError` naming the folder, after the
atomic writers have removed their temporary files.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import EvplantError

__all__ = ["claim", "usable", "writing"]

#: errors of the disk or the folder, not of the program: exit 2 with a message
_DISK = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "a file to write is a folder",
    errno.ENAMETOOLONG: "the path is too long",
    errno.EFBIG: "a file is too large for the file system",
}


def usable(out: Path) -> None:
    """Refuse, before any work, a ``--out`` that is a file, lies under a file, or whose
    nearest existing folder cannot be written."""
    if out.exists() and not out.is_dir():
        raise EvplantError("is a file, not a folder; choose another --out", file=str(out))
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise EvplantError(
            f"lies under {existing}, which is a file, not a folder; choose another --out",
            file=str(out),
        )
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise EvplantError(f"cannot write in {existing} (permission denied)", file=str(out))


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _made_parents(out: Path) -> list[Path]:
    """Create the folders above ``out``; return those that were made (outermost last)."""
    made = []
    parent = out.parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
    return made


@contextlib.contextmanager
def claim(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``out`` for a run: checked usable, locked while the block runs, and left as
    it was (no folder, no lock) if the block fails with nothing written.

    Raises
    ------
    EvplantError
        If ``out`` is unusable (:func:`usable`) or another living process holds it.
    """
    out = Path(out)
    usable(out)
    made = _made_parents(out)
    existed = out.exists()
    lock = out.parent / f".{out.name}.lock"
    _lock(lock, out)
    try:
        yield out
    except BaseException:
        # nothing partial: a folder this run made and left empty goes, as do its parents
        if not existed:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty


def _lock(lock: Path, out: Path) -> None:
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text(encoding="utf-8").strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and pid != os.getpid() and process_alive(pid):
                raise EvplantError(
                    f"is being written by another run (pid {pid}); wait for it or choose "
                    f"another --out (a lock left by a crash: delete {lock})",
                    file=str(out),
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its process is gone
            continue
        except OSError as exc:
            raise _disk_error(exc, out) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return
    raise EvplantError(f"cannot take the lock {lock}", file=str(out))


def _disk_error(exc: OSError, out: Path, resume_hint: bool = False) -> EvplantError:
    why = _DISK.get(exc.errno or 0, exc.strerror or str(exc))
    then = (
        "finished replications are kept; make room and run again with --resume"
        if resume_hint
        else "nothing was written"
    )
    return EvplantError(f"cannot write the output: {why}; {then}", file=str(out))


@contextlib.contextmanager
def writing(out: str | os.PathLike[str], *, resume_hint: bool = False) -> Iterator[None]:
    """Turn the disk's errors (full, read-only, permission) raised in the block into an
    EvplantError naming ``out``; any other error passes unchanged. ``resume_hint``: the
    message says finished work is kept for ``--resume`` (Monte Carlo)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _DISK:
            raise _disk_error(exc, Path(out), resume_hint) from None
        raise
