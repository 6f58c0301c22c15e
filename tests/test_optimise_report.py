"""`evplant run --marginal`: the plant's marginal values in the run folder and ranked in
its report, as a user runs it; the default run stays without them."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from evplant.cli import app
from evplant.optimise.plant import plant_marginal_values
from evplant.report import fmt

runner = CliRunner()
TWO = str(Path(__file__).parent / "data" / "two-shop-plant.yaml")


def table_rows(page: str, title: str) -> list[list[str]]:
    """The body cells of the page's table under ``<h3>title</h3>``."""
    part = page.split(f"<h3>{html.escape(title)}</h3>", 1)[1].split("</table>", 1)[0]
    body = part.split("<tbody>", 1)[1]
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def test_run_marginal_writes_the_values_and_ranks_them_per_yuan(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", TWO, "--marginal", "--marginal-replications", "2",
                                 "--seed", "3", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "marginal.json").read_text())
    direct = plant_marginal_values(TWO, replications=2, seed=3).to_dict()
    saved.pop("evaluations_per_second"), direct.pop("evaluations_per_second")
    assert saved == direct  # the same paired runs as the API's
    page = (out / "report.html").read_text()
    assert '<section id="marginal">' in page
    rows = table_rows(page, "Ranked by cars per unit of money")
    priced = sorted((v for v in saved["values"] if v["cost"] is not None),
                    key=lambda v: -v["per_year_per_cost"])
    assert [r[2] for r in rows] == [v["name"] for v in priced]
    for r, v in zip(rows, priced, strict=True):
        assert r[3] == fmt.count(v["per_year"]) and r[4] == fmt.count(v["per_year_se"])
        assert r[6] == fmt.count(v["per_year_per_cost"] * 1e6, 1)
    assert "Next yuan buys most at" in page and f">{priced[0]['name']}<" in page
    cycle = table_rows(page, "Without a price (by cars a year per unit)")
    assert cycle[0][:2] == ["one second saved", "line/body/weld"]


def test_default_run_has_no_marginal_values(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", TWO, "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r" / "marginal.json").exists()
    assert 'id="marginal"' not in (tmp_path / "r" / "report.html").read_text()


def test_bad_marginal_options_exit_2_before_anything_is_written(tmp_path: Path) -> None:
    for args, message in (
        (["--marginal", "--marginal-year", "2031"], "--marginal-year: a year within the horizon"),
        (["--marginal-year", "2025"], "--marginal-year: needs --marginal"),
        (["--marginal", "--marginal-replications", "1"],
         "--marginal-replications: must be at least 2"),
    ):
        result = runner.invoke(app, ["run", TWO, "--out", str(tmp_path / "r"), "-q", *args])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], result.output
        assert not (tmp_path / "r").exists()
