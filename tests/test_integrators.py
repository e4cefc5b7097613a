"""Integrators: tableau consistency, convergence orders, dense output, the analytic Jacobian, BDF vs dopri5."""

import numpy as np
import pytest
import torch

from solver import kernels
from solver.integrators import DOPRI5, EULER, RK4, integrate_explicit
from solver.jacobian import flow_jacobian, flow_jacobian_sparse
from solver.layout import pack, unpack

from _helpers import random_state


def _unpack_normalized(y, d, m):
    """``(rho, xhat)`` of a packed state: the field is taken at the normalized directions."""
    rho, X = unpack(y, d, m)
    return rho, X / np.linalg.norm(X, axis=0)


def _central_differences(f, y: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The Jacobian of ``f`` at ``y`` by central differences of step ``h``, column by column."""
    return np.stack([(f(y + h * e) - f(y - h * e)) / (2 * h) for e in np.eye(y.size)], axis=1)


@pytest.mark.parametrize("tableau", [EULER, RK4, DOPRI5])
def test_tableau_row_sums_and_weights(tableau):
    np.testing.assert_allclose(tableau.A.sum(axis=1), tableau.c, atol=1e-15)
    assert tableau.b.sum() == pytest.approx(1.0, abs=1e-15)
    if tableau.dense is not None:  # the continuous extension ends at the propagated solution
        np.testing.assert_allclose(tableau.dense.sum(axis=1), tableau.b, atol=1e-12)


def test_dopri5_dense_output_matches_scipy():
    from scipy.integrate import RK45

    np.testing.assert_allclose(DOPRI5.dense, RK45.P, rtol=1e-14, atol=1e-15)


def _exp_decay(tableau, step, rtol=1e-6):
    """y' = -y (batch of 2, one log row and one plain row), saved at t = 0.5 and 1."""
    y0 = torch.ones((2, 2, 1), dtype=torch.float64)
    saved = {}

    def on_save(k, y, runs):
        saved[k] = y.clone()

    y1, stats = integrate_explicit(lambda y: -y, y0, 0.0, 1.0, np.array([0.5, 1.0]), on_save, tableau=tableau,
                                   step=step, rtol=rtol, atol=1e-12,
                                   norm_independent=torch.zeros((1, 2, 1), dtype=torch.bool),
                                   project=lambda y: y, max_steps=100000)
    return y1, saved, stats


@pytest.mark.parametrize("tableau,order", [(EULER, 1), (RK4, 4)])
def test_fixed_step_convergence_order(tableau, order):
    errors = [abs(float(_exp_decay(tableau, h)[0][0, 0, 0]) - np.exp(-1.0)) for h in (0.1, 0.05)]
    assert np.log2(errors[0] / errors[1]) == pytest.approx(order, abs=0.15)


def test_adaptive_error_follows_tolerance_and_dense_output_is_accurate():
    errs = []
    for rtol in (1e-5, 1e-9):
        y1, saved, stats = _exp_decay(DOPRI5, None, rtol)
        errs.append(abs(float(y1[0, 0, 0]) - np.exp(-1.0)))
        assert abs(float(saved[0][0, 0, 0]) - np.exp(-0.5)) < 100 * rtol
    assert errs[1] < errs[0] / 100


def test_analytic_jacobian_matches_finite_differences(rng):
    for order in (3, 4):
        d, m = 4, 3
        X, rho, a, U = random_state(rng, d, m, 2, order)

        def f(y):
            r, Xh = _unpack_normalized(y, d, m)
            d_rho, d_X = kernels.flow(Xh, np.exp(2 * r), a, U, order, 0.1)
            return pack(d_rho, d_X)

        y = pack(rho, X)
        J = flow_jacobian(X, rho, a, U, order)
        fd = _central_differences(f, y)
        np.testing.assert_allclose(J, fd, atol=5e-8)
        np.testing.assert_allclose(flow_jacobian_sparse(X, rho, a, U, order, 0.0).toarray(), J, atol=1e-14)


def test_sparse_jacobian_drops_only_small_couplings(rng):
    d, m, order = 4, 5, 4
    X, rho, a, U = random_state(rng, d, m, 2, order)
    rho[:3] = np.log(1e-12)
    J = flow_jacobian(X, rho, a, U, order)
    Js = flow_jacobian_sparse(X, rho, a, U, order, coupling_floor=1e-10).toarray()
    assert np.abs(J - Js).max() < 1e-20 * 10 * order  # what was dropped is O(c_i) = 1e-24
    assert np.count_nonzero(Js) < np.count_nonzero(J)


def test_bdf_agrees_with_dopri5_on_a_small_instance():
    from solver import FlowConfig, solve
    from solver.instances import figure1_truth

    truth = figure1_truth(d=6)
    runs = {name: solve(truth, FlowConfig(t_max=60, m=12, integrator=name, rtol=1e-9 if name == "dopri5" else 1e-7,
                                          n_save=60, save_grid="linear"), seeds=[3])
            for name in ("dopri5", "bdf")}
    np.testing.assert_allclose(runs["bdf"].residuals, runs["dopri5"].residuals, atol=2e-4)
    t_d = runs["dopri5"].discovery()[0]
    t_b = runs["bdf"].discovery()[0]
    np.testing.assert_allclose(t_b, t_d, atol=0.05)


def test_matrix_free_jacobian_operator_equals_the_dense_jacobian(rng):
    from solver.jacobian import JacobianOperator

    for order in (3, 4, 5):
        X, rho, a, U = random_state(rng, 5, 4, 3, order)
        J = flow_jacobian(X, rho, a, U, order)
        op = JacobianOperator(X, rho, a, U, order)
        applied = np.stack([op.matvec(e) for e in np.eye(J.shape[0])], axis=1)
        np.testing.assert_allclose(applied, J, atol=1e-13)


def test_jacobian_operator_with_a_coupling_floor_is_the_sparse_jacobian(rng):
    """With a coupling floor the operator drops exactly what the sparse Jacobian drops (the couplings of the
    components below it, their terms in the others' diagonal blocks included), and its diagonal blocks are
    those of that matrix."""
    from solver.jacobian import JacobianOperator, flow_jacobian_sparse

    d, m, order = 5, 7, 4
    X, rho, a, U = random_state(rng, d, m, 3, order)
    rho[[1, 4, 5]] = 0.5 * np.log(1e-3)  # three components with c = 1e-3, below the floor: their couplings are
    floor = 1e-2  # large enough that an operator that kept them would fail the comparison
    op = JacobianOperator(X, rho, a, U, order, coupling_floor=floor)
    sparse = flow_jacobian_sparse(X, rho, a, U, order, floor).toarray()
    assert op.coupled.tolist() == [0, 2, 3, 6]
    for k in (1, 4, 5):  # the sparse matrix drops an uncoupled component's d rho_k/d rho_k with its couplings; the
        sparse[k, k] = -4 * np.exp(2 * rho[k])  # operator keeps every component's own block whole
    applied = np.stack([op.matvec(e) for e in np.eye(sparse.shape[0])], axis=1)
    np.testing.assert_allclose(applied, sparse, atol=1e-13)
    exact = flow_jacobian(X, rho, a, U, order)
    assert np.abs(exact - sparse).max() > 1e-4  # what was dropped is far above the comparison's tolerance
    blocks = op.diagonal_blocks()
    for k in range(m):
        rows = np.r_[k, m + k * d + np.arange(d)]
        np.testing.assert_allclose(blocks[k], sparse[np.ix_(rows, rows)], atol=1e-13)


@pytest.mark.parametrize("linear_solver", ["sparse"])
def test_linear_solvers_give_the_same_stiff_trajectory(linear_solver):
    from solver import FlowConfig, solve
    from solver.instances import spread_truth

    truth = spread_truth(d=5, r=3)
    common = dict(t_max=1e5, m=8, integrator="bdf", n_save=40)
    ref = solve(truth, FlowConfig(linear_solver="dense", **common), seeds=[1])
    other = solve(truth, FlowConfig(linear_solver=linear_solver, **common), seeds=[1])
    np.testing.assert_allclose(other.residuals, ref.residuals, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(other.discovery()[0], ref.discovery()[0], rtol=1e-3)


@pytest.mark.parametrize("integrator", ["bdf", "radau"])
def test_scipy_integrators_refuse_the_matrix_free_solver(integrator):
    """scipy's public interface has no matrix-free Newton solve: ``krylov`` with bdf or radau is refused in one
    line naming the parameter and what works (the matrix-free CPU path is CVODE's), and ``auto`` above the dense
    limit means the sparse LU."""
    from solver.errors import ValidationError
    from solver.instances import spread_truth
    from solver.integrators import integrate_implicit, resolve_linear_solver

    truth = spread_truth(d=5, r=3)
    a, U = truth.a[None], truth.U[None]
    y0 = torch.zeros((1, 6, 4), dtype=torch.float64)
    y0[0, 1] = 1.0
    with pytest.raises(ValidationError, match=r"^linear_solver: must be dense, sparse or auto with (bdf|radau) \(the "
                                              r"matrix-free krylov runs on cvode or rosenbrock\) \(got 'krylov'\)$"):
        integrate_implicit(a, U, 4, 0.0, y0, 0.0, 1.0, np.array([1.0]), lambda *_: None,
                           method=integrator.upper() if integrator == "bdf" else "Radau", linear_solver="krylov",
                           rtol=1e-6, atol=1e-9)
    assert resolve_linear_solver("auto", "BDF", 401) == "sparse"
    assert resolve_linear_solver("auto", "BDF", 400) == "dense"


def clustered_state(rng, d: int, m: int, order: int, spread: float):
    """Components in two clusters (directions e_1, e_2 up to sign, angular spread ``spread``), comparable norms."""
    U = np.eye(d)[:, :2]
    X = np.empty((d, m))
    for k in range(m):
        x = U[:, k % 2] * (1.0 if k % 3 else -1.0) + spread * rng.standard_normal(d)
        X[:, k] = x / np.linalg.norm(x)
    rho = np.log(rng.uniform(0.1, 0.3, m))
    return X, rho, np.array([1.0, 0.1]), U


def component_rows(k: int, m: int, d: int) -> np.ndarray:
    """Indices of ``[rho_k, x_k]`` in the flat state layout (:func:`solver.layout.pack`)."""
    return np.r_[k, m + k * d + np.arange(d)]


def block_diagonal(blocks: np.ndarray, d: int) -> np.ndarray:
    m = blocks.shape[0]
    out = np.zeros((m * (d + 1),) * 2)
    for k in range(m):
        idx = component_rows(k, m, d)
        out[np.ix_(idx, idx)] = blocks[k]
    return out


def cluster_model(clusters: list, m: int, d: int) -> np.ndarray:
    """The dense ``Y Z^T`` of :meth:`JacobianOperator.cluster_coupling`'s clusters, in state layout."""
    out = np.zeros((m * (d + 1),) * 2)
    for members, Y, Z in clusters:
        for a, k in enumerate(members):
            for b, i in enumerate(members):
                out[np.ix_(component_rows(k, m, d), component_rows(i, m, d))] = Y[a] @ Z[b].T
    return out


@pytest.mark.parametrize("order", [3, 4])
def test_cluster_coupling_models_the_jacobian_inside_clusters(rng, order):
    """Inside each cluster, blocks + Y Z^T is the Jacobian up to the square of the cluster's angular spread (the
    model keeps each member's own projection; the first-order error of a mean-direction model is what stalled
    GMRES late in Algorithm 1); the blocks alone miss the coupling. (Between clusters, ``G_ki`` is of the order
    of the spread and those couplings are left to GMRES.)"""
    from solver.jacobian import JacobianOperator

    d, m = 6, 12
    errors = []
    for spread in (1e-2, 1e-3):
        X, rho, a, U = clustered_state(rng, d, m, order, spread)
        op = JacobianOperator(X, rho, a, U, order)
        J = op.dense()
        clusters, self_terms = op.cluster_coupling()
        assert [Y.shape for _members, Y, _Z in clusters] == [(m // 2, d + 1, d + 1)] * 2  # rank d+1 per cluster
        same_cluster = np.zeros_like(J, dtype=bool)
        for members, _Y, _Z in clusters:
            rows = np.concatenate([component_rows(k, m, d) for k in members])
            same_cluster[np.ix_(rows, rows)] = True
        blocks = block_diagonal(op.diagonal_blocks(), d)
        model = blocks + cluster_model(clusters, m, d) - block_diagonal(self_terms, d)
        inside = np.linalg.norm(J[same_cluster])
        errors.append(np.linalg.norm((J - model)[same_cluster]) / inside)
        assert np.linalg.norm((J - blocks)[same_cluster]) / inside > 0.1
    assert errors[0] < 1e-3 and errors[1] < errors[0] / 30  # second order: 10x less spread, ~100x less error


@pytest.mark.parametrize("step, spread", [(1e6, 1e-5), (1e8, 1e-6)])
def test_cluster_preconditioner_is_the_inverse_of_its_model_and_cuts_gmres_iterations(rng, step, spread):
    """Woodbury gives exactly (I - blocks - Y Z^T)^{-1}; on a late-run Newton matrix (h up to 1e8 as in the late
    epochs of Algorithm 1, a tight cluster) GMRES with it converges in a few iterations where block-Jacobi alone
    needs several times more."""
    from solver.integrators.krylov import batched_gmres
    from solver.jacobian import BlockClusterPreconditioner, JacobianOperator

    d, m, order = 6, 12, 4
    X, rho, a, U = clustered_state(rng, d, m, order, spread)
    op = JacobianOperator(X, rho, a, U, order)
    n = m * (d + 1)
    precondition = BlockClusterPreconditioner(op, step)
    clusters, self_terms = op.cluster_coupling(step)
    assert clusters  # the clusters are in the preconditioner
    model = np.eye(n) - block_diagonal(step * op.diagonal_blocks() - self_terms, d) - cluster_model(clusters, m, d)
    b = rng.standard_normal(n)
    preconditioned = precondition(b)
    # Backward error: at h = 1e8 the model's entries reach 1e8, so its product carries rounding of that size.
    backward = np.linalg.norm(model @ preconditioned - b) / (np.linalg.norm(model, 2) * np.linalg.norm(preconditioned))
    assert backward < 1e-13

    newton = np.eye(n) - step * op.dense()

    def iterations(precondition):
        _x, steps, residual = batched_gmres(lambda v: (torch.as_tensor(newton) @ v[0])[None], lambda v: torch.as_tensor(
            precondition(v[0].numpy()))[None], torch.as_tensor(b)[None], 1e-9, 60)
        return steps, float(residual[0])

    with_clusters, residual = iterations(precondition)
    blocks_only = np.linalg.inv(np.eye(d + 1)[None] - step * op.diagonal_blocks())

    def block_jacobi(v):
        per_component = np.concatenate([v[:m, None], v[m:].reshape(m, d)], axis=1)
        u = (blocks_only @ per_component[:, :, None])[:, :, 0]
        return pack(u[:, 0], u[:, 1:].T)

    without, residual_without = iterations(block_jacobi)
    assert residual <= 1e-9 and with_clusters <= 6
    assert residual_without > 1e-9 or without > 3 * with_clusters


@pytest.mark.parametrize("step, spread", [(1e2, 1e-2), (1e8, 1e-6)])
def test_torch_cluster_preconditioner_matches_the_scipy_paths(rng, step, spread):
    """The torch stiff path's matrix-free preconditioner (blocks plus the clusters' Woodbury terms, batched) is the
    CPU path's: ``(shift I - J)^{-1} ~ M^{-1} / shift`` with ``M`` CVODE's preconditioner of ``I - J / shift``;
    and a run's preconditioned vector is bit for bit the same alone as beside a run with other clusters."""
    import torch

    from solver.jacobian import BlockClusterPreconditioner, JacobianOperator, flow_shifted_system

    d, m, order = 6, 12, 4
    states = [clustered_state(rng, d, m, order, spread), clustered_state(rng, d, m, order, 10 * spread)]
    n = m * (d + 1)
    b = rng.standard_normal((2, n))
    expected, models = [], []
    for (X, rho, a, U), rhs in zip(states, b):
        op = JacobianOperator(X, rho, a, U, order)
        clusters, self_terms = op.cluster_coupling(step)
        assert clusters  # the clusters are in the CPU paths' preconditioner
        expected.append(BlockClusterPreconditioner(op, step)(rhs) * step)
        models.append(np.eye(n) - block_diagonal(step * op.diagonal_blocks() - self_terms, d)
                      - cluster_model(clusters, m, d))
    y = torch.tensor(np.stack([pack(rho, X) for X, rho, _a, _U in states]))
    a = torch.tensor(np.stack([s[2] for s in states]))
    U = torch.tensor(np.stack([s[3] for s in states]))
    shift = torch.full((2,), 1 / step, dtype=torch.float64)
    _apply, precondition = flow_shifted_system(y, a, U, order, m, d, shift)
    both = precondition(torch.tensor(b)).numpy()
    for got, want, model, rhs in zip(both, expected, models, b):
        # shift I - J ~ model / step: the same backward-error bound as the scipy path's preconditioner, and the
        # same vector up to the model's conditioning (1e-7 relative measured at h = 1e8, a cluster 1e-6 wide; 1e-13 at h = 1e2).
        x = got / step
        assert np.linalg.norm(model @ x - rhs) / (np.linalg.norm(model, 2) * np.linalg.norm(x)) < 1e-13
        assert np.linalg.norm(got - want) <= (1e-6 if step > 1e6 else 1e-11) * np.linalg.norm(want)
    _apply, alone = flow_shifted_system(y[:1], a[:1], U[:1], order, m, d, shift[:1])
    assert np.array_equal(alone(torch.tensor(b[:1])).numpy()[0], both[0])


def test_modified_flow_survives_an_overshooting_prediction():
    """Regression: a quickly discovered component's log-norm was extrapolated past its saturation, scipy's
    Jacobian was refreshed at that prediction (d rho/d rho ~ -1e24), a retry 'converged' to rho = 5.6 and the
    run died with 'Required step size is less than spacing between numbers' (6% of the quick sweep's
    Algorithm 1 runs). The Jacobian is now taken at the last accepted state; the run finishes and no
    component's squared norm exceeds the largest a_j (for even l, R(wbar_k^l) <= a_1 - c_k stops it there)."""
    from solver.spec import RunSpec

    spec = RunSpec.from_argv("--d 6 --r 3 --ratio 10.0 --basis random --algorithm modified --m 6 --eps 0.005 "
                             "--linear-solver dense --n-save 32 --no-record-components".split())
    trajectory = spec.solve()
    assert np.all(np.isfinite(trajectory.residuals))
    assert float(np.exp(2 * trajectory.final_log_norms).max()) <= 1.0 + 1e-6  # even l: c_k never exceeds a_1 = 1


class _Saved(Exception):
    """Raised by the observer once the first save time is reported: nothing after it is of interest."""


def _first_save(engine: str, rate: float, t1: float, save_time: float) -> float:
    """``y' = rate * y`` (``rate = 0``: ``y' = 1``) from ``y(0) = 1`` (``0`` for ``y' = 1``) over ``[0, t1]`` with
    dopri5 or Rodas3: the value reported at ``save_time`` (the integration stops there)."""
    from solver.integrators import integrate_rosenbrock

    y0 = torch.full((1, 1), 0.0 if rate == 0 else 1.0, dtype=torch.float64)
    saved = []

    def on_save(k, y, runs):
        saved.append(float(y.flatten()[0]))
        raise _Saved

    def field(y, *_runs):
        return torch.ones_like(y) if rate == 0 else rate * y

    save_times = np.array([save_time])
    with pytest.raises(_Saved):
        if engine == "dopri5":
            integrate_explicit(lambda y: field(y), y0[:, :, None], 0.0, t1, save_times, on_save, tableau=DOPRI5,
                               step=None, rtol=1e-8, atol=1e-12,
                               norm_independent=torch.zeros((1, 1, 1), dtype=torch.bool), project=lambda y: y,
                               max_steps=100_000)
        else:
            integrate_rosenbrock(field, lambda y, runs: torch.full((y.shape[0], 1, 1), float(rate), dtype=y.dtype),
                                 y0, 0.0, t1, save_times, on_save, rtol=1e-8, atol=1e-12, max_steps=100_000)
    return saved[0]


@pytest.mark.parametrize("engine", ["dopri5", "rodas3"])
def test_save_times_near_the_start_of_a_long_span_are_integrated_to(engine):
    """A save time is reached when it is within a few float64 spacings of the *local* time: on [0, 1e13] a
    tolerance relative to the span's end (1e-12 * 1e13 = 10) made t = 3 count as reached at t = 0 (y' = 1
    reported y(3) = 0) or after the first short step (y' = -y reported 19 e^-3)."""
    assert _first_save(engine, 0.0, 1e13, 3.0) == pytest.approx(3.0, rel=1e-9)
    assert _first_save(engine, -1.0, 1e13, 3.0) == pytest.approx(np.exp(-3.0), rel=1e-4)
    assert _first_save(engine, 0.0, 1e13, 1e13 * (1 - 1e-10)) == pytest.approx(1e13 * (1 - 1e-10), rel=1e-14)


def test_jacobian_at_directions_off_the_unit_sphere_is_that_of_the_integrated_field(rng):
    """BDF does not renormalize, so ``||x_k||`` drifts (to 0.42 on one component of the spread spectrum at
    m = r = 5, seed 3): every form of the Jacobian must be that of ``y -> f(rho, x/||x||)`` there, where the
    columns of ``x_k`` carry ``1/||x_k||``; the unit-norm Jacobian made Newton stall."""
    from solver.jacobian import JacobianOperator

    d, m, order = 4, 3, 4
    X, rho, a, U = random_state(rng, d, m, 2, order)

    def f(y):
        r, Xh = _unpack_normalized(y, d, m)
        return pack(*kernels.flow(Xh, np.exp(2 * r), a, U, order, 0.0))

    y = pack(rho, X * np.array([0.42, 1.0, 2.5]))
    norms = np.linalg.norm(unpack(y, d, m)[1], axis=0)
    np.testing.assert_allclose(norms, [0.42, 1.0, 2.5])
    J = flow_jacobian(X, rho, a, U, order, direction_norms=norms)
    fd = _central_differences(f, y)
    np.testing.assert_allclose(J, fd, atol=5e-8)
    assert np.abs(flow_jacobian(X, rho, a, U, order) - fd).max() > 0.1  # the unit-norm Jacobian is wrong here
    np.testing.assert_allclose(flow_jacobian_sparse(X, rho, a, U, order, 0.0, direction_norms=norms).toarray(), J,
                               atol=1e-14)
    op = JacobianOperator(X, rho, a, U, order, direction_norms=norms)
    np.testing.assert_allclose(np.stack([op.matvec(e) for e in np.eye(y.size)], axis=1), J, atol=1e-13)
    np.testing.assert_allclose(op.dense(), J, atol=1e-14)
    for k, block in enumerate(op.diagonal_blocks()):
        rows = np.r_[k, m + k * d + np.arange(d)]
        np.testing.assert_allclose(block, J[np.ix_(rows, rows)], atol=1e-13)


def test_exact_rank_flow_on_the_spread_spectrum_finishes_with_few_field_evaluations():
    """m = r = 5 on the spread spectrum, seed 3 (``deflation run --r 5 --ratio 100.0 --m 5 --t-max 1e11
    --first-seed 3``): BDF once crawled at h ~ 30 near t = 2.47e10 (over 1e5 field evaluations in 30 s, 7.5e10 to
    go) and, when it got through, reported a_2 found at t = 2.4e10. Here it takes under 2,000 evaluations (841
    measured), and, as BDF at rtol 1e-9 and Radau at 1e-8 do, fits a_1 only: the fifth component sits in the
    a_1 cluster 2e-6 off e_1 toward e_2, whose escape time ~1 / (8 a_2 x_2^2) ~ 3e12 is past t_max. W(0) is the
    one that hung: seed 3's draw before draws were nested (a (d, m) Gaussian from ``default_rng(3)``), passed as
    the initial state; scipy's BDF is named because the hang was its own (CVODE, the CPU default, never had it)."""
    from solver import FlowConfig, solve
    from solver.instances import spread_truth

    config = FlowConfig(m=5, t_max=1e11, record_components=False, integrator="bdf")
    g = np.random.default_rng(3).standard_normal((10, 5))
    initial = (np.full((1, 5), np.log(config.delta0)), (g / np.linalg.norm(g, axis=0))[None])
    run = solve(spread_truth(d=10, r=5), config, seeds=[3], initial_state=initial)
    assert run.meta["rhs_evals"] < 2_000
    found = np.isfinite(run.discovery()[0][0])
    assert found.tolist() == [True, False, False, False, False]


def test_a_run_whose_steps_collapse_stops_with_a_clear_error():
    """A fast undamped oscillation (omega = 1e4) forces BDF to steps ~1e-5 at t ~ 1: with a guard of 200 steps
    that must advance t by 1% of itself, the run stops with IntegrationStalled naming the time, instead of
    crawling; the same run on a slow oscillation passes the same guard."""
    from scipy.integrate import BDF

    from solver.integrators.bdf import drive
    from solver.integrators._control import IntegrationStalled, StallGuard

    def oscillator(omega):
        return BDF(lambda t, y: omega * np.array([y[1], -y[0]]), 1.0, np.array([1.0, 0.0]), 1e3, rtol=1e-6,
                   atol=1e-9, jac=lambda t, y: omega * np.array([[0.0, 1.0], [-1.0, 0.0]]))

    with pytest.raises(IntegrationStalled, match="step size collapsed at t = 1.0"):
        drive(oscillator(1e4), np.array([1e3]), guard=StallGuard(window=200, min_advance=1e-2))
    result = drive(oscillator(1e-3), np.array([1e3]), guard=StallGuard(window=200, min_advance=1e-2))
    assert result.status == 0 and result.t.tolist() == [1e3]
