"""The planning page under load: the server time from an edit to its figures, median
and worst, for 1, 2, 4 and 8 sessions editing at once, on loopback.

    python benchmarks/page_load.py [SCENARIO] [--sessions 1 2 4 8] [--rounds 3]

It starts `evplant serve SCENARIO` on 127.0.0.1 (never another address), loads the
page once in headless Chromium (Debian's) to learn the shape of its callback requests,
then drives every session over raw HTTP as its tab would: an edit (a new value each
time, so nothing comes from the page's cache of runs), then a poll every 0.1 s until
the tick carries the edited run's cards. In each round all sessions edit at the same
moment. Bounded: at most 16 sessions, 10 rounds, 120 s an edit and 20 minutes in all.
It also times the refusal of a 5,000-line "any field" and the check of one at the cap.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
HOURS = "plant.phases.phase1.shifts.0.hours"
LIMIT_S = 20 * 60


class Client:
    """One session's callbacks over HTTP, from the bodies its page sends."""

    def __init__(self, port: int, tick: Any, edit: Any) -> None:
        self.port, self.tick_body, self.edit_body = port, tick, edit
        self.sid: str | None = None
        self.shown = -1
        self.seq = 1000

    def post(self, body: Any) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("POST", "/_dash-update-component", json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp.status, (json.loads(raw) if resp.status == 200 else None)

    def tick(self) -> Any:
        body = copy.deepcopy(self.tick_body)
        _set(body["state"], "session", self.sid)
        _set(body["state"], "shown", self.shown)
        _set(body["state"], "edit-seq", {"n": 0, "full": False})
        _set(body["state"], "edits", {"seq": 0, "items": []})
        status, answer = self.post(body)
        assert status == 200, status
        r = answer["response"]
        self.sid = r["session"]["data"]
        if isinstance(r.get("shown", {}).get("data"), int):
            self.shown = r["shown"]["data"]
        return r

    def edit(self, values: dict[str, str], extra: str = "") -> Any:
        self.seq += 1
        body = copy.deepcopy(self.edit_body)
        body["inputs"][0]["value"] = {"n": self.seq, "full": False}
        for entry in body["state"][0]:
            if entry["id"]["index"] in values:
                entry["value"] = values[entry["id"]["index"]]
        _set(body["state"], "extra", extra)
        _set(body["state"], "session", self.sid)
        return self.post(body)


def _set(entries: list[Any], ident: str, value: Any) -> None:
    for e in entries:
        if isinstance(e, dict) and e["id"] == ident:
            e["value"] = value


def capture(url: str) -> tuple[Any, Any, int]:
    """(tick body, edit body, index of the hours lever) as the page sends them."""
    from playwright.sync_api import sync_playwright

    bodies: dict[str, Any] = {}

    def seen(request: Any) -> None:
        if "/_dash-update-component" in request.url and request.post_data:
            body = json.loads(request.post_data)
            key = ("tick" if "status.children" in body["output"] else
                   "edit" if "lever-effective" in body["output"] else "")
            if key:
                bodies[key] = body

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", seen)
        page.goto(url)
        page.wait_for_selector("#fig-production .main-svg", timeout=120_000)
        index = int(page.evaluate(
            f"() => JSON.parse(document.querySelector('div.lever[data-path=\"{HOURS}\"] "
            "input').id).index"))
        box = page.locator(f'div.lever[data-path="{HOURS}"] input')
        box.fill("8.5")
        box.press("Enter")
        for _ in range(300):
            if "edit" in bodies and "tick" in bodies:
                break
            page.wait_for_timeout(100)
        browser.close()
    return bodies["tick"], bodies["edit"], index


def one_edit(c: Client, index: int, value: str, start: threading.Barrier,
             out: list[float]) -> None:
    start.wait()
    t0 = time.perf_counter()
    c.edit({index: value})
    item = f"{HOURS}={value}"
    while time.perf_counter() - t0 < 120:
        r = c.tick()
        cards = json.dumps(r.get("cards", {}))
        if item in cards:
            out.append(time.perf_counter() - t0)
            return
        time.sleep(0.1)
    out.append(float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="beijing-etown-2023")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if max(args.sessions) > 16 or min(args.sessions) < 1 or not 1 <= args.rounds <= 10:
        raise SystemExit("sessions 1..16 and rounds 1..10")
    t_start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "evplant.cli", "serve", args.scenario,
                             "--host", "127.0.0.1", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = ""
    while not url:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server did not start")
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        url = m.group(1) if m else ""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    try:
        tick, edit, index = capture(url)
        print(f"{args.scenario} on {url}: edit to figures, server time over raw HTTP "
              f"({args.rounds} rounds, every session editing at once)")
        print(f"{'sessions':>8} {'median s':>9} {'worst s':>8} {'edits':>6}")
        counter = 0
        for n in args.sessions:
            clients = [Client(port, tick, edit) for _ in range(n)]
            for c in clients:
                c.tick()  # the first poll makes the session
                c.tick()
            times: list[float] = []
            for _ in range(args.rounds):
                if time.monotonic() - t_start > LIMIT_S:
                    raise SystemExit("past the benchmark's time limit")
                barrier = threading.Barrier(n)
                threads = []
                for c in clients:
                    counter += 1
                    value = f"{7 + counter / 1000:.3f}"
                    threads.append(threading.Thread(
                        target=one_edit, args=(c, index, value, barrier, times)))
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            ok = [t for t in times if t == t]
            print(f"{n:>8} {statistics.median(ok):>9.2f} {max(ok):>8.2f} "
                  f"{len(ok):>3}/{len(times)}")
            time.sleep(1.0)
        c = Client(port, tick, edit)
        c.tick()
        for lines in (5000, 200):
            extra = "\n".join(f"{HOURS}={7 + i % 3}" for i in range(lines))
            t0 = time.perf_counter()
            status, answer = c.edit({}, extra)
            dt = time.perf_counter() - t0
            said = (answer or {}).get("response", {}).get("extra-error", {}).get(
                "children", "")
            print(f"any field of {lines:,} lines: answered in {dt:.3f} s "
                  f"({'refused: ' + said[:40] if said else 'checked'})")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
