"""The one user-facing error type.

Anything the user can fix (a bad line file, a bad scenario value, an unknown
scenario name, a missing run directory) is raised as :class:`EvplantError`.
The CLI turns it into one line per problem on stderr and exit code 2, without a
traceback.  Every other exception is a bug and is allowed to show one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# control characters (a newline in a --set path, a NUL in a file) would split or hide
# the one line a problem is reported on; they are shown escaped instead
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clip(text: str, limit: int = 80) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis: a value a user typed is
    echoed in a message to say which one, not to print all of it again."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``), so it prints as one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is allowed."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    key: str | None = None  # a row with no line (a database table's): its key cells

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            if self.key is not None:
                where += f" (row {self.key})"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return one_line(f"{where}{field}{self.message}")


class EvplantError(Exception):
    """A problem with the user's input, reported as ``file:line: field: message``."""

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        problems: Sequence[Problem] | None = None,
    ) -> None:
        if problems is None:
            problems = [Problem(message or "invalid input", file, line, field)]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
