"""The planning page in a real browser: Debian's headless Chromium driven by Playwright
against `evplant serve` started as a user starts it (see tests/browser.py for when
these skip)."""

from __future__ import annotations

import base64
import http.client
import json
import re
import select
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import chromium, need_browser, open_page, serving

PLAN = "beijing-etown-2023"
SHIFTS = "plant.phases.phase1.shifts.0.shifts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    need_browser()
    out = tmp_path_factory.mktemp("serve")
    with serving(PLAN, out) as url:
        yield url, out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_browser()
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, server: tuple[str, Path]) -> Iterator[Any]:
    pg = open_page(browser, server[0])
    yield pg
    pg.context.close()


def _produced(pg: Any) -> tuple[str, str]:
    """(base, edited) vehicles produced, as the differences table shows them."""
    row = pg.locator("#diff-table tr", has_text="Vehicles produced").first
    cells = row.locator("td").all_text_contents()
    return cells[1], cells[2]


def _edited_trace(pg: Any) -> list[float]:
    """The edited run's monthly output in the comparison figure (plotly's own data)."""
    return pg.evaluate(
        "() => document.querySelector('#fig-compare-production .js-plotly-plot').data[1].y"
    )


def _lever(pg: Any, path: str) -> Any:
    return pg.locator(f'div.lever[data-path="{path}"]')


def _change(pg: Any, path: str, value: str) -> None:
    box = _lever(pg, path).locator("input")
    box.fill(value)
    box.press("Enter")


def _done_after(pg: Any, before: str, timeout: float = 120_000) -> None:
    """Wait until the figures were redrawn for a new result (the version moved on)."""
    pg.wait_for_function(
        "(v) => { const s = document.querySelector('#status').textContent; "
        "return s.includes('done') && s !== v; }", arg=before, timeout=timeout)
    pg.wait_for_timeout(600)  # the tick after the job carries the figures


