"""Monte Carlo on a real local Dask cluster of 2 worker processes: the same results, bit
for bit, as one process, and a run interrupted on the cluster resumes anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evplant.errors import EvplantError
from evplant.experiments.run import run_mc
from test_experiments import R, assert_same_results, chunk_ids, merged_data, write_scenario

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_scenario(tmp_path_factory.mktemp("sc") / "etown.yaml", merged_data())


@pytest.fixture(scope="module")
def reference(scenario_file: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_mc(scenario_file, R, out_dir=tmp_path_factory.mktemp("ref") / "mc", seed=7,
                  report=False)


@pytest.mark.parametrize("workers", [2, 4])
def test_local_cluster_gives_the_same_results_bit_for_bit(
    scenario_file: str, reference: Any, tmp_path: Path, workers: int
) -> None:
    res = run_mc(scenario_file, R, workers=workers, out_dir=tmp_path / "mc", seed=7,
                 report=False)
    assert res.executor == f"{workers} workers (local Dask cluster)"
    assert res.ran == R
    assert_same_results(res, reference)
    # the chunk files too: one batch grid whatever the worker count
    for f in sorted((tmp_path / "mc" / "chunks").glob("chunk-*.parquet")):
        assert f.read_bytes() == (reference.out_dir / "chunks" / f.name).read_bytes()


def test_a_run_interrupted_on_a_running_cluster_resumes_in_one_process(
    scenario_file: str, reference: Any, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    out = tmp_path / "mc"

    def stop(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        with pytest.raises(KeyboardInterrupt):
            run_mc(scenario_file, R, scheduler=address, out_dir=out, seed=7, progress=stop,
                   report=False)
        assert len(cluster.workers) == 2  # the cluster is not ours to stop
    first = chunk_ids(out)
    assert 2 <= len(first) < R and len(set(first)) == len(first)
    res = run_mc(scenario_file, R, out_dir=out, seed=7, resume=True, report=False)
    assert res.ran == R - len(first)
    assert sorted(chunk_ids(out)) == list(range(R))
    assert_same_results(res, reference)
    np.testing.assert_array_equal(res.paths["cash"], reference.paths["cash"])


def test_an_unreachable_scheduler_is_a_user_error(
    scenario_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evplant.experiments import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(EvplantError, match="cannot reach the Dask scheduler"):
        run_mc(scenario_file, 2, scheduler="tcp://127.0.0.1:9", out_dir=tmp_path / "mc")
