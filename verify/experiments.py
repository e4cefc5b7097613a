"""The suite's experiments as library functions: what the CLI commands, the audit stages and the tests call.

Every experiment is described by :class:`solver.spec.RunSpec` values, so each result carries the command
that reproduces it (:meth:`RunSpec.command`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from solver.config import FlowConfig
from solver.errors import require
from solver.spec import InstanceSpec, RunSpec
from solver.trajectory import Trajectory, atomic_write_json

__all__ = ["figure1_spec", "figure1_trajectory", "write_figure1", "format_summary", "random_regime_spec",
           "invariant_sweep"]


def figure1_spec(seeds: int = 5, d: int = 10, m: int = 50, t_max: float = 100.0, device: str = "auto") -> RunSpec:
    """The paper's Figure 1: ``T* = sum_{i<=5} a_i e_i^{(x)4}`` in R^d (d = 10), ``a_1 = 1``, ``a_i/a_{i+1} = 1.2``,
    ``m = 50`` components at norm 1e-15, plain flow to ``t = 100`` (reduced sizes allowed for tests)."""
    return RunSpec(instance=InstanceSpec(d=d, r=5, ratio=1.2, order=4, basis="identity"),
                   config=FlowConfig(algorithm="plain", m=m, delta0=1e-15, t_max=t_max, device=device, n_save=500),
                   n_seeds=seeds)


def figure1_trajectory(seeds: int = 5, d: int = 10, m: int = 50, t_max: float = 100.0, device: str = "auto",
                       progress=None) -> Trajectory:
    """The Figure 1 runs (:func:`figure1_spec`), solved."""
    return figure1_spec(seeds, d, m, t_max, device).solve(progress=progress)


def write_figure1(trajectory: Trajectory, out: Path) -> dict:
    """``figure1.png``, ``figure1.svg``, ``summary.json`` and the record itself into ``out``."""
    from .plots import plot_loss_and_residuals

    out.mkdir(parents=True, exist_ok=True)
    trajectory.save(out)
    plot_loss_and_residuals(trajectory, out / "figure1",
                            title=r"Figure 1: $T^*=\sum_{i\leq 5} a_i e_i^{\otimes 4}$, $a_i/a_{i+1}=1.2$, "
                                  f"m={trajectory.config['m']}, norm 1e-15")
    summary = trajectory.summary()
    payload = {"runs": summary["runs"], "command": trajectory.meta.get("command"), "precision": {
        "dtype": trajectory.meta["dtype"], "loss_floor": float(trajectory.loss_floor[:, -1].max()),
        "discovery_time_resolution": "linear interpolation within one save interval (see discovery_resolution)"}}
    atomic_write_json(out / "summary.json", payload)
    return payload


def format_loss(loss: float, floor: float) -> str:
    """A loss as printed: ``"2.411e-01"``, or ``"<= floor (1.2e-15)"`` when it is below its resolution floor
    (a value there, zero or negative included, is rounding noise, not a measurement)."""
    if not math.isfinite(loss):
        return str(loss)
    if math.isfinite(floor) and loss <= floor:
        return f"<= floor ({floor:.1e})"
    return f"{loss:.3e}"


def format_summary(trajectory: Trajectory) -> str:
    """One line per run: seed, discovery times (directions counted from 1), final loss ("<= floor" below its
    resolution floor), then which directions the run recovered, so that a miss shows even when the loss
    cannot (a missed ``a_5 = 1e-8`` is below the loss floor)."""
    summary = trajectory.summary()
    a = trajectory.a
    r = a.shape[1]
    lines = [f"{'seed':>6}  " + "  ".join(f"t_disc[{j + 1}]" for j in range(r)) + "   final loss"]
    for b, run in enumerate(summary["runs"]):
        times = "  ".join(f"{'never':>9}" if t is None else f"{t:9.4g}" for t in run["discovery_times"])
        lines.append(f"{run['seed']:>6}  {times}   {format_loss(run['final_loss'], run['final_loss_floor'])}")
    for b, run in enumerate(summary["runs"]):
        missed = [j for j, ok in enumerate(run["recovered"]) if not ok]
        text = f"seed {run['seed']}: recovered {r - len(missed)}/{r} directions"
        if missed:
            text += "; missed " + ", ".join(f"a_{j + 1} = {a[b, j]:.3g}" for j in missed)
        lines.append(text)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ invariant sweep
def random_regime_spec(rng: np.random.Generator, algorithm: str = "plain") -> RunSpec:
    """A random small instance in the paper's regime.

    ``d in [4, 8]``, ``r in [2, min(4, d)]``, ``a_1 = 1`` and ratios ``a_j/a_{j+1}`` uniform in [1.3, 2],
    random orthonormal basis, ``m in [3d, 24]``, ``delta0 = 1e-10``; plain flow to ``t = 60 / a_r``
    (discovery needs ``~ln(1/delta0)/(2 a_r)``, then ``10/a_r`` to settle), modified flow with ``eps = 1e-3``.
    """
    d = int(rng.integers(4, 9))
    r = int(rng.integers(2, min(4, d) + 1))
    ratios = rng.uniform(1.3, 2.0, size=r - 1)
    a = tuple(float(f"{x:.6g}") for x in np.concatenate([[1.0], 1.0 / np.cumprod(ratios)]))
    m = int(rng.integers(min(3 * d, 24), 25))
    instance = InstanceSpec(d=d, a=a, basis="random", basis_seed=int(rng.integers(0, 10**6)))
    first_seed = int(rng.integers(0, 10**6))
    if algorithm == "plain":
        config = FlowConfig(algorithm="plain", m=m, delta0=1e-10, t_max=float(f"{60.0 / a[-1]:.6g}"))
    else:
        # eps far below a_r >= 1/8; dense Newton solves: ~2x faster than Krylov at this size (BENCHMARKS.md).
        config = FlowConfig(algorithm="modified", m=m, delta0=1e-10, eps=1e-3, linear_solver="dense")
    return RunSpec(instance=instance, config=config, first_seed=first_seed, n_seeds=1)


def invariant_sweep(n: int, seed: int = 0, algorithm: str = "plain",
                    progress: Callable[[int, int], None] | None = None, invariants=None) -> dict:
    """Run ``n`` random instances (:func:`random_regime_spec`) and check every invariant on each
    (``invariants``, a :class:`verify.invariants.Invariants`; default ``Invariants()``). A verdict counts as
    ``applicable`` when it is decided (pass or fail).

    Returns ``{"instances": [{"spec", "command", "verdicts"}], "claims": {"P1 deflation_order": {"passed",
    "applicable", "worst_margin", "worst_command", "failed_commands"}}, "seconds": ...}``.
    """
    from .invariants import Invariants

    invariants = invariants or Invariants()

    require(isinstance(n, int) and n >= 1, "--sweep", "an integer >= 1", n)
    rng = np.random.default_rng(seed)
    instances, t0 = [], time.perf_counter()
    for i in range(n):
        spec = random_regime_spec(rng, algorithm)
        verdicts = invariants.check(spec.solve())
        instances.append({"spec": spec, "command": spec.command(), "verdicts": verdicts})
        if progress is not None:
            progress(i + 1, n)
    claims: dict[str, dict] = {}
    for inst in instances:
        for v in inst["verdicts"]:
            key = f"{v.claim} {v.name}"
            entry = claims.setdefault(key, {"passed": 0, "applicable": 0, "worst_margin": math.inf,
                                            "worst_command": None, "failed_commands": []})
            if not v.decided:
                continue
            entry["applicable"] += 1
            entry["passed"] += int(v.passed)
            if v.failed:
                entry["failed_commands"].append(inst["command"])
            if v.margin < entry["worst_margin"]:
                entry["worst_margin"], entry["worst_command"] = float(v.margin), inst["command"]
    return {"instances": instances, "claims": claims, "seconds": time.perf_counter() - t0}
