"""Checker mutants: deliberately broken flows, and which invariant checker catches which.

A checker that never fails on a broken flow is not evidence. This module integrates the Gram-form field of
:func:`solver.kernels.flow` (the project's one formula) on a small reference instance with a plain scipy
integrator, once as it is and once per *mutant*: the same field wrapped so that one piece of the law is broken.
The solver's own code is not touched: the wrapper acts on ``(d_rho, d_X)`` as :func:`solver.kernels.flow`
returns them, in the coordinates the solver integrates (``rho = log ||w||``, unit directions ``X``).

========================  ==================================================================================
mutant                    the broken law
========================  ==================================================================================
radial_speed_10pct        ``d rho/dt = 1.1 * 2 R(wbar^l) - lambda`` (radial speed 10% too fast, C4)
no_normalization          the unnormalized model ``T = sum w^(x)l`` (the ``1/||w||^(l-2)`` dropped): model
                          coefficients ``||w||^l``, both laws carry a factor ``||w||^(l-2)`` (C5's contrast)
no_tangential_projection  ``dX/dt = l R(wbar^(l-1), I)`` without ``(I - wbar wbar^T)``; the field still reads
                          the unit directions, so the state's column norms grow and slow the turning
regularizer_sign          ``d rho/dt = 2 R(wbar^l) + lambda`` (the regularizer's sign flipped)
coefficients_misindexed   the field pairs ``a_j`` with ``u_{r+1-j}`` (an indexing slip: ``a`` reversed)
reinit_skips_epoch        Algorithm 1 whose re-initialization does not fire at the last epoch (the epoch that
                          should catch the smallest direction)
========================  ==================================================================================

:func:`mutant_table` runs every checker of :class:`verify.invariants.Invariants` on the clean run and on every
mutant and returns the table (checker x mutant: ``caught`` / ``passed`` / the undecided status); the clean
run must pass every checker that decides, or the table says so (``clean``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from solver import kernels
from solver.config import FlowConfig
from solver.ground_truth import identity_basis
from solver.trajectory import Trajectory

__all__ = ["MUTANTS", "ReferenceInstance", "integrate", "mutant_table", "algorithm1"]

Field = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, float], tuple[np.ndarray, np.ndarray]]


def _clean(X, c, a, U, order, lam):
    return kernels.flow(X, c, a, U, order, lam)


def _radial_fast(X, c, a, U, order, lam):
    d_rho, d_X = kernels.flow(X, c, a, U, order, lam)
    return 1.1 * (d_rho + lam) - lam, d_X


def _unnormalized(X, c, a, U, order, lam):
    scale = c ** ((order - 2) / 2)  # ||w||^(l-2)
    V, s = kernels.residual_contractions(X, c ** (order / 2), a, U, order)
    return order * scale * s - lam, order * scale * (V - X * s[None, :])


def _no_projection(X, c, a, U, order, lam):
    V, s = kernels.residual_contractions(X, c, a, U, order)
    return 2 * s - lam, order * V


def _misindexed(X, c, a, U, order, lam):
    return kernels.flow(X, c, a[::-1].copy(), U, order, lam)


def _regularizer_flipped(X, c, a, U, order, lam):
    d_rho, d_X = kernels.flow(X, c, a, U, order, lam)
    return d_rho + 2 * lam, d_X


MUTANTS: dict[str, Field] = {"radial_speed_10pct": _radial_fast, "no_normalization": _unnormalized,
                             "no_tangential_projection": _no_projection, "regularizer_sign": _regularizer_flipped,
                             "coefficients_misindexed": _misindexed}
FIELD_MUTANTS = tuple(MUTANTS)
ALL_MUTANTS = FIELD_MUTANTS + ("reinit_skips_epoch",)


@dataclass(frozen=True)
class ReferenceInstance:
    """The small instance the mutants run on: identity basis in R^d, ``a_j = ratio^-(j-1)``, ``m`` components at
    norm ``delta0``, regularizer ``lam`` (nonzero, so that the radial and regularizer mutants move the fitted
    mass), plain flow to ``t_max`` with ``n_save`` linear save times, RK45 at ``rtol``/``atol`` (the solver's
    dopri5 defaults)."""

    d: int = 4
    r: int = 3
    ratio: float = 2.0
    m: int = 16
    delta0: float = 1e-6
    lam: float = 0.02
    t_max: float = 240.0
    n_save: int = 400
    rtol: float = 1e-8
    atol: float = 1e-10
    seed: int = 0
    order: int = 4

    @property
    def a(self) -> np.ndarray:
        return self.ratio ** -np.arange(self.r, dtype=float)


def _initial(inst: ReferenceInstance, rng: np.random.Generator, m: int) -> np.ndarray:
    X = rng.standard_normal((inst.d, m))
    return X / np.linalg.norm(X, axis=0)


def _observe(X: np.ndarray, rho: np.ndarray, a: np.ndarray, U: np.ndarray, order: int):
    Xn = X / np.linalg.norm(X, axis=0)
    c = np.exp(2 * rho)
    loss, floor = kernels.loss_and_floor(Xn, c, a, U, order, float(np.finfo(np.float64).eps))
    return Xn, float(loss), float(floor), kernels.direction_residuals(Xn, c, a, U, order), Xn.T @ U


def _span(field: Field, rho0, X0, a, U, order, lam, times, rtol, atol):
    """Integrate ``field`` from ``(rho0, X0)`` over ``times``; returns rho (K, m), X (K, d, m)."""
    from scipy.integrate import solve_ivp

    d, m = X0.shape

    def rhs(_t, y):
        rho, X = y[:m], y[m:].reshape(d, m)
        d_rho, d_X = field(X / np.linalg.norm(X, axis=0), np.exp(2 * rho), a, U, order, lam)
        return np.concatenate([d_rho, np.asarray(d_X).ravel()])

    sol = solve_ivp(rhs, (times[0], times[-1]), np.concatenate([rho0, X0.ravel()]), method="RK45", rtol=rtol,
                    atol=atol, t_eval=times)
    if sol.status != 0:
        raise RuntimeError(f"integration failed: {sol.message}")
    return sol.y[:m].T, sol.y[m:].T.reshape(times.size, d, m), sol.nfev


def _record(inst: ReferenceInstance, config: FlowConfig, times, rhos, Xs, events, nfev, seconds) -> Trajectory:
    truth = identity_basis(inst.d, inst.a, inst.order)
    a, U = truth.a, truth.U
    obs = [_observe(X, rho, a, U, inst.order) for X, rho in zip(Xs, rhos)]
    cfg = {**config.to_dict(), "order": inst.order, "d": inst.d, "r": inst.r, "lam_used": inst.lam,
           "integrator_used": "dopri5", "rtol_used": inst.rtol, "atol_used": inst.atol}
    return Trajectory(config=cfg, seeds=[inst.seed], times=np.asarray(times),
                      loss=np.array([[o[1] for o in obs]]), loss_floor=np.array([[o[2] for o in obs]]),
                      residuals=np.array([[o[3] for o in obs]]), a=a[None], U=U[None],
                      final_log_norms=rhos[-1][None], final_directions=obs[-1][0][None],
                      log_norms=np.asarray(rhos)[None], correlations=np.array([[o[4] for o in obs]]),
                      events=events, meta={"unit_roundoff": float(np.finfo(np.float64).eps), "rhs_evals": nfev,
                                           "wall_seconds": seconds, "reference": "verify.mutants"})


def integrate(inst: ReferenceInstance = ReferenceInstance(), mutant: str | None = None) -> Trajectory:
    """The plain flow of ``inst`` under ``mutant``'s field (None: the clean field), as a :class:`Trajectory`."""
    field = _clean if mutant is None else MUTANTS[mutant]
    start = time.perf_counter()
    X0 = _initial(inst, np.random.default_rng(inst.seed), inst.m)
    rho0 = np.full(inst.m, math.log(inst.delta0))
    times = np.linspace(0.0, inst.t_max, inst.n_save)
    truth = identity_basis(inst.d, inst.a, inst.order)
    rhos, Xs, nfev = _span(field, rho0, X0, truth.a, truth.U, inst.order, inst.lam, times, inst.rtol, inst.atol)
    config = FlowConfig(algorithm="plain", m=inst.m, delta0=inst.delta0, t_max=inst.t_max, lam=inst.lam,
                        integrator="dopri5", rtol=inst.rtol, atol=inst.atol, n_save=inst.n_save)
    return _record(inst, config, times, rhos, Xs, [], nfev, time.perf_counter() - start)


