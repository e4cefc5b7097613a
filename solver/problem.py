"""The flow as a problem for the integrators and the driver, one class per array family.

A problem owns the state layout (:mod:`solver.layout`), the field (:func:`solver.kernels.flow` at the normalized
directions ``xhat = x / ||x||``, so that ``||x||`` is conserved exactly and integrators need no constraint), its
Jacobian (:mod:`solver.jacobian`: dense, or matrix-free with its preconditioner) and what the driver asks of a
state: the observations of a save time, the inputs of the re-initialization rule, the re-initialization itself
and the final state in float64. The driver (:mod:`solver.driver`) sees only these methods.

- :class:`TorchFlowProblem`: a batch of runs as torch tensors, state ``Y`` (B, d+1, m) (float64 or float32,
  any device); the torch integrators and, through float64 copies, the CPU stiff engine.
- :class:`NumpyFlowProblem`: one run in numpy float64 in the packed layout, for the CPU stiff engines
  (SUNDIALS CVODE, scipy), with the dense, sparse and matrix-free Jacobians.
- :class:`ObjectFlowProblem`: one run as a numpy object array (d+1, m) of flint or mpmath numbers
  (:mod:`solver.precision`); log-norms like ``-2302.6`` (norm 1e-1000) are just numbers there.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from . import kernels, layout
from .jacobian import (JacobianOperator, flow_jacobian, flow_jacobian_batched, flow_jacobian_sparse,
                       flow_krylov_linearization)

__all__ = ["TorchFlowProblem", "NumpyFlowProblem", "ObjectFlowProblem", "Observation"]

# What one save time records, per run: loss and its floor (b,), residuals (b, r), and with components recorded
# log-norms (b, m) and correlations (b, m, r); in the problem's own arithmetic.
Observation = dict


def observe(rho: Any, X: Any, c: Any, a: Any, U: Any, order: int, unit_roundoff: float, components: bool
            ) -> Observation:
    """Loss ``1/2||T - T*||^2`` with its floor, residuals ``(T* - T)(u_j^l)`` and, with ``components``, the
    log-norms ``rho`` and correlations ``<wbar_k, u_j>``, at unit directions ``X`` and ``c = exp(2 rho)``, in
    any family."""
    loss, floor = kernels.loss_and_floor(X, c, a, U, order, unit_roundoff)
    out = {"loss": loss, "loss_floor": floor, "residuals": kernels.direction_residuals(X, c, a, U, order)}
    if components:
        out.update(log_norms=rho, correlations=kernels.correlations(X, U))
    return out


class TorchFlowProblem:
    """A batch of runs of the flow in torch (module docstring): ``a`` (B, r), ``U`` (B, d, r) on one device and
    dtype, ``lam`` the regularizer ``lambda``. ``runs`` arguments pick rows of the batch (integrators drop the
    runs that have finished a span)."""

    def __init__(self, a: torch.Tensor, U: torch.Tensor, order: int, lam: float, m: int) -> None:
        self.a, self.U, self.order, self.lam, self.m = a, U, order, lam, m
        self.d = U.shape[-2]
        self.unit_roundoff = float(torch.finfo(a.dtype).eps)

    # Rows layout: the driver's and the explicit engine's state.
    def field(self, Y: torch.Tensor) -> torch.Tensor:
        """``dY/dt`` of every run: ``(d rho/dt, d X/dt)`` of :func:`solver.kernels.flow` (directions as given)."""
        rho, X = layout.from_rows(Y)
        return layout.to_rows(*kernels.flow(X, torch.exp(2 * rho), self.a, self.U, self.order, self.lam))

    def project(self, Y: torch.Tensor) -> torch.Tensor:
        """Directions renormalized (claim C8)."""
        rho, X = layout.from_rows(Y)
        return layout.to_rows(rho, X / X.norm(dim=-2, keepdim=True))

    # Packed layout: the stiff engines' flat vector (b, m (d+1)).
    def pack(self, Y: torch.Tensor) -> torch.Tensor:
        return layout.rows_to_packed(Y)

    def unpack(self, y: torch.Tensor) -> torch.Tensor:
        return layout.packed_to_rows(y, self.d, self.m)

    def project_packed(self, y: torch.Tensor) -> torch.Tensor:
        return self.pack(self.project(self.unpack(y)))

    def _normalized(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rho, X = layout.unpack(y, self.d, self.m)
        return rho, X / X.norm(dim=-2, keepdim=True)

    def packed_field(self, y: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        """The field at ``xhat`` for the runs ``runs``, packed."""
        rho, X = self._normalized(y)
        return layout.pack(*kernels.flow(X, torch.exp(2 * rho), self.a[runs], self.U[runs], self.order, self.lam))

    def packed_jacobian(self, y: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        """Dense Jacobian (b, n, n) of :meth:`packed_field` (:func:`solver.jacobian.flow_jacobian_batched`)."""
        rho, X = self._normalized(y)
        return flow_jacobian_batched(X, rho, self.a[runs], self.U[runs], self.order)

    def krylov_linearization(self, solver: Callable) -> Callable:
        """Matrix-free ``linearize(y, runs, shift)`` with the caller's Krylov ``solver``
        (:func:`solver.jacobian.flow_krylov_linearization`)."""
        return flow_krylov_linearization(self.a, self.U, self.order, self.m, self.d, solver)

    # What the driver asks of a state.
    def observe(self, Y: torch.Tensor, runs: torch.Tensor, components: bool) -> Observation:
        """Loss ``1/2||T - T*||^2`` with its floor, residuals ``(T* - T)(u_j^l)`` and, with ``components``,
        log-norms and correlations ``<wbar_k, u_j>`` of the runs ``runs``."""
        rho, X = layout.from_rows(Y)
        return observe(rho, X, torch.exp(2 * rho), self.a[runs], self.U[runs], self.order, self.unit_roundoff,
                       components)

    @staticmethod
    def to_float64(value: torch.Tensor) -> np.ndarray:
        return value.double().cpu().numpy()

    def reinit_inputs(self, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log_norms (B, m), directions (B, d, m))`` for :func:`solver.driver.reinit_mask`."""
        return layout.from_rows(Y)

    def reinitialize(self, Y: torch.Tensor, draws: list[tuple[np.ndarray, np.ndarray]], log_delta0: Any
                     ) -> torch.Tensor:
        """A copy of ``Y`` with, per run ``b``, components ``draws[b][0]`` at log-norm ``log_delta0`` and the
        fresh unit directions ``draws[b][1]``."""
        Y = Y.clone()
        for b, (idx, fresh) in enumerate(draws):
            if idx.size:
                Y[b, 0, idx] = log_delta0
                Y[b, 1:, idx] = torch.as_tensor(fresh, dtype=Y.dtype, device=Y.device)
        return Y

    def final(self, Y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``(log_norms (B, m), directions (B, d, m))`` in float64."""
        rho, X = layout.from_rows(Y)
        return self.to_float64(rho), self.to_float64(X)


class NumpyFlowProblem:
    """One run of the flow in numpy float64, state ``y`` packed (m (d+1),) (module docstring): ``a`` (r,),
    ``U`` (d, r). The directions are stored unnormalized (the stiff engines do not renormalize), so every
    Jacobian is taken with the state's ``||x_k||`` (:mod:`solver.jacobian`)."""

    def __init__(self, a: np.ndarray, U: np.ndarray, order: int, lam: float, m: int) -> None:
        self.a, self.U, self.order, self.lam, self.m = a, U, order, lam, m
        self.d = U.shape[0]

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rho, xhat, ||x||)`` of a packed state: log-norms, unit directions (d, m) and the stored norms (m,)."""
        rho, X = layout.unpack(y, self.d, self.m)
        norms = np.linalg.norm(X, axis=0)
        return rho, X / norms, norms

    def pack(self, Y: np.ndarray) -> np.ndarray:
        """Rows layout (d+1, m) -> packed."""
        return layout.rows_to_packed(Y)

    def unpack(self, y: np.ndarray) -> np.ndarray:
        """Packed -> rows layout (d+1, m), directions normalized."""
        return layout.to_rows(*self._split(y)[:2])

    def field(self, y: np.ndarray) -> np.ndarray:
        """The field at ``xhat``, packed. A trial step may overshoot a log-norm past exp's range; the engine
        rejects the non-finite field and retries with a smaller step, so that overflow is not warned about."""
        rho, X, _ = self._split(y)
        with np.errstate(over="ignore", invalid="ignore"):
            return layout.pack(*kernels.flow(X, np.exp(2 * rho), self.a, self.U, self.order, self.lam))

    def rounding(self, y: np.ndarray, unit_roundoff: float) -> np.ndarray:
        """The field's rounding level (:func:`solver.kernels.flow_rounding`), packed."""
        rho, X, _ = self._split(y)
        return layout.pack(*kernels.flow_rounding(X, np.exp(2 * rho), self.a, self.U, self.order, unit_roundoff))

    def atol(self, rtol: float, atol: float) -> np.ndarray:
        """Absolute tolerances, packed: ``rtol`` for the log-norms (a relative error of ``||w||``), ``atol`` for the
        unit-vector coordinates."""
        out = np.full(self.m * (self.d + 1), float(atol))
        out[: self.m] = rtol
        return out

    def jacobian(self, y: np.ndarray) -> np.ndarray:
        """Dense Jacobian of :meth:`field` (:func:`solver.jacobian.flow_jacobian`)."""
        rho, X, norms = self._split(y)
        return flow_jacobian(X, rho, self.a, self.U, self.order, direction_norms=norms)

    def sparse_jacobian(self, y: np.ndarray, coupling_floor: float):
        """The Jacobian without the couplings of components with ``c_i < coupling_floor`` (CSC)."""
        rho, X, norms = self._split(y)
        return flow_jacobian_sparse(X, rho, self.a, self.U, self.order, coupling_floor, norms)

    def operator(self, y: np.ndarray, coupling_floor: float | None = None) -> JacobianOperator:
        """The matrix-free Jacobian, with its diagonal blocks and cluster model for the preconditioner
        (:class:`solver.jacobian.BlockClusterPreconditioner`)."""
        rho, X, norms = self._split(y)
        return JacobianOperator(X, rho, self.a, self.U, self.order, coupling_floor=coupling_floor,
                                direction_norms=norms)