def _not_blank(browser: Any, png: bytes) -> float:
    """Share of pixels of a screenshot that are not the page's white or background,
    counted by the browser itself on a canvas."""
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.set_content(f'<img id="i" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    pg.wait_for_function("() => document.getElementById('i').complete")
    share = pg.evaluate("""() => {
        const img = document.getElementById('i');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (Math.abs(d[i] - d[0]) + Math.abs(d[i+1] - d[1]) + Math.abs(d[i+2] - d[2]) > 30)
                ink++;
        }
        return ink / (d.length / 4);
    }""")
    ctx.close()
    return float(share)


def test_page_shows_scenario_cards_levers_and_figures(page: Any, browser: Any,
                                                      tmp_path: Path) -> None:
    assert page.inner_text("#title") == f"evplant: {PLAN}"
    assert "Vehicles produced" in page.text_content("#cards")
    hint = _lever(page, SHIFTS).locator(".hint").inner_text()
    assert hint == "shifts a day; 1..3"  # unit and range from the schema
    traces = page.evaluate(
        "() => document.querySelector('#fig-production .js-plotly-plot').data.length")
    assert traces >= 2
    shot = page.screenshot(full_page=False)
    (tmp_path / "page.png").write_bytes(shot)
    assert _not_blank(browser, shot) > 0.05
    blank = browser.new_page()
    blank.set_content("<html><body></body></html>")
    assert _not_blank(browser, blank.screenshot()) < 0.01  # the check can fail
    blank.close()


def test_a_lever_change_reruns_and_redraws_the_figures(page: Any) -> None:
    base_trace = _edited_trace(page)
    before = page.inner_text("#status")
    _lever(page, "plant.partner.enabled").locator("input[type=checkbox]").click()
    _done_after(page, before)
    assert page.inner_text("#status").startswith("first two years: done")
    base, edited = _produced(page)
    assert base != edited
    assert _edited_trace(page) != base_trace
    assert "plant.partner.enabled=false" in page.text_content("#cards")


def test_a_bad_value_shows_the_clis_message_beside_it_and_by_the_run_buttons(
        page: Any) -> None:
    before = page.inner_text("#differences")
    _change(page, SHIFTS, "7")
    error = _lever(page, SHIFTS).locator(".error")
    error.wait_for(state="visible", timeout=30_000)
    cli = subprocess.run(
        [sys.executable, "-m", "evplant.cli", "run", PLAN, "--set", f"{SHIFTS}=7", "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 2
    message = cli.stderr.strip().removeprefix("error: ")
    assert error.inner_text() == message
    # the status line beside the run buttons says so too, not "ready"
    page.wait_for_function("() => document.querySelector('#status').textContent"
                           ".startsWith('edit refused')", timeout=30_000)
    assert page.inner_text("#status") == f"edit refused: {message}"
    page.wait_for_timeout(1500)
    assert page.inner_text("#differences") == before  # and nothing ran


def test_a_boolean_where_a_number_is_meant_is_refused_as_in_the_cli(page: Any) -> None:
    hours = "plant.phases.phase1.shifts.0.hours"
    _change(page, hours, "true")
    error = _lever(page, hours).locator(".error")
    error.wait_for(state="visible", timeout=30_000)
    assert error.inner_text().endswith("hours: expected a number, got a boolean (true)")
    cli = subprocess.run(
        [sys.executable, "-m", "evplant.cli", "run", PLAN, "--set", f"{hours}=True", "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 2 and "expected a number, got a boolean" in cli.stderr


def _horizons(pg: Any, within: str = "") -> list[str]:
    """What each headline card says of the months it covers."""
    cards = pg.locator(f"#cards {within} .card")
    return [cards.nth(i).locator(".hz").inner_text() for i in range(cards.count())]


def test_every_header_figure_states_its_horizon(page: Any) -> None:
    first = _horizons(page)
    assert len(first) >= 4 and set(first) == {"over 2024-01..2025-12 (first two years)"}


def test_the_full_horizon_button_runs_the_full_horizon_after_typing_replications(
        page: Any) -> None:
    before = page.inner_text("#status")
    page.fill("#extra", "horizon.end=2026-06")  # 30 months: the first two years and more
    page.click("#extra-apply")
    _done_after(page, before)
    assert set(_horizons(page)) == {"over 2024-01..2025-12 (first two years)"}
    before = page.inner_text("#status")
    page.fill("#replications", "2")  # typed, not entered: the click blurs it
    page.click("#run-full")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith("
        "'full horizon, 2 replications')", timeout=60_000)
    _done_after(page, before, timeout=300_000)
    assert page.inner_text("#status").startswith("full horizon, 2 replications: done")
    # the edited run's cards, and the base run's over its own (unedited) horizon
    assert set(_horizons(page)) == {"over 2024-01..2026-06 (full horizon)",
                                    "over 2024-01..2033-12 (full horizon)"}
    assert set(_horizons(page, ".cards.base")) == {"over 2024-01..2033-12 (full horizon)"}
    assert page.locator("#paired-table").count() == 1


def test_a_moved_date_shows_the_date_in_effect(page: Any) -> None:
    from evplant.scenario.load import prepare

    moved = prepare(PLAN, ["plant.phases.phase2.delay_months=6"]).scenario
    written = prepare(PLAN).scenario.plant.phases[1].sop
    sop = _lever(page, "plant.phases.phase2.sop")
    assert sop.locator("input").input_value() == written
    before = page.inner_text("#status")
    _change(page, "plant.phases.phase2.delay_months", "6")
    _done_after(page, before)
    effective = sop.locator(".effective").inner_text()
    assert effective == f"in effect: {moved.plant.phases[1].sop}" != f"in effect: {written}"


def test_the_downloaded_scenario_runs_with_evplant_run_to_the_same_figures(
    page: Any, tmp_path: Path
) -> None:
    before = page.inner_text("#status")
    page.fill("#extra", "horizon.end=2024-09")
    page.click("#extra-apply")
    _done_after(page, before)
    before = page.inner_text("#status")
    _change(page, "plant.phases.phase1.sop", "2024-03-15")
    _done_after(page, before)
    shown = _produced(page)[1]
    with page.expect_download() as dl:
        page.click("#download-yaml")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert "2024-03-15" in text and path.name == f"{PLAN}-edited.yaml"
    # the scenario's own text: every line kept but the two edited and the files it names
    # (the record's and its forecast's, made absolute, so the file runs from any
    # folder), which say so
    from evplant.scenario.load import scenario_text

    original = scenario_text(PLAN)[0].splitlines()
    lines = [ln for ln in text.splitlines() if "written by `evplant serve`" not in ln
             and not ln.startswith(f"# {PLAN}.yaml (built-in) with ")]
    assert len(lines) == len(original)
    changed = [(a, b) for a, b in zip(original, lines, strict=True) if a != b]
    assert len(changed) == 4 and all("edited on the page (was" in b for _, b in changed)
    assert {a.split(":")[0].strip() for a, _ in changed} == {"horizon", "sop", "observed",
                                                             "forecast"}
    assert "/observed/beijing-etown-2025q1-q3.csv" in text  # both record files, absolute
    for old, new in changed:  # each line's own comment is kept after the mark
        assert new.endswith(old.partition(" #")[2].strip())
    out = tmp_path / "run"
    cli = subprocess.run(
        [sys.executable, "-m", "evplant.cli", "run", str(path), "--out", str(out), "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["horizon"] == "2024-01..2024-09"
    assert f"{summary['vehicles_produced']:,.0f}" == shown

    with page.expect_download() as dl:
        page.click("a.dl >> text=csv.zip")
    zpath = tmp_path / "tables.zip"
    dl.value.save_as(zpath)
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
        assert {"monthly.csv", "summary.json", "tables/plant.csv"} <= names
        assert json.loads(z.read("summary.json"))["vehicles_produced"] == \
            summary["vehicles_produced"]


def test_monte_carlo_runs_in_the_background_and_can_be_cancelled(page: Any) -> None:
    page.fill("#mc-replications", "50")
    page.click("#mc-start")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Monte Carlo')",
        timeout=60_000)
    assert not page.locator("#cancel").is_disabled()
    page.click("#cancel")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('cancelled')",
        timeout=120_000)
    page.fill("#mc-replications", "abc")
    page.click("#mc-start")
    page.wait_for_selector("#mc-error:not(:empty)")
    assert "replications: expected a whole number" in page.inner_text("#mc-error")


def _post_big(url: str, size: int) -> int:
    """POST ``size`` bytes as a careful client does (as curl does): stop sending once
    the server has answered, then read its status line."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            f"POST /_dash-update-component HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < size:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered early
                sock.sendall(chunk[: size - sent])
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        try:
            while b"\r\n" not in reply:
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
        except ConnectionResetError:
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else -1


def test_a_20_mb_request_gets_a_4xx_and_the_server_keeps_serving(
    server: tuple[str, Path],
) -> None:
    url = server[0]
    assert url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    status = _post_big(url, 20 * 1024 * 1024)
    assert 400 <= status < 500
    conn = http.client.HTTPConnection(*re.match(  # type: ignore[union-attr]
        r"http://([^:/]+):(\d+)/", url).groups(), timeout=30)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()


def test_downloads_take_tokens_never_paths(server: tuple[str, Path]) -> None:
    host, port = re.match(r"http://([^:/]+):(\d+)/", server[0]).groups()  # type: ignore[union-attr]
    for path in ("/download/..%2F..%2Fetc/passwd", "/download/nope/csv.zip",
                 "/download/x/..%2Fsummary.json"):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        # no such token: 404; a path that is no download at all gets the page itself
        assert resp.status == 404 or body.startswith(b"<!DOCTYPE html>"), (path, resp.status)
        assert b"root:" not in body and b"vehicles_produced" not in body
