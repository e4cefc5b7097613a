"""The CVODE engine (solver.integrators.cvode): standard stiff problems against tight references, exact save times,
the GMRES callbacks, the block + cluster preconditioner, and the flow beside scipy's BDF."""

import numpy as np
import pytest
from scipy.linalg import lu_factor, lu_solve

pytest.importorskip("sksundae")

from solver import FlowConfig, solve  # noqa: E402
from solver.errors import ValidationError  # noqa: E402
from solver.instances import figure1_truth, spread_truth  # noqa: E402
from solver.integrators.cvode import CvodeFailure, FlowLinearization, integrate_cvode  # noqa: E402
from solver.problem import NumpyFlowProblem  # noqa: E402
from solver.jacobian import BlockClusterPreconditioner, JacobianOperator, flow_jacobian  # noqa: E402
from solver.layout import pack  # noqa: E402

from _helpers import random_state  # noqa: E402
from _stiff_problems import reference  # noqa: E402


def robertson(_t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_jacobian(_t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]], [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


class DenseLinearization:
    """A :class:`solver.integrators.cvode.Linearization` from a dense Jacobian: ``J v`` and an exact LU of
    ``I - gamma J`` (so GMRES converges in one iteration), for checking the callbacks on small problems."""

    def __init__(self, jacobian):
        self.jacobian, self.J, self.solves = jacobian, None, 0

    def setup(self, t, y, gamma, reuse):
        formed = not reuse or self.J is None
        if formed:
            self.J = self.jacobian(t, np.array(y))
        self.lu = lu_factor(np.eye(self.J.shape[0]) - gamma * self.J)
        return formed

    def jtimes(self, v):
        return self.J @ v

    def psolve(self, r):
        self.solves += 1
        return lu_solve(self.lu, r)


ROBERTSON_TIMES = np.array([0.0, 0.4, 4.0, 40.0, 400.0, 4e3, 4e4, 4e5, 4e6, 4e7, 4e8, 4e10])


@pytest.fixture(scope="module")
def robertson_reference():
    return reference(robertson, robertson_jacobian, 4e10, [1.0, 0.0, 0.0], ROBERTSON_TIMES, rtol=1e-11,
                     atol=np.array([1e-16, 1e-22, 1e-16]))


@pytest.mark.parametrize("linear", ["dense", "gmres"])
def test_robertson_against_a_tight_reference(linear, robertson_reference):
    options = ({"jacobian": robertson_jacobian} if linear == "dense"
               else {"linearization": DenseLinearization(robertson_jacobian)})
    times, states, counts = integrate_cvode(robertson, [1.0, 0.0, 0.0], 0.0, 4e10, ROBERTSON_TIMES, rtol=1e-8,
                                            atol=np.array([1e-12, 1e-18, 1e-12]), **options)
    np.testing.assert_array_equal(times, ROBERTSON_TIMES)  # every save time, exactly
    # y2 ~ 1e-5 .. 1e-13 and y1, y3 in [0, 1]: each against its own scale.
    scale = np.maximum(np.abs(robertson_reference), [1e-6, 1e-14, 1e-6])
    assert np.max(np.abs(states - robertson_reference) / scale) < 1e-4  # global error over 12 decades of time
    np.testing.assert_allclose(states.sum(axis=1), 1.0, atol=1e-9)  # mass conservation
    assert counts.accepted > 0 and counts.rhs_evals >= counts.accepted and counts.jacobians >= 1
    if linear == "gmres":
        assert counts.linear_iterations >= 1 and counts.factorizations >= counts.jacobians


@pytest.mark.parametrize("mu, t1", [(1e3, 1000.0), (1e6, 2.0)])
def test_van_der_pol_against_a_tight_reference(mu, t1):
    """mu = 1e3: y'' = mu (1 - y^2) y' - y on [0, 1000] (through its first relaxation jump); mu = 1e6: the scaled form (Hairer-Wanner) on [0, 2], where
    a Newton iteration that accepts increments which do not shrink can return a state 170% off at rtol 1e-4 with a
    success status (BENCHMARKS.md): CVODE's own Newton must not."""
    if mu < 1e4:
        def f(_t, y):
            return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])

        def jac(_t, y):
            return np.array([[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1.0, mu * (1 - y[0] ** 2)]])
        y0 = [2.0, 0.0]
    else:
        def f(_t, y):
            return np.array([y[1], ((1 - y[0] ** 2) * y[1] - y[0]) * mu])

        def jac(_t, y):
            return np.array([[0.0, 1.0], [(-2 * y[0] * y[1] - 1.0) * mu, (1 - y[0] ** 2) * mu]])
        y0 = [2.0, -2.0 / 3.0 + 10.0 / (81.0 * mu)]
    save = np.linspace(0.0, t1, 7)
    ref = reference(f, jac, t1, y0, save, rtol=1e-10, atol=1e-10).T
    _, states, _ = integrate_cvode(f, y0, 0.0, t1, save, rtol=1e-4, atol=1e-6, jacobian=jac)
    # y1 is O(1) everywhere: an absolute bound at a few hundred times rtol (global error of a 1e-4 local test).
    assert np.max(np.abs(states[:, 0] - ref[0])) < 0.02


