"""The Dask worker plugin of the sweep (imports distributed: loaded only when a sweep runs)."""

from __future__ import annotations

from distributed import WorkerPlugin

from .runner import limit_threads


class SingleThreadPlugin(WorkerPlugin):
    """One BLAS/OpenMP thread and one torch thread in every worker process, set when the worker starts
    (:func:`verify.sweep.runner.limit_threads`; each task sets it again, cheaply, in case a library reset it)."""

    name = "deflation-single-thread"
    idempotent = True

    def setup(self, worker) -> None:
        limit_threads()
