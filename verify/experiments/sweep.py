"""The invariant sweep: random small instances of the paper's regime (:data:`solver.instances.PAPER_REGIME`),
each solved and checked by every invariant (``deflation check --sweep N``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from solver.errors import require
from solver.instances import PAPER_REGIME, PaperRegime, paper_regime_run
from solver.spec import Command, RunSpec

__all__ = ["random_regime_spec", "invariant_sweep", "InvariantSweep", "SweepInstance", "ClaimTally",
           "SHOWN_DIGITS", "MAX_SEED"]

# Significant digits of the drawn a_j and horizons: reproduce lines stay short and still rerun the same instance.
SHOWN_DIGITS = 6
# Basis seeds and run seeds are drawn below this bound.
MAX_SEED = 10**6


def random_regime_spec(rng: np.random.Generator, algorithm: str = "plain",
                       regime: PaperRegime = PAPER_REGIME) -> RunSpec:
    """A random small instance in the paper's regime (:class:`solver.instances.PaperRegime`: ``d in [4, 8]``,
    ``r in [2, min(4, d)]``, ``a_1 = 1`` and ratios ``a_j/a_{j+1}`` uniform in [1.3, 2], random orthonormal
    basis, ``m in [min(3d, 24), 24]``, ``delta0 = 1e-10``; plain flow to ``t = 60 / a_r``, modified flow with
    ``eps = 1e-3``), drawn from ``rng`` in a fixed order (same generator state, same instance)."""
    d = int(rng.integers(regime.min_d, regime.max_d + 1))
    r = int(rng.integers(2, min(regime.max_r, d) + 1))
    ratios = rng.uniform(regime.min_ratio, regime.max_ratio, size=r - 1)
    a = tuple(float(f"{x:.{SHOWN_DIGITS}g}") for x in np.concatenate([[1.0], 1.0 / np.cumprod(ratios)]))
    m = int(rng.integers(regime.min_m(d), regime.max_m + 1))
    basis_seed = int(rng.integers(0, MAX_SEED))
    first_seed = int(rng.integers(0, MAX_SEED))
    return paper_regime_run(d, a, m, basis_seed, first_seed, algorithm, regime=regime, digits=SHOWN_DIGITS)


@dataclass(frozen=True)
class SweepInstance:
    """One instance of the sweep: its spec, the command that reruns it, and its verdicts."""

    spec: RunSpec
    command: Command
    verdicts: tuple[Any, ...]

    def __getitem__(self, key: str) -> Any:
        """The mapping form older callers read (``instance["command"]``)."""
        return getattr(self, key)


@dataclass(frozen=True)
class ClaimTally:
    """One checker over the sweep: decided verdicts (``applicable``), how many passed, the smallest margin and the
    command of its instance, and the commands of the instances that failed."""

    passed: int
    applicable: int
    worst_margin: float
    worst_command: Command | None
    failed_commands: tuple[Command, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "applicable": self.applicable, "worst_margin": self.worst_margin,
                "worst_command": self.worst_command, "failed_commands": list(self.failed_commands)}

    @property
    def failed(self) -> bool:
        return self.passed < self.applicable


@dataclass(frozen=True)
class InvariantSweep:
    """The sweep's result: what ran (``n`` instances from ``seed``, the ``algorithm``), each instance, the tally
    per checker (keyed ``"P1 deflation_order"``), the wall seconds and the command that reruns it."""

    n: int
    seed: int
    algorithm: str
    instances: tuple[SweepInstance, ...]
    claims: dict[str, ClaimTally]
    seconds: float
    command: Command

    @property
    def specs(self) -> tuple[RunSpec, ...]:
        """The RunSpecs the sweep ran, in order."""
        return tuple(inst.spec for inst in self.instances)

    @property
    def failed(self) -> bool:
        """Whether any decided verdict failed."""
        return any(t.failed for t in self.claims.values())

    def __getitem__(self, key: str) -> Any:
        """The mapping form older callers read: ``"instances"``, ``"seconds"``, and ``"claims"`` as plain dicts."""
        if key == "claims":
            return {name: tally.to_dict() for name, tally in self.claims.items()}
        if key in ("instances", "seconds"):
            return getattr(self, key)
        raise KeyError(key)


def invariant_sweep(n: int, seed: int = 0, algorithm: str = "plain",
                    progress: Callable[[int, int], None] | None = None, invariants=None) -> InvariantSweep:
    """Run ``n`` random instances (:func:`random_regime_spec` from ``default_rng(seed)``) and check every invariant
    on each (``invariants``, a :class:`verify.invariants.Invariants`; default ``Invariants()``). A verdict counts
    as ``applicable`` when it is decided (pass or fail)."""
    from ..invariants import Invariants

    invariants = invariants or Invariants()
    require(isinstance(n, int) and n >= 1, "--sweep", "an integer >= 1", n)
    rng = np.random.default_rng(seed)
    instances: list[SweepInstance] = []
    t0 = time.perf_counter()
    for i in range(n):
        spec = random_regime_spec(rng, algorithm)
        instances.append(SweepInstance(spec, spec.command(), tuple(invariants.check(spec.solve()))))
        if progress is not None:
            progress(i + 1, n)
    tallies: dict[str, dict[str, Any]] = {}
    for inst in instances:
        for v in inst.verdicts:
            entry = tallies.setdefault(f"{v.claim} {v.name}", {"passed": 0, "applicable": 0, "worst_margin": math.inf,
                                                               "worst_command": None, "failed_commands": []})
            if not v.decided:
                continue
            entry["applicable"] += 1
            entry["passed"] += int(v.passed)
            if v.failed:
                entry["failed_commands"].append(inst.command)
            if v.margin < entry["worst_margin"]:
                entry["worst_margin"], entry["worst_command"] = float(v.margin), inst.command
    claims = {key: ClaimTally(e["passed"], e["applicable"], e["worst_margin"], e["worst_command"],
                              tuple(e["failed_commands"])) for key, e in tallies.items()}
    argv = ["--sweep", str(n), "--seed", str(seed)] + ([] if algorithm == "plain" else ["--algorithm", algorithm])
    return InvariantSweep(n=n, seed=seed, algorithm=algorithm, instances=tuple(instances), claims=claims,
                          seconds=time.perf_counter() - t0, command=Command("check", argv))
