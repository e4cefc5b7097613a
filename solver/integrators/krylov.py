"""Linear solves of the torch stiff engine: a dense batched LU, and matrix-free batched GMRES (restarted, right
preconditioned) for systems too large for an ``n x n`` matrix.

Why our own GMRES: torch has none, and scipy's works on one system at a time on the host; the stages of a batch of
runs need one solve per run, on the device, each independent of what else is in the batch. The Woodbury
preconditioners of the flow's Jacobian live beside the operator they invert (:mod:`solver.jacobian`).

``linearize(y, runs, shift) -> solve`` with ``solve(rhs) = (shift I - J(y))^{-1} rhs`` is what
:func:`solver.integrators.rosenbrock.integrate_rosenbrock` takes; a solve that fails returns NaN for its system, so
the integrator rejects the step instead of using an inaccurate stage.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["dense_linearization", "batched_gmres", "krylov_solver", "LinearSolve", "BatchedJacobian",
           "BatchedLinearization", "KrylovSolve", "STAGNATION"]

BatchedJacobian = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LinearSolve = Callable[[torch.Tensor], torch.Tensor]
BatchedLinearization = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], LinearSolve]

# A restart that leaves more than this fraction of a system's residual has stalled: at that rate the restarts left
# could not reach a tolerance far below the step's, so the solve gives up at once and the integrator rejects the
# step (and, after MAX_CONSECUTIVE_REJECTIONS, falls back to the dense LU) instead of spending every restart.
STAGNATION = 0.9
# Storage for this many GMRES iterations first, doubled when a solve needs more: most solves stop after a few
# iterations, and zeroing max_iter columns per call had been 43% of a batched Rosenbrock run (B = 16, n = 550).
_GMRES_FIRST_COLUMNS = 8


def dense_linearization(jacobian: BatchedJacobian) -> BatchedLinearization:
    """``linearize`` from a dense Jacobian: one batched LU of ``shift I - J`` per step."""

    def linearize(y: torch.Tensor, runs: torch.Tensor, shift: torch.Tensor) -> LinearSolve:
        J = jacobian(y, runs)
        eye = torch.eye(y.shape[1], dtype=y.dtype, device=y.device)
        lu, pivots, info = torch.linalg.lu_factor_ex(shift[:, None, None] * eye - J)
        # A singular system (a run blowing up, or a step so long that shift I - J loses rank) gets NaN: its step
        # is rejected and retried shorter, instead of the whole integration ending in lu_factor's error.
        singular = (info != 0)[:, None]

        def solve(rhs: torch.Tensor) -> torch.Tensor:
            x = torch.linalg.lu_solve(lu, pivots, rhs[..., None])[..., 0]
            return torch.where(singular, torch.full_like(x, float("nan")), x)

        return solve

    return linearize


def batched_gmres(apply: Callable[[torch.Tensor], torch.Tensor], precondition: Callable[[torch.Tensor], torch.Tensor],
                  rhs: torch.Tensor, rtol: float | torch.Tensor, max_iter: int) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Right-preconditioned GMRES for a batch of systems ``A_b x_b = rhs_b`` (``rhs`` (B, n)), all on the device.

    Arnoldi with classical Gram-Schmidt applied twice (as accurate as modified Gram-Schmidt, in two batched
    products), Givens rotations for the running residual, the preconditioned basis kept. The batch iterates until every
    residual is below ``rtol ||rhs_b||`` (``rtol`` a number or one per system, (B,)) or ``max_iter`` is reached
    (one flag crosses to the host per iteration); each system's solution is built from its own iterations up to
    its own convergence, so it does not depend on what else is in the batch. Returns
    ``(x, iterations of the batch, relative residuals (B,))``.
    """
    batch, n = rhs.shape
    dtype, device = rhs.dtype, rhs.device
    beta = torch.linalg.vector_norm(rhs, dim=1)
    safe_beta = torch.where(beta > 0, beta, torch.ones_like(beta))
    capacity = min(max_iter, _GMRES_FIRST_COLUMNS)
    basis = torch.zeros((batch, capacity + 1, n), dtype=dtype, device=device)
    preconditioned = torch.zeros((batch, capacity, n), dtype=dtype, device=device)
    hess = torch.zeros((batch, capacity + 1, capacity), dtype=dtype, device=device)
    cos = torch.zeros((batch, capacity), dtype=dtype, device=device)
    sin = torch.zeros((batch, capacity), dtype=dtype, device=device)
    g = torch.zeros((batch, capacity + 1), dtype=dtype, device=device)
    g[:, 0] = beta
    basis[:, 0] = rhs / safe_beta[:, None]
    own_steps = torch.full((batch,), max_iter, dtype=torch.long, device=device)  # each system's iterations
    own_steps[beta == 0] = 0
    residual = torch.zeros_like(beta)  # |g| at each system's own last iteration
    steps = 0
    for j in range(max_iter):
        steps = j + 1
        if j == capacity:
            grown = min(max_iter, 2 * capacity)
            basis, preconditioned, g = (_pad(t, 1, grown - capacity) for t in (basis, preconditioned, g))
            hess = _pad(_pad(hess, 1, grown - capacity), 2, grown - capacity)
            cos, sin = (_pad(t, 1, grown - capacity) for t in (cos, sin))
            capacity = grown
        preconditioned[:, j] = precondition(basis[:, j])
        w = apply(preconditioned[:, j])
        V = basis[:, : j + 1]
        # Products as multiply-and-sum: torch's batched matrix-vector product rounds differently for a batch of
        # one (a gemv) than for several, which would make a run's solution depend on its batch.
        h = (V * w[:, None, :]).sum(-1)
        w = w - (V * h[:, :, None]).sum(1)
        h2 = (V * w[:, None, :]).sum(-1)
        w = w - (V * h2[:, :, None]).sum(1)
        h = h + h2
        h_next = torch.linalg.vector_norm(w, dim=1)
        col = torch.cat([h, h_next[:, None]], dim=1)
        for i in range(j):
            a, b = col[:, i].clone(), col[:, i + 1].clone()
            col[:, i], col[:, i + 1] = cos[:, i] * a + sin[:, i] * b, -sin[:, i] * a + cos[:, i] * b
        radius = torch.hypot(col[:, j], col[:, j + 1])
        safe_radius = torch.where(radius > 0, radius, torch.ones_like(radius))
        cos[:, j] = torch.where(radius > 0, col[:, j] / safe_radius, torch.ones_like(radius))
        sin[:, j] = torch.where(radius > 0, col[:, j + 1] / safe_radius, torch.zeros_like(radius))
        col[:, j], col[:, j + 1] = radius, 0.0
        hess[:, : j + 2, j] = col
        g[:, j], g[:, j + 1] = cos[:, j] * g[:, j], -sin[:, j] * g[:, j]
        converged = (g[:, j + 1].abs() <= rtol * beta) | (h_next == 0)
        newly = converged & (own_steps > j + 1)
        own_steps = torch.where(newly, torch.full_like(own_steps, j + 1), own_steps)
        residual = torch.where(newly | (own_steps > j + 1), g[:, j + 1].abs(), residual)
        if bool((own_steps <= j + 1).all()):
            break
        basis[:, j + 1] = w / torch.where(h_next > 0, h_next, torch.ones_like(h_next))[:, None]
    own_steps = own_steps.clamp(max=steps)
    # Each system's triangular system on its own first own_steps[b] columns, by column-oriented back substitution
    # from the last column: a system's columns past its own convergence give exact zeros, which subtract nothing,
    # so its arithmetic is the same as if it were alone (LAPACK's batched triangular solve rounds differently with
    # the batch's composition). x is likewise summed one basis vector at a time.
    remaining = g[:, :steps].clone()
    y = torch.zeros((batch, steps), dtype=dtype, device=device)
    for k in reversed(range(steps)):
        mine = k < own_steps
        pivot = torch.where(mine, hess[:, k, k], torch.ones_like(beta))
        y[:, k] = torch.where(mine, remaining[:, k] / pivot, torch.zeros_like(beta))
        remaining[:, :k] -= hess[:, :k, k] * y[:, k, None]
    x = torch.zeros_like(rhs)
    for i in range(steps):
        x = x + y[:, i, None] * preconditioned[:, i]
    return x, steps, residual / safe_beta


