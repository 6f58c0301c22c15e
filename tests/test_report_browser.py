"""A report's headline cards in a real browser (Debian's Chromium): no card's text runs
out of its box or into the next one, at a wide and a narrow window."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, need_browser
from evplant.report import render_compare
from test_report import synthetic

OVERLAPS = """() => {
  const cards = [...document.querySelectorAll('.card')];
  const out = [];
  for (const c of cards) {
    for (const part of c.querySelectorAll('.k, .v, .n')) {
      if (part.scrollWidth > part.clientWidth + 1) out.push('overflows: ' + part.textContent);
    }
  }
  const boxes = cards.map(c => c.getBoundingClientRect());
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const across = a.left < b.right - 1 && b.left < a.right - 1;
    if (across && a.top < b.bottom - 1 && b.top < a.bottom - 1) out.push('overlap: ' + i + ' ' + j);
  }
  return [cards.length, out];
}"""


@pytest.mark.parametrize("width", [1400, 700])
def test_compare_cards_keep_to_their_boxes(width: int, tmp_path: Path) -> None:
    need_browser()
    a_rows, a = synthetic(venture=True)
    b_rows, b = synthetic(venture=True)
    a["first_month_at_target_rate"], b["first_month_at_target_rate"] = "2024-12", None
    b["npv_cny"] = a["npv_cny"] + 6.5e8
    page = tmp_path / "compare.html"
    page.write_text(render_compare(a_rows, a, "runs/with-a-long-folder-name/base", b_rows, b,
                                   "runs/with-a-long-folder-name/no-partner"))
    with chromium() as browser:
        pg = browser.new_page(viewport={"width": width, "height": 900})
        pg.goto(page.as_uri())
        count, problems = pg.evaluate(OVERLAPS)
    assert count >= 5 and problems == []
