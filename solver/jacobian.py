"""Analytic Jacobian of the flow in (log-norm, direction) coordinates, for implicit integrators.

State layout (the stiff path's flat vector): ``y = [rho_1..rho_m, x_1 (d), .., x_m (d)]`` with
``rho_k = log ||w_k||`` and ``x_k = wbar_k``. The tangential field is taken as a function of
``xhat = x/||x||`` so that ``||x||`` is a conserved quantity of the flow and integrators need no
constraint; at unit ``x`` the Jacobian is ``J_hat P`` with ``P = I - x x^T``, and at any ``x`` it is that with the
columns of ``x_k`` divided by ``||x_k||`` (the field is homogeneous of degree 0 in each ``x_k``). Integrators
that do not renormalize let ``||x_k||`` drift (BDF's implicit steps shorten a rotating ``x``), so every form
below takes the state's ``direction_norms``: a Jacobian built for unit norms at ``||x_k|| = 0.42`` made Newton
contract at rate ~0.9 on that component, and scipy's BDF then shrank its step to ~30 at ``t = 2.5e10``.

With ``P_k = I - x_k x_k^T``, ``s_k = R(x_k^l)``, ``V_k = R(x_k^{l-1}, I)`` (SPEC section 1) and

    A_k = (l-1) [ U diag(a_j H_kj^{l-2}) U^T - sum_{i != k} c_i G_ki^{l-2} x_i x_i^T ] - c_k I,

the blocks are

    d rho_k / d rho_i = -4 c_i G_ki^l
    d rho_k / d x_k   = 2 (V_k + A_k x_k)^T P_k
    d rho_k / d x_i   = -2 l c_i G_ki^{l-1} x_k^T P_i                                  (i != k)
    d x_k / d rho_i   = -2 l c_i G_ki^{l-1} P_k x_i                                    (zero for i = k)
    d x_k / d x_k     = l [ P_k A_k - s_k I - x_k V_k^T ] P_k
    d x_k / d x_i     = -l c_i P_k [ G_ki^{l-1} I + (l-1) G_ki^{l-2} x_i x_k^T ] P_i     (i != k)

Every coupling from component ``i`` carries a factor ``c_i``: the sparse form drops the couplings of
components with ``c_i`` below a floor, which leaves Newton's iteration convergent (an inexact Jacobian)
and turns the ``(m(d+1))^2`` LU of a dense Jacobian into a sparse one of the few large components.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch

from . import kernels, layout

__all__ = ["BlockClusterPreconditioner", "flow_jacobian", "flow_jacobian_sparse", "flow_jacobian_batched",
           "flow_krylov_linearization", "flow_shifted_system", "JacobianOperator"]


def _column_scale(norms: np.ndarray | None, d: int) -> np.ndarray | None:
    """Per-component layout (m, d+1): 1 for ``rho_k``, ``1/||x_k||`` for ``x_k``; None for unit norms."""
    if norms is None:
        return None
    scale = np.ones((norms.size, d + 1))
    scale[:, 1:] = 1.0 / np.asarray(norms, dtype=np.float64)[:, None]
    return scale


def _one_run(X: np.ndarray, rho: np.ndarray, a: np.ndarray, U: np.ndarray):
    """One run's numpy inputs as a torch batch of one, sharing their memory (the numpy forms of this module run
    the torch code on it: one implementation of every block for both families)."""
    def shared(v: np.ndarray) -> torch.Tensor:
        v = np.ascontiguousarray(v, dtype=np.float64)
        return torch.from_numpy(v if v.flags.writeable else v.copy())[None]  # torch refuses read-only memory

    return tuple(shared(v) for v in (X, rho, a, U))


def _self_blocks(X, rho, a, U, order: int, kept=None):
    """Quantities shared by every form of the Jacobian, and its per-component diagonal blocks, for a torch batch
    (``X`` (B, d, m), ``rho`` (B, m), ``a`` (B, r), ``U`` (B, d, r)): ``(c, G, outer, self_xx, self_rx)`` with
    ``outer`` (B, m, d, d) the ``x_k x_k^T``, ``self_xx`` (B, m, d, d) and ``self_rx`` (B, m, d).

    ``kept`` (index over m, the same for every run): the components ``i`` whose terms ``c_i G_ki^{l-2} x_i x_i^T``
    enter ``A_k`` (default all); the others are couplings below the floor (:func:`flow_jacobian_sparse`)."""
    B, d, m = X.shape
    l = order
    c = torch.exp(2 * rho)
    V, s = kernels.residual_contractions(X, c, a, U, l)
    Xt = X.mT  # (B, m, d): row k is x_k
    G = Xt @ X
    H = Xt @ U
    eye = torch.eye(d, dtype=X.dtype, device=X.device)
    outer = Xt[..., :, None] * Xt[..., None, :]
    # A_k, excluding the i = k term of the sum, which the self-term -c_k I replaces.
    Gd = G * (1 - torch.eye(m, dtype=X.dtype, device=X.device))
    # sum_j a_j H_kj^{l-2} u_j u_j^T and sum_i c_i G_ki^{l-2} x_i x_i^T for every k: one GEMM each against the
    # flattened outer products (batched einsums with three operands run as unblocked loops).
    Ut = U.mT
    truth_part = (a[:, None, :] * kernels.ipow(H, l - 2)) @ (Ut[..., :, None] * Ut[..., None, :]).reshape(B, -1, d * d)
    weights = c[:, None, :] * kernels.ipow(Gd, l - 2)
    if kept is not None:  # a mask, not a column selection: the GEMM then sums in the same order as with all kept
        weights = weights * _mask(kept, m, X)
    model_part = weights @ outer.reshape(B, m, d * d)
    A = (l - 1) * (truth_part - model_part).reshape(B, m, d, d) - c[..., None, None] * eye
    # Products with P_k = I - x_k x_k^T as rank-one corrections (no d x d x d products).
    PA = A - Xt[..., :, None] * torch.einsum("bkj,bkjh->bkh", Xt, A)[..., None, :]
    xx_self = l * (PA - s[..., None, None] * eye - Xt[..., :, None] * V.mT[..., None, :])
    self_xx = xx_self - torch.einsum("bkij,bkj->bki", xx_self, Xt)[..., None] * Xt[..., None, :]
    row = V.mT + torch.einsum("bkij,bkj->bki", A, Xt)  # V_k + A_k x_k
    self_rx = 2 * (row - (row * Xt).sum(-1, keepdim=True) * Xt)
    return c, G, outer, self_xx, self_rx


def _mask(kept, m: int, like):
    """(m,) 0/1 weights of the components in ``kept``, in ``like``'s dtype and device."""
    mask = torch.zeros(m, dtype=like.dtype, device=like.device)
    mask[torch.as_tensor(kept, dtype=torch.long, device=like.device)] = 1.0
    return mask


