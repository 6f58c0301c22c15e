"""``evplant calibrate`` as a function: calibrate, then write every output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EvplantError
from .inference import Observed, Posterior, Setup, run_calibration
from .outputs import write_all

if TYPE_CHECKING:
    from ..experiments.run import McResult

Progress = Callable[[int, int], None]


@dataclass
class Calibrated:
    """A finished calibration: its posterior and where its outputs were written."""

    posterior: Posterior
    out_dir: Path
    name: str
    files: list[Path] = field(default_factory=list)
    forecast: McResult | None = None  # an assimilation's forecast (with --forecast-to)


def calibrate(
    scenario: str | Path | None = None,
    observed: Observed = None,
    *,
    out_dir: str | Path | None = None,
    budget: int = 4000,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
    origin: str | None = None,
    progress: Progress | None = None,
    report: bool = True,
    executor: Any = None,
) -> Calibrated:
    """Calibrate ``scenario`` on the record (its ``calibration.observed`` file, or
    ``observed``) and write ``posterior.parquet``, ``fit.csv``, ``calibration.json``,
    the calibrated ``scenario.yaml`` and ``report.html`` into ``out_dir``.

    ``name``: the calibrated scenario's name (default ``<name>-calibrated``);
    ``origin``: use only the statements that end before this month (``YYYY-MM``);
    ``executor``: an executor from :func:`evplant.experiments.executors.make_executor`
    to reuse (``workers`` and ``scheduler`` are then ignored).
    Raises EvplantError for bad input before anything is written.

    Parameters
    ----------
    scenario : str or pathlib.Path, optional
        A scenario with a ``calibration:`` section (its parameters and priors); default
        the built-in default.
    observed : str or pathlib.Path, optional
        An observations CSV (default: the scenario's ``calibration.observed``).
    out_dir : str or pathlib.Path, optional
        Where the outputs go (default ``runs/<name>``).
    budget : int
        The most simulations to run (``walkers x seeds`` a step).
    seed : int
        The sampler's seed; the same seed gives the same posterior on any executor.

    Returns
    -------
    Calibrated
        The posterior, the calibrated scenario's name, and the files written.

    Raises
    ------
    EvplantError
        For bad input or a budget too small for the parameters.
    """
    from ..scenario.load import DEFAULT

    scenario = DEFAULT if scenario is None else scenario
    if budget < 1:
        raise EvplantError("must be at least 1", field="--budget")
    if name is not None and not name.strip():
        raise EvplantError("must not be empty", field="--name")
    post = run_calibration(
        scenario, observed, budget=budget, seed=seed, workers=workers, scheduler=scheduler,
        overrides=overrides, origin=origin, progress=progress, executor=executor,
    )
    return written(post, scenario, overrides, name, out_dir, budget, report)


def written(
    post: Posterior, scenario: str | Path, overrides: Sequence[str], name: str | None,
    out_dir: str | Path | None, budget: int, report: bool,
) -> Calibrated:
    """Write a finished calibration's (or assimilation's) outputs; see :func:`calibrate`."""
    from ..inputs import read_yaml
    from ..scenario.load import scenario_text
    from .outputs import strip_calibration

    text, source = scenario_text(str(scenario))
    text = strip_calibration(text)
    if overrides:  # the file's text lacks the overrides: edit the data they made instead
        import yaml

        from ..scenario.load import prepare

        data = prepare(scenario, overrides).data
        data.pop("posterior", None)
        text = f"# {source} with {' '.join(overrides)}\n" + yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, width=100
        )
    _, lines = read_yaml(text, source)
    final = name or (f"{post.scenario}-calibrated" if post.method == "calibrate" else post.scenario)
    target = Path(out_dir) if out_dir is not None else Path("runs") / f"{final}"
    files = write_all(target, post, text=text, lines=lines, name=final, budget=budget,
                      report=report)
    return Calibrated(post, target, final, files)


def assimilate(
    scenario: str | Path,
    observed: Observed = None,
    *,
    out_dir: str | Path | None = None,
    budget: int = 2000,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
    progress: Progress | None = None,
    report: bool = True,
    executor: Any = None,
    origin: str | None = None,
    forecast_to: Sequence[str] = (),
    forecast_replications: int = 200,
    forecast_horizon: str | None = None,
    vintage: str | None = None,
) -> Calibrated:
    """Take the record's statements after a calibrated scenario's last fitted month into
    its posterior (:mod:`.assimilate`), and write the same outputs as :func:`calibrate`.

    ``name``: the new scenario's name (default: the scenario's own).
    ``forecast_to``: forecast tables (``.parquet``, ``.csv``, ``URL#table``) to append
    the new posterior's forecast to: a Monte Carlo run of the new scenario
    (``forecast_replications`` replications, its horizon extended to
    ``forecast_horizon`` if given) into ``out_dir/forecast-<vintage>``, appended as
    vintage ``vintage`` (default: the new last fitted month);
    see :mod:`evplant.experiments.forecast_table`.
    Raises EvplantError for bad input (no posterior, a record that ends before the last
    fitted month, a budget too small, a vintage already written) before anything is
    written."""
    from ..experiments import forecast_table as FT
    from .assimilate import run_assimilation
    from .observations import one_month

    if budget < 1:
        raise EvplantError("must be at least 1", field="--budget")
    if name is not None and not name.strip():
        raise EvplantError("must not be empty", field="--name")
    places = FT.targets(forecast_to)
    horizon = ([] if forecast_horizon is None
               else [f"horizon.end={one_month(forecast_horizon, '--forecast-horizon')}"])
    if places and forecast_replications < 1:
        raise EvplantError("must be at least 1", field="--forecast-replications")
    chosen: list[str] = []

    def ready(s: Setup) -> None:
        if horizon:  # the forecast's horizon must make a valid scenario: refuse it now
            from ..experiments.run import prepare
            from ..months import month_number

            if month_number(horizon[0].split("=")[1]) <= month_number(s.months[1]):
                raise EvplantError(f"must be after the record's last month {s.months[1]}",
                                   field="--forecast-horizon")
            prepare(scenario, seed, [*overrides, *horizon])
        if places:
            chosen.append(FT.vintage_name(vintage if vintage is not None else s.months[1]))
            FT.refuse_taken(places, chosen[0], name or s.name)

    post = run_assimilation(
        scenario, observed, budget=budget, seed=seed, workers=workers, scheduler=scheduler,
        overrides=overrides, progress=progress, executor=executor, origin=origin, ready=ready,
    )
    cal = written(post, scenario, overrides, name, out_dir, budget, report)
    if places:
        from ..experiments.run import run_mc

        def part(done: int, total: int) -> None:
            if progress is not None:
                progress(budget + done, budget + total)

        cal.forecast = run_mc(
            cal.out_dir / "scenario.yaml", forecast_replications, workers=workers,
            scheduler=scheduler, out_dir=cal.out_dir / f"forecast-{chosen[0]}", seed=seed,
            overrides=horizon, progress=part, report=report, executor=executor,
            forecast_to=forecast_to, vintage=chosen[0],
        )
    return cal

