"""Metamorphic properties: symmetries of the flow that must hold to integrator tolerance.

- rotation equivariance: ``U -> Q U`` and ``W(0) -> Q W(0)`` leave every inner product, hence the norms,
  correlations ``H = Wbar^T U`` and residuals, unchanged along the whole trajectory, and rotate the directions;
- permutation of model components: permuting the columns of ``W(0)`` permutes the trajectory's columns;
- sign flip of model components (even ``l``): ``w_k -> -w_k`` leaves ``T`` unchanged and flips ``wbar_k(t)``;
- permutation / sign flip of ground-truth components (through ``solve``): ``(a, U) -> (a P, U P S)`` permutes
  the residuals and correlations (and flips the correlations' signs), with ``W(0)`` the same seed's;
- time rescaling C12: for ``(s a, s lambda)`` from ``sqrt(s) W(0)``, ``W_s(t) = sqrt(s) W(s t)``.
The properties acting on ``W(0)`` pass it to ``solve`` (``initial_state``); directions are compared at the end
(the record keeps their correlations with ``U`` at every save time).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from solver import FlowConfig, GroundTruth, Trajectory, solve
from solver.flow import initial_directions, seed_streams
from solver.spec import RunSpec

from .strategies import examples, orthogonal_instances, rotations, small_states

# Integrations run at rtol 1e-10; trajectories near saddles amplify differences, so the comparisons allow
# 1e-6 (in units of the compared quantity's scale: correlations are <= 1, residuals are scaled by a_1 = 1).
TOL = 1e-6

# Every property here solves 10-30 instances (30-50 s per property on a loaded 2-core machine); marked at module
# level so that the ci profile's examples, keyed by each test's source, stay the recorded ones.
pytestmark = pytest.mark.slow


def _base(spec: RunSpec) -> tuple[GroundTruth, np.ndarray, np.ndarray]:
    """The truth and the seed's own ``W(0)``: directions (d, m) and log-norms (m,)."""
    c = spec.config
    X0 = initial_directions(seed_streams(spec.first_seed)[0], spec.instance.d, c.m)
    return spec.instance.truth(), X0, np.full(c.m, math.log(c.delta0))


def _run(spec: RunSpec, truth: GroundTruth, X0: np.ndarray, rho0: np.ndarray) -> Trajectory:
    """The flow of ``spec`` on ``truth`` from the given ``W(0)`` (``solve``'s ``initial_state`` hook)."""
    return solve(truth, spec.config, spec.seeds, initial_state=(rho0[None], X0[None]))


@examples(ci=12)
@given(st.data())
def test_rotation_equivariance(data):
    spec = data.draw(small_states())
    Q = data.draw(rotations(spec.instance.d))
    note(f"base: {spec.command()}")
    truth, X0, rho0 = _base(spec)
    ref = _run(spec, truth, X0, rho0)
    rot = _run(spec, GroundTruth(truth.a, Q @ truth.U, truth.order), Q @ X0, rho0)
    for key in ("log_norms", "correlations", "residuals"):
        err = float(np.max(np.abs(getattr(rot, key) - getattr(ref, key))))
        assert err <= TOL, f"rotation changed {key} by {err:.3g}\nbase: {spec.command()}"
    err = float(np.max(np.abs(rot.final_directions - Q @ ref.final_directions)))
    assert err <= TOL, f"directions not rotated (error {err:.3g})\nbase: {spec.command()}"


@examples(ci=12)
@given(st.data())
def test_component_permutation(data):
    spec = data.draw(small_states())
    perm = np.asarray(data.draw(st.permutations(range(spec.config.m))))
    note(f"base: {spec.command()}; permutation {perm.tolist()}")
    truth, X0, rho0 = _base(spec)
    ref = _run(spec, truth, X0, rho0)
    per = _run(spec, truth, X0[:, perm], rho0[perm])
    assert np.max(np.abs(per.log_norms - ref.log_norms[..., perm])) <= TOL, spec.command()
    assert np.max(np.abs(per.correlations - ref.correlations[:, :, perm])) <= TOL, spec.command()
    assert np.max(np.abs(per.residuals - ref.residuals)) <= TOL, spec.command()


@examples(ci=12)
@given(st.data())
def test_component_sign_flip_even_order(data):
    spec = data.draw(small_states(order=data.draw(st.sampled_from([4, 6]))))
    m = spec.config.m
    flips = np.asarray(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=m, max_size=m)))
    note(f"base: {spec.command()}; flips {flips.tolist()}")
    truth, X0, rho0 = _base(spec)
    ref = _run(spec, truth, X0, rho0)
    fl = _run(spec, truth, X0 * flips, rho0)
    assert np.max(np.abs(fl.log_norms - ref.log_norms)) <= TOL, spec.command()
    assert np.max(np.abs(fl.final_directions - ref.final_directions * flips)) <= TOL, spec.command()
    assert np.max(np.abs(fl.correlations - ref.correlations * flips[:, None])) <= TOL, spec.command()
    assert np.max(np.abs(fl.residuals - ref.residuals)) <= TOL, spec.command()


@examples(ci=8)
@given(orthogonal_instances(algorithm="plain", max_d=6, max_r=3, max_m=16), st.data())
def test_ground_truth_permutation_and_sign(spec, data):
    truth = spec.instance.truth()
    perm = np.asarray(data.draw(st.permutations(range(truth.r))))
    signs = np.asarray(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=truth.r, max_size=truth.r)))
    note(f"reproduce: {spec.command()}; permutation {perm.tolist()}, signs {signs.tolist()}")
    config = spec.config
    ref = solve(truth, config, spec.seeds)
    other = solve(GroundTruth(truth.a[perm], truth.U[:, perm] * signs, truth.order), config, spec.seeds)
    assert np.max(np.abs(other.residuals - ref.residuals[..., perm])) <= TOL, spec.command()
    assert np.max(np.abs(other.log_norms - ref.log_norms)) <= TOL, spec.command()
    assert np.max(np.abs(other.correlations - ref.correlations[..., perm] * signs)) <= TOL, spec.command()


@examples(ci=8)
@given(orthogonal_instances(algorithm="plain", max_d=6, max_r=3, max_m=16),
       st.floats(0.1, 10.0), st.sampled_from([0.0, 1e-3]))
def test_time_rescaling_c12(spec, s, lam):
    truth, base = spec.instance.truth(), spec.config
    note(f"reproduce: {spec.command()} --lam {lam!r}; rescaled by s = {s!r}")
    config = FlowConfig(**{**base.to_dict(), "lam": lam, "integrator": "dopri5", "n_save": 60})
    scaled = FlowConfig(**{**config.to_dict(), "lam": s * lam, "t_max": config.t_max / s,
                           "delta0": math.sqrt(s) * config.delta0})
    ref = solve(truth, config, spec.seeds)
    res = solve(GroundTruth(s * truth.a, truth.U, truth.order), scaled, spec.seeds)
    assert np.allclose(res.times * s, ref.times, rtol=1e-12, atol=1e-9)
    assert np.max(np.abs(res.log_norms - (ref.log_norms + 0.5 * math.log(s)))) <= TOL, spec.command()
    assert np.max(np.abs(res.correlations - ref.correlations)) <= TOL, spec.command()
    assert np.max(np.abs(res.residuals / s - ref.residuals)) <= TOL, spec.command()
