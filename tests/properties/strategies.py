"""Hypothesis strategies for instances of the paper's regime, named after what they generate.

Every instance is a ``deflation run`` command line (``Instance.argv``) parsed by the CLI's own parser, so a
failing example prints the exact command that reproduces it. Strategies shrink towards the simplest case:
small ``d`` and ``r``, the smallest ratio, seed 0.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from solver import FlowConfig, GroundTruth, Trajectory, solve
from verify.commands.run import add_run_arguments, config_from_args, reproduce_command, seeds_from_args, truth_from_args


def examples(ci: int) -> settings:
    """``ci`` examples under the ``ci`` profile, the profile's own count (>= 200) otherwise."""
    current = settings.default
    if settings.get_current_profile_name() == "ci":
        return settings(current, max_examples=ci)
    return settings(current)


@dataclass(frozen=True)
class Instance:
    """A run described by ``deflation run`` flags."""

    argv: tuple[str, ...]

    @property
    def args(self) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="deflation run", add_help=False)
        add_run_arguments(parser)
        args = parser.parse_args(list(self.argv) + ["--quiet"])
        args.command = "run"
        return args

    @property
    def truth(self) -> GroundTruth:
        return truth_from_args(self.args)

    @property
    def config(self) -> FlowConfig:
        return config_from_args(self.args)

    @property
    def seeds(self) -> list[int]:
        return seeds_from_args(self.args)

    @property
    def command(self) -> str:
        return reproduce_command(self.args)

    def solve(self) -> Trajectory:
        return solve(self.truth, self.config, self.seeds)


def bounded_ratio_spectra(r: int, min_ratio: float = 1.3, max_ratio: float = 2.0) -> st.SearchStrategy[list[float]]:
    """``a_1 = 1`` and ``a_j / a_{j+1}`` in ``[min_ratio, max_ratio]`` (shrinks to the smallest ratio)."""
    return st.lists(st.floats(min_ratio, max_ratio), min_size=r - 1, max_size=r - 1).map(
        lambda ratios: [1.0] + [float(x) for x in 1.0 / np.cumprod(ratios)])


@st.composite
def orthogonal_instances(draw, algorithm: str = "plain", max_d: int = 8, max_r: int = 4, max_m: int = 24,
                         order: int = 4) -> Instance:
    """A random orthonormal ``T*`` (``d <= max_d``, ``r <= max_r``, ratios in [1.3, 2]), ``m`` in
    ``[3d, max_m]`` (over-parametrized), ``delta0 = 1e-10``; plain flow to ``t = 60 / a_r`` (enough to
    discover and settle every direction) or the modified flow with ``eps = 1e-3`` (dense Newton solves)."""
    d = draw(st.integers(4, max_d))
    r = draw(st.integers(2, min(max_r, d)))
    a = draw(bounded_ratio_spectra(r))
    m = draw(st.integers(min(3 * d, max_m), max_m))
    argv = ["--d", str(d), "--a", ",".join(repr(x) for x in a), "--order", str(order), "--basis", "random",
            "--basis-seed", str(draw(st.integers(0, 2**20))), "--m", str(m), "--delta0", "1e-10",
            "--seeds", "1", "--first-seed", str(draw(st.integers(0, 2**20))), "--algorithm", algorithm]
    # Modified flow: eps = 1e-3 is far below a_r >= 1/8, so every fit happens; the later epochs (length ~ 1/beta)
    # only cost time. The dense LU: these systems have (d+1) m <= 216 unknowns, where it is ~2x faster than
    # Krylov (BENCHMARKS.md); named so that a change of the auto threshold does not change these tests.
    argv += ["--t-max", repr(60.0 / a[-1])] if algorithm == "plain" else ["--eps", "1e-3", "--linear-solver", "dense"]
    return Instance(tuple(argv))


@st.composite
def rotations(draw, d: int) -> np.ndarray:
    """A Haar-random orthogonal ``d x d`` matrix (QR of a seeded Gaussian, signs fixed)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q, rmat = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(rmat))


@st.composite
def small_states(draw, order: int = 4) -> dict:
    """A small instance plus an explicit initial state, for the metamorphic properties that act on W(0):
    orthonormal ``U`` (d <= 6, r <= 3), ``m <= 12`` directions from a seed, norms ``delta0 = 1e-6``."""
    d = draw(st.integers(3, 6))
    r = draw(st.integers(1, min(3, d)))
    a = draw(bounded_ratio_spectra(r)) if r > 1 else [1.0]
    m = draw(st.integers(2, 12))
    basis_seed, seed = draw(st.integers(0, 2**20)), draw(st.integers(0, 2**20))
    lam = draw(st.sampled_from([0.0, 1e-3]))
    return {"d": d, "a": np.asarray(a), "m": m, "basis_seed": basis_seed, "seed": seed, "order": order, "lam": lam,
            "t_max": 40.0 / a[-1],
            "command": (f"deflation run --d {d} --a {','.join(repr(float(x)) for x in a)} --order {order} "
                        f"--basis random --basis-seed {basis_seed} --m {m} --delta0 1e-06 --seeds 1 "
                        f"--first-seed {seed} --t-max {40.0 / a[-1]!r} --lam {lam!r} --integrator dopri5")}


@st.composite
def full_rank_identity_instances(draw, max_d: int = 5, max_m: int = 16) -> Instance:
    """``r = d`` with the identity basis and tight tolerances (rtol 1e-10, atol 1e-18): the setting where the
    misalignment ``1 - max_j H_kj^2`` is resolved over many decades (``verify.invariants.alpha_floor``), so
    that the P9 law ``(delta0/tau)^4`` can be tested rather than guessed at."""
    d = draw(st.integers(3, max_d))
    a = draw(bounded_ratio_spectra(d))
    m = draw(st.integers(min(3 * d, max_m), max_m))
    argv = ["--d", str(d), "--a", ",".join(repr(x) for x in a), "--basis", "identity", "--m", str(m),
            "--delta0", "1e-10", "--seeds", "1", "--first-seed", str(draw(st.integers(0, 2**20))),
            "--algorithm", "plain", "--t-max", repr(60.0 / a[-1]), "--integrator", "dopri5",
            "--rtol", "1e-10", "--atol", "1e-18"]
    return Instance(tuple(argv))
