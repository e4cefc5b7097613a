"""The parts every integrator shares (save times, step-size controller, initial step, work counters, batched
GMRES) and the standard stiff problems on the torch Rosenbrock engine and CVODE."""

import numpy as np
import pytest
import torch

from solver.integrators import StepStats, integrate_rosenbrock
from solver.integrators._control import (HIGH_PRECISION_CONTROL, ROSENBROCK_CONTROL, RUNGE_KUTTA_CONTROL,
                                         initial_step)
from solver.integrators.krylov import krylov_solver
from solver.integrators.save_times import SaveTimes, reached, time_tolerance

from _stiff_problems import HIRES_T1, HIRES_Y0, hires, hires_jacobian, hires_jacobian_torch, hires_torch, reference


def test_save_times_are_landed_relative_to_the_local_time():
    """On [0, 1e13] a save time at 3 is a target of its own (a tolerance relative to the span's end, 1e-12 * 1e13,
    merged it with t = 0); one at t0 is reported with the initial state; one a few ulps from t1 is t1."""
    plan = SaveTimes(np.array([0.0, 3.0, 1e13 * (1 + 1e-15)]), 0.0, 1e13)
    assert plan.at_start.tolist() == [0]
    assert plan.targets.tolist() == [3.0, 1e13] and plan.indices.tolist() == [1, 2]
    plan = SaveTimes(np.array([1.0, 2.0, 5.0]), 1.0, 4.0)  # t1 is not a save time: it is the last target
    assert plan.at_start.tolist() == [0] and plan.targets.tolist() == [2.0, 4.0] and plan.indices.tolist() == [1, -1]
    assert reached(3.0, 3.0 - 1e-15) and not reached(3.0, 3.0 - 1e-13)
    assert reached(0.0, 0.0) and not reached(0.0, -1e-300)  # at 0 only an exact hit counts
    assert time_tolerance(1e11) < 1e-2  # a save time 0.01 after t0 = 1e11 (late Algorithm 1 epochs) is its own


def test_controller_instances_keep_their_growth_bounds_and_never_grow_a_rejected_step():
    for control, largest in ((RUNGE_KUTTA_CONTROL, 10.0), (ROSENBROCK_CONTROL, 6.0), (HIGH_PRECISION_CONTROL, 4.0)):
        assert control.factor(0.0, 0.2) == largest and control.factor(float("inf"), 0.2) == control.min_factor
        assert control.factor(1.5, 0.2) <= 1.0 and control.factor(0.5, 0.2) > 1.0
        err = np.array([0.0, 0.5, 1.5, np.nan])
        np.testing.assert_array_equal(control.factors(err, 0.2, err <= 1.0),
                                      [control.factor(e, 0.2) for e in err])
        np.testing.assert_array_equal(control.factors(torch.as_tensor(err), 0.2, torch.as_tensor(err <= 1.0)).numpy(),
                                      control.factors(err, 0.2, err <= 1.0))
    assert ROSENBROCK_CONTROL.factor(1e-300, 1 / 3) == 6.0 and ROSENBROCK_CONTROL.factor(2.0, 1 / 3) <= 0.9


def test_initial_step_rule():
    assert initial_step(1.0, 100.0, 10.0) == pytest.approx(1e-4)
    assert initial_step(1.0, 1e-9, 10.0) == 10.0 ** -6 and initial_step(1e-9, 1.0, 10.0) == 1e-6  # nothing to scale
    assert initial_step(1.0, 1e-4, 5.0) == 5.0  # never past the span


def test_a_stagnating_gmres_gives_up_at_once():
    """GMRES(1) on a skew-symmetric system makes no progress at all (r^T A r = 0): the solve returns NaN after
    one restart instead of spending every restart on it; a solvable system of the same batch is solved."""
    A = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]], [[2.0, 0.0], [0.0, 3.0]]], dtype=torch.float64)
    solve = krylov_solver(lambda v: (A * v[:, None, :]).sum(-1), lambda v: v, rtol=1e-10, max_iter=1, restarts=20)
    x = solve(torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64))
    assert torch.isnan(x[0]).all()
    torch.testing.assert_close(x[1], torch.tensor([0.5, 1 / 3], dtype=torch.float64), rtol=1e-10, atol=0)
    assert solve.iterations < 21  # the skew system stopped early: the diagonal one needs a few restarts of GMRES(1)