def test_save_times_on_a_long_span_are_local():
    """y' = 1 and y' = -y on [0, 1e13], saved at t = 3: the save time is landed where it is, not within a tolerance
    relative to the span's end (a defect of the torch engines)."""
    times, states, _ = integrate_cvode(lambda _t, y: np.array([1.0, -y[1]]), [0.0, 1.0], 0.0, 1e13,
                                       np.array([0.0, 3.0, 1e13]), rtol=1e-8, atol=1e-12,
                                       jacobian=lambda _t, _y: np.diag([0.0, -1.0]))
    np.testing.assert_array_equal(times, [0.0, 3.0, 1e13])
    assert states[1, 0] == pytest.approx(3.0, rel=1e-10)
    assert states[1, 1] == pytest.approx(np.exp(-3.0), rel=1e-6)
    assert states[2, 0] == pytest.approx(1e13, rel=1e-8)


def test_stiff_linear_system_through_gmres_is_exact_to_tolerance():
    """y' = A y, A with eigenvalues -1 .. -1e6 in a random basis: exp(tA) y0 at the save times."""
    rng = np.random.default_rng(0)
    n = 12
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = -np.logspace(0, 6, n)
    A = Q @ np.diag(lam) @ Q.T
    y0 = rng.standard_normal(n)
    save = np.array([0.0, 1e-3, 0.1, 1.0, 5.0])
    lin = DenseLinearization(lambda _t, _y: A)
    _, states, counts = integrate_cvode(lambda _t, y: A @ y, y0, 0.0, 5.0, save, rtol=1e-9, atol=1e-12,
                                        linearization=lin)
    exact = np.stack([Q @ (np.exp(lam * t) * (Q.T @ y0)) for t in save])
    np.testing.assert_allclose(states, exact, atol=1e-7)
    # An exact preconditioner: one GMRES iteration per Newton solve (right preconditioning: each solve applies it
    # once per iteration and once for the solution).
    solves = lin.solves - counts.linear_iterations
    assert counts.jacobians >= 1 and 0 < counts.linear_iterations <= solves


def test_a_failure_raises_with_time_and_message():
    """y' = y^2, y(0) = 1 blows up at t = 1: CVODE stops before it and says where; a step limit stops a run too."""
    with pytest.raises(CvodeFailure, match=r"CVODE stopped at t=(0\.99|1)"):
        integrate_cvode(lambda _t, y: y ** 2, [1.0], 0.0, 2.0, np.array([0.0, 2.0]), rtol=1e-6, atol=1e-9,
                        jacobian=lambda _t, y: np.array([[2 * y[0]]]))
    with pytest.raises(CvodeFailure, match="5 steps without reaching"):
        integrate_cvode(robertson, [1.0, 0.0, 0.0], 0.0, 4e10, ROBERTSON_TIMES, rtol=1e-8, atol=1e-12,
                        jacobian=robertson_jacobian, max_steps=5)


@pytest.mark.parametrize("gamma", [1.0, 50.0, 1e4])
def test_block_cluster_preconditioner_makes_gmres_converge_in_a_few_iterations(gamma):
    """On a late-epoch-like state (two tight clusters of large components, small searchers elsewhere) GMRES on
    Newton's matrix I - gamma J needs 24-43 iterations to 1e-10 unpreconditioned and at most 5 with the block +
    cluster preconditioner."""
    from scipy.sparse.linalg import LinearOperator, gmres

    rng = np.random.default_rng(1)
    d, m, r, order = 5, 12, 2, 4
    X, rho, a, U = random_state(rng, d, m, r, order)
    X[:, :4] = U[:, :1] + 1e-3 * rng.standard_normal((d, 4))
    X[:, 4:8] = U[:, 1:2] + 1e-3 * rng.standard_normal((d, 4))
    X /= np.linalg.norm(X, axis=0)
    rho[:8] = np.log(0.4)
    rho[8:] = np.log(1e-6)
    newton = np.eye(m * (d + 1)) - gamma * flow_jacobian(X, rho, a, U, order)
    precondition = BlockClusterPreconditioner(JacobianOperator(X, rho, a, U, order), gamma)
    b = rng.standard_normal(newton.shape[0])

    def iterations(**preconditioner):
        count = [0]
        x, info = gmres(newton, b, rtol=1e-10, restart=200, maxiter=1, callback_type="pr_norm",
                        callback=lambda _r: count.__setitem__(0, count[0] + 1), **preconditioner)
        assert info == 0 and np.linalg.norm(newton @ x - b) <= 1e-8 * np.linalg.norm(b)
        return count[0]

    assert iterations() >= 20
    assert iterations(M=LinearOperator(newton.shape, matvec=precondition)) <= 5