def algorithm1(inst: ReferenceInstance, delta1: float = 1e-3, eps: float = 1e-3, gamma: float = 1.0,
               skip_epoch: int | None = None, n_per_epoch: int = 40) -> Trajectory:
    """Algorithm 1 (SPEC section 2) on ``inst`` with the clean field: ``beta_0 = max a``, epochs of length
    ``t_s = 8 (d + ln(1/delta0)) / beta_s`` while ``beta_s >= eps``, ``beta_{s+1} = beta_s / (1 + gamma)``;
    before every epoch the components with ``||w|| < delta1`` are re-initialized to ``delta0`` times a fresh
    random unit vector. ``skip_epoch``: the mutant whose re-initialization does not fire at that epoch
    (negative: counted from the last)."""
    start = time.perf_counter()
    rng = np.random.default_rng(inst.seed)
    truth = identity_basis(inst.d, inst.a, inst.order)
    X = _initial(inst, rng, inst.m)
    rho = np.full(inst.m, math.log(inst.delta0))
    betas = []
    beta = float(inst.a.max())
    while beta >= eps:
        betas.append(beta)
        beta /= 1 + gamma
    skip = None if skip_epoch is None else range(len(betas))[skip_epoch]
    t, all_t, all_rho, all_X, events, nfev = 0.0, [], [], [], [], 0
    for s, beta in enumerate(betas):
        small = np.nonzero(rho < math.log(delta1))[0]
        if s > 0 and small.size and s != skip:
            X[:, small] = _initial(inst, rng, small.size)
            rho[small] = math.log(inst.delta0)
            events.append({"kind": "reinit", "run": 0, "time": t, "epoch": s, "components": small.tolist()})
        length = 8 * (inst.d + math.log(1 / inst.delta0)) / beta
        times = np.linspace(t, t + length, n_per_epoch)
        rhos, Xs, n = _span(_clean, rho, X, truth.a, truth.U, inst.order, inst.lam, times, inst.rtol, inst.atol)
        nfev += n
        keep = slice(1, None) if all_t else slice(None)
        all_t += list(times[keep])
        all_rho += list(rhos[keep])
        all_X += list(Xs[keep])
        rho, X, t = rhos[-1].copy(), Xs[-1] / np.linalg.norm(Xs[-1], axis=0), times[-1]
    config = FlowConfig(algorithm="modified", m=inst.m, delta0=inst.delta0, delta1=delta1, eps=eps, gamma=gamma,
                        lam=inst.lam, integrator="dopri5", rtol=inst.rtol, atol=inst.atol)
    return _record(inst, config, np.asarray(all_t), np.asarray(all_rho), np.asarray(all_X), events, nfev,
                   time.perf_counter() - start)


