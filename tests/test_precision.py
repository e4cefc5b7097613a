"""High-precision backend: agreement with float64, tiny norms, precision really used, validation."""

from __future__ import annotations

import dataclasses

import mpmath
import numpy as np
import pytest

from solver import FlowConfig, ValidationError, solve
from solver.ground_truth import geometric_spectrum, identity_basis
from verify.cli import main
from solver.precision import flint_available, make_arithmetic, solve_high_precision, validate_dps
from verify.precision import cross_check_figure1
from solver.precision.arithmetic import MpmathArithmetic

BACKENDS = ["mpmath"] + (["flint"] if flint_available() else [])


@pytest.mark.slow
def test_agreement_with_float64_where_resolved():
    """Figure 1 instance at reduced size (m=10, t=30): 1e-10 relative wherever float64 resolves loss and residuals."""
    out = cross_check_figure1(dps=30, t_max=30.0, m=10, n_save=30)
    assert out["compared_loss_points"] >= 20
    assert out["max_rel_loss"] <= 1e-10
    # Residuals: most points above the rounding floor are resolved (the control run excludes few).
    assert out["compared_residual_points"] >= 40 and out["excluded_by_trajectory_error"] <= out["compared_residual_points"] // 4
    assert out["max_rel_residuals"] <= 1e-10
    assert out["max_loss_dev_in_floors"] < 1e4  # below the float64 floor the two differ by rounding only
    # Residuals: the float64 trajectory's accumulated rounding (measured ~500-5000 single-evaluation floors).
    assert out["max_residual_dev_in_floors"] < 1e4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delta0", ["1e-300", "1e-1000"])
def test_tiny_norms(backend, delta0):
    """Norms of 1e-300 and 1e-1000 (far below float64): finite state, the norm law d rho/dt = 2R(wbar^l) holds."""
    truth = identity_basis(3, geometric_spectrum(2, 1.2))
    config = FlowConfig(m=3, t_max=0.5, n_save=4, delta0=1e-300)
    traj = solve_high_precision(truth, config, 0, dps=30, backend=backend, delta0=delta0)
    exponent = -int(delta0.split("e-")[1])
    rho = traj.final_log_norms[0]
    assert np.all(np.isfinite(rho))
    # While T ~ 0, log||w|| grows by at most 2 max_j a_j per unit time from log(delta0).
    assert np.all(rho >= exponent * np.log(10) - 1e-9) and np.all(rho <= exponent * np.log(10) + 2 * 0.5 + 1e-9)
    exact_rho = traj.meta["high_precision"]["final_log_norms"][0]
    assert all(float(v) < -600 for v in exact_rho)
    assert np.allclose(traj.loss[0], traj.loss[0, 0])  # the model is invisible: loss stays 1/2 ||T*||^2


@pytest.mark.parametrize("backend", BACKENDS)
def test_configured_dps_is_used(backend):
    """Resolve a loss below float64's floor: at 40 digits the floor is ~1e-40 and a 1e-20 loss is resolved."""
    truth = identity_basis(2, np.array([1.0]))
    # One component sitting almost on e_1 with ||w||^2 = 1 - 1e-10: loss = 1/2 (1e-10)^2 = 5e-21.
    ar = make_arithmetic(backend, 40)
    with ar.context():
        from solver.precision.backend import FlowProblem

        problem = FlowProblem(ar, truth, 0.0)
        Y = np.empty((3, 1), dtype=object)
        Y[0, 0] = ar.log(1 - ar.scalar("1e-10")) / 2
        Y[1:, 0] = ar.array(np.array([1.0, 0.0]))
        obs = problem.observe(Y)
        loss = float(ar.to_float(np.array([obs["loss"]], dtype=object))[0])
        floor = float(ar.to_float(np.array([obs["loss_floor"]], dtype=object))[0])
    assert abs(loss - 5e-21) <= 1e-30
    assert floor < 1e-38
    assert 5e-21 < 2.2e-16  # float64 could not resolve it (its floor is ~1e-16)


