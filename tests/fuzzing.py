"""Scenario fuzzing: hostile cases drawn from the scenario's JSON Schema, run as a user
runs them, and judged clean or not.

Shared by ``tests/test_fuzz.py`` (a short run in CI) and ``scripts/fuzz`` (N cases, a
report of the classes found).

A case is a scenario file (the fuzz base, mutated) and ``--set`` items. It runs
``evplant run FILE --out OUT`` in a child process forked from a warm server (a hang is
killed at the time limit, memory is capped) and is *clean* when it ends either

- with exit 0, finite numbers in every table and in summary.json, or
- with exit 2 and one ``error: WHERE: ...`` line per problem, WHERE naming the file or
  the ``--set`` item, no traceback, and nothing left where ``--out`` pointed,

within the time limit. A case built to be wrong (a non-finite number, a malformed
date, a duplicate key) must be refused: exit 0 is then "nonsense accepted".
"""

from __future__ import annotations

import copy
import functools
import json
import math
import multiprocessing as mp
import re
import resource
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

HOSTILE = Path(__file__).parent / "data" / "hostile"
#: a refusal slower than this is not clean; a run is allowed RUN_LIMIT_S
REFUSAL_LIMIT_S = 10.0
RUN_LIMIT_S = 60.0
MEMORY_LIMIT = 6 * 2**30

Path_ = tuple[str | int, ...]


# --- the fuzz base: the built-in default on a five-month horizon, both phases in it --------


def base_data() -> dict[str, Any]:
    """A fresh copy of :func:`_base`."""
    return copy.deepcopy(_base())


@functools.cache
def _schema() -> dict[str, Any]:
    from evplant.scenario import Scenario

    return Scenario.model_json_schema()


@functools.cache
def _base() -> dict[str, Any]:
    """The default scenario cut to 2024-01..2024-05 with phase 2 moved into it, so a
    run takes a fraction of a second and every section is exercised."""
    from evplant.inputs import independent, load_text
    from evplant.scenario import scenario_text

    text, _ = scenario_text("beijing-etown")
    # independent: the phases share their shops by an anchor; a mutation is of one place
    data: dict[str, Any] = independent(load_text(text))
    end = "2024-05"
    data["horizon"] = {"start": "2024-01", "end": end}
    p2 = data["plant"]["phases"][1]
    p2["construction"] = {"start": "2023-06", "end": "2023-12"}
    p2["sop"] = "2024-03-01"
    p2["shifts"] = [{"start": "2024-03-01", "shifts": 2, "hours": 8, "days_per_week": 5}]
    plant = data["plant"]
    plant["holidays"] = [h for h in plant["holidays"] if h["start"][:7] <= end]
    venture = data["venture"]
    for comp in venture["supply"]["components"]:
        for sup in comp["suppliers"]:
            cap = sup["capacity_per_month"]
            if isinstance(cap, dict):
                sup["capacity_per_month"] = {m: v for m, v in cap.items() if m <= end}
    market = venture["market"]
    market["variants"]["YU7"]["launch_month"] = "2024-03"
    market["exports"] = [dict(e, start_month="2024-03") for e in market["exports"]]
    venture["channel"]["stores"] = {
        m: v for m, v in venture["channel"]["stores"].items() if m <= end
    }
    venture["contract"].update(start_month="2024-02", end_month="2024-05")
    fin = venture["finance"]
    fin["capex"] = [
        dict(c, start_month=max(c["start_month"], "2024-01"), end_month=min(c["end_month"], end))
        for c in fin["capex"]
        if c["start_month"] <= end
    ]
    # the calibration and its posterior name files beside the built-in scenario
    for key in ("calibration", "posterior"):
        data.pop(key, None)
    data["uncertainty"] = [u for u in data["uncertainty"] if u.get("law") != "posterior"
                           and _resolves(data, u["path"])]  # not the capex items cut above
    return data


def _resolves(data: Any, path: str) -> bool:
    from evplant.errors import EvplantError
    from evplant.scenario.paths import resolve

    try:
        resolve(data, path)
    except EvplantError:
        return False
    return True


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


# --- the JSON Schema: which values a place takes ---------------------------------------------


