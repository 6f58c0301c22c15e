"""Where a table lives: a file, a workbook's sheet, or a database's table or view.

``--observed`` and ``--forecast-to`` take one text for each of them:

- a file: ``record.csv``, ``forecast.parquet``;
- a workbook's sheet: ``record.xlsx#March`` (without ``#sheet``, its only sheet);
- a database's table or view: a SQLAlchemy URL, ``#`` and the table (``schema.table``
  where the database has schemas), e.g.
  ``postgresql+psycopg://planner:secret@db.plant/mes#monthly_record`` or
  ``sqlite:///record.db#record``.

A URL's password is never shown: :attr:`Location.shown` writes it as ``***``, every
message about a database is built from that, and what a driver says is scrubbed of the
password before it is repeated (:func:`scrub`).  The URL itself, password and all, is
only handed to SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

from .errors import EvplantError, clip

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["Location", "connected", "database_error", "locate", "mask", "missing_sqlite",
           "scrub"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# user:password@ in a URL's authority, up to the last '@': a password with an unencoded
# '@' (which SQLAlchemy would cut at the first) is still masked whole; masking too much
# of a malformed URL is harmless
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)(.*)@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)([^&#]*)", re.IGNORECASE)
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class Location:
    """A table's place. ``target`` is the file path or the URL (with its password:
    never print it); ``part`` the sheet or table; ``shown`` what messages print."""

    kind: Literal["file", "database"]
    target: str
    part: str | None
    shown: str

    @property
    def suffix(self) -> str:
        """A file's suffix in lower case ('.csv', '.xlsx', '.parquet'); '' for a database."""
        return Path(self.target).suffix.lower() if self.kind == "file" else ""

    @property
    def table(self) -> tuple[str | None, str]:
        """(schema or None, table) of a database location."""
        schema, _, name = (self.part or "").rpartition(".")
        return (schema or None), name


def mask(text: str) -> str:
    """``text`` with a URL's password (in its authority or its query) written ``***``."""
    text = _PASSWORD.sub(r"\1***@", text)
    return _QUERY_PASSWORD.sub(r"\1***", text)


def _secrets(url: str) -> list[str]:
    found = [m.group(2) for m in (_PASSWORD.match(url),) if m is not None]
    found += [m.group(2) for m in _QUERY_PASSWORD.finditer(url)]
    out = set()
    for s in found:
        if s:
            out.update({s, unquote(s)})
    return sorted(out, key=len, reverse=True)


def scrub(message: str, loc: Location) -> str:
    """A driver's message with the location's password (as written and decoded) masked."""
    if loc.kind == "database":
        for secret in _secrets(loc.target):
            message = message.replace(secret, "***")
    return message


def locate(text: str, option: str, *, suffixes: tuple[str, ...] | None = None) -> Location:
    """Read a location as the user wrote it for ``option``; ``suffixes``: the file kinds
    allowed ('.csv', '.parquet', ...; None: any). A URL needs ``#table``; a workbook's
    name may end in ``#sheet`` (any other file's ``#`` is part of its name)."""
    text = str(text).strip()
    if not text:
        raise EvplantError("must not be empty", field=option)
    if _URL.match(text):
        url, sep, part = text.rpartition("#")
        if not sep or not url:
            raise EvplantError(
                f"{clip(mask(text))}: name the table after the URL, as URL#table", field=option)
        shown = f"{mask(url)}#{part}"
        if not _TABLE.match(part):
            raise EvplantError(
                f"{clip(shown)}: {part!r} is not a table name (letters, digits and _, "
                "optionally schema.table)", field=option)
        return Location("database", url, part, shown)
    path, sheet = text, None
    head, sep, tail = text.rpartition("#")
    if sep and Path(head).suffix.lower() == ".xlsx" and not Path(text).exists():
        path, sheet = head, tail
        if not sheet.strip():
            raise EvplantError(f"{clip(text)}: name the sheet after #", field=option)
    suffix = Path(path).suffix.lower()
    if suffixes is not None and suffix not in suffixes:
        raise EvplantError(
            f"{clip(text)}: a {suffix or 'file without a suffix'} is not read here; give "
            f"{', '.join(suffixes)} or a database URL#table", field=option)
    return Location("file", path, sheet, text)


def missing_sqlite(loc: Location) -> bool:
    """Whether ``loc`` is an SQLite database whose file does not exist (yet): connecting
    would make an empty one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if loc.kind != "database":
        return False
    try:
        url = make_url(loc.target)
    except ArgumentError:
        return False
    db = url.database or ""
    return (url.get_backend_name() == "sqlite" and bool(db) and db != ":memory:"
            and not db.startswith("file:") and not Path(db).is_file())


def database_error(exc: Exception, loc: Location, doing: str) -> EvplantError:
    """A database's refusal as a user error naming the table (password masked)."""
    orig = getattr(exc, "orig", None) or exc
    words = str(orig).strip().splitlines()
    said = scrub(words[0] if words else type(orig).__name__, loc)
    return EvplantError(f"{doing}: {clip(said, 240)}", file=loc.shown)


@contextlib.contextmanager
def connected(loc: Location, *, create: bool = False) -> Iterator[Engine]:
    """An engine for a database location; errors of the URL, a missing driver or a
    refused connection become EvplantError. ``create``: an SQLite file may be made
    (to write into); otherwise a missing one is an error, not an empty database."""
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        url = sa.engine.make_url(loc.target)
    except ArgumentError:
        raise EvplantError("not a database URL (dialect+driver://user:password@host/db)",
                           file=loc.shown) from None
    if not create and missing_sqlite(loc):
        raise EvplantError(f"the SQLite database {url.database} does not exist",
                           file=loc.shown)
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except NoSuchModuleError:
        raise EvplantError(
            f"no SQLAlchemy dialect for {url.drivername!r}; installed: postgresql+psycopg, "
            "sqlite", file=loc.shown) from None
    except ImportError as exc:
        raise EvplantError(
            f"the driver for {url.drivername!r} is not installed ({exc.name or exc}); for "
            "PostgreSQL install evplant[postgres] (psycopg 3)", file=loc.shown) from None
    try:
        yield engine
    except sa.exc.DBAPIError as exc:  # what the callers did not turn into their own words
        raise database_error(exc, loc, "the database refused") from None
    finally:
        engine.dispose()
