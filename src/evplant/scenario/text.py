"""A scenario's own text with some values changed in place: its comments (the facts and
estimates each value rests on), order and layout kept, each changed line marked.

``calibrate`` writes its calibrated scenario this way and the page its edited one. A
value is replaced on the line where its key is written (``key: value``, the value on
that line); a key the text lacks is inserted beside a sibling written as ``key: value``.
Where neither can be done (a block value, a list item, a sibling-less section) the
caller gets None and writes the scenario as plain data instead. :func:`reads_as` checks
that an edited text reads back as exactly the data meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from ..inputs import load_text
from .paths import Loc

#: the note of a changed line, given the value it had (None: the line is new)
Note = Callable[[str | None], str]


def render(value: Any) -> str:
    """A value as one line of YAML: numbers as Python writes them, the rest in flow style."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True,
                          width=1 << 30).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _value_span(code: str, key: str) -> tuple[int, int] | None:
    """Where the value of ``key`` is written on a line's code: a scalar (inside a flow
    mapping too, up to its comma or brace) or a flow collection to the line's end."""
    m = re.search(rf"(?<![\w-]){re.escape(key)}\s*:(\s+|$)", code)
    if m is None:
        return None
    start = m.end()
    rest = code[start:].rstrip()
    if not rest:
        return None
    if rest.startswith(("{", "[")):
        return start, start + len(rest)
    end = re.search(r"\s*(?:[,}\]]|$)", rest)
    assert end is not None  # '$' always matches
    return (start, start + end.start()) if end.start() else None


def edited_text(text: str, lines: Mapping[Loc, int], changes: Sequence[tuple[Loc, Any]],
                note: Note) -> str | None:
    """``text`` with each (location, value) of ``changes`` set in place, the changed
    line marked with ``note(old value)``; None where a value cannot be placed."""
    out = text.splitlines()
    # (line, lines it replaces from there, new lines), applied from the bottom up so that
    # each leaves the line numbers above it as they were
    edits: list[tuple[int, int, list[str]]] = []
    for loc, value in changes:
        key = loc[-1] if loc else None
        if not isinstance(key, str):
            return None
        line = lines.get(tuple(loc))
        if line is None:
            placed = _beside_sibling(out, lines, loc, value, note)
            if placed is None:
                return None
            edits.append((placed[0] + 1, 0, [placed[1]]))
            continue
        code, sep, comment = out[line - 1].partition(" #")
        span = _value_span(code, key)
        if span is not None:
            old = code[span[0]:span[1]]
            code = code[: span[0]] + render(value) + code[span[1]:]
            mark = note(old)
            # in place at once: two values on one line (a flow mapping) both change
            out[line - 1] = f"{code} # {mark};{comment}" if sep else f"{code}   # {mark}"
            continue
        block = _block(out, line, key)
        if block is None:
            return None
        head, mark = code.rstrip() + " " + render(value), note(f"a block of {block} lines")
        edits.append((line, 1 + block, [f"{head}   # {mark};{comment}" if sep
                                        else f"{head}   # {mark}"]))
    for line, count, new in sorted(edits, key=lambda e: e[0], reverse=True):
        out[line - 1: line - 1 + count] = new
    return "\n".join(out) + "\n"


def _block(out: list[str], line: int, key: str) -> int | None:
    """How many lines below ``key:`` (written with nothing after it) hold its block
    value: those indented deeper than the key, blank lines inside included."""
    code = out[line - 1].partition(" #")[0]
    col = code.find(f"{key}:")
    if col < 0 or code[col + len(key) + 1:].strip():
        return None
    count = 0
    for i in range(line, len(out)):
        raw = out[i]
        if raw.strip() and len(raw) - len(raw.lstrip()) <= col:
            break
        count = i - line + 1
    while count and not out[line - 1 + count].strip():
        count -= 1  # blank lines after the block stay
    return count or None


def _beside_sibling(out: list[str], lines: Mapping[Loc, int], loc: Loc, value: Any,
                    note: Note) -> tuple[int, str] | None:
    """(line after which, the new line) for a key the text lacks: after a sibling
    written as ``key: value`` on one line, at its indentation."""
    parent, key = loc[:-1], loc[-1]
    siblings = sorted(line for other, line in lines.items()
                      if len(other) == len(loc) and other[:-1] == parent
                      and isinstance(other[-1], str))
    for line in siblings:
        code = out[line - 1].partition(" #")[0]
        m = re.match(r"^(\s*(?:-\s+)?)([\w.-]+)(\s*:\s+)(\S.*)$", code)
        if m is None or m.group(4).startswith(("|", ">", "&", "*")):
            continue
        indent = " " * len(m.group(1))
        return line, f"{indent}{key}: {render(value)}   # {note(None)}"
    return None


def reads_as(text: str, data: Any) -> bool:
    """Whether ``text`` reads back as exactly ``data``."""
    try:
        return bool(load_text(text) == data)
    except yaml.YAMLError:
        return False