def _blocks(X, rho, a, U, order: int, kept=None):
    """Every block of the Jacobian (module docstring) for a torch batch: the diagonal ones of :func:`_self_blocks`
    and, over the columns ``i`` in ``kept`` (default all), ``rr`` (B, m, n), ``rx``, ``xr`` (B, m, n, d) and
    ``xx`` (B, m, n, d, d), indexed ``[k, i]``; entries with ``i = k`` are not yet the self blocks."""
    l = order
    c, G, outer, self_xx, self_rx = _self_blocks(X, rho, a, U, order, kept)
    Xt = X.mT
    eye = torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
    if kept is not None:
        kept = torch.as_tensor(kept, dtype=torch.long, device=X.device)
        c, G, Xi, outer_i = c[:, kept], G[..., kept], Xt[:, kept], outer[:, kept]
    else:
        Xi, outer_i = Xt, outer
    c_i = c[:, None, :]  # broadcast over k
    G1 = c_i * kernels.ipow(G, l - 1)  # c_i G_ki^{l-1}
    G2 = c_i * kernels.ipow(G, l - 2)
    Pi_xk = Xt[:, :, None, :] - G[..., None] * Xi[:, None, :, :]  # (B, k, i, d): P_i x_k = x_k - G_ki x_i
    Pk_xi = Xi[:, None, :, :] - G[..., None] * Xt[:, :, None, :]  # (B, k, i, d): P_k x_i = x_i - G_ki x_k
    rr = -4 * c_i * kernels.ipow(G, l)
    rx = -2 * l * G1[..., None] * Pi_xk
    xr = -2 * l * G1[..., None] * Pk_xi
    # P_k P_i = I - x_k x_k^T - x_i x_i^T + G_ki x_k x_i^T
    PkPi = (eye - outer[:, :, None] - outer_i[:, None, :]
            + G[..., None, None] * Xt[:, :, None, :, None] * Xi[:, None, :, None, :])
    xx = -l * (G1[..., None, None] * PkPi + (l - 1) * G2[..., None, None] * Pk_xi[..., :, None] * Pi_xk[..., None, :])
    return self_xx, self_rx, rr, rx, xr, xx


