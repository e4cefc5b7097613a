"""The batched torch stiff integrator (solver.integrators.rosenbrock): classic stiff problems against scipy's Radau,
order of accuracy, batch independence, and agreement with the scipy BDF path on the flow."""

import numpy as np
import pytest
import torch

from solver import FlowConfig, solve
from solver.errors import ValidationError
from solver.instances import spread_truth
from solver.integrators.rosenbrock import integrate_rosenbrock

from _stiff_problems import reference


def _run(field, jacobian, y0, t1, save_times, rtol, atol, step=None, linearize=None):
    saved = {}

    def on_save(k, y, runs):
        for row, b in enumerate(runs.tolist()):
            saved[(k, b)] = y[row].clone()

    y1, stats = integrate_rosenbrock(field, jacobian, torch.as_tensor(y0, dtype=torch.float64), 0.0, t1,
                                     np.asarray(save_times, dtype=np.float64), on_save, rtol=rtol, atol=atol, step=step,
                                     linearize=linearize)
    return y1, saved, stats


def _matrix_free(jacobian):
    """``linearize`` that uses ``jacobian`` only through products (GMRES, Jacobi preconditioner): the interface a
    large problem supplies."""
    from solver.integrators.krylov import krylov_solver

    def linearize(y, runs, shift):
        J = jacobian(y, runs)
        diagonal = shift[:, None] - torch.diagonal(J, dim1=1, dim2=2)
        return krylov_solver(lambda v: shift[:, None] * v - (J * v[:, None, :]).sum(-1), lambda v: v / diagonal)

    return linearize


def _numpy(batched, y):
    """A batched torch Jacobian evaluated on one numpy state (scipy's reference solves call it rarely; their fields
    are written in numpy, independently of the torch ones under test)."""
    return batched(torch.as_tensor(y)[None], None)[0].numpy()


# Robertson's chemical kinetics (Hairer & Wanner II, IV.1): eigenvalues down to ~ -1e4, solution over t in [0, 1e5].
def robertson_field(y, runs):
    y1, y2, y3 = y.unbind(1)
    return torch.stack([-0.04 * y1 + 1e4 * y2 * y3, 0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2 ** 2, 3e7 * y2 ** 2], 1)


def robertson_jacobian(y, runs):
    y1, y2, y3 = y.unbind(1)
    z, c = torch.zeros_like(y1), torch.full_like(y1, 0.04)
    return torch.stack([torch.stack([-c, 1e4 * y3, 1e4 * y2], 1),
                        torch.stack([c, -1e4 * y3 - 6e7 * y2, -1e4 * y2], 1),
                        torch.stack([z, 6e7 * y2, z], 1)], 1)


@pytest.mark.slow
@pytest.mark.parametrize("matrix_free", [False, True])
def test_robertson_against_scipy_radau(matrix_free):
    times = [1e-2, 1.0, 1e2, 1e4, 1e5]
    ref = reference(lambda t, y: [-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                                  3e7 * y[1] ** 2], lambda t, y: _numpy(robertson_jacobian, y), 1e5, [1.0, 0, 0],
                    times, rtol=1e-12, atol=1e-16).T
    _, saved, _ = _run(robertson_field, robertson_jacobian, [[1.0, 0, 0]], 1e5, times, rtol=1e-7,
                       atol=torch.tensor([1e-10, 1e-14, 1e-10], dtype=torch.float64),
                       linearize=_matrix_free(robertson_jacobian) if matrix_free else None)
    for k in range(len(times)):
        got = saved[(k, 0)].numpy()
        np.testing.assert_allclose(got[[0, 2]], ref[[0, 2], k], rtol=2e-5, atol=1e-9)
        np.testing.assert_allclose(got[1], ref[1, k], rtol=2e-4, atol=1e-13)  # y2 ~ 1e-5..1e-10


