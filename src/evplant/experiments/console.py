"""Terminal output for ``evplant mc``: a progress bar with the time left, and tables."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from . import kpis as K

if TYPE_CHECKING:
    from .run import McComparison, McResult


@contextlib.contextmanager
def progress_bar(
    console: Console | None = None, *, disable: bool = False, description: str = "replications"
) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a bar with the estimated time left.

    The first call (replications already on disk when resuming) resets the bar, so the
    speed, and so the time left, counts only replications run now.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=console, disable=disable, transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)
        first = True

        def update(done: int, total: int) -> None:
            nonlocal first
            if first:
                bar.reset(task, completed=done, total=total)
                first = False
            else:
                bar.update(task, completed=done, total=total)

        yield update


def wrapping_table(title: str, columns: Sequence[str]) -> Table:
    """A terminal table whose cells wrap (folding a word too long for its column)
    rather than end in an ellipsis, however narrow the terminal: the first column is
    text, the others numbers."""
    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    return table


def stats_table(result: McResult) -> Table:
    table = wrapping_table(
        f"{result.scenario}: {result.replications} replications, seed {result.seed}, "
        f"{result.months[0]}..{result.months[-1]}",
        ("KPI", "mean", "95% CI", "P10", "P50", "P90", "reached"),
    )
    for k in result.kpi_names:
        s = result.stats[k]
        table.add_row(
            K.label(k), K.fmt(k, s.mean), K.fmt_range(k, s.ci_low, s.ci_high),
            K.fmt(k, s.p10), K.fmt(k, s.p50), K.fmt(k, s.p90),
            f"{s.reached:.0%}" if K.is_month(k) else "",
        )
    return table


def tornado_tables(result: McResult) -> list[Table]:
    out = []
    for t in result.tornado.values():
        note = "; rough: fewer than 10 replications per parameter" if t.rough else ""
        table = wrapping_table(
            f"sensitivity of {K.label(t.output)} (P10 \u2192 P90 of each{note})",
            ("parameter", "at P10", "at P90", "swing", "rho"),
        )
        for b in t.bars:
            rho = "\u2013" if math.isnan(b.rank_corr) else f"{b.rank_corr:+.2f}"
            table.add_row(b.name, K.fmt(t.output, b.y_low), K.fmt(t.output, b.y_high),
                          K.fmt(t.output, b.swing), rho)
        out.append(table)
    return out


def compare_table(cmp: McComparison) -> Table:
    table = wrapping_table(
        f"B \u2212 A over {cmp.a.replications} paired replications (seed {cmp.a.seed})",
        ("KPI", "A mean", "B mean", "B \u2212 A", "95% CI (paired)", "B higher in"),
    )
    for k in cmp.kpi_names:
        p = cmp.paired[k]
        d = p.diff
        table.add_row(
            K.label(k), K.fmt(k, p.mean_a), K.fmt(k, p.mean_b), K.fmt(k, d.mean, diff=True),
            K.fmt_range(k, d.ci_low, d.ci_high, diff=True),
            f"{p.share_b_better:.0%}",
        )
    return table
