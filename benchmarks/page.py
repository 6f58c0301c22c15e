"""The planning page's speed as a planner meets it: the page's weight on first load
(bytes transferred) and the time from a change to updated figures, short horizon and
full, in headless Chromium (Debian's) against `evplant serve`.

    python benchmarks/page.py [SCENARIO] [--repeat N]

Each change sets a new value (the page caches runs it has seen), so every timing is a
fresh simulation of the edited scenario; the base run is cached, as on the page.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

CHROMIUM = "/usr/bin/chromium"
LEVER = "plant.partner.experience_units"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="beijing-etown")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--screenshot", default="")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    alone = _simulate_alone(args.scenario)
    print("simulate() alone, same edit, in this process: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in alone.items()))

    proc = subprocess.Popen([sys.executable, "-m", "evplant.cli", "serve", args.scenario,
                             "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = ""
    while not url:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server did not start")
        m = re.search(r"(http://\S+/)", line)
        url = m.group(1) if m else ""
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            sizes: list[int] = []

            def on_finished(request: object) -> None:
                s = request.sizes()  # type: ignore[attr-defined]
                sizes.append(int(s["responseBodySize"]) + int(s["responseHeadersSize"]))

            page.on("requestfinished", on_finished)
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#fig-production .main-svg", timeout=120_000)
            first = time.perf_counter() - t0
            page.wait_for_timeout(1000)
            weight = sum(sizes)
            print(f"first load: {weight / 1e6:.2f} MB transferred in {len(sizes)} requests, "
                  f"figures shown after {first:.1f} s")
            for short in (True, False):
                times = []
                for k in range(args.repeat):
                    value = str(4100 + k + (0 if short else 50))
                    before = page.evaluate(_TRACE)
                    t0 = time.perf_counter()
                    box = page.locator(f'div.lever[data-path="{LEVER}"] input')
                    box.fill(value)
                    box.press("Enter")
                    if not short:
                        page.wait_for_function(_CHANGED, arg=before, timeout=120_000)
                        before = page.evaluate(_TRACE)
                        t0 = time.perf_counter()
                        page.click("#run-full")
                    page.wait_for_function(_CHANGED, arg=before, timeout=300_000)
                    times.append(time.perf_counter() - t0)
                label = "first two years" if short else "full horizon"
                each = ", ".join(f"{t:.2f}" for t in times)
                med = statistics.median(times)
                ratio = med / alone["first two years" if short else "full horizon"]
                print(f"change -> updated figures, {label}: median {med:.2f} s (runs {each}); "
                      f"{ratio:.1f} x simulate() alone")
            if args.screenshot:
                page.screenshot(path=args.screenshot, full_page=True)
                print(f"wrote {args.screenshot}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _simulate_alone(scenario: str) -> dict[str, float]:
    """The simulation the page runs for one change, timed alone (warm): the baseline the
    page's times are read against, measured on the same machine in the same run."""
    from evplant.page.edits import horizon_items
    from evplant.run import simulate
    from evplant.scenario.load import prepare

    out = {}
    edit = [f"{LEVER}=4321"]
    for label, short in (("first two years", True), ("full horizon", False)):
        sc = prepare(scenario, [*edit, *horizon_items(prepare(scenario, edit), short)]).scenario
        simulate(sc, 0)
        t0 = time.perf_counter()
        simulate(sc, 0)
        out[label] = time.perf_counter() - t0
    return out


_TRACE = ("() => JSON.stringify(document.querySelector('#fig-compare-production "
          ".js-plotly-plot').data[1].y)")
_CHANGED = ("(old) => JSON.stringify(document.querySelector('#fig-compare-production "
            ".js-plotly-plot').data[1].y) !== old")

if __name__ == "__main__":
    main()