def _assemble(d: int, m: int, idx, self_xx, self_rx, rr, rx, xr, xx):
    """COO triplets of one run's Jacobian from :func:`_blocks` (numpy); cross blocks with i = k are replaced by
    the self blocks."""
    rows, cols, vals = [], [], []
    base = m
    ks = np.arange(m)
    off = ks[:, None] != idx[None, :]  # (m, n): i != k
    # rho-rho (includes the diagonal i = k term)
    K, N = np.meshgrid(ks, np.arange(idx.size), indexing="ij")
    rows.append(K.ravel()); cols.append(idx[N].ravel()); vals.append(rr.ravel())
    # self rho-x
    rows.append(np.repeat(ks, d)); cols.append((base + ks[:, None] * d + np.arange(d)[None]).ravel()); vals.append(self_rx.ravel())
    # self x-x
    r_idx = base + ks[:, None, None] * d + np.arange(d)[None, :, None]
    c_idx = base + ks[:, None, None] * d + np.arange(d)[None, None, :]
    rows.append(np.broadcast_to(r_idx, self_xx.shape).ravel()); cols.append(np.broadcast_to(c_idx, self_xx.shape).ravel())
    vals.append(self_xx.ravel())
    kk, nn = np.nonzero(off)
    ii = idx[nn]
    # cross rho-x
    rows.append(np.repeat(kk, d)); cols.append((base + ii[:, None] * d + np.arange(d)[None]).ravel()); vals.append(rx[kk, nn].ravel())
    # cross x-rho
    rows.append((base + kk[:, None] * d + np.arange(d)[None]).ravel()); cols.append(np.repeat(ii, d)); vals.append(xr[kk, nn].ravel())
    # cross x-x
    r_idx = base + kk[:, None, None] * d + np.arange(d)[None, :, None]
    c_idx = base + ii[:, None, None] * d + np.arange(d)[None, None, :]
    blk = xx[kk, nn]
    rows.append(np.broadcast_to(r_idx, blk.shape).ravel()); cols.append(np.broadcast_to(c_idx, blk.shape).ravel())
    vals.append(blk.ravel())
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def flow_jacobian_batched(X, rho, a, U, order: int):
    """Dense exact Jacobian of the flow for a batch of runs, in torch: ``(B, n, n)``, ``n = m (d+1)``.

    The blocks of this module's docstring (:func:`_blocks`) written into the layout of :func:`solver.layout.pack`
    (``[rho_1..rho_m, x_1, .., x_m]``), kept on the inputs' device: ``X`` (B, d, m) unit directions, ``rho``
    (B, m) log-norms, ``a`` (B, r), ``U`` (B, d, r). Cost ``O(B m^2 d^2)`` (the ``d x_k / d x_i`` blocks), memory
    the ``B n^2`` result. Used by the torch stiff integrator (:mod:`solver.integrators.rosenbrock`).
    """
    B, d, m = X.shape
    self_xx, self_rx, rr, rx, xr, xx = _blocks(X, rho, a, U, order)
    ks = torch.arange(m, device=X.device)
    rx[:, ks, ks] = self_rx
    xr[:, ks, ks] = 0.0
    xx[:, ks, ks] = self_xx
    n = m * (d + 1)
    J = torch.empty((B, n, n), dtype=X.dtype, device=X.device)
    J[:, :m, :m] = rr
    J[:, :m, m:] = rx.reshape(B, m, m * d)
    J[:, m:, :m] = xr.permute(0, 1, 3, 2).reshape(B, m * d, m)
    J[:, m:, m:] = xx.permute(0, 1, 3, 2, 4).reshape(B, m * d, m * d)
    return J


def flow_jacobian(X: np.ndarray, rho: np.ndarray, a: np.ndarray, U: np.ndarray, order: int, lam: float = 0.0,
                  direction_norms: np.ndarray | None = None) -> np.ndarray:
    """Dense exact Jacobian ``d f / d y`` of one run at unit directions ``X`` (layout: :func:`solver.layout.pack`),
    numpy: :func:`flow_jacobian_batched` on a batch of one.

    ``lam`` enters the field only as the constant ``-lambda`` in ``d rho/dt``, so it does not appear here.
    ``direction_norms``: the state's ``||x_k||`` when they are not 1 (module docstring).
    """
    J = flow_jacobian_batched(*_one_run(X, rho, a, U), order)[0].numpy()
    scale = _column_scale(direction_norms, X.shape[0])
    if scale is not None:
        J *= layout.from_components(scale)[None, :]
    return J


def flow_jacobian_sparse(X: np.ndarray, rho: np.ndarray, a: np.ndarray, U: np.ndarray, order: int,
                         coupling_floor: float, direction_norms: np.ndarray | None = None) -> sp.csc_matrix:
    """The Jacobian without the couplings of components with ``c_i = ||w_i||^2 < coupling_floor`` (CSC);
    ``direction_norms`` as for :func:`flow_jacobian`."""
    d, m = X.shape
    n = m * (d + 1)
    idx = np.nonzero(np.exp(2 * rho) >= coupling_floor)[0]
    blocks = [b[0].numpy() for b in _blocks(*_one_run(X, rho, a, U), order, idx)]
    r, c, v = _assemble(d, m, idx, *blocks)
    scale = _column_scale(direction_norms, d)
    if scale is not None:
        v = v * layout.from_components(scale)[c]
    return sp.csc_matrix((v, (r, c)), shape=(n, n))