def vdp_field(mu):
    def field(y, runs):
        x, v = y.unbind(1)
        return torch.stack([v, mu * (1 - x ** 2) * v - x], 1)

    def jacobian(y, runs):
        x, v = y.unbind(1)
        return torch.stack([torch.stack([torch.zeros_like(x), torch.ones_like(x)], 1),
                            torch.stack([-2 * mu * x * v - 1, mu * (1 - x ** 2)], 1)], 1)

    return field, jacobian


def test_van_der_pol_mu_1e3_against_scipy_radau():
    mu, t1 = 1e3, 1500.0  # a little over one relaxation period (~ (3 - 2 ln 2) mu = 1614)
    field, jacobian = vdp_field(mu)
    times = [100.0, 500.0, 800.0, 1500.0]
    ref = reference(lambda t, y: [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]],
                    lambda t, y: [[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)]], t1, [2.0, 0.0],
                    times, rtol=1e-11, atol=1e-11).T
    _, saved, stats = _run(field, jacobian, [[2.0, 0.0]], t1, times, rtol=1e-7, atol=1e-7)
    for k in range(len(times)):
        np.testing.assert_allclose(saved[(k, 0)][0].item(), ref[0, k], rtol=1e-5)
    assert stats.rejected < stats.accepted


def test_order_three_on_a_linear_stiff_problem():
    """y' = L y with eigenvalues -1 and -1e4 (stiff), fixed steps: the global error at t = 1 falls as h^3.

    The stiff mode is damped to zero in both the solution and the method (L-stability), so the error is the
    smooth mode's; with rtol huge the controller keeps the initial step and only landing shortens steps."""
    L = torch.tensor([[-1.0, 0.0], [1.0, -1e4]], dtype=torch.float64)

    def field(y, runs):
        return y @ L.T

    def jacobian(y, runs):
        return L.expand(y.shape[0], 2, 2)

    exact = torch.linalg.matrix_exp(L) @ torch.tensor([1.0, 1.0], dtype=torch.float64)
    errors = []
    for steps in (20, 40, 80):
        h = 1.0 / steps
        # Save at every step boundary: the integrator then lands exactly on the uniform grid.
        times = np.linspace(h, 1.0, steps)
        _, saved, _ = _run(field, jacobian, [[1.0, 1.0]], 1.0, times, rtol=1e6, atol=1e6, step=h)
        errors.append(float((saved[(steps - 1, 0)] - exact).abs().max()))
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > 2.8), (errors, rates)


def test_batch_independence_and_per_run_steps():
    """A run's trajectory (and its own step sizes) does not depend on the other runs in its batch."""
    field, jacobian = vdp_field(1e2)
    times = [5.0, 15.0, 30.0]
    _, alone, stats_alone = _run(field, jacobian, [[2.0, 0.0]], 30.0, times, rtol=1e-6, atol=1e-6)
    _, batched, stats_b = _run(field, jacobian, [[0.5, 1.0], [2.0, 0.0], [-1.0, 3.0]], 30.0, times,
                               rtol=1e-6, atol=1e-6)
    for k in range(len(times)):
        assert torch.equal(alone[(k, 0)], batched[(k, 1)])
    assert stats_b.accepted > stats_alone.accepted  # the other runs took steps of their own


@pytest.mark.slow
def test_flow_discovery_times_agree_with_scipy_bdf():
    """Algorithm 1 on the spread spectrum (d = 6, m = 12): discovery times of the torch path and the scipy BDF
    path agree to 1e-3 relative."""
    truth = spread_truth(d=6, r=3)
    base = dict(algorithm="modified", m=12, eps=1e-5, n_save=96)
    bdf = solve(truth, FlowConfig(integrator="bdf", **base), seeds=[0])
    ros = solve(truth, FlowConfig(integrator="rosenbrock", **base), seeds=[0])
    t_bdf, t_ros = bdf.discovery()[0], ros.discovery()[0]
    assert np.all(np.isfinite(t_bdf)) and np.all(np.isfinite(t_ros))
    np.testing.assert_allclose(t_ros, t_bdf, rtol=1e-3)
    assert ros.config["integrator_used"] == "rosenbrock"
    # What auto resolved to is on the record: 84 unknowns, one run: dense LU on both paths.
    assert (bdf.config["linear_solver_used"], ros.config["linear_solver_used"]) == ("dense", "dense")


