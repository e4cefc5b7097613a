"""Thread discipline (solver.threads): small solves run every BLAS/OpenMP/torch pool at one thread, and restore it."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import solver.flow  # noqa: F401  (loads the engines' libraries, and their thread pools, before the fixture sets them)
from solver import FlowConfig, solve
from solver.instances import spread_truth
from solver.threads import SINGLE_THREAD_FLOPS, field_flops, limit_threads, threads_for


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] in ("blas", "openmp")}


@pytest.fixture
def two_threads():
    """Every pool at 2 threads outside the solve, so that a limit to 1 inside is visible."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    with threadpool_limits(limits=2):
        yield
    torch.set_num_threads(previous)


def test_threads_for_scales_with_size():
    assert threads_for(field_flops(1, 30, 150)) == 1  # the d = 30, m = 150 field: ~0.7 M multiply-adds
    assert threads_for(SINGLE_THREAD_FLOPS - 1) == 1
    assert threads_for(10**15) is None  # large problems keep the pools' own setting


@pytest.mark.parametrize("integrator", ["bdf", "dopri5"])
def test_small_solve_runs_single_threaded(two_threads, integrator):
    seen: list[tuple[set[int], int]] = []

    def progress(done, total, stage):
        seen.append((_blas_threads(), torch.get_num_threads()))

    config = FlowConfig(t_max=50.0, m=8, integrator=integrator, n_save=8)
    solve(spread_truth(d=4, r=2), config, seeds=[0], progress=progress)
    assert seen, "progress was never called inside the solve"
    assert all(pools == {1} and torch_threads == 1 for pools, torch_threads in seen)
    # Restored afterwards.
    assert _blas_threads() == {2}
    assert torch.get_num_threads() == 2


def test_limit_restores_after_an_exception(two_threads):
    with pytest.raises(RuntimeError):
        with limit_threads(10):
            assert _blas_threads() == {1}
            raise RuntimeError("inside")
    assert _blas_threads() == {2}
    assert torch.get_num_threads() == 2


def test_precision_radau_lu_is_single_threaded(two_threads, monkeypatch):
    """The high-precision backend's float64 LU runs under the limit (its Newton solves are ~n^2 flops)."""
    import scipy.linalg

    from solver.precision import integrators

    seen: list[set[int]] = []
    original = scipy.linalg.lu_factor

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(integrators.scipy.linalg, "lu_factor", spy)
    from solver.precision.arithmetic import make_arithmetic

    ar = make_arithmetic("mpmath", 20)

    class Problem:
        """y' = -50 y, two unknowns, at 20 digits."""

        arithmetic = ar

        def field(self, Y):
            return Y * ar.scalar(-50)

        def project(self, Y):
            return Y

        def scale(self, Y0, Y1, rtol, atol):
            return atol + rtol * np.maximum(np.abs(ar.to_float(Y0)), np.abs(ar.to_float(Y1)))

        def jacobian(self, Y):
            return -50.0 * np.eye(Y.size)

    Y0 = ar.array(np.ones((2, 1)))
    integrators.integrate_radau(Problem(), Y0, 0.0, 0.1, np.array([0.1]), lambda k, Y: None, rtol=1e-8, atol=1e-10)
    assert seen and all(pools == {1} for pools in seen)