# Two epochs (beta = 1, then 0.05): the re-initialization before the second is the one the mutant skips.
ALG1_SETTINGS = {"delta1": 1e-2, "eps": 0.025, "gamma": 19.0}


def mutant_table(inst: ReferenceInstance = ReferenceInstance(), alg1: ReferenceInstance | None = None,
                 skip_epoch: int = -1) -> dict:
    """Every checker of :class:`verify.invariants.Invariants` on the clean runs and on every mutant.

    Returns ``{"instance": ..., "mutants": [...], "checkers": [...], "clean": {checker: status},
    "table": {checker: {mutant: "caught" | "passed" | <undecided status>}}, "margins": ..., "seconds": ...}``.
    Field mutants are compared with the clean plain flow on ``inst``; ``reinit_skips_epoch`` with the clean
    Algorithm 1 on ``alg1`` (default: a spread spectrum at ratio 10 in R^4)."""
    from verify.invariants import Invariants

    start = time.perf_counter()
    alg1 = alg1 or ReferenceInstance(d=4, r=2, ratio=20.0, m=4, delta0=1e-4, lam=0.0)
    checks = Invariants()
    runs = {"clean": integrate(inst), **{name: integrate(inst, name) for name in FIELD_MUTANTS},
            "clean_algorithm1": algorithm1(alg1, **ALG1_SETTINGS),
            "reinit_skips_epoch": algorithm1(alg1, skip_epoch=skip_epoch, **ALG1_SETTINGS)}
    verdicts = {name: checks.check(tr) for name, tr in runs.items()}
    keys = [f"{v.claim} {v.name}" for v in verdicts["clean"]]
    table, margins, clean = {}, {}, {}
    for i, key in enumerate(keys):
        table[key], margins[key] = {}, {}
        for name in ALL_MUTANTS:
            base = "clean_algorithm1" if name == "reinit_skips_epoch" else "clean"
            v = verdicts[name][i]
            table[key][name] = "caught" if v.failed else ("passed" if v.passed else v.status.value)
            margins[key][name] = v.margin
            clean.setdefault(key, {})[base] = verdicts[base][i].status.value
    claim_of = {key: key.split()[0] for key in keys}
    return {"instance": inst.__dict__, "algorithm1_instance": alg1.__dict__, "mutants": list(ALL_MUTANTS),
            "checkers": keys, "claims": claim_of, "clean": clean, "table": table, "margins": margins,
            "seconds": time.perf_counter() - start}


