"""The problem layer: one state layout for every array family, and the same field and Jacobian in each."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import layout
from solver.ground_truth import random_orthonormal
from solver.problem import NumpyFlowProblem, ObjectFlowProblem, TorchFlowProblem

D, M, R, ORDER, LAM = 4, 3, 2, 4, 0.05


def _state(rng, norms_off_one: bool = False):
    X = rng.standard_normal((D, M))
    X /= np.linalg.norm(X, axis=0)
    if norms_off_one:
        X *= 0.7 + 0.6 * rng.random(M)
    return rng.standard_normal(M) * 0.3, X


def test_layouts_are_inverse_permutations_in_every_family(rng):
    rho, X = _state(rng)
    y = layout.pack(rho, X)
    assert y.shape == (M * (D + 1),) and np.array_equal(y[:M], rho) and np.array_equal(y[M:M + D], X[:, 0])
    for family in (lambda v: v, torch.from_numpy, lambda v: v.astype(object)):
        r2, X2 = layout.unpack(family(y), D, M)
        assert np.array_equal(np.asarray(r2, dtype=float), rho) and np.array_equal(np.asarray(X2, dtype=float), X)
    Y = layout.to_rows(rho, X)
    assert np.array_equal(layout.packed_to_rows(layout.rows_to_packed(Y), D, M), Y)
    perm = layout.rows_permutation(D, M)
    assert np.array_equal(layout.rows_to_packed(Y)[perm], Y.ravel())
    u = layout.to_components(y, D, M)
    assert np.array_equal(u[1], np.concatenate([[rho[1]], X[:, 1]])) and np.array_equal(layout.from_components(u), y)
    batch = torch.from_numpy(np.stack([y, 2 * y]))
    assert torch.equal(layout.from_components(layout.to_components(batch, D, M)), batch)


def test_the_three_families_evaluate_the_same_field(rng):
    from solver.precision import make_arithmetic

    truth = random_orthonormal(D, np.array([1.0, 0.4]), ORDER, seed=3)
    rho, X = _state(rng)
    torch_problem = TorchFlowProblem(torch.from_numpy(truth.a)[None], torch.from_numpy(truth.U)[None], ORDER, LAM, M)
    Y = torch.from_numpy(layout.to_rows(rho, X))[None]
    reference = torch_problem.field(Y)[0].numpy()
    packed = torch_problem.packed_field(torch_problem.pack(Y), torch.tensor([0]))[0].numpy()
    numpy_problem = NumpyFlowProblem(truth.a, truth.U, ORDER, LAM, M)
    assert np.allclose(numpy_problem.field(layout.pack(rho, X)), packed, rtol=0, atol=1e-14)
    assert np.allclose(layout.packed_to_rows(packed, D, M), reference, rtol=0, atol=1e-14)
    ar = make_arithmetic("mpmath", 30)
    with ar.context():
        exact = ObjectFlowProblem(ar, truth, LAM).field(ar.array(layout.to_rows(rho, X)))
        assert np.allclose(ar.to_float(exact), reference, rtol=0, atol=1e-14)


def test_numpy_jacobians_agree_with_differences_and_with_each_other(rng):
    truth = random_orthonormal(D, np.array([1.0, 0.4]), ORDER, seed=3)
    problem = NumpyFlowProblem(truth.a, truth.U, ORDER, LAM, M)
    y = layout.pack(*_state(rng, norms_off_one=True))  # the stiff engines do not renormalize
    J = problem.jacobian(y)
    h = 1e-6
    fd = np.stack([(problem.field(y + h * e) - problem.field(y - h * e)) / (2 * h) for e in np.eye(y.size)], axis=1)
    np.testing.assert_allclose(J, fd, atol=5e-8)
    op = problem.operator(y)
    v = rng.standard_normal(y.size)
    np.testing.assert_allclose(op.matvec(v), J @ v, atol=1e-13)
    np.testing.assert_allclose(problem.sparse_jacobian(y, 0.0).toarray(), J, atol=1e-14)


def test_torch_and_object_jacobians_are_the_numpy_one_in_their_layouts(rng):
    from solver.precision import make_arithmetic

    truth = random_orthonormal(D, np.array([1.0, 0.4]), ORDER, seed=3)
    rho, X = _state(rng)
    y = layout.pack(rho, X)
    J = NumpyFlowProblem(truth.a, truth.U, ORDER, LAM, M).jacobian(y)
    torch_problem = TorchFlowProblem(torch.from_numpy(truth.a)[None], torch.from_numpy(truth.U)[None], ORDER, LAM, M)
    np.testing.assert_allclose(torch_problem.packed_jacobian(torch.from_numpy(y)[None], torch.tensor([0]))[0].numpy(),
                               J, atol=1e-14)
    ar = make_arithmetic("mpmath", 30)
    with ar.context():
        J_rows = ObjectFlowProblem(ar, truth, LAM).jacobian(ar.array(layout.to_rows(rho, X)))
    v_rows = rng.standard_normal((D + 1, M))
    np.testing.assert_allclose(J_rows @ v_rows.ravel(),
                               layout.packed_to_rows(J @ layout.rows_to_packed(v_rows), D, M).ravel(), atol=1e-13)


def test_matrix_free_linearization_uses_the_callers_solver(rng):
    from solver.integrators.krylov import krylov_solver

    truth = random_orthonormal(D, np.array([1.0, 0.4]), ORDER, seed=3)
    problem = TorchFlowProblem(torch.from_numpy(truth.a)[None], torch.from_numpy(truth.U)[None], ORDER, LAM, M)
    y = torch.from_numpy(layout.pack(*_state(rng)))[None]
    shift = torch.tensor([3.0], dtype=torch.float64)
    calls = []

    def recording(apply, precondition, **options):
        calls.append(options)
        return krylov_solver(apply, precondition, **options)

    solve = problem.krylov_linearization(recording)(y, torch.tensor([0]), shift)
    rhs = torch.from_numpy(rng.standard_normal((1, M * (D + 1))))
    A = 3.0 * torch.eye(M * (D + 1), dtype=torch.float64) - problem.packed_jacobian(y, torch.tensor([0]))[0]
    assert len(calls) == 1 and calls[0]["max_iter"] == M * (D + 1)
    np.testing.assert_allclose(solve(rhs)[0].numpy(), torch.linalg.solve(A, rhs[0]).numpy(), rtol=1e-8, atol=1e-10)
    with pytest.raises(TypeError):
        problem.krylov_linearization()  # the layer below the integrators has no Krylov method of its own
