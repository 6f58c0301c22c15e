"""What a calibration writes: posterior.parquet, fit.csv, calibration.json, scenario.yaml.

``scenario.yaml`` is the calibrated scenario, runnable as it is: the original file's
text with each calibrated value replaced by its posterior median (and marked so in a
comment, with the value it replaced), a new name, and a ``posterior:`` section naming
the samples, which ``evplant mc`` draws jointly for the calibrated parameters.  The
original comments (the facts and estimates each value rests on) are kept.  Where a
value cannot be replaced in the text (it is written in a form the editor does not
know), the scenario is written as plain YAML instead, without comments.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import atomic
from ..errors import EvplantError
from ..experiments import plan
from ..results import jsonable
from .inference import Posterior

POSTERIOR = "posterior.parquet"
FIT = "fit.csv"
SUMMARY = "calibration.json"
SCENARIO = "scenario.yaml"
REPORT = "report.html"
QUANTILES = (0.1, 0.5, 0.9)


def posterior_table(post: Posterior) -> Any:
    """The kept samples, one row each: sample, walker, step, weight, log densities,
    then one column per parameter path (the value set into the scenario)."""
    import pyarrow as pa

    n = len(post.samples)
    cols: dict[str, Any] = {
        "sample": pa.array(np.arange(n, dtype=np.int64)),
        "run": pa.array(post.run.astype(np.int64)),
        "walker": pa.array(post.walker.astype(np.int64)),
        "step": pa.array(post.step.astype(np.int64)),
        "weight": pa.array(np.full(n, 1.0 / n)),
        "log_posterior": pa.array(post.log_posterior),
        "log_likelihood": pa.array(post.log_likelihood),
    }
    for j, p in enumerate(post.params):
        cols[p.path] = pa.array(post.samples[:, j])
    return pa.table(cols)


def write_posterior(path: Path, post: Posterior) -> None:
    import pyarrow.parquet as pq

    with atomic.atomic_path(path) as tmp:
        pq.write_table(posterior_table(post), tmp)


def read_posterior(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(parameter paths, samples [n, d], weights [n]) of a posterior.parquet file."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise EvplantError("posterior file not found", file=str(path)) from None
    except Exception as exc:  # pyarrow raises its own types for a broken file
        raise EvplantError(f"not a readable Parquet file ({exc})", file=str(path)) from None
    fixed = {"sample", "run", "walker", "step", "weight", "log_posterior", "log_likelihood"}
    paths = [c for c in table.column_names if c not in fixed]
    if not paths or "weight" not in table.column_names or table.num_rows == 0:
        raise EvplantError(
            "not a posterior: needs a weight column, parameter columns and rows", file=str(path)
        )
    values = np.column_stack([table.column(p).to_numpy().astype(float) for p in paths])
    weights = table.column("weight").to_numpy().astype(float)
    if not (np.isfinite(values).all() and np.isfinite(weights).all() and (weights >= 0).all()
            and weights.sum() > 0):
        raise EvplantError("the samples or weights are not finite and >= 0", file=str(path))
    return paths, values, weights / weights.sum()


def fit_rows(post: Posterior) -> list[dict[str, Any]]:
    """Each statement against the fitted model: P10, P50, P90 of the model's figure over
    the posterior samples and simulation seeds, and whether the record lies within."""
    q = post.predictive(QUANTILES)
    rows = []
    for i, s in enumerate(post.statements):
        lo, mid, hi = (float(x) for x in q[:, i])
        if s.relation == "ge":
            inside = hi >= s.value
        elif s.relation == "le":
            inside = lo <= s.value
        else:
            inside = lo <= s.value <= hi
        rows.append({
            "period": s.period, "metric": s.metric, "relation": s.relation,
            "observed": s.value, "unit": s.unit, "fitted_p10": lo, "fitted_p50": mid,
            "fitted_p90": hi, "error": (mid - s.value) / s.value if s.value else math.nan,
            "within_p10_p90": inside, "note": s.note,
        })
    return rows


def fit_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["period", "metric", "relation", "observed", "unit", "fitted_p10", "fitted_p50",
            "fitted_p90", "error", "within_p10_p90", "note"]
    w.writerow(head)
    for r in rows:
        w.writerow([
            r["period"], r["metric"], r["relation"], _num(r["observed"]), r["unit"],
            _num(r["fitted_p10"]), _num(r["fitted_p50"]), _num(r["fitted_p90"]),
            "" if math.isnan(r["error"]) else f"{r['error']:.4f}",
            "yes" if r["within_p10_p90"] else "no", r["note"],
        ])
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.6e}"


def parameter_rows(post: Posterior) -> list[dict[str, Any]]:
    q_post = np.quantile(post.samples, QUANTILES, axis=0)
    q_prior = np.quantile(post.prior_samples, QUANTILES, axis=0)
    point = post.point
    d = post.diagnostics
    return [
        {
            "path": p.path, "label": p.name, "prior": p.model_dump(exclude_none=True),
            "prior_p10": float(q_prior[0, j]), "prior_p50": float(q_prior[1, j]),
            "prior_p90": float(q_prior[2, j]), "posterior_p10": float(q_post[0, j]),
            "posterior_p50": float(q_post[1, j]), "posterior_p90": float(q_post[2, j]),
            "point": point[j], "effective_samples": d["effective_samples"][j],
            "ess_tail": d["ess_tail"][j], "r_hat": d["r_hat"][j],
        }
        for j, p in enumerate(post.params)
    ]


def summary(post: Posterior, fit: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    inside = [r["within_p10_p90"] for r in fit]
    out: dict[str, Any] = jsonable({
        "scenario": post.scenario,
        "source": post.source,
        "record": list(post.record),  # where the statements came from (passwords masked)
        "seed": post.seed,
        "budget": budget,
        "simulations": post.simulations,
        "seeds_per_evaluation": int(post.predictions.shape[1]),
        "fit_months": f"{post.fit_months[0]}..{post.fit_months[1]}",
        "statements": len(post.statements),
        "statements_within_p10_p90": int(sum(inside)),
        "sampler": "waste-free SMC with adaptive tempering (independent runs, pooled)",
        "diagnostics": post.diagnostics,
        "parameters": parameter_rows(post),
    })
    return out


def rounded_point(post: Posterior) -> list[float | int]:
    """The point estimate as written: posterior medians to 4 significant digits (the
    posterior is far wider than that), integers as they are."""
    return [v if isinstance(v, int) else float(f"{v:.4g}") for v in post.point]


# a value calibrated twice keeps the note of the first time (the plan's value)
_TWICE = re.compile(r"calibrated: posterior median \(was [^)]*\); calibrated: posterior "
                    r"median \(was ([^)]*)\)")
_HEADER = re.compile(
    r"\A# [^\n]* calibrated by `evplant (calibrate|assimilate)`[^\n]*\n(# [^\n]*\n){1,2}")
_TAIL = re.compile(r"\n# The calibration's samples:[^\n]*\n# [^\n]*\nposterior:\n(  [^\n]*\n)+\Z")


def strip_calibration(text: str) -> str:
    """A calibrated scenario's text without what a calibration added around it (its
    header and ``posterior:`` section), so it can be calibrated again."""
    return _TAIL.sub("\n", _HEADER.sub("", text)).rstrip("\n") + "\n"


def calibrated_text(
    text: str, lines: dict[tuple[str | int, ...], int], post: Posterior, name: str,
    posterior_file: str,
) -> str:
    """The scenario's own text with the point estimate set in; see the module docstring."""
    from ..scenario.text import edited_text

    edited = edited_text(
        text, lines, list(zip(post.locs, rounded_point(post), strict=True)),
        lambda old: f"calibrated: posterior median (was {old})",
    )
    if edited is None:
        return _dumped(text, post, name, posterior_file)
    body = _TWICE.sub(r"calibrated: posterior median (was \1)", edited)
    body = re.sub(r"(?m)^name:.*$", f"name: {name}", body, count=1)
    header = (
        f"# {name}: {post.scenario} calibrated by `evplant {post.method}` on "
        f"{len(post.statements)} statements of the record\n# ({post.fit_months[0]}.."
        f"{post.fit_months[1]}); values marked 'calibrated' are posterior medians, and\n"
        f"# `evplant mc` draws them jointly from {posterior_file}.\n"
    )
    tail = (
        "\n# The calibration's samples: `evplant mc` draws the calibrated parameters from\n"
        "# them, jointly, in place of their priors.\n"
        f"posterior:\n  file: {posterior_file}\n  fitted_through: \"{post.fit_months[1]}\"\n"
    )
    result = header + body + tail
    if _same(result, text, post, name, posterior_file):
        return result
    return _dumped(text, post, name, posterior_file)