def test_flow_batch_equals_single_runs():
    truth = spread_truth(d=4, r=2)
    config = FlowConfig(algorithm="modified", m=6, eps=1e-3, n_save=32, integrator="rosenbrock")
    both = solve(truth, config, seeds=[3, 4])
    single = solve(truth, config, seeds=[4])
    np.testing.assert_array_equal(both.residuals[1], single.residuals[0])


def test_cuda_request_without_a_device_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValidationError):
        solve(spread_truth(d=4, r=2), FlowConfig(algorithm="modified", m=6, device="cuda"), seeds=[0])


def test_scipy_integrators_refuse_a_cuda_device():
    """bdf/radau run on the CPU only: asking for them on cuda is an error, not a silent move to the CPU."""
    with pytest.raises(ValidationError):
        solve(spread_truth(d=4, r=2), FlowConfig(algorithm="modified", m=6, device="cuda:0", integrator="bdf"),
              seeds=[0])


def test_auto_integrator_on_a_cuda_device():
    """auto picks the torch stiff path on CUDA (every seed one batch on the device) at every size: above the
    dense limit it runs matrix-free, so nothing moves to the CPU."""
    from solver.flow import ROSENBROCK_AUTO_MAX_UNKNOWNS, _choose_integrator

    truth = spread_truth(d=10)
    cuda = torch.device("cuda")  # a device object only: nothing runs on it
    small = FlowConfig(algorithm="modified", m=50, device="cuda")
    assert _choose_integrator(small, [truth], cuda) == "rosenbrock"
    assert _choose_integrator(small, [truth], torch.device("cpu")) == "cvode"
    too_many = ROSENBROCK_AUTO_MAX_UNKNOWNS // (truth.d + 1) + 1
    for device in ("cuda", "auto"):
        assert _choose_integrator(FlowConfig(algorithm="modified", m=too_many, device=device), [truth],
                                  cuda) == "rosenbrock"


def test_rosenbrock_linear_solver_auto_follows_batch_and_size():
    """auto: dense LU for small runs in small batches; on the CPU matrix-free past the measured crossover (one run:
    between n = 140 and 550; 16 runs: between 140 and 270), on CUDA only past the size limit; an explicit choice
    is kept."""
    from solver.flow import ROSENBROCK_AUTO_MAX_UNKNOWNS, rosenbrock_matrix_free

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not rosenbrock_matrix_free("auto", 1, 140, cpu)
    assert not rosenbrock_matrix_free("auto", 16, 140, cpu)
    assert rosenbrock_matrix_free("auto", 16, 270, cpu)
    assert rosenbrock_matrix_free("auto", 1, 550, cpu)
    assert not rosenbrock_matrix_free("auto", 256, 550, cuda)
    assert rosenbrock_matrix_free("auto", 1, ROSENBROCK_AUTO_MAX_UNKNOWNS + 1, cuda)
    assert not rosenbrock_matrix_free("dense", 256, 550, cpu)
    assert rosenbrock_matrix_free("krylov", 1, 30, cuda)