class ObjectFlowProblem:
    """One run of the flow at working precision (module docstring): ``truth``'s float64 data converted exactly
    by ``arithmetic`` (:mod:`solver.precision.arithmetic`); the state ``Y`` is an object array (d+1, m)."""

    def __init__(self, arithmetic, truth, lam: float) -> None:
        self.arithmetic = arithmetic
        self.truth = truth
        self.a = arithmetic.matrices(arithmetic.array(truth.a))
        self.U = arithmetic.matrices(arithmetic.array(truth.U))
        self.lam = arithmetic.scalar(lam)
        self.order = truth.order
        self.d = truth.d
        self._perm: np.ndarray | None = None

    def directions(self, Y: np.ndarray) -> np.ndarray:
        X = self.arithmetic.matrices(Y[1:])
        return X / self.arithmetic.sqrt((X * X).sum(axis=0))[None, :]

    def field(self, Y: np.ndarray) -> np.ndarray:
        """``dY/dt``: ``(d rho/dt, d xhat/dt)`` of :func:`solver.kernels.flow` at ``xhat = x/||x||``."""
        c = self.arithmetic.exp(2 * Y[0])
        return layout.to_rows(*kernels.flow(self.directions(Y), c, self.a, self.U, self.order, self.lam))

    def project(self, Y: np.ndarray) -> np.ndarray:
        return self.arithmetic.clean(layout.to_rows(Y[0], self.directions(Y)))

    def scale(self, Y0: np.ndarray, Y1: np.ndarray, rtol: float, atol: float) -> np.ndarray:
        """Error weights ``atol + rtol max(|Y0|, |Y1|)`` (float64), absolute on the log-norms (their size is not a
        scale)."""
        big = np.maximum(np.abs(self.arithmetic.to_float(Y0)), np.abs(self.arithmetic.to_float(Y1)))
        big[0] = 1.0
        return atol + rtol * big

    def jacobian(self, Y: np.ndarray) -> np.ndarray:
        """float64 analytic Jacobian (:func:`solver.jacobian.flow_jacobian`) in the rows layout's flat order."""
        Y64 = self.arithmetic.to_float(Y)
        rho, X = Y64[0], Y64[1:] / np.linalg.norm(Y64[1:], axis=0)
        d, m = X.shape
        if self._perm is None or self._perm.size != m * (d + 1):
            self._perm = layout.rows_permutation(d, m)
        J = flow_jacobian(X, rho, self.truth.a, self.truth.U, self.order)
        return J[np.ix_(self._perm, self._perm)]

    def observe(self, Y: np.ndarray, runs: Any = None, components: bool = True) -> Observation:
        """Loss ``1/2||T-T*||^2`` with its floor, residuals ``(T*-T)(u_j^l)``, correlations, log-norms: at working
        precision (``runs`` is the one run)."""
        ar = self.arithmetic
        return observe(Y[0], self.directions(Y), ar.exp(2 * Y[0]), self.a, self.U, self.order, ar.unit_roundoff,
                       components)

    def to_float64(self, value: Any) -> np.ndarray:
        return self.arithmetic.to_float(value)

    def reinit_inputs(self, Y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """float64 copies (log-norms are safe in float64 at any size), as a batch of one."""
        Y64 = self.arithmetic.to_float(Y)
        return torch.as_tensor(Y64[0])[None], torch.as_tensor(Y64[1:] / np.linalg.norm(Y64[1:], axis=0))[None]

    def reinitialize(self, Y: np.ndarray, draws: list[tuple[np.ndarray, np.ndarray]], log_delta0: Any
                     ) -> np.ndarray:
        (idx, fresh), = draws
        Y = Y.copy()
        if idx.size:
            Y[0, idx] = log_delta0
            Y[1:, idx] = self.arithmetic.array(fresh)
        return Y

    def final(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.arithmetic.to_float(Y[0])[None, :], self.arithmetic.to_float(self.directions(Y))[None]
