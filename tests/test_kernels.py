"""The Gram-form kernels against the dense d^l definitions and the laws of SPEC section 1."""

import numpy as np
import pytest
import torch

from solver import kernels
from solver.dense import dense_contraction, dense_loss, symmetric_power_sum

from _helpers import random_state, t64


@pytest.mark.parametrize("order", [3, 4, 5])
@pytest.mark.parametrize("lam", [0.0, 0.37])
def test_flow_matches_autograd_of_dense_objective(rng, order, lam):
    X, rho, a, U = random_state(rng, d=4, m=3, r=2, order=order, orthogonal=False)
    W = t64(X * np.exp(rho)).requires_grad_(True)
    (grad,) = torch.autograd.grad(dense_loss(W, t64(a), t64(U), order, lam), W)
    field = kernels.flow_w(t64(X), t64(np.exp(rho)), t64(a), t64(U), order, lam)
    assert torch.allclose(field, -grad, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("order", [3, 4])
def test_loss_and_direction_residuals_match_dense(rng, order):
    X, rho, a, U = random_state(rng, d=5, m=4, r=3, order=order, orthogonal=False)
    c = np.exp(2 * rho)
    target = symmetric_power_sum(t64(a), t64(U), order)
    model = symmetric_power_sum(t64(c), t64(X), order)
    residual = target - model
    loss, floor = kernels.loss_and_floor(t64(X), t64(c), t64(a), t64(U), order, 2.2e-16)
    assert float(loss) == pytest.approx(0.5 * float((residual**2).sum()), rel=1e-12)
    assert 0 < float(floor) < 1e-13
    res = kernels.direction_residuals(t64(X), t64(c), t64(a), t64(U), order)
    for j in range(U.shape[1]):
        assert float(res[j]) == pytest.approx(float(dense_contraction(residual, t64(U[:, j]), order)), rel=1e-12, abs=1e-13)
    V, s = kernels.residual_contractions(t64(X), t64(c), t64(a), t64(U), order)
    for k in range(X.shape[1]):
        vk = dense_contraction(residual, t64(X[:, k]), order - 1)
        assert torch.allclose(V[:, k], vk, rtol=1e-11, atol=1e-12)
        assert float(s[k]) == pytest.approx(float(vk @ t64(X[:, k])), rel=1e-11, abs=1e-12)


def test_radial_tangential_split_and_sphere_invariance(rng):
    """dW/dt = ||w|| (d rho/dt wbar + d wbar/dt): the radial part along wbar, the tangential part orthogonal."""
    order, lam = 4, 0.2
    X, rho, a, U = random_state(rng, d=6, m=5, r=3, order=order)
    n = np.exp(rho)
    d_rho, d_X = kernels.flow(X, n**2, a, U, order, lam)
    dW = kernels.flow_w(X, n, a, U, order, lam)
    np.testing.assert_allclose((X * dW).sum(0) / n, d_rho, rtol=1e-12, atol=1e-13)  # radial law (C4)
    np.testing.assert_allclose((dW - X * (X * dW).sum(0)) / n, d_X, rtol=1e-11, atol=1e-12)  # tangential (C5)
    np.testing.assert_allclose((X * d_X).sum(0), 0.0, atol=1e-13)  # tangent to the sphere (C8)
    # The direction's speed does not depend on its own norm (P2): rescale one component's norm only
    # in the coordinates the field sees, keeping the others' c fixed.
    c = n**2
    c_small = c.copy()
    c_small[0] = 0.0
    V, s = kernels.residual_contractions(X, c, a, U, order)
    V0, s0 = kernels.residual_contractions(X, c_small, a, U, order)
    # Only the self term -c_0 wbar_0 changes V_0, and it is killed by the projection.
    P0 = np.eye(6) - np.outer(X[:, 0], X[:, 0])
    np.testing.assert_allclose(P0 @ V[:, 0], P0 @ V0[:, 0], atol=1e-12)


def test_gram_form_never_needs_dense_and_handles_tiny_norms():
    d, m = 30, 7
    rng = np.random.default_rng(0)
    X = rng.standard_normal((d, m))
    X /= np.linalg.norm(X, axis=0)
    rho = np.full(m, np.log(1e-300))
    a = np.array([1.0, 0.5])
    U = np.eye(d)[:, :2]
    d_rho, d_X = kernels.flow(t64(X), torch.exp(2 * t64(rho)), t64(a), t64(U), 4)
    assert torch.isfinite(d_rho).all() and torch.isfinite(d_X).all()
    expected = 2 * (a[None, :] * (X.T @ U) ** 4).sum(1)  # T ~ 0: pure power-method growth
    np.testing.assert_allclose(d_rho.numpy(), expected, rtol=1e-12)


def test_kernels_run_on_mpmath_object_arrays():
    import mpmath

    rng = np.random.default_rng(3)
    X, rho, a, U = random_state(rng, d=3, m=2, r=2, order=4)
    with mpmath.workdps(40):
        to_mp = np.vectorize(mpmath.mpf, otypes=[object])
        d_rho_mp, d_X_mp = kernels.flow(to_mp(X), to_mp(np.exp(2 * rho)), to_mp(a), to_mp(U), 4, mpmath.mpf("0.1"))
        d_rho, d_X = kernels.flow(X, np.exp(2 * rho), a, U, 4, 0.1)
        np.testing.assert_allclose(d_rho_mp.astype(float), d_rho, rtol=1e-13)
        np.testing.assert_allclose(d_X_mp.astype(float), d_X, rtol=1e-12, atol=1e-14)


def test_blocked_gram_rows_give_the_same_contractions(rng):
    X, rho, a, U = random_state(rng, d=6, m=37, r=3, order=4)
    c = np.exp(2 * rho)
    full = kernels.residual_contractions(X, c, a, U, 4)
    for block in (1, 5, 36):
        for mine, ref in zip(kernels.residual_contractions(X, c, a, U, 4, block=block), full):
            np.testing.assert_allclose(mine, ref, rtol=1e-13, atol=1e-14)
        V_t, s_t = kernels.residual_contractions(t64(X), t64(c), t64(a), t64(U), 4, block=block)
        np.testing.assert_allclose(V_t.numpy(), full[0], rtol=1e-13, atol=1e-14)


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps, reason="needs an extended long double")
@pytest.mark.parametrize("order", [3, 4])
def test_flow_rounding_has_the_size_of_the_float64_error_of_a_fitted_state(rng, order):
    """At a fitted state (each truth direction split among members a few 1e-7 apart, plus tiny searchers) the
    field is mostly rounding noise. Its float64 error against an extended-precision evaluation of the same Gram
    form is of the size :func:`kernels.flow_rounding` says: the worst ratio of error to estimate lies within a
    factor 10 of 1 (the estimate is a level, not a worst-case bound, which would be ~m times larger)."""
    d, r, per = 8, 3, 4
    U = np.linalg.qr(rng.standard_normal((d, r)))[0]
    a = np.array([1.0, 1e-2, 1e-4])
    members = [U[:, j] + 3e-7 * rng.standard_normal(d) for j in range(r) for _ in range(per)]
    X = np.column_stack(members + list(rng.standard_normal((6, d))))
    X /= np.linalg.norm(X, axis=0)
    c = np.concatenate([np.repeat(a / per, per), np.full(6, 1e-30)])
    d_rho, d_X = kernels.flow(X, c, a, U, order)
    L = np.longdouble
    exact_rho, exact_X = kernels.flow(X.astype(L), c.astype(L), a.astype(L), U.astype(L), order)
    noise_rho, noise_X = kernels.flow_rounding(X, c, a, U, order, np.finfo(np.float64).eps)
    error = np.concatenate([np.abs(d_rho - exact_rho), np.abs(d_X - exact_X).ravel()]).astype(np.float64)
    noise = np.concatenate([noise_rho, noise_X.ravel()])
    assert 0.1 < (error / noise).max() < 10
