"""Where replications run: in this process, on a local Dask cluster, or on a remote one.

- ``workers=1`` and no scheduler: one after another in this process;
- ``workers=W > 1`` and no scheduler: a ``distributed.LocalCluster`` of W worker
  processes with one thread each, started here and closed at the end;
- ``scheduler="tcp://host:8786"``: an existing cluster (W is then the cluster's).
  Every worker must have evplant installed, the same version as here.

Each batch of replications is one task; batches come back as they finish (in any
order), and only this process writes files, so workers need no shared disk.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import Any

from ..errors import EvplantError

CONNECT_TIMEOUT = "10s"  # to reach a scheduler given by address

# A local cluster's workers run long CPU-bound tasks and hold little data, so:
LOCAL_CLUSTER_CONFIG = {
    # Dask sets MALLOC_TRIM_THRESHOLD_=65536 for workers, to hand memory back to the OS
    # early; that pins glibc's allocation thresholds and costs a simulation ~8% (many
    # short-lived NumPy arrays). Keep glibc's adaptive default (unless the user set one).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # the statistical profiler samples the running task's stack every 10 ms and the
    # event-loop watchdog wakes every 20 ms; each takes the GIL from the simulation
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.gil.enabled": False,
}
BatchFn = Callable[[Any, Sequence[int]], Any]
Results = Generator[Any, None, None]


class Sequential:
    """Run batches one after another in this process."""

    workers = 1
    description = "1 worker (this process)"

    def run(self, fn: BatchFn, job: Any, batches: Sequence[Sequence[int]]) -> Results:
        for batch in batches:
            yield fn(job, list(batch))

    def warm_up(self, fn: Callable[[], Any]) -> None:
        fn()

    def close(self) -> None:
        pass

    def __enter__(self) -> Sequential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Run batches as tasks on a Dask cluster (a new local one, or one at an address)."""

    def __init__(self, workers: int = 2, scheduler: str | None = None) -> None:
        from distributed import Client, LocalCluster

        self.cluster: Any = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise EvplantError(
                    f"cannot reach the Dask scheduler at {scheduler} ({exc})"
                ) from None
            self._check_workers(scheduler)
            n = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
            self.workers = n
            self.description = f"{n} workers at {scheduler}"
        else:
            import dask

            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster)
            # Ctrl-C reaches every process of the terminal's group: let this process
            # stop the workers in order, rather than each dying with a traceback
            self.client.run(_ignore_sigint)
            self.workers = workers
            self.description = f"{workers} workers (local Dask cluster)"

    def _check_workers(self, address: str) -> None:
        import evplant

        from .replicate import warm_up

        try:
            versions = self.client.run(warm_up)
        except Exception as exc:  # a worker without evplant raises ModuleNotFoundError
            self.close()
            raise EvplantError(
                f"the workers at {address} cannot run evplant ({type(exc).__name__}: {exc}); "
                "install evplant on every worker"
            ) from None
        if not versions:
            self.close()
            raise EvplantError(f"the cluster at {address} has no workers")
        wrong = {w: v for w, v in versions.items() if v != evplant.__version__}
        if wrong:
            self.close()
            raise EvplantError(
                f"workers at {address} run another evplant version ({wrong}); this is "
                f"{evplant.__version__}, and results must not depend on where they ran"
            )

    def warm_up(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` once on every worker (to load compiled kernels before timing)."""
        self.client.run(fn)

    def run(self, fn: BatchFn, job: Any, batches: Sequence[Sequence[int]]) -> Results:
        from distributed import as_completed

        if not batches:
            return
        token = uuid.uuid4().hex[:12]
        [job_future] = self.client.scatter([job], broadcast=True, hash=False)
        futures = [
            self.client.submit(
                fn, job_future, list(b), key=f"evplant-mc-{token}-{b[0]}-{b[-1]}", pure=False
            )
            for b in batches
        ]
        try:
            for future in as_completed(futures):
                result = future.result()
                future.release()
                yield result
        finally:
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                self.client.cancel(unfinished)
            job_future.release()

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _ignore_sigint() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_executor(workers: int = 1, scheduler: str | None = None) -> Sequential | DaskExecutor:
    if workers < 1:
        raise EvplantError("must be at least 1", field="--workers")
    if scheduler:
        return DaskExecutor(workers, scheduler)
    if workers == 1:
        return Sequential()
    return DaskExecutor(workers)