def _expected(text: str, post: Posterior, name: str, posterior_file: str) -> Any:
    from ..inputs import load_text

    data = plan.apply(load_text(text), post.locs, rounded_point(post))
    data["name"] = name
    data["posterior"] = {"file": posterior_file, "fitted_through": post.fit_months[1]}
    return data


def _same(result: str, text: str, post: Posterior, name: str, posterior_file: str) -> bool:
    """Whether the edited text reads back as exactly the data meant."""
    from ..scenario.text import reads_as

    return reads_as(result, _expected(text, post, name, posterior_file))


def _dumped(text: str, post: Posterior, name: str, posterior_file: str) -> str:
    data = _expected(text, post, name, posterior_file)
    head = f"# {name}: {post.scenario} calibrated by `evplant {post.method}` (written as data)\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_all(
    out_dir: Path, post: Posterior, *, text: str, lines: dict[tuple[str | int, ...], int],
    name: str, budget: int, report: bool = True,
) -> list[Path]:
    """Write every output atomically; return the files."""
    fit = fit_rows(post)
    files = [out_dir / POSTERIOR, out_dir / FIT, out_dir / SUMMARY, out_dir / SCENARIO]
    write_posterior(files[0], post)
    atomic.write_text(files[1], fit_csv(fit))
    atomic.write_text(files[2], json.dumps(summary(post, fit, budget), indent=2) + "\n")
    atomic.write_text(files[3], calibrated_text(text, lines, post, name, POSTERIOR))
    if report:
        from .report import render_calibration

        files.append(out_dir / REPORT)
        atomic.write_text(files[4], render_calibration(post, fit))
    return files

