"""The paper's Figure 1 as an experiment: the runs (:func:`solver.instances.figure1_run`), their record, the
figure and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solver import instances
from solver.spec import Command, RunSpec
from solver.trajectory import Trajectory, atomic_write_json

__all__ = ["Figure1Result", "figure1_spec", "figure1_trajectory", "run_figure1", "write_figure1"]


@dataclass(frozen=True)
class Figure1Result:
    """The Figure 1 runs as run: the spec, the solved record, the command that reruns them (writing to ``out``)
    and, when written, the folder and the ``summary.json`` payload."""

    spec: RunSpec
    trajectory: Trajectory
    command: Command
    out: Path | None = None
    summary: dict[str, Any] | None = None


def figure1_spec(seeds: int = instances.FIGURE1_SEEDS, d: int = 10, m: int = instances.FIGURE1_M,
                 t_max: float = instances.FIGURE1_T_MAX, device: str = "auto") -> RunSpec:
    """The paper's Figure 1 (:func:`solver.instances.figure1_run`): ``T* = sum_{i<=5} a_i e_i^{(x)4}`` in R^d
    (d = 10), ``a_1 = 1``, ``a_i/a_{i+1} = 1.2``, ``m = 50`` components at norm 1e-15, plain flow to ``t = 100``
    (reduced sizes allowed for tests)."""
    return instances.figure1_run(seeds=seeds, d=d, m=m, t_max=t_max, device=device)


def figure1_trajectory(seeds: int = instances.FIGURE1_SEEDS, d: int = 10, m: int = instances.FIGURE1_M,
                       t_max: float = instances.FIGURE1_T_MAX, device: str = "auto", progress=None) -> Trajectory:
    """The Figure 1 runs (:func:`figure1_spec`), solved."""
    return figure1_spec(seeds, d, m, t_max, device).solve(progress=progress)


def run_figure1(spec: RunSpec | None = None, out: Path | None = None, progress=None) -> Figure1Result:
    """Solve ``spec`` (default :func:`figure1_spec`) and, when ``out`` is given, write its record, figure and
    summary there (:func:`write_figure1`)."""
    spec = spec if spec is not None else figure1_spec()
    trajectory = spec.solve(progress=progress)
    summary = None if out is None else write_figure1(trajectory, Path(out))
    return Figure1Result(spec=spec, trajectory=trajectory, command=spec.command(out=out), out=out, summary=summary)


def write_figure1(trajectory: Trajectory, out: Path) -> dict:
    """``figure1.png``, ``figure1.svg``, ``summary.json`` and the record itself into ``out``."""
    from ..plots import plot_loss_and_residuals

    out.mkdir(parents=True, exist_ok=True)
    trajectory.save(out)
    plot_loss_and_residuals(trajectory, out / "figure1",
                            title=r"Figure 1: $T^*=\sum_{i\leq 5} a_i e_i^{\otimes 4}$, "
                                  rf"$a_i/a_{{i+1}}={instances.FIGURE1_RATIO}$, "
                                  f"m={trajectory.config['m']}, norm {instances.FIGURE1_DELTA0:g}")
    summary = trajectory.summary()
    payload = {"runs": summary["runs"], "command": trajectory.meta.get("command"), "precision": {
        "dtype": trajectory.meta["dtype"], "loss_floor": float(trajectory.loss_floor[:, -1].max()),
        "discovery_time_resolution": "linear interpolation within one save interval (see discovery_resolution)"}}
    atomic_write_json(out / "summary.json", payload)
    return payload