def _jacobian_product(X, X_coupled, M1, M2, Mrr, rr_self, self_rx, self_xx, d_rho, dX, coupled_columns, order: int):
    """``J (d_rho, dX)`` in Gram form (:class:`JacobianOperator`), for numpy arrays or batched torch tensors.

    ``X`` (..., d, m) unit directions, ``d_rho`` (..., m), ``dX`` (..., d, m); ``M1``, ``M2``, ``Mrr`` (..., m,
    coupled) with zero ``i = k`` entries, ``rr_self = -4 c`` (..., m), ``self_rx`` (..., m, d), ``self_xx``
    (..., m, d, d); ``coupled_columns`` selects the coupled components' columns of an (..., m) or (..., d, m)
    array (the identity when all are coupled), ``X_coupled`` is ``X``'s. Returns ``(d_rho', dX')``.
    """
    l = order
    Q = dX - X * (X * dX).sum(-2)[..., None, :]
    Qc = coupled_columns(Q)
    d_rho_c = coupled_columns(d_rho)
    S = X.mT @ Qc  # (..., m, coupled)
    # Batched matmuls, not einsums, for the per-component blocks: 2x faster at d = 30, m = 150.
    # Mrr d_rho as multiply-and-sum: torch's batched matrix-vector product rounds differently for a batch of one.
    out_rho = ((Mrr * d_rho_c[..., None, :]).sum(-1) + rr_self * d_rho + (self_rx * dX.mT).sum(-1)
               - 2 * l * (M1 * S).sum(-1))
    Z = Qc @ M1.mT + X_coupled @ ((l - 1) * (M2 * S) + 2 * (M1 * d_rho_c[..., None, :])).mT
    out_x = (self_xx @ dX.mT[..., None])[..., 0].mT - l * (Z - X * (X * Z).sum(-2)[..., None, :])
    return out_rho, out_x


def _coupling_weights(c_coupled, G_coupled, off, order: int):
    """``(M1, M2, Mrr)`` of :func:`_jacobian_product` (numpy or torch): ``c_i G_ki^{l-1}``, ``c_i G_ki^{l-2}`` and
    ``-4 c_i G_ki^l`` over the coupled columns ``i``, their ``i = k`` entries zeroed by the mask ``off``."""
    l = order
    return (c_coupled * kernels.ipow(G_coupled, l - 1) * off, c_coupled * kernels.ipow(G_coupled, l - 2) * off,
            -4 * c_coupled * kernels.ipow(G_coupled, l) * off)


# Clusters whose coupling is weaker than this against the identity of Newton's matrix are left out of the
# preconditioner (JacobianOperator.cluster_coupling's min_strength).
CLUSTER_MIN_STRENGTH = 1e-3


