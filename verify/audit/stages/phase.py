"""Stage ``phase``: how large must m be, and where does the accuracy restriction bite.

1. A sweep (:func:`verify.sweep.run_sweep`, the profile's built-in spec) of the plain flow and Algorithm 1
   over m/r x spread of the spectrum on a Dask LocalCluster, its phase diagram and the empirical m* where the
   success rate reaches 90% (:func:`verify.sweep.phase_summary`): the evidence P12 and P1 cite
   (:mod:`verify.sweep.claims`).
2. The redesigned accuracy probe (:func:`verify.precision.probe.frontier`): for each d an m at which
   Algorithm 1 recovers every component above ``exp(-d/ln d)``, then, at that m, eps below the bound: the
   frontier eps*(d) P11 cites.

``results``: :class:`PhaseStageResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "phase"


@dataclass
class PhaseStageResult:
    """The sweep's phase summary and the claim evidence drawn from it, and the frontier (None when the profile
    runs none). ``m_star_modified`` is Algorithm 1's m* (the same rule, cited beside P12's plain-flow m*)."""

    spec_name: str
    runs: int
    errors: int
    summary: Any  # verify.sweep.phase.PhaseSummary
    p12: Any  # verify.sweep.claims.ClaimEvidence
    m_star_modified: Any
    p1: Any
    frontier: Any | None  # verify.precision.probe.FrontierResult
    p11: Any | None
    sweep_seconds: float
    frontier_seconds: float

    def to_dict(self) -> dict:
        from solver.trajectory import json_safe

        return json_safe({"spec_name": self.spec_name, "runs": self.runs, "errors": self.errors,
                          "summary": self.summary.to_dict(), "p12": self.p12, "m_star_modified": self.m_star_modified,
                          "p1": self.p1, "frontier": None if self.frontier is None else self.frontier.to_dict(),
                          "p11": self.p11, "sweep_seconds": self.sweep_seconds,
                          "frontier_seconds": self.frontier_seconds})


def run(ctx: StageContext, result: StageResult) -> None:
    from verify.precision.probe import frontier, plot_frontier
    from verify.sweep import load_spec, local_cluster, phase_summary, plot_phase, read_rows, run_sweep
    from verify.sweep.claims import p1_evidence, p11_evidence, p12_evidence

    p = ctx.profile
    if p.phase_sweep is None:
        result.notes.append(f"profile {p.name} runs no sweep")
        return
    spec = load_spec(p.phase_sweep)
    folder = ctx.out / "runs" / f"sweep-{spec.name}"
    ctx.progress.message(f"phase: sweep '{spec.name}' ({len(spec)} runs) on a two-worker LocalCluster")
    with local_cluster(2) as cluster, cluster.get_client() as client:
        start = time.perf_counter()
        run_sweep(spec, folder, client=client,
                  progress=lambda done, total, left: ctx.progress(done, total, f"sweep, ~{left:.0f} s left"))
        sweep_seconds = time.perf_counter() - start
        rows = read_rows(folder)
        summary = phase_summary(rows)
        plot_phase(summary, ctx.out / "figures" / "phase", title=f"sweep '{spec.name}'")
        front, p11, frontier_seconds = None, None, 0.0
        if p.frontier_dims:
            ctx.progress.message(f"phase: accuracy frontier at d = {list(p.frontier_dims)}")
            start = time.perf_counter()
            front = frontier(p.frontier_dims, ctx.out / "runs" / "frontier", seeds=p.frontier_seeds,
                             decades_below=p.frontier_decades, client=client)
            frontier_seconds = time.perf_counter() - start
            p11 = p11_evidence(front)
            plot_frontier(front, ctx.out / "figures" / "frontier")
    result.results = PhaseStageResult(
        spec_name=spec.name, runs=summary.n_runs, errors=summary.n_errors, summary=summary,
        p12=p12_evidence(summary), m_star_modified=p12_evidence(summary, "modified"),
        p1=p1_evidence(rows, summary), frontier=front, p11=p11, sweep_seconds=sweep_seconds,
        frontier_seconds=frontier_seconds)
    result.runs.append(RunRecord(label=f"sweep '{spec.name}' (plain flow and Algorithm 1 over m/r x spread)",
                                 command=f"deflation sweep {spec.name} --out results/sweep-{spec.name}",
                                 config={"spec": spec.name, "runs": len(spec)}, seeds=[],
                                 ground_truth={"grid": dict(spec.axes)}, seconds=sweep_seconds))
    result.figures.append(Figure(
        id="phase", title="Phase diagram: success over m/r and the spread of the spectrum",
        caption=(f"Sweep {spec.name}: share of runs that fitted every direction (final residual "
                 r"$\le 0.1\, a_j$), per cell k/n, plain flow and Algorithm 1; the framed cell is $m^*$, the "
                 "smallest $m/r$ with success ≥ 90% there and at every larger $m/r$. float64."),
        path="figures/phase.svg", claims=["P12", "P1"]))
    if front is not None:
        dims = ",".join(str(d) for d in p.frontier_dims)
        result.runs.append(RunRecord(
            label="accuracy frontier (Algorithm 1 at an m found above exp(-d/ln d), then below it)",
            command=(f"deflation probe --dims {dims} --seeds {p.frontier_seeds} --decades {p.frontier_decades} "
                     "--out results/probe"),
            config=front.settings, seeds=list(range(p.frontier_seeds)), ground_truth={"dims": list(p.frontier_dims)},
            seconds=frontier_seconds))
        result.figures.append(Figure(
            id="frontier", title="Accuracy frontier eps*(d) against exp(-d/ln d)",
            caption=(r"Algorithm 1 at the $m$ found above the bound $\exp(-d/\ln d)$, $\epsilon$ one decade "
                     r"apart below it: recovered seeds per point and the smallest $\epsilon$ at which every seed "
                     "recovered every component, one column per $d$. float64 down to its limit for this probe; "
                     "high precision beyond (full profile)."),
            path="figures/frontier.svg", claims=["P11", "P7"]))
    if summary.n_errors:
        result.notes.append(f"{summary.n_errors} sweep run(s) raised in the integrator (counted apart, not as "
                            "failures; each row's `error` column in the dataset says why)")


STAGE = Stage(NAME, "Phase diagram (how large must m be) and the accuracy frontier", run)