def test_flow_linearization_jtimes_is_the_exact_jacobian():
    rng = np.random.default_rng(2)
    d, m, r, order = 4, 6, 3, 4
    X, rho, a, U = random_state(rng, d, m, r, order)
    lin = FlowLinearization(NumpyFlowProblem(a, U, order, 0.0, m), coupling_floor=None)
    y = pack(rho, X)
    assert lin.setup(0.0, y, 0.1, reuse=False) is True
    assert lin.setup(0.0, y, 0.2, reuse=True) is False  # a new gamma keeps J
    v = rng.standard_normal(y.size)
    np.testing.assert_allclose(lin.jtimes(v), flow_jacobian(X, rho, a, U, order) @ v, rtol=1e-10, atol=1e-12)


ALG1 = dict(algorithm="modified", m=8, eps=0.005, n_save=32, record_components=False, device="cpu")


@pytest.mark.parametrize("linear_solver", ["krylov", "dense"])
def test_algorithm1_discovery_times_match_scipy_bdf(linear_solver):
    """The d = 6 quick-sweep instance family (ratio 10, random basis): every direction found at the same time
    as with scipy's BDF (dense LU) to 1e-3 relative, and the run record names the engine and carries its
    counters."""
    from solver.spec import InstanceSpec

    truth = InstanceSpec(d=6, r=3, ratio=10.0, basis="random").truth()
    runs = {name: solve(truth, FlowConfig(integrator=name, linear_solver=solver_name, **ALG1), seeds=[0])
            for name, solver_name in (("bdf", "dense"), ("cvode", linear_solver))}
    old, new = runs["bdf"].discovery()[0], runs["cvode"].discovery()[0]
    np.testing.assert_array_equal(np.isnan(old), np.isnan(new))
    found = ~np.isnan(old)
    assert found.sum() >= 2
    np.testing.assert_allclose(new[found], old[found], rtol=1e-3)
    record = runs["cvode"]
    assert record.config["integrator_used"] == "cvode"
    assert record.config["linear_solver_used"] == linear_solver
    counts = record.meta["cvode"]
    assert counts["accepted"] == record.meta["accepted_steps"] > 0
    assert counts["rhs_evals"] == record.meta["rhs_evals"] >= counts["accepted"]
    assert counts["jacobians"] >= len(record.config["epochs"])  # at least one per epoch (a fresh CVODE each)
    if linear_solver == "krylov":
        assert counts["linear_iterations"] > 0 and counts["factorizations"] >= counts["jacobians"]
    else:
        assert counts["linear_iterations"] == 0


def test_plain_flow_matches_scipy_bdf_on_figure1():
    truth = figure1_truth()
    config = dict(m=20, n_save=200, record_components=False, device="cpu")
    old = solve(truth, FlowConfig(integrator="bdf", **config), seeds=[1]).discovery()[0]
    new = solve(truth, FlowConfig(integrator="cvode", **config), seeds=[1]).discovery()[0]
    found = ~np.isnan(old)
    assert found.sum() >= 2
    np.testing.assert_array_equal(np.isnan(old), np.isnan(new))
    np.testing.assert_allclose(new[found], old[found], rtol=1e-3)


def test_cvode_refuses_sparse_and_a_gpu():
    with pytest.raises(ValidationError, match="linear_solver"):
        FlowConfig(integrator="cvode", linear_solver="sparse").validate()
    with pytest.raises(ValidationError, match="device"):
        solve(spread_truth(d=4, r=2), FlowConfig(integrator="cvode", device="cuda", m=3), seeds=[0])


def test_a_singular_cluster_capacitance_does_not_stop_the_run():
    """The alg1_m campaign's d = 6, m = 3 cell (seed 0) met an exactly singular Woodbury capacitance in CVODE's
    preconditioner (LinAlgError: Singular matrix); the pseudo-inverse lets GMRES finish the solve, and the run
    ends with the same outcome as scipy's BDF on the same instance."""
    from solver.spec import RunSpec

    argv = ("--d 6 --r 3 --ratio 10.0 --basis random --algorithm modified --m 3 --eps 0.005 --n-save 32 "
            "--no-record-components").split()
    cvode = RunSpec.from_argv(argv).solve()
    bdf = RunSpec.from_argv(argv + ["--integrator", "bdf"]).solve()
    assert cvode.config["integrator_used"] == "cvode"
    assert cvode.recovered()[0].tolist() == bdf.recovered()[0].tolist()