class JacobianOperator:
    """The exact Jacobian as a matrix-free operator: ``J v`` in ``O(m^2 d)``, like one field evaluation.

    With ``Q = P dX`` (each column projected on its own tangent space), ``S = X^T Q``,
    ``M1 = c_i G_ki^{l-1}`` and ``M2 = c_i G_ki^{l-2}`` (zero diagonals):

        (J v)_rho = (-4 c G.^l) d_rho + self_rx . dx_k - 2 l rowsum(M1 o S)
        (J v)_x   = self_xx dx_k - l P_k [Q M1^T + (l-1) X (M2 o S)^T + 2 X (M1 diag d_rho)^T]_k

    ``diagonal_blocks()`` gives the (d+1) x (d+1) block of each component and ``cluster_coupling()`` the
    rank-``(d+1)``-per-cluster model of the couplings inside clusters of parallel components (together: the
    preconditioner of CVODE's GMRES, :mod:`solver.integrators.cvode`).

    With ``coupling_floor``, every sum over ``i`` above (and the ``c_i G_ki^{l-2} x_i x_i^T`` terms of the
    diagonal blocks' ``A_k``) runs over the components with ``c_i >= coupling_floor`` only, as in
    :func:`flow_jacobian_sparse`: Newton's matrix changes by less than ``l (l-1) c_i h`` (below 1e-3 with
    :func:`solver.integrators._control.coupling_floor_for`), which leaves Newton's iteration convergent, and the three
    ``O(m^2 d)`` products of ``J v`` shrink to the coupled columns. Late in Algorithm 1 about half of the
    components are re-initialized searchers with ``c ~ 1e-30`` (d = 60, m = 300: 138).

    ``direction_norms``: the state's ``||x_k||`` when they are not 1; every form (products, blocks, cluster
    model, dense and sparse matrices) then has the columns of ``x_k`` divided by them (module docstring).
    """

    def __init__(self, X: np.ndarray, rho: np.ndarray, a: np.ndarray, U: np.ndarray, order: int,
                 coupling_floor: float | None = None, direction_norms: np.ndarray | None = None):
        self.X, self.order = X, order
        self._inputs = (X, rho, a, U, order)
        self.direction_norms = direction_norms
        self._column_scale = _column_scale(direction_norms, X.shape[0])  # (m, d+1) or None
        self.d, self.m = X.shape
        self.shape = (self.m * (self.d + 1),) * 2
        c = np.exp(2 * rho)
        coupled = None if coupling_floor is None else np.nonzero(c >= coupling_floor)[0]
        c, G, _, self_xx, self_rx = _self_blocks(*_one_run(X, rho, a, U), order, coupled)
        c, G, self.self_xx, self.self_rx = c[0].numpy(), G[0].numpy(), self_xx[0].numpy(), self_rx[0].numpy()
        self.coupled = np.arange(self.m) if coupled is None else coupled
        kept = self.coupled
        # Every component coupled (early epochs): no column selection, no copy of Q per product.
        self._coupled_columns = (lambda A: A) if kept.size == self.m else (lambda A: A[..., kept])
        Gc = G[:, kept]
        off = np.ones_like(Gc)
        off[kept, np.arange(kept.size)] = 0.0  # i = k: in the diagonal blocks
        self.M1, self.M2, self.Mrr = _coupling_weights(c[None, kept], Gc, off, order)  # (m, coupled) each
        self.rr_self = -4 * c  # d rho_k / d rho_k (G_kk = 1)
        self.X_coupled = X[:, kept]
        self._clusters: dict = {}  # by min_overlap: found once per Jacobian, for every gamma CVODE pairs with it

    def matvec(self, v: np.ndarray) -> np.ndarray:
        d, m = self.d, self.m
        if self._column_scale is not None:
            v = v * layout.from_components(self._column_scale)
        out = _jacobian_product(self.X, self.X_coupled, self.M1, self.M2, self.Mrr, self.rr_self, self.self_rx,
                                self.self_xx, *layout.unpack(v, d, m), self._coupled_columns, self.order)
        return layout.pack(*out)

    def dense(self) -> np.ndarray:
        """The same Jacobian as a dense matrix (:func:`flow_jacobian`)."""
        return flow_jacobian(*self._inputs, direction_norms=self.direction_norms)

    def cluster_coupling(self, gamma: float = 1.0, min_overlap: float = 0.9,
                         min_strength: float = CLUSTER_MIN_STRENGTH
                         ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
        """The couplings inside clusters of nearly parallel components of ``gamma J``: a rank-``(d+1)`` product
        ``Y Z^T`` per cluster.

        Components are grouped greedily, largest ``c`` first: a seed takes every free component with
        ``<wbar_i, wbar_seed>^2 >= min_overlap``. With ``sigma_i`` the sign of ``wbar_i`` against the cluster's
        ``c``-weighted signed mean, ``G_ki = sigma_k sigma_i (1 - O(delta^2))`` for members ``delta`` apart, and
        every coupling of the cluster (this module's docstring) factors through one ``d``-vector per cluster,
        ``q = sum_i c_i sigma_i^{l-1} (P_i dx_i + 2 x_i drho_i)``:

            d x_k   <- -l sigma_k^{l-1} P_k q,
            d rho_k <- -2 l sigma_k^{l-1} x_k^T q + 4 (l-1) sigma_k^l sum_i c_i sigma_i^l drho_i

        (the last term turns the ``q`` part's ``-4 l c_i G_ki sigma_k^{l-1} sigma_i^{l-1}`` into the exact
        ``-4 c_i G_ki^l``). What is dropped is ``O(delta^2)``: ``G_ki^{l-1}`` against ``(sigma_k sigma_i)^{l-1}``
        and the ``(l-1) G_ki^{l-2} (P_k x_i)(P_i x_k)^T`` term. Each member keeps its own ``P_k`` and ``x_k``:
        an earlier model that put every member on the mean direction (``P_k ~ P_ubar``) erred by ``O(delta)``
        on exactly the neutral relative modes of a fitted cluster (C11), where ``l c_i h delta`` reaches 1e2
        late in Algorithm 1 (``h ~ 1e8``, ``delta ~ 1e-6``), and GMRES then needed 100-200 iterations
        (BENCHMARKS.md). Clusters whose coupling is weak against the identity of Newton's matrix
        (``gamma l sum_i c_i < min_strength``) are left out.

        Returns ``(clusters, self_terms)``: one ``(members, Y, Z)`` per cluster kept, ``Y`` and ``Z``
        (n_members, d+1, d+1) in per-component layout (row 0 ``rho_k``, then ``x_k``; column ``a`` of the cluster's
        rank), ``Y`` carrying the factor ``gamma``, so that the model's ``(k, i)`` block is ``Y[k] Z[i]^T``; and
        the (m, d+1, d+1) diagonal blocks ``Y[k] Z[k]^T`` of the model (the ``i = k`` terms, which
        :meth:`diagonal_blocks` already holds exactly). Clusters never share a member, so Woodbury's capacitance
        is block diagonal, one ``(d+1) x (d+1)`` matrix per cluster. The clusters are found once per operator and
        reused for every ``gamma`` (CVODE keeps a Jacobian over several step sizes).
        """
        l = self.order
        if min_overlap not in self._clusters:
            self._clusters[min_overlap] = self._find_clusters(min_overlap)
        kept, self_terms = [], np.zeros((self.m, self.d + 1, self.d + 1))
        for members, weight, Y, Z, own in self._clusters[min_overlap]:
            if abs(gamma) * l * weight >= min_strength:
                kept.append((members, gamma * Y, Z))
                self_terms[members] += own
        return kept, gamma * self_terms

    def _find_clusters(self, min_overlap: float) -> list:
        """Unscaled ``(members, sum_i c_i, Y, Z, Y_k Z_k^T)`` of every cluster of two or more members
        (:meth:`cluster_coupling`): :func:`_clusters_batched` on a batch of one, every cluster kept."""
        c = np.exp(2 * self._inputs[1])
        X = torch.from_numpy(np.array(self.X, dtype=np.float64))[None]
        found = _clusters_batched(X, torch.from_numpy(c)[None], X.mT @ X, self.order, torch.zeros(1, dtype=X.dtype),
                                  min_overlap)
        if found is None:
            return []
        label, Y, Z = (v[0].numpy() for v in found)
        clusters = []
        for k in range(int(label.max()) + 1):
            members = np.nonzero(label == k)[0]
            Yk, Zk = Y[members], Z[members]
            if self._column_scale is not None:  # block (k, i) = Y_k Z_i^T: columns of i scale Z_i's rows
                Zk = Zk * self._column_scale[members][:, :, None]
            clusters.append((members, float(c[members].sum()), Yk, Zk, Yk @ Zk.transpose(0, 2, 1)))
        return clusters

    def diagonal_blocks(self) -> np.ndarray:
        """(m, d+1, d+1): row/column 0 is ``rho_k``, then ``x_k``; ``d x_k/d rho_k = 0``."""
        d, m = self.d, self.m
        B = np.zeros((m, d + 1, d + 1))
        B[:, 0, 0] = self.rr_self
        B[:, 0, 1:] = self.self_rx
        B[:, 1:, 1:] = self.self_xx
        if self._column_scale is not None:
            B *= self._column_scale[:, None, :]
        return B


def _cluster_factors(Xm, sign, c, order: int, zeros):
    """``(Y, Z)`` of :meth:`JacobianOperator.cluster_coupling` for cluster members (numpy or torch): ``Xm`` (..., d)
    their directions, ``sign`` their ``sigma_i``, ``c`` their ``c_i``, ``zeros`` a zero array (..., d+1, d+1) to
    fill (and return, with a second one made like it). Row 0 / column 0 are ``rho``, then ``x``:

        Y_k = [[sigma^l, -2 l sigma^{l-1} x_k^T], [0, -l sigma^{l-1} P_k]]
        Z_i = [[4 (l-1) c_i sigma^l, 2 c_i sigma^{l-1} x_i^T], [0, c_i sigma^{l-1} P_i]]
    """
    l = order
    Y, Z = zeros, zeros * 0
    P = -Xm[..., :, None] * Xm[..., None, :]
    d = Xm.shape[-1]
    P[..., range(d), range(d)] += 1.0
    s_l1, s_l = sign ** (l - 1), sign ** l
    cw = c * s_l1
    Y[..., 0, 0] = s_l
    Z[..., 0, 0] = 4.0 * (l - 1) * c * s_l
    Y[..., 0, 1:] = -2.0 * l * s_l1[..., None] * Xm
    Y[..., 1:, 1:] = -l * s_l1[..., None, None] * P
    Z[..., 0, 1:] = 2.0 * cw[..., None] * Xm
    Z[..., 1:, 1:] = cw[..., None, None] * P
    return Y, Z


def _clusters_batched(X, c, G, order: int, keep_strength, min_overlap: float = 0.9):
    """:meth:`JacobianOperator.cluster_coupling` for a batch of runs in torch.

    ``X`` (B, d, m) unit directions, ``c`` (B, m), ``G = X^T X``; a cluster is kept where
    ``l sum_i c_i >= keep_strength`` (B,) (the numpy method's ``gamma l sum_i c_i >= min_strength`` with
    ``keep_strength = min_strength / gamma``). The same greedy grouping, run for every run at once: each round
    seeds, in every run, its free component of largest ``c`` that has a free partner (``G_ki^2 >= min_overlap``),
    which is the numpy loop's next cluster of two or more members (a seed without a partner is a singleton there,
    and removing it changes no other component's partners). Rounds stop when no run has a free pair (one host
    sync per round: as many rounds as the batch's largest number of clusters, plus one).

    Returns ``None`` when no run has a kept cluster, else ``(label, Y, Z)``: ``label`` (B, m) the cluster index
    of each component (-1 outside kept clusters), ``Y``, ``Z`` (B, m, d+1, d+1) of :func:`_cluster_factors`,
    zero outside kept clusters.
    """
    B, d, m = X.shape
    partner = G * G >= min_overlap  # (B, m, m), the diagonal included
    free = torch.ones((B, m), dtype=torch.bool, device=X.device)
    label = torch.full((B, m), -1, dtype=torch.long, device=X.device)
    sign = torch.ones_like(c)
    rows = torch.arange(B, device=X.device)
    clusters = 0
    while True:
        free_pairs = (partner & free[:, None, :] & free[:, :, None]).sum(-1)  # free partners, itself included
        candidate = free & (free_pairs >= 2)
        has = candidate.any(-1)
        if not bool(has.any()):
            break
        seed = torch.where(candidate, c, torch.full_like(c, -torch.inf)).argmax(-1)
        members = partner[rows, seed] & free & has[:, None]
        own = torch.sign(G[rows, seed])
        own = torch.where(own == 0, torch.ones_like(own), own)
        center = (X * (torch.where(members, c * own, torch.zeros_like(c)))[:, None, :]).sum(-1)  # (B, d)
        own = torch.sign((center[:, :, None] * X).sum(1))
        own = torch.where(own == 0, torch.ones_like(own), own)
        kept = order * torch.where(members, c, torch.zeros_like(c)).sum(-1) >= keep_strength
        label = torch.where(members & kept[:, None], clusters, label)
        sign = torch.where(members, own, sign)
        free = free & ~members
        clusters += 1
    inside = label >= 0
    if not bool(inside.any()):
        return None
    Y, Z = _cluster_factors(X.mT, sign, c, order, X.new_zeros((B, m, d + 1, d + 1)))
    return label, Y * inside[..., None, None], Z * inside[..., None, None]


def _woodbury_batched(inverse_blocks, label, Y, Z):
    """``u -> u + B^{-1} Y (I - Z^T B^{-1} Y)^{-1} Z^T u`` per cluster, for ``u = B^{-1} v`` (b, m, d+1): the
    Woodbury correction of :class:`BlockClusterPreconditioner`, batched in torch.

    ``label`` (b, m) the cluster of each component (-1: none), ``Y``, ``Z`` its factors (:func:`_clusters_batched`).
    The capacitance ``I - sum_{i in cluster} Z_i^T B_i^{-1} Y_i`` is factored (LU) once and solved at every
    application, not inverted: late in Algorithm 1 it is nearly singular on a fitted cluster's neutral modes, where
    an explicit inverse had cost the scipy path 13x the GMRES iterations. Each cluster's sums are masked sums over
    the components, so a run's arithmetic does not depend on the batch's other runs or clusters.
    """
    BinvY = inverse_blocks @ Y
    Zt = Z.mT
    R = Y.shape[-1]
    slots = int(label.max()) + 1
    masks = [(label == k).to(Y.dtype) for k in range(slots)]
    ZtBinvY = Zt @ BinvY
    eye = torch.eye(R, dtype=Y.dtype, device=Y.device)
    capacitance = torch.stack([eye - (mask[..., None, None] * ZtBinvY).sum(1) for mask in masks], dim=1)
    lu, pivots = torch.linalg.lu_factor(capacitance)  # (b, slots, R, R); an unused slot is the identity
    index = label.clamp(min=0)[..., None].expand(-1, -1, R)
    inside = (label >= 0).to(Y.dtype)[..., None]

    def correct(u):
        Ztu = (Zt @ u[..., None])[..., 0]  # (b, m, R)
        projected = torch.stack([(mask[..., None] * Ztu).sum(1) for mask in masks], dim=1)  # (b, slots, R)
        solved = torch.linalg.lu_solve(lu, pivots, projected[..., None])[..., 0]
        return u + (BinvY @ (solved.gather(1, index) * inside)[..., None])[..., 0]

    return correct


def flow_krylov_linearization(a, U, order: int, m: int, d: int, solver: Callable, rtol: float = 1e-10,
                              max_iter: int = 100):
    """Matrix-free ``linearize`` for :func:`solver.integrators.rosenbrock.integrate_rosenbrock` on the flow, in torch.

    ``a`` (B, r) and ``U`` (B, d, r) are every run's ground truth (rows picked by ``runs``); states use the
    layout of :func:`solver.layout.pack` per row, ``y`` (b, m (d+1)). For ``shift`` (b,) it returns
    ``solve(rhs) = (shift I - J)^{-1} rhs`` by ``solver(apply, precondition, rtol=, max_iter=)`` (the caller's
    Krylov method, e.g. :func:`solver.integrators.krylov.krylov_solver`: this layer gives operators, the
    integrators own the iterations) on the operator and preconditioner of :func:`flow_shifted_system`. Memory
    ``O(b m d^2)`` for the blocks plus GMRES's basis, never ``n^2``: this is the torch stiff path for ``m (d+1)``
    beyond a dense matrix (d = 200, m = 1000: 201,000 unknowns).
    """
    n = m * (d + 1)

    def linearize(y, runs, shift):
        apply, precondition = flow_shifted_system(y, a[runs], U[runs], order, m, d, shift)
        return solver(apply, precondition, rtol=rtol, max_iter=min(max_iter, n))

    return linearize


def flow_shifted_system(y, a, U, order: int, m: int, d: int, shift):
    """``(apply, precondition)`` for ``shift I - J(y)`` on a batch (torch; ``y`` (b, m (d+1)), ``a``, ``U`` and
    ``shift`` (b,) per run): ``apply(v) = (shift I - J) v`` by the Gram form of :class:`JacobianOperator` (the same
    :func:`_jacobian_product`, every coupling kept), in ``O(m^2 d)``; ``precondition(v) ~ (shift I - J)^{-1} v``
    by the inverses of the per-component ``(d+1) x (d+1)`` blocks ``shift I - J_kk`` plus, by Woodbury, the
    coupling inside clusters of parallel components (:meth:`JacobianOperator.cluster_coupling`, as CVODE's
    :class:`BlockClusterPreconditioner`; :func:`_clusters_batched`, :func:`_woodbury_batched`). Without the
    clusters, a late epoch of d = 10, m = 50 took 0.4 s per Rodas3 step against 0.03 s with a dense LU: GMRES
    ran to its iteration limit on the fitted clusters' couplings.
    """
    b = y.shape[0]
    rho, X = layout.unpack(y, d, m)
    X = X / X.norm(dim=1, keepdim=True)
    c, G, _outer, self_xx, self_rx = _self_blocks(X, rho, a, U, order)
    off = 1.0 - torch.eye(m, dtype=y.dtype, device=y.device)
    M1, M2, Mrr = _coupling_weights(c[:, None, :], G, off, order)
    rr_self = -4 * c
    blocks = torch.zeros((b, m, d + 1, d + 1), dtype=y.dtype, device=y.device)
    blocks[:, :, 0, 0] = rr_self
    blocks[:, :, 0, 1:] = self_rx
    blocks[:, :, 1:, 1:] = self_xx
    eye = torch.eye(d + 1, dtype=y.dtype, device=y.device)
    blocks = shift[:, None, None, None] * eye - blocks
    # shift I - J ~ (blocks + the model's own i = k terms) - Y Z^T, the clusters kept where their coupling is
    # strong against the shift (JacobianOperator.cluster_coupling's min_strength, for I - J / shift).
    clusters = _clusters_batched(X, c, G, order, CLUSTER_MIN_STRENGTH * shift)
    if clusters is not None:
        label, Y, Z = clusters
        blocks = blocks + Y @ Z.mT
    inverse_blocks = torch.linalg.inv(blocks)
    woodbury = None if clusters is None else _woodbury_batched(inverse_blocks, label, Y, Z)

    def apply(v):
        out = _jacobian_product(X, X, M1, M2, Mrr, rr_self, self_rx, self_xx, *layout.unpack(v, d, m),
                                lambda A: A, order)
        return shift[:, None] * v - layout.pack(*out)

    def precondition(v):
        u = (inverse_blocks @ layout.to_components(v, d, m)[..., None])[..., 0]
        if woodbury is not None:
            u = woodbury(u)
        return layout.from_components(u)

    return apply, precondition


class BlockClusterPreconditioner:
    """``M^{-1} ~ (I - gamma J)^{-1}`` for the flow's Jacobian operator ``J`` (``operator``): the exact
    per-component ``(d+1) x (d+1)`` blocks ``B`` plus each cluster's coupling by Woodbury,

        M^{-1} = B^{-1} + B^{-1} Y (I - Z^T B^{-1} Y)^{-1} Z^T B^{-1},

    with ``gamma J ~ (I - B) + Y Z^T`` on the clusters of nearly parallel components
    (:meth:`JacobianOperator.cluster_coupling`; the model's own ``i = k`` terms moved into ``B``). Used by the
    Krylov path on the CPU, CVODE's (:mod:`solver.integrators.cvode`). Clusters share no
    member: one ``(d+1) x (d+1)`` capacitance solve per cluster. The capacitance is solved at every application,
    not inverted: late in Algorithm 1 it is nearly singular on a fitted cluster's neutral modes.
    """

    def __init__(self, operator: JacobianOperator, gamma: float):
        d, m = operator.d, operator.m
        self.d, self.m = d, m
        clusters, self_terms = operator.cluster_coupling(gamma)
        blocks = np.eye(d + 1)[None] - gamma * operator.diagonal_blocks() + self_terms
        # torch's batched inverse of many small matrices takes half numpy's time (150 blocks of 31 x 31: 3.7 ms
        # against 6.9 ms), and a build happens every ~9 steps (BENCHMARKS.md).
        self.inverse_blocks = torch.linalg.inv(torch.from_numpy(np.ascontiguousarray(blocks))).numpy()
        self.woodbury = None
        self._pinv: np.ndarray | None = None
        if clusters:
            sizes = [members.size for members, _Y, _Z in clusters]
            members = np.concatenate([members for members, _Y, _Z in clusters])
            label = np.repeat(np.arange(len(clusters)), sizes)
            starts = np.cumsum([0] + sizes[:-1])
            Y = np.concatenate([Y for _members, Y, _Z in clusters])
            Zt = np.ascontiguousarray(np.concatenate([Z for _members, _Y, Z in clusters]).transpose(0, 2, 1))
            BinvY = self.inverse_blocks[members] @ Y
            capacitance = np.eye(Y.shape[2]) - np.add.reduceat(Zt @ BinvY, starts)
            self.woodbury = (members, label, starts, BinvY, Zt, capacitance)

    def __call__(self, v: np.ndarray) -> np.ndarray:
        m, d = self.m, self.d
        u = (self.inverse_blocks @ layout.to_components(v, d, m)[:, :, None])[:, :, 0]
        if self.woodbury is not None:
            members, label, starts, BinvY, Zt, capacitance = self.woodbury
            projected = np.add.reduceat(Zt @ u[members][:, :, None], starts)
            u[members] += (BinvY @ self._capacitance_solve(capacitance, projected)[label])[:, :, 0]
        return layout.from_components(u)

    def _capacitance_solve(self, capacitance: np.ndarray, projected: np.ndarray) -> np.ndarray:
        """``C^{-1} p`` per cluster; where some ``C`` is exactly singular (a cluster's neutral mode at a stationary
        split, seen in the alg1_m campaign at d = 6), its pseudo-inverse: the preconditioner only has to be close,
        GMRES corrects the rest, and the pseudo-inverse is formed once per linearization."""
        if self._pinv is None:
            try:
                return np.linalg.solve(capacitance, projected)
            except np.linalg.LinAlgError:
                self._pinv = np.linalg.pinv(capacitance)
        return self._pinv @ projected