def _rosenbrock(field, jacobian, y0, t1, times, rtol, atol, linearize=None):
    saved = {}

    def on_save(k, y, runs):
        for row, b in enumerate(runs.tolist()):
            saved[(k, b)] = y[row].numpy().copy()

    _, stats = integrate_rosenbrock(field, jacobian, torch.as_tensor(y0, dtype=torch.float64), 0.0, t1,
                                    np.asarray(times, dtype=np.float64), on_save, rtol=rtol, atol=atol,
                                    linearize=linearize)
    return saved, stats


HIRES_TIMES = np.array([1.0, 10.0, 100.0, HIRES_T1])


@pytest.fixture(scope="module")
def hires_reference():
    return reference(hires, hires_jacobian, HIRES_T1, HIRES_Y0, HIRES_TIMES, rtol=1e-11, atol=1e-13)


def test_hires_on_rodas3_against_a_tight_reference(hires_reference):
    """HIRES (8 species down to 1e-5, eigenvalues to ~ -1e4): a batch of two identical runs, each against scipy's
    Radau at 1e-11, and the work counters: one Jacobian and one LU per batched step, no GMRES."""
    saved, stats = _rosenbrock(hires_torch, hires_jacobian_torch, [HIRES_Y0, HIRES_Y0], HIRES_T1, HIRES_TIMES,
                               rtol=1e-6, atol=1e-10)
    scale = np.maximum(np.abs(hires_reference), 1e-6)
    for b in (0, 1):
        got = np.stack([saved[(k, b)] for k in range(HIRES_TIMES.size)])
        assert np.max(np.abs(got - hires_reference) / scale) < 1e-4
    assert stats.accepted > 0 and stats.jacobians == stats.factorizations > 0
    assert stats.rhs_evals > stats.accepted // 2 and stats.linear_iterations == 0


def test_hires_on_cvode_against_a_tight_reference(hires_reference):
    pytest.importorskip("sksundae")
    from solver.integrators.cvode import integrate_cvode

    times, states, counts = integrate_cvode(hires, HIRES_Y0, 0.0, HIRES_T1, HIRES_TIMES, rtol=1e-8, atol=1e-12,
                                            jacobian=hires_jacobian)
    np.testing.assert_array_equal(times, HIRES_TIMES)
    scale = np.maximum(np.abs(hires_reference), 1e-6)
    assert np.max(np.abs(states - hires_reference) / scale) < 1e-5
    assert isinstance(counts, StepStats) and counts.accepted > 0 and counts.jacobians > 0


def _van_der_pol(mu):
    def field(y, runs):
        return torch.stack([y[:, 1], ((1 - y[:, 0] ** 2) * y[:, 1] - y[:, 0]) * mu], 1)

    def jacobian(y, runs):
        zero = torch.zeros_like(y[:, 0])
        return torch.stack([torch.stack([zero, zero + 1], 1),
                            torch.stack([(-2 * y[:, 0] * y[:, 1] - 1) * mu, (1 - y[:, 0] ** 2) * mu], 1)], 1)

    return field, jacobian


@pytest.mark.slow
def test_van_der_pol_mu_1e6_matrix_free_agrees_with_the_dense_lu():
    """The scaled Van der Pol at mu = 1e6 (condition of shift I - J up to ~1e6): a batch of two runs through the
    matrix-free GMRES path agrees with the dense LU to the step tolerance, in about as many steps, and counts its
    GMRES iterations (GMRES's solutions differ from the LU's by rounding at this conditioning, so the steps do)."""
    from test_stiff_torch import _matrix_free

    field, jacobian = _van_der_pol(1e6)
    y0 = [[2.0, -2 / 3 + 10 / 81e6], [1.5, -0.5]]
    times = [0.1, 0.25]
    dense, dense_stats = _rosenbrock(field, jacobian, y0, 0.25, times, rtol=1e-5, atol=1e-7)
    free, free_stats = _rosenbrock(field, None, y0, 0.25, times, rtol=1e-5, atol=1e-7,
                                   linearize=_matrix_free(jacobian))
    assert abs(free_stats.accepted - dense_stats.accepted) <= 0.05 * dense_stats.accepted
    assert free_stats.linear_iterations > 0 and dense_stats.linear_iterations == 0
    for key, value in dense.items():
        np.testing.assert_allclose(free[key], value, rtol=1e-5)  # the step tolerance (8e-8 measured)