def _pad(t: torch.Tensor, dim: int, extra: int) -> torch.Tensor:
    """``t`` with ``extra`` zero slices appended along ``dim``."""
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat([t, t.new_zeros(shape)], dim=dim)


class KrylovSolve:
    """``solve(rhs)`` of :func:`krylov_solver`; ``iterations`` counts its GMRES iterations (``J v`` products in
    GMRES) over all calls, for the integrator's work counters."""

    def __init__(self, apply: Callable[[torch.Tensor], torch.Tensor],
                 precondition: Callable[[torch.Tensor], torch.Tensor], rtol: float, max_iter: int, restarts: int):
        self.apply, self.precondition = apply, precondition
        self.rtol, self.max_iter, self.restarts = rtol, max_iter, restarts
        self.iterations = 0

    def __call__(self, rhs: torch.Tensor) -> torch.Tensor:
        apply, precondition, rtol = self.apply, self.precondition, self.rtol
        norm = torch.linalg.vector_norm(rhs, dim=1)
        safe_norm = torch.where(norm > 0, norm, torch.ones_like(norm))
        # The preconditioner alone first: where the couplings it leaves out are negligible (most of Algorithm 1's
        # early steps) that already meets rtol, at one product instead of a GMRES call and a check.
        x = precondition(rhs)
        residual = rhs - apply(x)
        achieved = torch.linalg.vector_norm(residual, dim=1) / safe_norm
        open_ = ~(achieved <= rtol)  # NaN residuals are open, and stall below
        # More iterations than unknowns only repeat the space already searched (restarts do that).
        max_iter = min(self.max_iter, rhs.shape[1])
        for _ in range(self.restarts + 1):
            if not bool(open_.any()):
                break
            # A system is restarted only while it is open: a solved one keeps its solution whatever the rest of the
            # batch needs (batch independence), and asks GMRES for nothing (an infinite tolerance: it stops after
            # one iteration instead of holding the batch's iterations up).
            target = torch.where(open_, torch.full_like(norm, 0.5 * rtol), torch.full_like(norm, torch.inf))
            correction, steps, _ = batched_gmres(apply, precondition, residual, target, max_iter)
            self.iterations += steps
            candidate = x + correction
            candidate_residual = rhs - apply(candidate)
            x = torch.where(open_[:, None], candidate, x)
            residual = torch.where(open_[:, None], candidate_residual, residual)
            previous, achieved = achieved, torch.where(
                open_, torch.linalg.vector_norm(residual, dim=1) / safe_norm, achieved)
            open_ = open_ & (achieved > rtol) & (achieved <= STAGNATION * previous)
        return torch.where((achieved <= rtol)[:, None], x, torch.full_like(x, float("nan")))


def krylov_solver(apply: Callable[[torch.Tensor], torch.Tensor], precondition: Callable[[torch.Tensor], torch.Tensor],
                  rtol: float = 1e-10, max_iter: int = 100, restarts: int = 20) -> KrylovSolve:
    """``solve(rhs)`` for ``linearize``: restarted :func:`batched_gmres` on ``apply`` (``v -> (shift I - J) v``),
    from the preconditioner's own solution ``precondition(rhs)`` (often already within ``rtol``).

    Rosenbrock's stages take the linear solutions as they are (no Newton iteration corrects them), so the
    default ``rtol`` is far below any step tolerance. A system still above ``rtol`` after ``restarts`` restarts,
    or whose residual a restart does not cut below ``STAGNATION`` times its previous value, gets NaN (an
    inaccurate stage could corrupt the step without the error estimate noticing): the step is rejected and
    retried shorter, where ``shift I - J`` is better conditioned (``shift = 1/(gamma h)``), or the integrator
    falls back to a dense LU."""
    return KrylovSolve(apply, precondition, rtol, max_iter, restarts)
