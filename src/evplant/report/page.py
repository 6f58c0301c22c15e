"""HTML assembly: one self-contained page with plotly.js embedded once.

The page must open offline (in a plant's meeting room, from an e-mail attachment), so
nothing is fetched: plotly.js goes into a single inline <script>, each figure is an
inline <div> plus its own small script, and the CSS is inline too.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .plot import Figure

# No logo link (it would point at plotly.com) and no "edit in chart studio" button.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d"]}

CSS = """
:root { --ink: #1a202c; --muted: #4a5568; --line: #e2e8f0; --accent: #2b6cb0;
        --bg: #f7fafc; --good: #2f855a; --bad: #c53030; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
header { background: #1a365d; color: #fff; padding: 28px 0 22px; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; }
header .sub { color: #cbd5e0; margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; }
.card { background: rgba(255,255,255,0.09); border: 1px solid rgba(255,255,255,0.18);
        border-radius: 8px; padding: 10px 14px; min-width: 0; overflow-wrap: anywhere; }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #cbd5e0; }
.card .v { font-size: 22px; font-weight: 650; margin-top: 2px; }
.card .n { font-size: 12.5px; color: #e2e8f0; }
nav { background: #fff; border-bottom: 1px solid var(--line);
      position: sticky; top: 0; z-index: 5; }
nav .wrap { display: flex; flex-wrap: wrap; gap: 4px 18px; padding-top: 8px; padding-bottom: 8px; }
nav a { color: var(--accent); text-decoration: none; font-size: 13.5px; }
nav a:hover { text-decoration: underline; }
main { padding: 8px 0 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          margin: 20px 0; padding: 18px 22px 14px; }
section h2 { margin: 0 0 6px; font-size: 20px; font-weight: 650; }
section p.caption { margin: 0 0 10px; color: var(--muted); max-width: 980px; }
.fig { margin: 6px 0 4px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 12px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { background: #edf2f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 650; border-top: 2px solid #a0aec0; }
.tables { display: flex; flex-wrap: wrap; gap: 8px 36px; align-items: flex-start; }
.tables h3 { font-size: 15px; margin: 6px 0 0; }
.pos { color: var(--good); } .neg { color: var(--bad); }
footer { color: var(--muted); font-size: 12.5px; padding: 0 0 30px; }
"""


@dataclass
class Section:
    """One titled block of the page; ``parts`` are HTML fragments built here."""

    id: str
    title: str
    caption: str
    parts: list[str] = field(default_factory=list)


@dataclass
class Card:
    label: str
    value: str
    note: str = ""


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    # Reading the 4.8 MB bundle once per process keeps repeated renders (tests) fast.
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def figure(fig: Figure) -> str:
    """A figure as an inline fragment that relies on the page's single plotly.js."""
    import plotly.io as pio

    body = pio.to_html(
        fig.to_dict(),
        full_html=False,
        include_plotlyjs=False,
        config=PLOTLY_CONFIG,
        validate=False,
    )
    return f'<div class="fig">{body}</div>'


def cards(items: Sequence[Card]) -> str:
    out = []
    for c in items:
        note = f'<div class="n">{html.escape(c.note)}</div>' if c.note else ""
        out.append(
            f'<div class="card"><div class="k">{html.escape(c.label)}</div>'
            f'<div class="v">{html.escape(c.value)}</div>{note}</div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    total_last: bool = False,
    title: str = "",
) -> str:
    """A plain table; cells are text (escaped here), ``numeric`` columns right-aligned."""
    num = set(numeric)

    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="num"' if i in num else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = ' class="total"' if total_last and r == len(rows) - 1 else ""
        body.append(f"<tr{cls}>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>")
    heading = f"<h3>{html.escape(title)}</h3>" if title else ""
    return (
        f"<div>{heading}<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def tables(*fragments: str) -> str:
    """Several tables side by side where the page is wide enough."""
    return f'<div class="tables">{"".join(fragments)}</div>'


def document(
    title: str, subtitle: str, headline: Sequence[Card], sections: Sequence[Section], footer: str
) -> str:
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        body.append(
            f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>'
            f'<p class="caption">{html.escape(s.caption)}</p>{"".join(s.parts)}</section>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{_plotly_js()}</script>
</head>
<body>
<header><div class="wrap">
<h1>{html.escape(title)}</h1>
<p class="sub">{html.escape(subtitle)}</p>
{cards(headline)}
</div></header>
<nav><div class="wrap">{nav}</div></nav>
<main><div class="wrap">
{"".join(body)}
</div></main>
<footer><div class="wrap">{html.escape(footer)}</div></footer>
</body>
</html>
"""