def _branches(node: dict[str, Any], defs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "$ref" in node:
        yield from _branches(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    elif "anyOf" in node or "oneOf" in node:
        for b in node.get("anyOf", node.get("oneOf", [])):
            yield from _branches(b, defs)
    elif "allOf" in node:
        for b in node["allOf"]:
            yield from _branches(b, defs)
    else:
        yield node


def _matches(branch: dict[str, Any], value: Any) -> bool:
    """Whether an object branch fits a dict value (its const/enum properties agree)."""
    if not isinstance(value, dict):
        return True
    for key, prop in branch.get("properties", {}).items():
        if key in value and "const" in prop and prop["const"] != value[key]:
            return False
        if key in value and "enum" in prop and value[key] not in prop["enum"]:
            return False
    return True


def schema_at(schema: dict[str, Any], data: Any, path: Path_) -> list[dict[str, Any]]:
    """The schema branches that describe the value at ``path`` of ``data``."""
    defs = schema.get("$defs", {})
    nodes = [b for b in _branches(schema, defs) if _matches(b, data)]
    value = data
    for key in path:
        value = value[key]
        nxt: list[dict[str, Any]] = []
        for b in nodes:
            if isinstance(key, int):
                if "items" in b:
                    nxt.append(b["items"])
            elif key in b.get("properties", {}):
                nxt.append(b["properties"][key])
            elif any(re.search(pat, str(key)) for pat in b.get("patternProperties", {})):
                # a mapping whose keys follow a pattern (names of rivals, of stations)
                nxt += [n for pat, n in b["patternProperties"].items() if re.search(pat, str(key))]
            elif isinstance(b.get("additionalProperties"), dict):
                nxt.append(b["additionalProperties"])
        nodes = [b for n in nxt for b in _branches(n, defs) if _matches(b, value)]
    return nodes


def places(data: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every location in the data, containers and leaves."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from places(value, (*path, i))


def get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


# --- hostile values ----------------------------------------------------------------------

NONFINITE = [math.nan, math.inf, -math.inf]
BAD_DATES = ["2024-W08-2", "20240220", "0000-01-01", "9999-12-31", "2024-02-30", "2024-2-1"]
BAD_MONTHS = ["0000-01", "9999-12", "2024-13", "2024-1", "202401", "2024-W08"]
HUGE_INTS = [2**63, 2**64, -(2**63) - 1, 10**30, 9223372036854775807]


@dataclass(frozen=True)
class Value:
    """A value to put somewhere, and whether it must be refused."""

    value: Any
    bad: bool  # built to be wrong: the run must refuse it
    label: str


def _number_values(b: dict[str, Any], integer: bool) -> list[Value]:
    out = [Value(v, True, "non-finite") for v in NONFINITE]
    out += [Value("lots", True, "text for a number"), Value([1], True, "list for a number")]
    out += [Value(v, False, "huge int") for v in HUGE_INTS]
    out += [Value(v, False, "extreme") for v in (1e308, -1e308, 1e-300, -1e-300, 1e15, -1e15)]
    out += [Value(v, False, "small") for v in (0, -1, 1, 0.5, 1000)]
    for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        if key in b:
            edge = b[key]
            out += [Value(edge, key.startswith("exclusive"), f"edge {key}")]
            step = -1 if "inimum" in key else 1
            out += [Value(edge + step * (1 if integer else 1e-9), True, f"beyond {key}")]
    if integer:
        out.append(Value(1.5, True, "fraction for an integer"))
    return out


def _string_values(b: dict[str, Any], current: Any) -> list[Value]:
    out = [
        Value("", False, "empty text"),
        Value("x" * 5000, False, "long text"),
        Value("a\nb", False, "text with a newline"),
        Value("Ω\u202e", False, "unicode text"),
    ]
    pattern = b.get("pattern", "")
    if isinstance(current, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", current):
        out += [Value(v, True, "malformed date") for v in BAD_DATES]
    elif isinstance(current, str) and re.fullmatch(r"\d{4}-\d{2}", current) or "\\d{4}" in pattern:
        out += [Value(v, True, "malformed month") for v in BAD_MONTHS]
        out += [Value(v, False, "far month") for v in ("1900-01", "2199-12", "2023-12", "2035-01")]
    if "enum" in b:
        out.append(Value("not-an-option", True, "unknown option"))
    return out


def values_for(branches: list[dict[str, Any]], current: Any) -> list[Value]:
    """Hostile values for a place, from the schema's branches and its current value
    (and plausible ones, its value scaled, so that many cases run)."""
    types = {b.get("type") for b in branches}
    out: list[Value] = []
    # first: hypothesis favours the first choices while it explores
    if isinstance(current, int | float) and not isinstance(current, bool):
        scaled = [current * f for f in (0.5, 2, 0.9, 1.1, 10, 0.01, 100)]
        if isinstance(current, int):
            scaled = [round(v) for v in scaled]
        out += [Value(v, False, "scaled") for v in scaled for _ in range(3)]
    out.append(Value(None, "null" not in types, "null"))
    for b in branches:
        t = b.get("type")
        if t in ("number", "integer"):
            out += _number_values(b, t == "integer")
        elif t == "string":
            out += _string_values(b, current)
        elif t == "boolean":
            out += [
                Value("maybe", True, "text for a boolean"),
                Value(2, True, "number for a boolean"),
            ]
        elif t == "array":
            out += [Value([], False, "empty list"), Value("x", True, "text for a list")]
            if isinstance(current, list) and current:
                out.append(Value([*current, current[0]], False, "duplicate item"))
                out.append(Value(current * 50, False, "list x50"))
        elif t == "object" or "properties" in b:
            out += [Value({}, False, "empty mapping"), Value({"bogus": 1}, True, "unknown key")]
            out.append(Value("x", True, "text for a mapping"))
    names = isinstance(current, list) and current and all(isinstance(x, str) for x in current)
    if names and len(set(current)) == len(current):
        out.append(Value([*current, current[0]], True, "duplicate name in a list"))
    return out


# --- cases -------------------------------------------------------------------------------


@dataclass
class Case:
    """A scenario text and ``--set`` items; ``bad``: it must be refused."""

    text: str | bytes
    sets: list[str] = field(default_factory=list)
    bad: bool = False
    label: str = ""


def _set_path(path: Path_, data: Any) -> str:
    """A dotted ``--set`` path, list items by name where they have one."""
    parts = []
    node = data
    for key in path:
        if (
            isinstance(key, int)
            and isinstance(node[key], dict)
            and isinstance(node[key].get("name"), str)
        ):
            names = [x.get("name") for x in node if isinstance(x, dict)]
            name = node[key]["name"]
            parts.append(name if names.count(name) == 1 and "." not in name else str(key))
        else:
            parts.append(str(key))
        node = node[key]
    return ".".join(parts)


def flow(value: Any) -> str:
    """A value as one line of YAML, as a user writes it after ``--set path=``."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**9)
        .strip()
        .removesuffix("...")
        .strip()
    )


@st.composite
def schema_cases(draw: st.DrawFn) -> Case:
    """A case: the fuzz base with one or two places set to hostile values, in the file
    or by ``--set`` (a case is *bad* if a value that must be refused is the one in effect
    at its place: a later ``--set`` wins over the file and over an earlier ``--set``)."""
    schema = _schema()
    data = base_data()
    spots = list(places(data))[1:]
    sets: list[str] = []
    effect: dict[Path_, tuple[int, bool]] = {}  # place -> (1 if by --set, bad)
    labels = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        path = draw(st.sampled_from(spots))
        try:
            current = get(data, path)
        except (KeyError, IndexError, TypeError):
            continue
        choices = values_for(schema_at(schema, data, path), current)
        if isinstance(path[-1], str):
            choices.append(Value(_DELETE, False, "key removed"))
        pick = draw(st.sampled_from(choices))
        where = draw(st.sampled_from(["file", "set"]))
        if pick.value is _DELETE:
            del get(data, path[:-1])[path[-1]]
            where = "file"
        elif where == "set" and "\n" not in flow(pick.value):
            sets.append(f"{_set_path(path, data)}={flow(pick.value)}")
        else:
            where = "file"
            get(data, path[:-1])[path[-1]] = pick.value
        rank = 1 if where == "set" else 0
        if path not in effect or rank >= effect[path][0]:
            for inner in [p for p in effect if p[: len(path)] == path and effect[p][0] <= rank]:
                del effect[inner]  # replaced along with the place around it
            effect[path] = (rank, pick.bad)
        labels.append(f"{'.'.join(map(str, path))}: {pick.label} via {where}")
    bad = any(b for _, b in effect.values())
    return Case(dump(data), sets, bad, "; ".join(labels))


_DELETE = object()


def _nested(depth: int) -> str:
    return "name: deep\nplant: " + "[" * depth + "]" * depth + "\n"


def _laughs(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, levels):
        refs = ", ".join([f"*a{k - 1}"] * width)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return "\n".join(lines) + f"\nname: laughs\nplant: *a{levels - 1}\n"


@st.composite
def text_cases(draw: st.DrawFn) -> Case:
    """Damage to the file as text: duplicate keys, nesting, alias bombs, truncation,
    flipped bytes, control characters, a newline in a --set path."""
    text = dump(_base())
    lines = text.splitlines()
    kind = draw(
        st.sampled_from(
            ["duplicate-key", "deep", "laughs", "truncate", "flip", "nul", "set-newline", "huge"]
        )
    )
    if kind == "duplicate-key":
        keyed = [i for i, ln in enumerate(lines) if re.match(r"^\s*[a-z_]+:\s*\S", ln)]
        i = draw(st.sampled_from(keyed))
        lines.insert(i + 1, lines[i])
        return Case("\n".join(lines) + "\n", bad=True, label="duplicate key")
    if kind == "deep":
        return Case(_nested(draw(st.integers(200, 5000))), bad=True, label="deep nesting")
    if kind == "laughs":
        return Case(_laughs(draw(st.integers(6, 9))), bad=True, label="alias bomb")
    if kind == "truncate":
        cut = draw(st.integers(1, len(text) - 1))
        return Case(text[:cut], label="truncated file")
    if kind == "flip":
        i = draw(st.integers(0, len(text) - 1))
        char = draw(st.sampled_from(["\x00", "\ufffe", "\t", ":", "&", "*", "!", "{", "'"]))
        return Case(text[:i] + char + text[i + 1 :], label="damaged character")
    if kind == "nul":
        return Case(text.replace("plant:", "plant:\x00", 1), bad=True, label="NUL byte")
    if kind == "set-newline":
        return Case(text, sets=["plant.phases.phase1\n.sop=2024-03-01"], label="newline in --set")
    return Case(text + "# " + "x" * (20 * 2**20) + "\n", label="20 MB file")


def hostile_files() -> list[Path]:
    return sorted(HOSTILE.glob("*.yaml"))


def hostile_case(path: Path) -> Case:
    """A hand-written hostile file: each must be refused (the first line says why)."""
    raw = path.read_bytes()
    return Case(raw, bad=True, label=f"hostile/{path.name}")


def cases() -> st.SearchStrategy[Case]:
    return st.one_of(schema_cases(), schema_cases(), text_cases())


# --- running a case ----------------------------------------------------------------------


@dataclass
class Outcome:
    clean: bool
    klass: str  # "ok", "refused" or what was wrong
    seconds: float
    exit_code: int | None
    detail: str = ""
    cpu_s: float | None = None  # CPU time of the case's process


def _finite_tables(out: Path) -> str | None:
    """The first non-finite number in the run's files, or None."""
    import numpy as np
    import pyarrow.parquet as pq

    for path in sorted(out.rglob("*.parquet")):
        table = pq.read_table(path)
        for name in table.column_names:
            col = table.column(name)
            if col.type in ("double", "float") or str(col.type).startswith(("double", "float")):
                arr = col.to_numpy(zero_copy_only=False)
                arr = arr[~np.isnan(arr)] if col.null_count else arr
                if not np.all(np.isfinite(np.asarray(arr, dtype=float))):
                    return f"{path.name}:{name}"
    summary = (out / "summary.json").read_text(encoding="utf-8")

    def refuse(token: str) -> float:
        raise ValueError(token)

    try:
        json.loads(summary, parse_constant=refuse)
    except ValueError as exc:
        return f"summary.json: {exc}"
    return None


def _where_named(line: str, source: str) -> bool:
    body = line.removeprefix("error: ")
    return body.startswith((source, "--set "))


def _child(case_file: str, sets: list[str], out: str, conn: Any) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    try:
        from typer.testing import CliRunner

        from evplant.cli import app

        args = ["run", case_file, "--out", out, "--quiet"]
        for item in sets:
            args += ["--set", item]
        result = CliRunner().invoke(app, args)
        exc = result.exception
        tb = ""
        if exc is not None and not isinstance(exc, SystemExit):
            tb = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            frames = traceback.extract_tb(exc.__traceback__)
            if frames:
                tb += f" [{Path(frames[-1].filename).name}:{frames[-1].lineno}]"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send((result.exit_code, result.stderr, tb, usage.ru_utime + usage.ru_stime))
    except BaseException as exc:  # noqa: BLE001 - the child reports anything
        conn.send((1, "", f"{type(exc).__name__}: {exc}", 0.0))


_ctx: Any = None


def _context() -> Any:
    global _ctx
    if _ctx is None:
        _ctx = mp.get_context("forkserver")
        _ctx.set_forkserver_preload(
            [
                "evplant.cli",
                "evplant.results",
                "evplant.report",
                "typer.testing",
                "fuzzing",
                "fuzz_warm",
            ]
        )
    return _ctx


def run_case(case: Case, folder: Path, limit_s: float | None = None) -> Outcome:
    """Run one case in a child process and judge it."""
    folder.mkdir(parents=True, exist_ok=True)
    case_file = folder / "scenario.yaml"
    raw = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8", "surrogatepass")
    case_file.write_bytes(raw)
    out = folder / "out"
    limit = limit_s or RUN_LIMIT_S
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(str(case_file), case.sets, str(out), send))
    t0 = time.perf_counter()
    proc.start()
    send.close()
    got = recv.poll(limit)
    seconds = time.perf_counter() - t0
    if not got:
        proc.kill()
        proc.join()
        return Outcome(False, "hang (past the time limit)", seconds, None, case.label)
    try:
        code, stderr, tb, cpu_s = recv.recv()
    except EOFError:
        proc.join()
        return Outcome(
            False, f"child died (signal {-(proc.exitcode or 0)})", seconds, None, case.label
        )
    proc.join()
    outcome = judge(case, str(case_file), out, code, stderr, tb, seconds, cpu_s)
    outcome.cpu_s = cpu_s
    return outcome


def judge(
    case: Case,
    source: str,
    out: Path,
    code: int,
    stderr: str,
    tb: str,
    seconds: float,
    cpu_s: float | None = None,
) -> Outcome:
    """Clean or not, and the class of what was wrong. A refusal is slow by the CPU time
    its process used (``cpu_s``, when known): on a shared machine the wall clock
    measures the neighbours too; a hang is caught by the wall-clock limit."""
    if tb:
        return Outcome(False, f"traceback: {_shape(tb)}", seconds, code, case.label)
    if code == 0:
        if case.bad:
            return Outcome(
                False, f"nonsense accepted: {_shape(case.label)}", seconds, 0, case.label
            )
        bad = _finite_tables(out)
        if bad is not None:
            return Outcome(False, f"non-finite output: {_shape(bad)}", seconds, 0, case.label)
        return Outcome(True, "ok", seconds, 0)
    if code != 2:
        return Outcome(False, f"exit {code}", seconds, code, stderr[-300:])
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if not lines or not all(ln.startswith("error: ") for ln in lines):
        return Outcome(False, "message not one line per problem", seconds, 2, stderr[-300:])
    if not all(_where_named(ln, source) for ln in lines):
        return Outcome(
            False, f"message does not say where: {_shape(lines[0])}", seconds, 2, lines[0]
        )
    if out.exists():
        return Outcome(False, "refused but left output", seconds, 2, lines[0])
    if (seconds if cpu_s is None else cpu_s) > REFUSAL_LIMIT_S:
        return Outcome(False, "slow refusal", seconds, 2, lines[0])
    return Outcome(True, "refused", seconds, 2, lines[0])


def _shape(text: str) -> str:
    """A message with its numbers, quoted values and paths blanked, to group by kind."""
    text = re.sub(r"/\S+/", "", text)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    text = re.sub(r"\[N\]", "[]", text)
    return text[:160]
