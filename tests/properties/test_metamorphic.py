"""Metamorphic properties: symmetries of the flow that must hold to integrator tolerance.

- rotation equivariance: ``U -> Q U`` and ``W(0) -> Q W(0)`` leave every inner product, hence the norms,
  correlations ``H = Wbar^T U`` and residuals, unchanged along the whole trajectory, and rotate the directions;
- permutation of model components: permuting the columns of ``W(0)`` permutes the trajectory's columns;
- sign flip of model components (even ``l``): ``w_k -> -w_k`` leaves ``T`` unchanged and flips ``wbar_k(t)``;
- permutation / sign flip of ground-truth components (through ``solve``): ``(a, U) -> (a P, U P S)`` permutes
  the residuals and correlations (and flips the correlations' signs), with ``W(0)`` the same seed's;
- time rescaling C12: for ``(s a, s lambda)`` from ``sqrt(s) W(0)``, ``W_s(t) = sqrt(s) W(s t)``.
The properties acting on ``W(0)`` integrate through :mod:`._flow` (``solve`` has no initial-state hook).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, note
from hypothesis import strategies as st

from solver import FlowConfig, GroundTruth, solve
from solver.ground_truth import random_orthonormal

from ._flow import initial_state, integrate
from .strategies import examples, orthogonal_instances, rotations, small_states

# Integrations run at rtol 1e-10; trajectories near saddles amplify differences, so the comparisons allow
# 1e-6 (in units of the compared quantity's scale: correlations are <= 1, residuals are scaled by a_1 = 1).
TOL = 1e-6


def _base(state):
    truth = random_orthonormal(state["d"], state["a"], state["order"], state["basis_seed"])
    X0, rho0 = initial_state(state["d"], state["m"], state["seed"], 1e-6)
    return truth, X0, rho0


def _run(truth, X0, rho0, state):
    return integrate(truth.a, truth.U, X0, rho0, state["t_max"], state["order"], state["lam"])


@examples(ci=12)
@given(st.data())
def test_rotation_equivariance(data):
    state = data.draw(small_states())
    Q = data.draw(rotations(state["d"]))
    note(f"base: {state['command']}")
    truth, X0, rho0 = _base(state)
    ref = _run(truth, X0, rho0, state)
    rot = _run(GroundTruth(truth.a, Q @ truth.U, truth.order), Q @ X0, rho0, state)
    for key in ("log_norms", "correlations", "residuals"):
        err = float(np.max(np.abs(rot[key] - ref[key])))
        assert err <= TOL, f"rotation changed {key} by {err:.3g}\nbase: {state['command']}"
    err = float(np.max(np.abs(rot["directions"] - Q @ ref["directions"])))
    assert err <= TOL, f"directions not rotated (error {err:.3g})\nbase: {state['command']}"


@examples(ci=12)
@given(st.data())
def test_component_permutation(data):
    state = data.draw(small_states())
    perm = np.asarray(data.draw(st.permutations(range(state["m"]))))
    note(f"base: {state['command']}; permutation {perm.tolist()}")
    truth, X0, rho0 = _base(state)
    ref = _run(truth, X0, rho0, state)
    per = _run(truth, X0[:, perm], rho0[perm], state)
    assert np.max(np.abs(per["log_norms"] - ref["log_norms"][:, perm])) <= TOL, state["command"]
    assert np.max(np.abs(per["correlations"] - ref["correlations"][:, perm])) <= TOL, state["command"]
    assert np.max(np.abs(per["residuals"] - ref["residuals"])) <= TOL, state["command"]


@examples(ci=12)
@given(st.data())
def test_component_sign_flip_even_order(data):
    state = data.draw(small_states(order=data.draw(st.sampled_from([4, 6]))))
    flips = np.asarray(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=state["m"], max_size=state["m"])))
    note(f"base: {state['command']}; flips {flips.tolist()}")
    truth, X0, rho0 = _base(state)
    ref = _run(truth, X0, rho0, state)
    fl = _run(truth, X0 * flips, rho0, state)
    assert np.max(np.abs(fl["log_norms"] - ref["log_norms"])) <= TOL, state["command"]
    assert np.max(np.abs(fl["directions"] - ref["directions"] * flips)) <= TOL, state["command"]
    assert np.max(np.abs(fl["residuals"] - ref["residuals"])) <= TOL, state["command"]


@examples(ci=8)
@given(orthogonal_instances(algorithm="plain", max_d=6, max_r=3, max_m=16), st.data())
def test_ground_truth_permutation_and_sign(instance, data):
    truth = instance.truth
    perm = np.asarray(data.draw(st.permutations(range(truth.r))))
    signs = np.asarray(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=truth.r, max_size=truth.r)))
    note(f"reproduce: {instance.command}; permutation {perm.tolist()}, signs {signs.tolist()}")
    config = instance.config
    ref = solve(truth, config, instance.seeds)
    other = solve(GroundTruth(truth.a[perm], truth.U[:, perm] * signs, truth.order), config, instance.seeds)
    assert np.max(np.abs(other.residuals - ref.residuals[..., perm])) <= TOL, instance.command
    assert np.max(np.abs(other.log_norms - ref.log_norms)) <= TOL, instance.command
    assert np.max(np.abs(other.correlations - ref.correlations[..., perm] * signs)) <= TOL, instance.command


@examples(ci=8)
@given(orthogonal_instances(algorithm="plain", max_d=6, max_r=3, max_m=16),
       st.floats(0.1, 10.0), st.sampled_from([0.0, 1e-3]))
def test_time_rescaling_c12(instance, s, lam):
    truth, base = instance.truth, instance.config
    note(f"reproduce: {instance.command} --lam {lam!r}; rescaled by s = {s!r}")
    config = FlowConfig(**{**base.to_dict(), "lam": lam, "integrator": "dopri5", "n_save": 60})
    scaled = FlowConfig(**{**config.to_dict(), "lam": s * lam, "t_max": config.t_max / s,
                           "delta0": math.sqrt(s) * config.delta0})
    ref = solve(truth, config, instance.seeds)
    res = solve(GroundTruth(s * truth.a, truth.U, truth.order), scaled, instance.seeds)
    assert np.allclose(res.times * s, ref.times, rtol=1e-12, atol=1e-9)
    assert np.max(np.abs(res.log_norms - (ref.log_norms + 0.5 * math.log(s)))) <= TOL, instance.command
    assert np.max(np.abs(res.correlations - ref.correlations)) <= TOL, instance.command
    assert np.max(np.abs(res.residuals / s - ref.residuals)) <= TOL, instance.command
