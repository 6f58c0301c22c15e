"""The planning page for a team, under faults: `evplant serve` started as a user starts
it, driven by headless Chromium and by its own callbacks replayed over HTTP.

A closed tab's long job is cancelled and leaves only what it finished, marked; another
tab's rerun meanwhile never waits behind it; a burst of page loads and new tabs never
silences an open one; a kill -9 and restart mid-run leaves a tab that gets its edits
back, and the server clears the dead one's leftovers on start and its own on exit; a
huge "any field" is refused by its line cap; two edits a millisecond apart end on the
newer; a malformed callback gets 400 and one line.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from browser import chromium, need_browser, open_page, wait_ready

PLAN = "beijing-etown-2023"
QUIET = 3  # seconds without a poll before a tab's jobs are cancelled, for these tests
HOURS = "plant.phases.phase1.shifts.0.hours"


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    log: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        """The server's temporary folder, as its log names it."""
        m = re.search(r"outputs in (\S+)", "".join(self.log))
        assert m, "".join(self.log)
        return Path(m.group(1))

    def text(self) -> str:
        return "".join(self.log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(tmp: Path, port: int = 0) -> Iterator[Server]:
    """`evplant serve` without --out (its temporary folder under ``tmp``), its log read
    as it comes."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evplant.cli", "serve", PLAN, "--port", str(port),
         "--quiet-after", str(QUIET)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    server = Server(proc, "")
    t0 = time.monotonic()
    while not server.url and time.monotonic() - t0 < 180:
        line = proc.stdout.readline()
        if not line:
            break
        server.log.append(line)
        m = re.search(r"(http://\S+/)", line)
        server.url = m.group(1) if m else ""
    stream = proc.stdout

    def read() -> None:
        for line in stream:
            server.log.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        assert server.url, "the server did not start:\n" + server.text()
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)


def _post(url: str, body: Any, raw: bytes | None = None) -> tuple[int, str]:
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", "/_dash-update-component", data,
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, text


class Recorder:
    """The callback requests a tab sends, by what they answer, to replay over HTTP."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg
        self.bodies: dict[str, Any] = {}
        pg.on("request", self._seen)

    def _seen(self, request: Any) -> None:
        if "/_dash-update-component" in request.url and request.post_data:
            body = json.loads(request.post_data)
            out = body["output"]
            key = ("tick" if "status.children" in out else
                   "edit" if "lever-effective" in out else out)
            self.bodies[key] = body

    def body(self, key: str) -> Any:
        for _ in range(300):
            if key in self.bodies:
                break
            self.pg.wait_for_timeout(100)  # the browser's events come in meanwhile
        return copy.deepcopy(self.bodies[key])


def _set(body: Any, section: str, ident: str, value: Any) -> None:
    for entry in body[section]:
        if isinstance(entry, dict) and entry["id"] == ident:
            entry["value"] = value
            return
    raise KeyError(ident)


def _lever_values(body: Any) -> list[Any]:
    return next(e for e in body["state"] if isinstance(e, list))


def _edit(body: Any, seq: int, **items: str) -> Any:
    """A replayed edit numbered ``seq`` setting levers by path (and the extra box)."""
    out = copy.deepcopy(body)
    _set(out, "inputs", "edit-seq", {"n": seq, "full": False})
    for entry in _lever_values(out):
        path = LEVERS[entry["id"]["index"]]
        if path in items:
            entry["value"] = items[path]
    if "extra" in items:
        _set(out, "state", "extra", items["extra"])
    return out


LEVERS: list[str] = []


def _lever(pg: Any, path: str) -> Any:
    return pg.locator(f'div.lever[data-path="{path}"]')


def _status(pg: Any) -> str:
    return str(pg.inner_text("#status"))


def _wait_status(pg: Any, js: str, timeout: float = 120_000) -> None:
    pg.wait_for_function(
        f"() => {{ const s = document.querySelector('#status').textContent; return {js}; }}",
        timeout=timeout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    need_browser()
    from evplant.page.levers import levers_for
    from evplant.scenario.load import prepare

    LEVERS[:] = [lv.path for lv in levers_for(prepare(PLAN))]
    with serve(tmp_path_factory.mktemp("faults")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_browser()
    with chromium() as b:
        yield b


def test_a_closed_tabs_long_job_is_cancelled_and_never_holds_up_a_rerun(
        server: Server, browser: Any) -> None:
    a = open_page(browser, server.url)
    a.fill("#mc-replications", "200")
    a.click("#mc-start")
    running = r"/^Monte Carlo, 200 replications: \d+\/200 /"
    _wait_status(a, f"{running}.test(s)")
    b = open_page(browser, server.url)
    # a second long job waits its turn in the long pool, and says behind how many
    b.fill("#mc-replications", "5")
    b.click("#mc-start")
    _wait_status(b, "s === 'Monte Carlo, 5 replications: waiting behind 1'", 30_000)
    b.click("#cancel")
    _wait_status(b, "s.includes('cancelled')", 30_000)
    # a rerun of the other tab is answered while the long job still runs
    before = _status(b)
    box = _lever(b, HOURS).locator("input")
    box.fill("9")
    box.press("Enter")
    _wait_status(b, f"s.includes('done') && s !== {json.dumps(before)}")
    assert f"{HOURS}=9" in b.text_content("#cards")
    assert re.match(r"Monte Carlo, 200 replications: \d+/200 ", _status(a))  # running
    # the tab closes: nobody polls, and within seconds its job stops
    a.context.close()
    t0 = time.monotonic()
    marks: list[Path] = []
    while not marks and time.monotonic() - t0 < 60:
        time.sleep(0.5)
        marks = list(server.out.glob("*/mc-*/UNFINISHED.txt"))
    assert marks, server.text()
    note = marks[0].read_text(encoding="utf-8")
    assert f"its tab did not poll for {QUIET} s" in note and "cancelled at" in note
    folder = marks[0].parent
    for _ in range(40):  # the lock goes as the job unwinds
        if not list(folder.parent.glob(".mc-*.lock")):
            break
        time.sleep(0.25)
    assert not list(folder.parent.glob(".mc-*.lock"))
    leftover = {p.name for p in folder.iterdir()} - {"UNFINISHED.txt", "chunks",
                                                       "manifest.json"}
    assert not leftover, leftover  # no summary or report of a run that did not finish
    assert all(p.suffix == ".parquet" for p in (folder / "chunks").iterdir())
    assert "quiet for" in server.text()
    b.context.close()


def test_a_burst_of_page_loads_and_new_tabs_never_silences_an_open_tab(
        server: Server, browser: Any) -> None:
    pg = open_page(browser, server.url)
    rec = Recorder(pg)
    tick = rec.body("tick")
    fresh = copy.deepcopy(tick)
    _set(fresh, "state", "session", None)
    answers: list[tuple[int, str]] = []
    host, port = re.match(r"http://([^:/]+):(\d+)/", server.url).groups()  # type: ignore[union-attr]

    def load() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()
        answers.append(_post(server.url, fresh))  # the new tab's first poll

    threads = [threading.Thread(target=load) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 200 for code, _ in answers)
    refused = [t for _, t in answers if "holds at most 16 tabs" in t]
    assert refused  # past the cap a new tab is told so, and no polling tab goes
    assert "session cap of 16 reached" in server.text()
    before = _status(pg)
    box = _lever(pg, HOURS).locator("input")
    box.fill("8.5")
    box.press("Enter")
    _wait_status(pg, f"s.includes('done') && s !== {json.dumps(before)}")
    assert pg.inner_text("#notice") == ""  # its session was never lost
    pg.context.close()


def test_malformed_callbacks_get_400_and_one_line(server: Server, browser: Any) -> None:
    pg = open_page(browser, server.url)
    rec = Recorder(pg)
    box = _lever(pg, HOURS).locator("input")
    box.fill("8.25")
    box.press("Enter")
    wait_ready(pg)
    edit, tick = rec.body("edit"), rec.body("tick")
    bad: list[Any] = [b"not json", [], {"output": "nope"}, {**tick, "inputs": "x"},
                      {**tick, "state": tick["state"][:2]}, {**edit, "outputs": 5}]
    short = copy.deepcopy(edit)
    _lever_values(short).pop()  # one value fewer than the form has fields
    bad.append(short)
    for n in (True, "7", -1, 2**60):
        odd = copy.deepcopy(edit)
        _set(odd, "inputs", "edit-seq", {"n": n, "full": False})
        bad.append(odd)
    lines = len(server.log)
    for body in bad:
        code, text = _post(server.url, None, body if isinstance(body, bytes)
                           else json.dumps(body).encode())
        assert code == 400, (body, code, text)
        assert text.startswith("malformed callback request: ") and text.count("\n") == 1
    log = "".join(server.log[lines:])
    assert "Traceback" not in log and log.count("refused a malformed") == len(bad)
    assert _post(server.url, tick)[0] == 200  # and the page goes on
    pg.context.close()


def test_a_5000_line_any_field_is_refused_by_its_line_cap(server: Server,
                                                          browser: Any) -> None:
    from evplant.page.edits import MAX_EXTRA_LINES

    pg = open_page(browser, server.url)
    rec = Recorder(pg)
    box = _lever(pg, HOURS).locator("input")
    box.fill("8.75")
    box.press("Enter")
    wait_ready(pg)
    extra = "\n".join(f"{HOURS}={7 + (i % 3)}" for i in range(5000))
    seq = int(rec.body("edit")["inputs"][0]["value"]["n"]) + 1
    code, text = _post(server.url, _edit(rec.body("edit"), seq, extra=extra))
    assert code == 200
    answer = json.loads(text)["response"]["extra-error"]["children"]
    assert answer.startswith(f"extra: at most {MAX_EXTRA_LINES} lines")
    _wait_status(pg, "s.startsWith('edit refused: extra: at most')", 30_000)
    pg.context.close()


def test_two_edits_a_millisecond_apart_end_on_the_newer(server: Server,
                                                       browser: Any) -> None:
    pg = open_page(browser, server.url)
    rec = Recorder(pg)
    box = _lever(pg, HOURS).locator("input")
    box.fill("8.1")
    box.press("Enter")
    wait_ready(pg)
    edit = rec.body("edit")
    seq = int(edit["inputs"][0]["value"]["n"]) + 10
    for trial in range(5):
        older, newer = f"{7 + trial / 10:g}", f"{9 + trial / 10:g}"
        bodies = [_edit(edit, seq + 1, **{HOURS: older}), _edit(edit, seq + 2, **{HOURS: newer})]
        seq += 2
        if trial % 2:
            bodies.reverse()  # the newer sent first, the older a millisecond after
        answers: list[int] = []
        threads = [threading.Thread(target=lambda b=b: answers.append(_post(server.url, b)[0]))
                   for b in bodies]
        threads[0].start()
        time.sleep(0.001)
        threads[1].start()
        for t in threads:
            t.join()
        assert sorted(answers) in ([200, 200], [200, 204])
        pg.wait_for_function(
            "(v) => document.querySelector('#cards').textContent.includes(v)",
            arg=f"{HOURS}={newer}", timeout=60_000)
        wait_ready(pg)
        pg.wait_for_timeout(500)
        assert f"{HOURS}={newer}" in pg.text_content("#cards")
        assert f"{HOURS}={older}" not in pg.text_content("#cards")
        # and the session's edits are the newer ones: what it downloads, or runs next
        with pg.expect_download() as dl:
            pg.click("#download-yaml")
        text = Path(dl.value.path()).read_text(encoding="utf-8")
        assert f"hours: {newer}," in text and f"hours: {older}," not in text
    pg.context.close()


def test_a_tab_recovers_its_edits_after_a_kill_9_and_restart_mid_run(
        tmp_path: Path, browser: Any) -> None:
    need_browser()
    port = _free_port()
    stale = tmp_path / "evplant-serve-old"
    stale.mkdir()
    (stale / "serve.pid").write_text("1\n")  # a live process (init): kept
    with serve(tmp_path, port) as first:
        pg = open_page(browser, first.url)
        box = _lever(pg, HOURS).locator("input")
        box.fill("9.5")
        box.press("Enter")
        wait_ready(pg)
        pg.fill("#mc-replications", "50")
        pg.click("#mc-start")
        _wait_status(pg, "/Monte Carlo, 50 replications: [1-9]/.test(s)")
        dead = first.out
        assert list(dead.glob("*/.mc-*.lock"))  # mid-run: its lock is held
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
    assert dead.exists()  # a killed server cannot clean up
    with serve(tmp_path, port) as second:
        assert not dead.exists()  # the next one removes the dead one's folder at start
        assert stale.exists() and second.out.exists()
        pg.wait_for_function(
            "() => document.querySelector('#notice').textContent.includes('was gone')",
            timeout=60_000)
        assert "its 1 edit(s) were sent again" in pg.inner_text("#notice")
        pg.wait_for_function(
            "(v) => document.querySelector('#cards').textContent.includes(v)",
            arg=f"{HOURS}=9.5", timeout=60_000)
        assert _lever(pg, HOURS).locator("input").input_value() == "9.5"  # kept in the tab
        own = second.out
        second.proc.terminate()
        second.proc.wait(timeout=60)
    assert not own.exists()  # a server removes its own folder when it stops