def test_batched_gmres_solves_each_system_independently_of_its_batch():
    """Batched GMRES against a direct solve, and each system's solution bit for bit the same alone as in a batch
    whose other systems need more iterations (enough of them that the Krylov storage grows twice)."""
    from solver.integrators.krylov import _GMRES_FIRST_COLUMNS, batched_gmres

    generator = torch.Generator().manual_seed(0)
    n = 40
    spread = torch.tensor([0.05, 0.2, 0.4], dtype=torch.float64)  # off-diagonal strength: more iterations down the batch
    A = torch.eye(n, dtype=torch.float64) * 4 + spread[:, None, None] * torch.randn(3, n, n, generator=generator,
                                                                                    dtype=torch.float64)
    b = torch.randn(3, n, generator=generator, dtype=torch.float64)
    diagonal = torch.diagonal(A, dim1=1, dim2=2)

    def run(rows, rtol=1e-12):  # A v as multiply-and-sum: torch's batched mat-vec rounds differently for one
        return batched_gmres(lambda v: (A[rows] * v[:, None, :]).sum(-1), lambda v: v / diagonal[rows], b[rows],
                             rtol, n)

    x, steps, residual = run(torch.arange(3))
    exact = torch.linalg.solve(A, b[:, :, None])[:, :, 0]
    assert torch.all(residual <= 1e-12)
    torch.testing.assert_close(x, exact, rtol=1e-9, atol=1e-12)
    alone, steps_alone, _ = run(torch.tensor([0]))
    assert steps_alone < steps  # the batch iterated on for the harder systems
    assert steps > 2 * _GMRES_FIRST_COLUMNS
    # A tolerance per system: one asked for nothing (as krylov_solver does for a solved system) stops at once and
    # leaves the others' solutions unchanged.
    easy_first, steps_easy, _ = run(torch.tensor([0, 1]), torch.tensor([1e-12, torch.inf], dtype=torch.float64))
    pair, steps_pair, _ = run(torch.tensor([0, 1]))
    assert steps_easy == steps_alone < steps_pair and torch.equal(easy_first[0], x[0])
    assert torch.equal(alone[0], x[0])


@pytest.mark.slow
def test_matrix_free_flow_agrees_with_the_dense_torch_path():
    """Algorithm 1 on the spread spectrum with the torch stiff path, matrix-free (GMRES on the Gram-form J v,
    per-component block preconditioner) against the dense LU: the same discovery times to 1e-6 relative (both
    solve the same stage equations, to 1e-10), and a run's trajectory bit for bit the same alone as in a batch."""
    truth = spread_truth(d=4, r=2)  # small: on the CPU the matrix-free path is ~7x slower than the dense one here
    base = dict(algorithm="modified", m=6, eps=1e-3, n_save=32, integrator="rosenbrock")
    # Seeds 3 and 4: with nested draws seed 3 fits both directions and seed 4 only a_1 (seeds 0..9: both in
    # 3, 6, 8, 9; at m = 6 on d = 4 most starts lie in u_1's basin), so both outcomes are compared.
    dense = solve(truth, FlowConfig(linear_solver="dense", **base), seeds=[3, 4])
    free = solve(truth, FlowConfig(linear_solver="krylov", **base), seeds=[3, 4])
    t_dense, t_free = dense.discovery()[0], free.discovery()[0]
    found = np.isfinite(t_dense)
    assert found.sum() >= 3 and np.array_equal(np.isfinite(t_free), found)
    np.testing.assert_allclose(t_free[found], t_dense[found], rtol=1e-6)
    alone = solve(truth, FlowConfig(linear_solver="krylov", **base), seeds=[4])
    np.testing.assert_array_equal(alone.residuals[0], free.residuals[1])
    assert (dense.config["linear_solver_used"], free.config["linear_solver_used"]) == ("dense", "krylov")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_modified_flow_on_cuda_matches_cpu():
    truth = spread_truth(d=6, r=3)
    base = dict(algorithm="modified", m=12, eps=1e-5, n_save=96, integrator="rosenbrock")
    cpu = solve(truth, FlowConfig(device="cpu", **base), seeds=[0, 1])
    gpu = solve(truth, FlowConfig(device="cuda", **base), seeds=[0, 1])
    assert gpu.meta["device"].startswith("cuda")
    np.testing.assert_allclose(gpu.discovery()[0], cpu.discovery()[0], rtol=1e-3)  # discovery times agree to 1e-3 across devices