@pytest.mark.slow
def test_mpmath_and_flint_agree():
    if not flint_available():
        pytest.skip("python-flint not installed (optional)")
    truth = identity_basis(3, geometric_spectrum(2, 1.2))
    config = FlowConfig(m=4, t_max=10.0, n_save=5, delta0=1e-8)
    a = solve_high_precision(truth, config, 1, dps=30, backend="mpmath")
    b = solve_high_precision(truth, config, 1, dps=30, backend="flint")
    # The loss is a cancellation: compared absolutely against ||T*||^2 ~ 1.
    import mpmath

    with mpmath.workdps(30):
        la = [mpmath.mpf(v) for v in a.meta["high_precision"]["loss"][0]]
        lb = [mpmath.mpf(v) for v in b.meta["high_precision"]["loss"][0]]
        # Measured: the two differ by 6e-28 at t=2.5 and 3e-17 at t=10 (same steps, same RHS count): rounding
        # at 1e-30 grows like e^{3t} through the saddle-escape phase (tangential rate up to l a = 4).
        assert max(abs(x - y) for x, y in zip(la, lb)) <= mpmath.mpf("1e-14")


@pytest.mark.slow
def test_radau_matches_gbs():
    truth = identity_basis(3, geometric_spectrum(2, 1.2))
    config = FlowConfig(m=3, t_max=12.0, n_save=4, delta0=1e-6, save_grid="linear", rtol=1e-14, atol=1e-14)
    explicit = solve_high_precision(truth, config, 0, dps=30, integrator="gbs")
    implicit = solve_high_precision(truth, config, 0, dps=30, integrator="radau")
    # Global error of two independent methods at local tolerance 1e-14, absolute against ||T*||^2 ~ 1.
    assert np.max(np.abs(explicit.loss - implicit.loss)) <= 1e-12


def test_record_format_matches_float64(tmp_path):
    truth = identity_basis(3, geometric_spectrum(2, 1.2))
    config = FlowConfig(m=3, t_max=2.0, n_save=3)
    hp = solve_high_precision(truth, config, 0, dps=25)
    lo = solve(truth, dataclasses.replace(config, device="cpu"), [0])
    import json

    hp.save(tmp_path / "hp")
    lo.save(tmp_path / "lo")
    keys_hp = set(json.loads((tmp_path / "hp" / "run.json").read_text()))
    keys_lo = set(json.loads((tmp_path / "lo" / "run.json").read_text()))
    assert keys_hp == keys_lo
    back = type(hp).load(tmp_path / "hp")
    assert len(back.meta["high_precision"]["loss"][0]) == back.times.size


@pytest.mark.parametrize("bad", [0, 5, 19, 2001, 30.5, "50", True, None])
def test_dps_validation(bad):
    with pytest.raises(ValidationError, match="dps"):
        validate_dps(bad)
    with pytest.raises(ValidationError):
        MpmathArithmetic(bad)


def test_cli_validation(capsys):
    assert main(["precision", "--dps", "5", "--m", "2", "--d", "3", "--r", "2", "--t-max", "1"]) == 2
    assert "dps" in capsys.readouterr().err
    assert main(["probe", "--point", "fixed:4:2.0:8:0"]) == 2
    assert "--point: must be eps in [1e-300, 1)" in capsys.readouterr().err


@pytest.mark.slow
def test_algorithm1_point_at_high_precision_matches_float64():
    """One accuracy-frontier run (Algorithm 1, d = 4, m = 8, eps = 0.05: u_r is missed for want of a free component,
    about 20 CPU seconds in flint) at high precision and in float64: the same epochs, outcome and residuals."""
    import verify.experiments.frontier as fr

    top = fr.grid_eps(4, (0,))[0][2]
    backend = "flint" if flint_available() else "mpmath"
    a_1 = fr.family_spectrum("shifted", 0.05, top)[0]
    hp = fr.solve_run(fr.FrontierRun("shifted", 4, "high-precision", -1, 0.05, top, 8, 0, backend,
                                     fr.hp_digits(a_1, 0.05)))
    f64 = fr.solve_run(fr.FrontierRun("shifted", 4, "point", -1, 0.05, top, 8, 0))
    assert hp["error"] is None and f64["error"] is None
    assert hp["precision"] == backend and hp["dps"] >= 30
    assert (hp["epochs"], hp["success"], hp["free_at_ar"]) == (f64["epochs"], f64["success"], f64["free_at_ar"])
    assert hp["max_rel_residual"] == pytest.approx(f64["max_rel_residual"], rel=1e-6)
    assert np.allclose(hp["final_residuals"], f64["final_residuals"], rtol=1e-6, atol=1e-9)


