"""What a callback request must look like, and the one-line answer when it does not.

The browser's Dash renderer sends ``{output, outputs, inputs, state, changedPropIds}``
for a callback the app declared. Anything else (another shape, a callback the app does
not have, inputs of the wrong number or kind, a form whose values do not match its
fields) gets ``400`` and one line, and the server's log one line, never a traceback.
A real fault of the page's own code still answers 500 with its traceback in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import flask
from werkzeug.exceptions import BadRequest, HTTPException

log = logging.getLogger("evplant.page")
_OWN = str(Path(__file__).resolve().parents[1])  # the evplant package


class Malformed(BadRequest):
    """A callback request whose values do not fit the page's form."""


def refuse(problem: str) -> flask.Response:
    line = " ".join(problem.split())[:200]
    log.warning("refused a malformed callback request: %s", line)
    return flask.Response(f"malformed callback request: {line}\n", status=400,
                          mimetype="text/plain")


def _ids(items: Any) -> bool:
    """A list of {id, property} (or, for a pattern, a list of them)."""
    if not isinstance(items, list):
        return False
    for it in items:
        if isinstance(it, list):
            if not _ids(it):
                return False
        elif not (isinstance(it, dict) and isinstance(it.get("property"), str)
                  and isinstance(it.get("id"), str | dict)):
            return False
    return True


def malformed(body: Any, callbacks: dict[str, Any]) -> str:
    """What is wrong with a callback request, or '' when nothing is."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return "no such callback"
    declared = callbacks[output]
    if not isinstance(body.get("outputs"), dict | list):
        return "outputs: not an object or a list"
    for key in ("inputs", "state"):
        value = body.get(key, [])
        if not _ids(value):
            return f"{key}: not a list of {{id, property}}"
        if len(value) != len(declared.get(key, [])):
            return f"{key}: {len(declared.get(key, []))} expected, got {len(value)}"
    changed = body.get("changedPropIds", [])
    if not (isinstance(changed, list) and all(isinstance(c, str) for c in changed)):
        return "changedPropIds: not a list of names"
    return ""


def _own_fault(exc: BaseException) -> bool:
    """Whether an exception was raised inside the page's own code (a bug)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and last.startswith(_OWN)


def install(server: flask.Flask) -> None:
    """Answer a malformed callback with 400 and one line, however Dash found it."""

    @server.errorhandler(BadRequest)  # type: ignore[misc, untyped-decorator]
    def _bad(exc: BadRequest) -> flask.Response:
        return refuse(exc.description or "bad request")

    @server.errorhandler(Exception)  # type: ignore[misc, untyped-decorator]
    def _any(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        if flask.request.path.endswith("/_dash-update-component") and not _own_fault(exc):
            return refuse(f"{type(exc).__name__}: {exc}")
        log.exception("internal error answering %s", flask.request.path)
        return flask.Response("internal error\n", status=500, mimetype="text/plain")


def edit_number(asked: Any) -> tuple[int, bool]:
    """(number, full horizon asked) of a tab's edit, as its page numbered it."""
    if not isinstance(asked, dict):
        raise Malformed("edit-seq: not an object")
    n, full = asked.get("n"), asked.get("full", False)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n < 2**53:
        raise Malformed("edit-seq.n: not a whole number")
    if not isinstance(full, bool):
        raise Malformed("edit-seq.full: not true or false")
    return n, full


def edit_record(kept: Any, key: str = "seq") -> tuple[int, list[str]]:
    """(number, ``--set`` items) of the edits a tab keeps; (0, []) for none or junk."""
    if not isinstance(kept, dict):
        return 0, []
    n, items = kept.get(key), kept.get("items", [])
    if isinstance(n, bool) or not isinstance(n, int):
        return 0, []
    if not (isinstance(items, list) and all(isinstance(i, str) for i in items)):
        items = []
    return n, items
