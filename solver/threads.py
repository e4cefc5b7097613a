"""Thread discipline: one context manager that limits every thread pool a run touches, chosen by problem size.

A run's work happens in three kinds of thread pools: torch's intra-op pool (the explicit engine and the torch
stiff integrator), the BLAS/LAPACK libraries that numpy and scipy load (OpenBLAS: the stiff scipy path, the
analytic Jacobian, the kernels on numpy arrays, the high-precision backend's float64 LU) and OpenMP. Small
problems lose from threads: a field evaluation at d = 30, m = 150 (~3 MFLOP) took 0.49 ms on one BLAS thread
and 12.5 ms on two while one other CPU-bound process ran (the second thread spin-waits for a core it does not
get). :func:`limit_threads` therefore gives small problems one thread in every pool and leaves large ones at
the pools' own setting.

The BLAS and OpenMP pools are limited with threadpoolctl (the well-kept library for exactly this: it finds
every loaded OpenBLAS/MKL/BLIS/OpenMP runtime and calls its own ``set_num_threads``); torch's pool is set with
``torch.set_num_threads``, which threadpoolctl does not reach when torch links its BLAS statically.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from threadpoolctl import threadpool_limits

__all__ = ["SINGLE_THREAD_FLOPS", "threads_for", "limit_threads", "field_flops"]

# Below this many multiply-adds per field evaluation (or per factorization), threads cost more than they save and
# spin against other processes on a small shared machine.
SINGLE_THREAD_FLOPS = 4_000_000


def field_flops(batch: int, d: int, m: int) -> int:
    """Multiply-adds of one batched field evaluation, ``B m (m + 8) d`` (the two ``m x m x d`` products dominate)."""
    return int(batch) * int(m) * (int(m) + 8) * int(d)


def threads_for(flops: int) -> int | None:
    """Threads an operation of ``flops`` multiply-adds may use: one thread per :data:`SINGLE_THREAD_FLOPS`
    (so 1 below it), or None (the pools' own setting, normally every core) once that reaches the core count."""
    wanted = max(1, int(flops) // SINGLE_THREAD_FLOPS)
    cores = os.cpu_count() or 1
    return wanted if wanted < cores else None


@contextlib.contextmanager
def limit_threads(flops: int) -> Iterator[int | None]:
    """Run the body with every thread pool (BLAS, LAPACK, OpenMP, torch) limited to :func:`threads_for` ``(flops)``.

    Yields the limit (None: unlimited). Nesting is safe: the previous limits are restored on exit. torch is
    limited only when it is already imported (this module must not import it: the kernels and the
    high-precision backend run without torch).
    """
    limit = threads_for(flops)
    if limit is None:
        yield None
        return
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(limit)
    try:
        with threadpool_limits(limits=limit):
            yield limit
    finally:
        if torch is not None:
            torch.set_num_threads(previous)