KICK_RATE_TOLERANCE = 1e-9  # measured |rate - C11| <= 3e-12 at rtol 1e-12 (l = 3, 4; lambda = 0, 0.1)


def cluster_kick_rates(a: float = 1.0, lam: float = 0.1, share: float = 0.3, order: int = 4, kick: float = 1e-6,
                       d: int = 3, mutant: str | None = None) -> dict:
    """P8's perturbation test: kick a fitted two-component cluster and measure the tangential decay rates.

    Two components on ``u_1 = e_1`` with masses ``c_1 = share (a - lambda/2)``, ``c_2 = (1 - share)(a - lambda/2)``
    (a stationary split, C11), ``T* = a e_1^(x)l``. Each mode is kicked along ``e_2`` by ``kick`` and the clean
    field (:func:`solver.kernels.flow`) integrated (DOP853, rtol 1e-12); with ``delta_k = <wbar_k, e_2>`` the
    co-rotation amplitude is ``(c_1 delta_1 + c_2 delta_2)/(c_1 + c_2)`` and the merging amplitude
    ``delta_1 - delta_2``. Rates are least-squares slopes of ``log |amplitude|`` over a window of a few e-folds
    (or ``10/a`` when the mode is predicted neutral). C11 predicts ``-l a`` (co-rotation) and ``-l lambda/2``
    (merging; 0 at lambda = 0). Returns measured and predicted rates per mode and whether they agree within
    ``KICK_RATE_TOLERANCE`` (``agree``). ``mutant``: integrate that broken field instead (:data:`MUTANTS`)."""
    from scipy.integrate import solve_ivp

    field = _clean if mutant is None else MUTANTS[mutant]
    mass = a - lam / 2
    c = np.array([share * mass, (1 - share) * mass])
    U = np.eye(d)[:, :1]
    av = np.array([a])
    out = {"a": a, "lambda": lam, "order": order, "masses": c.tolist(), "kick": kick}
    predicted = {"co_rotation": -order * a, "merging": -order * lam / 2}
    for mode, dvec in (("co_rotation", np.array([1.0, 1.0])), ("merging", np.array([c[1], -c[0]]) / mass)):
        X0 = np.zeros((d, 2))
        X0[0] = 1.0
        X0[1] = kick * dvec
        X0 /= np.linalg.norm(X0, axis=0)
        rho0 = 0.5 * np.log(c)
        rate = predicted[mode]
        t_end = 5.0 / abs(rate) if rate < -1e-12 else 10.0 / a
        times = np.linspace(0.0, t_end, 200)

        def rhs(_t, y):
            X = y[2:].reshape(d, 2)
            d_rho, d_X = field(X / np.linalg.norm(X, axis=0), np.exp(2 * y[:2]), av, U, order, lam)
            return np.concatenate([d_rho, d_X.ravel()])

        sol = solve_ivp(rhs, (0.0, t_end), np.concatenate([rho0, X0.ravel()]), method="DOP853", rtol=1e-12,
                        atol=1e-18, t_eval=times)
        X = sol.y[2:].T.reshape(times.size, d, 2)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        cs = np.exp(2 * sol.y[:2].T)
        delta = X[:, 1, :]
        amp = ((cs * delta).sum(axis=1) / cs.sum(axis=1)) if mode == "co_rotation" else delta[:, 0] - delta[:, 1]
        slope = float(np.polyfit(times, np.log(np.abs(amp)), 1)[0])
        out[mode] = {"measured": slope, "predicted": rate, "t_end": t_end,
                     "amplitude_start": float(abs(amp[0])), "amplitude_end": float(abs(amp[-1]))}
    out["agree"] = all(abs(out[m]["measured"] - out[m]["predicted"]) <= KICK_RATE_TOLERANCE * max(order * a, 1.0)
                       for m in ("co_rotation", "merging"))
    return out
