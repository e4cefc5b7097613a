"""Hypothesis strategies for instances of the paper's regime, named after what they generate.

Every instance is a :class:`solver.spec.RunSpec`, so a failing example prints the exact ``deflation run`` command
that reproduces it (``spec.command()``). Strategies shrink towards the simplest case: small ``d`` and ``r``, the
smallest ratio, seed 0. They are ``st.composite`` rather than ``st.builds``: ``r`` depends on ``d`` and ``m`` on
``d``, and the ``ci`` profile's derandomized examples stay the ones recorded in the findings.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from solver.config import FlowConfig
from solver.instances import PAPER_REGIME, paper_regime_run
from solver.spec import InstanceSpec, RunSpec


def examples(ci: int) -> settings:
    """``ci`` examples under the ``ci`` profile, the profile's own count (>= 200) otherwise."""
    current = settings.default
    if settings.get_current_profile_name() == "ci":
        return settings(current, max_examples=ci)
    return settings(current)


def bounded_ratio_spectra(r: int, min_ratio: float = PAPER_REGIME.min_ratio, max_ratio: float = PAPER_REGIME.max_ratio,
                          ) -> st.SearchStrategy[list[float]]:
    """``a_1 = 1`` and ``a_j / a_{j+1}`` in ``[min_ratio, max_ratio]`` (shrinks to the smallest ratio)."""
    return st.lists(st.floats(min_ratio, max_ratio), min_size=r - 1, max_size=r - 1).map(
        lambda ratios: [1.0] + [float(x) for x in 1.0 / np.cumprod(ratios)])


@st.composite
def orthogonal_instances(draw, algorithm: str = "plain", max_d: int = PAPER_REGIME.max_d,
                         max_r: int = PAPER_REGIME.max_r, max_m: int = PAPER_REGIME.max_m, order: int = 4) -> RunSpec:
    """A run of the paper's regime (:func:`solver.instances.paper_regime_run`, bounds
    :data:`solver.instances.PAPER_REGIME` with the given maxima): a random orthonormal ``T*``, ``m`` in
    ``[3d, max_m]`` (over-parametrized), plain flow to ``t = 60 / a_r`` or the modified flow with ``eps = 1e-3``."""
    regime = dataclasses.replace(PAPER_REGIME, max_d=max_d, max_r=max_r, max_m=max_m)
    d = draw(st.integers(regime.min_d, regime.max_d))
    r = draw(st.integers(2, min(regime.max_r, d)))
    a = draw(bounded_ratio_spectra(r, regime.min_ratio, regime.max_ratio))
    m = draw(st.integers(regime.min_m(d), regime.max_m))
    basis_seed = draw(st.integers(0, 2**20))
    first_seed = draw(st.integers(0, 2**20))
    return paper_regime_run(d, a, m, basis_seed, first_seed, algorithm, order=order, regime=regime)


@st.composite
def rotations(draw, d: int) -> np.ndarray:
    """A Haar-random orthogonal ``d x d`` matrix (QR of a seeded Gaussian, signs fixed)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q, rmat = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(rmat))


@st.composite
def small_states(draw, order: int = 4) -> RunSpec:
    """A small instance for the metamorphic properties that act on W(0) (the seed's draw, passed to ``solve`` as
    ``initial_state`` and transformed): orthonormal ``U`` (d <= 6, r <= 3), ``m <= 12`` components at norm
    ``delta0 = 1e-6``, dopri5 at rtol 1e-10 to ``t = 40 / a_r``, 50 equally spaced save times."""
    d = draw(st.integers(3, 6))
    r = draw(st.integers(1, min(3, d)))
    a = draw(bounded_ratio_spectra(r)) if r > 1 else [1.0]
    m = draw(st.integers(2, 12))
    basis_seed, seed = draw(st.integers(0, 2**20)), draw(st.integers(0, 2**20))
    lam = draw(st.sampled_from([0.0, 1e-3]))
    instance = InstanceSpec(d=d, a=tuple(float(x) for x in a), order=order, basis="random", basis_seed=basis_seed)
    config = FlowConfig(algorithm="plain", m=m, delta0=1e-6, t_max=40.0 / a[-1], lam=lam, integrator="dopri5",
                        rtol=1e-10, atol=1e-12, n_save=50, save_grid="linear")
    return RunSpec(instance, config, first_seed=seed, n_seeds=1)


@st.composite
def full_rank_identity_instances(draw, max_d: int = 5, max_m: int = 16) -> RunSpec:
    """``r = d`` with the identity basis and tight tolerances (rtol 1e-10, atol 1e-18): the setting where the
    misalignment ``1 - max_j H_kj^2`` is resolved over many decades (``verify.invariants.alpha_floor``), so
    that the P9 law ``(delta0/tau)^4`` can be tested rather than guessed at."""
    d = draw(st.integers(3, max_d))
    a = draw(bounded_ratio_spectra(d))
    m = draw(st.integers(min(3 * d, max_m), max_m))
    first_seed = draw(st.integers(0, 2**20))
    config = FlowConfig(algorithm="plain", m=m, delta0=1e-10, t_max=60.0 / a[-1], integrator="dopri5", rtol=1e-10,
                        atol=1e-18)
    return RunSpec(InstanceSpec(d=d, a=tuple(a), basis="identity"), config, first_seed=first_seed, n_seeds=1)