def test_every_engine_reports_its_work_in_one_counter_object():
    """Dormand-Prince: one field evaluation to start and six per step (first same as last); scipy's BDF with the
    dense LU: its own field, Jacobian and LU counts, positive; the two runs of a batch add up."""
    from solver.instances import spread_truth
    from solver.integrators import DOPRI5, integrate_explicit, integrate_implicit

    _, stats = integrate_explicit(lambda y: -y, torch.ones((2, 1, 1), dtype=torch.float64), 0.0, 1.0,
                                  np.array([1.0]), lambda *_: None, tableau=DOPRI5, step=None, rtol=1e-8, atol=1e-10,
                                  norm_independent=torch.zeros((1, 1, 1), dtype=torch.bool), project=lambda y: y,
                                  max_steps=1000)
    assert isinstance(stats, StepStats) and stats.accepted > 0
    assert stats.rhs_evals == 1 + 6 * (stats.accepted + stats.rejected) // 2  # per batch, steps summed over runs
    truth = spread_truth(d=3, r=2)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4))
    y0 = torch.as_tensor(np.concatenate([np.full((1, 4), np.log(1e-3)), X / np.linalg.norm(X, axis=0)])[None])
    counts = []
    for batch in (1, 2):
        _, stats = integrate_implicit(np.repeat(truth.a[None], batch, 0), np.repeat(truth.U[None], batch, 0), 4, 0.0,
                                      y0.repeat(batch, 1, 1), 0.0, 100.0, np.array([50.0, 100.0]), lambda *_: None,
                                      linear_solver="dense", rtol=1e-6, atol=1e-9)
        counts.append(stats)
        assert min(stats.accepted, stats.rhs_evals, stats.jacobians, stats.factorizations) > 0
        assert stats.linear_iterations == 0
    assert counts[1].to_dict() == {k: 2 * v for k, v in counts[0].to_dict().items()}


class _Linear:
    """The high-precision integrators' problem for ``y' = rate y`` (``rate = 0``: ``y' = 1``) on one entry."""

    def __init__(self, rate: float):
        from solver.precision.arithmetic import make_arithmetic

        self.arithmetic, self.rate = make_arithmetic("mpmath", 30), rate

    def field(self, Y):
        return Y * self.arithmetic.scalar(self.rate) if self.rate else Y * 0 + self.arithmetic.scalar(1)

    def project(self, Y):
        return Y

    def scale(self, Y0, Y1, rtol, atol):
        return atol + rtol * np.maximum(np.abs(self.arithmetic.to_float(Y0)), np.abs(self.arithmetic.to_float(Y1)))

    def jacobian(self, Y):
        return np.full((1, 1), self.rate)


class _Saved(Exception):
    pass


@pytest.mark.parametrize("integrator", ["gbs", "radau"])
def test_high_precision_save_times_near_the_start_of_a_long_span(integrator):
    """The high-precision GBS and Radau land on a save time at 3 of [0, 1e13] (a tolerance of 1e-12 |t1| = 10
    reported the initial state there): y' = 1 gives 3, y' = -y gives e^-3."""
    from solver.precision.integrators import integrate_gbs, integrate_radau

    integrate = integrate_gbs if integrator == "gbs" else integrate_radau
    for rate, y0, exact in ((0.0, 0.0, 3.0), (-1.0, 1.0, np.exp(-3.0))):
        problem = _Linear(rate)
        with problem.arithmetic.context():
            saved = []

            def on_save(k, Y):
                saved.append(float(problem.arithmetic.to_float(Y)[0, 0]))
                raise _Saved

            with pytest.raises(_Saved):
                integrate(problem, problem.arithmetic.array(np.full((1, 1), y0)), 0.0, 1e13, np.array([3.0, 1e13]),
                          on_save, rtol=1e-10, atol=1e-12)
        assert saved[0] == pytest.approx(exact, rel=1e-8)


def test_high_precision_radau_counts_its_work():
    """Radau IIA on y' = -y to t = 1: field evaluations, Newton iterations, one Jacobian per refresh and one LU per
    eigenvalue of A per step size, all in the shared counter object."""
    from solver.precision.integrators import integrate_radau

    problem = _Linear(-1.0)
    with problem.arithmetic.context():
        _, stats = integrate_radau(problem, problem.arithmetic.array(np.ones((1, 1))), 0.0, 1.0, np.array([1.0]),
                                   lambda *_: None, rtol=1e-10, atol=1e-12, stages=3)
    assert stats.accepted > 0 and stats.newton_iterations > 0 and stats.jacobians > 0
    assert stats.factorizations > 0 and stats.factorizations % 3 == 0  # 3 stages: one real, one complex pair
    assert stats.rhs_evals >= 3 * stats.newton_iterations
