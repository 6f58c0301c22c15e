"""HTML reports of runs: one self-contained, offline page per run, or a comparison.

``render_run(rows, summary, title=...)`` and ``render_compare(...)`` return the whole
page as a string; plotly.js is embedded once, so the file opens without a network.
"""

from __future__ import annotations

from .compare import render_compare
from .run_page import render_run

__all__ = ["render_compare", "render_run"]