def test_precision_cli_writes_record(tmp_path):
    out = tmp_path / "p"
    code = main(["precision", "--dps", "25", "--m", "3", "--d", "3", "--r", "2", "--t-max", "1", "--n-save", "2",
                 "--delta0", "1e-1000", "--quiet", "--out", str(out)])
    assert code == 0
    assert (out / "run.json").exists() and (out / "trajectory.npz").exists()


@pytest.mark.skipif(not flint_available(), reason="python-flint not installed")
def test_flint_matrix_products_equal_numpy_object_products(rng):
    """ArbMatrixArray's arb_mat product is the same product as numpy's per-scalar object matmul (to the working
    precision), keeps its type through elementwise operations and gives scalars for full reductions."""
    from solver.precision.arithmetic import ArbMatrixArray

    ar = make_arithmetic("flint", 40)
    with ar.context():
        A, B = ar.array(rng.standard_normal((5, 3))), ar.array(rng.standard_normal((3, 4)))
        fast = ar.matrices(A) @ B
        slow = np.matmul(np.asarray(A), np.asarray(B))
        assert isinstance(fast, ArbMatrixArray) and fast.shape == (5, 4)
        difference = ar.to_float(np.asarray(fast - slow, dtype=object))
        assert np.abs(difference).max() <= 1e-35
        assert isinstance(ar.matrices(A) * 2, ArbMatrixArray)
        total = (ar.matrices(A) * A).sum(axis=-1).sum(axis=-1)
        assert not isinstance(total, np.ndarray)
        assert abs(ar.to_float(np.array([total], dtype=object))[0] - float((ar.to_float(A) ** 2).sum())) < 1e-12


def test_cross_check_refuses_a_reference_no_tighter_than_float64():
    """At 20 digits the reference could integrate no tighter than float64's rtol64 = 1e-15: refused, naming dps."""
    from solver.errors import ValidationError

    with pytest.raises(ValidationError, match="dps"):
        cross_check_figure1(dps=20, t_max=1.0, m=4)


def test_epoch_tolerance_follows_beta():
    """``epoch_rtol``: each epoch of Algorithm 1 runs at the tolerance its ``beta_s`` maps to (recorded per epoch),
    a looser one costs fewer field evaluations (so the schedule reaches the integrator), and a tolerance the digits
    cannot carry is refused naming ``rtol``."""
    truth = identity_basis(3, np.array([1.0, 0.1]))
    config = FlowConfig(algorithm="modified", m=4, delta0=1e-6, delta1=0.05, lam=1e-4, eps=0.02, beta0=1.0,
                        reinit_rule="norm", integrator="radau", rtol=1e-14, n_save=16)

    def schedule(beta: float) -> float:
        return 1e-8 if beta > 0.3 else 1e-14

    ar_backend = BACKENDS[-1]
    tight = solve_high_precision(truth, config, 0, dps=30, backend=ar_backend)
    loose = solve_high_precision(truth, config, 0, dps=30, backend=ar_backend, epoch_rtol=schedule)
    betas = [e["beta"] for e in loose.config["epochs"]]
    assert len(betas) >= 3 and betas[0] > 0.3 > betas[-1]
    assert loose.meta["high_precision"]["epoch_rtol"] == [schedule(b) for b in betas]
    assert tight.meta["high_precision"]["epoch_rtol"] is None
    assert loose.meta["rhs_evals"] < tight.meta["rhs_evals"]
    assert loose.recovered().all() and tight.recovered().all()
    # The last epochs run at the same tolerance and the fitted state forgot the loose epochs' error: the exact final
    # residuals (5e-5 = lambda/2) agree to 1e-24 (measured: 4e-31).
    exact = [[mpmath.mpf(v) for v in t.meta["high_precision"]["residuals"][0][-1]] for t in (loose, tight)]
    assert max(abs(x - y) for x, y in zip(*exact)) < 1e-24 and abs(exact[1][0] - mpmath.mpf("5e-5")) < 1e-15
    with pytest.raises(ValidationError, match="rtol"):
        solve_high_precision(truth, config, 0, dps=30, backend=ar_backend, epoch_rtol=lambda beta: 1e-40)
