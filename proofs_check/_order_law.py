"""C14: the order law at ``T = 0`` for an orthogonal ``T*``, and its tie to the solver's trajectories.

With ``x_j = <wbar, u_j>`` and C7's ``x_j' = l x_j (a_j x_j^{l-2} - f)``, ``f = sum_i a_i x_i^l``, the
quantities ``y_j = a_j x_j^{l-2}`` obey ``y_j' = l (l-2) y_j (y_j - f)`` with the same ``f`` for every ``j``:
their order never changes. Instances: explicit coordinates at ``d in {2, 3}``, ``l in {3, 4}``. Code:
``solver.solve`` (plain flow, ``delta0`` tiny, identity basis, ``d = 6``) up to a small ``t``, where every
component is still tiny: along the saved trajectory no pair of ``y_j`` of any component changes order
beyond the noise floor, and (a control that does fail) the plain ``x_j^2`` do change order.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import sympy as sp

from solver import kernels

from ._core import Claim, Derivation, Identity, close, vec

DIMS = (2, 3)
ORDERS = (3, 4)
MUTANTS = ("constant l(l-1)",)

# The solver run of the tie (small enough for the 90 s budget of ``deflation derive``).
RUN = {"d": 6, "m": 12, "order": 4, "ratio": 1.5, "delta0": 1e-12, "t_max": 6.0, "n_save": 60, "seed": 0}
NOISE = 1e-6  # relative to max a_j: 100 x the explicit integrator's rtol 1e-8 on the coordinates


def trajectory_order(run: dict = RUN) -> dict:
    """Run the solver and count order changes of the ``y_j`` (and of the ``x_j^2`` as a control)."""
    from solver.config import FlowConfig
    from solver.flow import solve
    from solver.ground_truth import geometric_spectrum, identity_basis

    l = run["order"]
    truth = identity_basis(run["d"], geometric_spectrum(run["d"], run["ratio"]), order=l)
    config = FlowConfig(m=run["m"], t_max=run["t_max"], n_save=run["n_save"], delta0=run["delta0"], integrator="dopri5",
                        device="cpu")
    traj = solve(truth, config, seeds=[run["seed"]])
    x = traj.correlations[0]  # (K, m, r): <wbar_k, u_j>
    tol = NOISE * float(np.max(truth.a))

    def changes(q: np.ndarray) -> tuple[int, int]:
        d0 = q[0][:, :, None] - q[0][:, None, :]
        dt = q[:, :, :, None] - q[:, :, None, :]
        decided = np.abs(dt) > tol
        return int((decided & (np.sign(dt) != np.sign(d0)[None])).sum()), int(decided.sum())

    y = truth.a[None, None, :] * x ** (l - 2)
    y_changes, decided = changes(y)
    x_changes, _ = changes(x**2)
    predicted = np.argmax(y[0], axis=1)
    return {
        "y_order_changes": y_changes,
        "decided_pairs": decided,
        "x2_order_changes": x_changes,
        "max_norm": float(np.exp(traj.log_norms.max())),
        "argmax_y0_is_argmax_x2_end": float(np.mean(predicted == np.argmax(x[-1] ** 2, axis=1))),
        "argmax_x2_0_is_argmax_x2_end": float(np.mean(np.argmax(x[0] ** 2, axis=1) == np.argmax(x[-1] ** 2, axis=1))),
    }


def _build_c14(mutant: str | None) -> Derivation:
    identities = []
    shapes = list(itertools.product(DIMS, ORDERS))
    for d, order in shapes:
        x = vec("x", d, positive=True)
        a = [sp.Symbol(f"a{i + 1}", positive=True) for i in range(d)]
        f = sum(ai * xi**order for ai, xi in zip(a, x))
        x_dot = [order * xi * (ai * xi ** (order - 2) - f) for ai, xi in zip(a, x)]  # C7
        y = [ai * xi ** (order - 2) for ai, xi in zip(a, x)]
        derived = sp.Matrix([sp.diff(yj, xj) * xd for yj, xj, xd in zip(y, x, x_dot)])
        const = order * (order - 1) if mutant == "constant l(l-1)" else order * (order - 2)
        claimed = sp.Matrix([const * yj * (yj - f) for yj in y])
        identities.append(Identity(f"d={d}, l={order}: y_j' = l(l-2) y_j (y_j - f)", claimed, derived))
    facts: dict = {}

    def code_check(rng: random.Random) -> bool:
        ok = True
        # kernels.flow at T = 0 (c = 0) in the identity basis, pushed through y_j = a_j x_j^{l-2}.
        for d, order in shapes:
            xs = np.array([rng.uniform(0.2, 1.0) for _ in range(d)])
            xs /= np.linalg.norm(xs)
            an = np.array([rng.uniform(0.5, 2.0) for _ in range(d)])
            _, d_X = kernels.flow(xs[:, None], np.zeros(1), an, np.eye(d), order, 0.0)
            y = an * xs ** (order - 2)
            y_dot = (order - 2) * an * xs ** (order - 3) * d_X[:, 0]
            f = float(np.sum(an * xs**order))
            ok &= close(y_dot, order * (order - 2) * y * (y - f))
        facts.update(trajectory_order())
        ok &= facts["y_order_changes"] == 0 and facts["decided_pairs"] > 0 and facts["max_norm"] < 1e-3
        return ok

    return Derivation(identities, [], {"d": list(DIMS), "l": list(ORDERS)}, code_check, facts=facts)


C14 = Claim(
    "C14",
    "The order law while the model is zero",
    r"u_j \text{ orthonormal},\ T=0,\ x_j=\langle\bar w,u_j\rangle,\ y_j = a_j x_j^{l-2},\quad "
    r"\frac{dy_j}{dt} = l(l-2)\,y_j\,(y_j - f),\ f=\sum_i a_i x_i^l,\quad \text{the order of the } y_j \text{ never changes}",
    _build_c14,
    MUTANTS,
    title_tex=r"\text{Order law at } T=0:\ y_j = a_j x_j^{l-2}",
)