def _linear(rate):
    def field(y, runs):
        return rate * y

    def jacobian(y, runs):
        return torch.full((y.shape[0], 1, 1), float(rate), dtype=y.dtype)

    return field, jacobian


def test_a_singular_stage_system_rejects_the_step_instead_of_raising():
    """y' = 4 y with a first step of 0.5: Rodas3's shift 1/(gamma h) = 4 makes shift I - J exactly singular.
    The step is rejected and retried shorter (lu_factor's RuntimeError once ended the run)."""
    field, jacobian = _linear(4.0)
    _, saved, stats = _run(field, jacobian, [[1.0]], 1.0, [1.0], rtol=1e-8, atol=1e-10, step=0.5)
    assert saved[(0, 0)].item() == pytest.approx(np.exp(4.0), rel=1e-5)
    assert stats.rejected >= 1


@pytest.mark.slow
def test_a_run_that_blows_up_stops_with_a_clear_error():
    """y' = exp(y) from y(0) = 0 blows up at t = 1 (y = -ln(1 - t), no continuation past it): the run must end in
    IntegrationStalled naming the run, not crawl towards t = 1 (the step shrinks to nothing while exp overflows)."""
    from solver.integrators._control import IntegrationStalled

    def field(y, runs):
        return torch.exp(y)

    def jacobian(y, runs):
        return torch.exp(y)[:, :, None]

    with pytest.raises(IntegrationStalled, match="run 0: (50 consecutive steps rejected|step size .* fell below the "
                                                 "spacing of floats) at t = 0.99"):
        _run(field, jacobian, [[0.0]], 2.0, [2.0], rtol=1e-6, atol=1e-9)


def test_a_stalled_matrix_free_solve_falls_back_to_the_dense_jacobian_or_stops_clearly():
    """A linearization whose solves never converge (NaN, as krylov_solver returns for a stalled GMRES) makes every
    step fail: with a Jacobian the run falls back to its dense LU and is right; without one it stops with
    IntegrationStalled. The batch of two checks the fallback's shapes."""
    from solver.integrators._control import IntegrationStalled

    field, jacobian = _linear(-1.0)

    def never_converges(y, runs, shift):
        return lambda rhs: torch.full_like(rhs, float("nan"))

    _, saved, _ = _run(field, jacobian, [[1.0], [2.0]], 1.0, [1.0], rtol=1e-8, atol=1e-10,
                       linearize=never_converges)
    assert saved[(0, 0)].item() == pytest.approx(np.exp(-1.0), rel=1e-6)
    assert saved[(0, 1)].item() == pytest.approx(2 * np.exp(-1.0), rel=1e-6)
    with pytest.raises(IntegrationStalled, match="consecutive steps rejected"):
        _run(field, None, [[1.0]], 1.0, [1.0], rtol=1e-8, atol=1e-10, linearize=never_converges)


def test_matrix_free_helper_is_right_for_a_batch():
    """``_matrix_free`` on a batch of three Robertson states equals the dense solve run by run (its shift is one
    per run, not one per unknown)."""
    from solver.integrators.krylov import dense_linearization

    y = torch.tensor([[1.0, 0.0, 0.0], [0.9, 1e-5, 0.1], [0.5, 2e-6, 0.5]], dtype=torch.float64)
    shift = torch.tensor([1e3, 10.0, 0.5], dtype=torch.float64)
    rhs = torch.tensor([[1.0, 2.0, 3.0], [0.1, -1.0, 4.0], [2.0, 0.0, -1.0]], dtype=torch.float64)
    dense = dense_linearization(robertson_jacobian)(y, None, shift)(rhs)
    free = _matrix_free(robertson_jacobian)(y, None, shift)(rhs)
    torch.testing.assert_close(free, dense, rtol=1e-8, atol=1e-12)
