"""What a Bayesian reader checks before trusting a posterior, computed with ArviZ.

The posterior is pooled from independent SMC runs (:mod:`.smc`), each started from its
own seed.  Within a run the particles are exchangeable (their order carries no
information), so each run is shuffled once, by a seeded permutation, and given to
ArviZ as one chain: the rank-normalised split R-hat then compares the runs (and each
run's halves), and the bulk and tail effective sample sizes count what the pooled
particles are worth, duplicates from resampling included (Vehtari et al. 2021).  A
posterior whose runs agree has R-hat below about 1.01-1.05; larger means the runs
found different answers and the budget was too small.

Besides ArviZ's figures: per run, the tempering's stages (each ``beta``, the particles'
ESS before resampling, the Metropolis acceptance), its log evidence, whether it
reached ``beta = 1`` by stages, and its posterior quantiles, so the runs can be
compared parameter by parameter.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..seeds import child_rng
from .smc import RunResult

_SHUFFLE = 5  # spawn key under the calibration's seed
R_HAT_OK = 1.05  # the runs agree (a budget a user can afford; 1.01 for publication)


def _chains(latent: np.ndarray, run: np.ndarray, seed: int) -> np.ndarray:
    """[runs, draws, d]: each run's particles in a seeded random order, cut to the
    shortest run's length."""
    rng = child_rng(seed, _SHUFFLE)
    groups = [latent[run == r] for r in np.unique(run)]
    n = min(len(g) for g in groups)
    return np.stack([g[rng.permutation(len(g))[:n]] for g in groups])


def rank_stats(latent: np.ndarray, run: np.ndarray, seed: int) -> dict[str, list[float]]:
    """Rank-normalised split R-hat and bulk/tail ESS per parameter (ArviZ)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's refactor notice, constant-chain warnings
        import arviz as az

        x = _chains(latent, run, seed)
        out: dict[str, list[float]] = {"r_hat": [], "ess_bulk": [], "ess_tail": []}
        for j in range(x.shape[2]):
            xj = x[:, :, j]
            if np.ptp(xj) == 0:  # a parameter nothing moved (fixed by its prior)
                out["r_hat"].append(float("nan"))
                out["ess_bulk"].append(float("nan"))
                out["ess_tail"].append(float("nan"))
                continue
            out["r_hat"].append(float(az.rhat(xj, method="rank")))  # type: ignore[no-untyped-call]
            out["ess_bulk"].append(float(az.ess(xj, method="bulk")))  # type: ignore[no-untyped-call]
            out["ess_tail"].append(float(az.ess(xj, method="tail")))  # type: ignore[no-untyped-call]
    return out


def smc_diagnostics(
    latent: np.ndarray, run: np.ndarray, results: list[RunResult], *, seed: int
) -> dict[str, Any]:
    stats = rank_stats(latent, run, seed)
    r_hat = np.array(stats["r_hat"], dtype=float)
    finite = r_hat[np.isfinite(r_hat)]
    last_acc = [r.stages[-1].acceptance for r in results if r.stages]
    runs = []
    for i, r in enumerate(results):
        q = np.quantile(latent[run == i], [0.1, 0.5, 0.9], axis=0)
        runs.append({
            "particles": int(len(r.particles.theta)),
            "stages": len(r.stages),
            "betas": [float(s.beta) for s in r.stages],
            "ess_before_resampling": [float(s.ess) for s in r.stages],
            "acceptance": [float(s.acceptance) for s in r.stages],
            "log_evidence": float(r.log_evidence),
            "reached_posterior": bool(r.complete),
            "p10": [float(x) for x in q[0]],
            "p50": [float(x) for x in q[1]],
            "p90": [float(x) for x in q[2]],
        })
    return {
        "method": "waste-free SMC with adaptive tempering, independent runs pooled",
        "runs": len(results),
        "particles": int(len(latent)),
        "stages": max(len(r.stages) for r in results),
        "acceptance_fraction": float(np.nanmean(last_acc)) if last_acc else float("nan"),
        "r_hat": stats["r_hat"],
        "effective_samples": stats["ess_bulk"],
        "ess_tail": stats["ess_tail"],
        "r_hat_max": float(finite.max()) if finite.size else float("nan"),
        "reached_posterior": all(r.complete for r in results),
        "runs_agree": bool(finite.size == 0 or finite.max() < R_HAT_OK),
        "log_evidence": [float(r.log_evidence) for r in results],
        "per_run": runs,
    }
