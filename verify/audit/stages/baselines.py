"""Stage ``baselines``: the classical methods and the flows side by side on named instances
(:func:`verify.baselines.run_baselines`): the tensor power method with explicit deflation, TensorLy's CP power
iteration and ALS, the exact-rank flow, the over-parametrized plain flow and Algorithm 1.

``results``: the library's :class:`verify.baselines.runner.BaselinesResult` as it is (``rows``: one
:class:`BaselineRow` per method and instance, each with the command that reproduces it).
"""

from __future__ import annotations

from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "baselines"


def run(ctx: StageContext, result: StageResult) -> None:
    from verify.baselines.figures import plot_baselines
    from verify.baselines.runner import run_baselines

    p = ctx.profile
    if p.baselines_seeds < 1 or not p.baselines_instances:
        result.notes.append(f"profile {p.name} runs no baselines")
        return
    ctx.progress.message(f"baselines: {', '.join(p.baselines_instances)}, {p.baselines_seeds} seed(s) each")
    data = run_baselines(instances=p.baselines_instances, seeds=p.baselines_seeds, progress=ctx.progress)
    result.results = data
    command = (f"deflation baselines --instances {','.join(p.baselines_instances)} --seeds {p.baselines_seeds} "
               "--out results/baselines")
    result.runs.append(RunRecord(label="baselines (every method, every instance)", command=command,
                                 config={"instances": list(p.baselines_instances), "seeds": p.baselines_seeds},
                                 seeds=list(range(p.baselines_seeds)), ground_truth=data.instances,
                                 seconds=data.seconds))
    plot_baselines(data, ctx.out / "figures" / "baselines")
    result.figures.append(Figure(
        id="baselines", title="Classical methods and the flows side by side",
        caption=("Runs that recovered every component (out of the seeds) and median seconds per method and instance. "
                 r"Recovery: the components aligned with $u_j$ ($\langle \bar w, u_j\rangle^2 \ge 0.99$) carry $a_j$ "
                 r"($a_j - \lambda/2$) to 1%; on non-orthogonal $T^*$, $\|T - T^*\|_F / \|T^*\|_F \le 10^{-3}$. "
                 "float64."),
        path="figures/baselines.svg", claims=["P4", "P12"]))
    skipped = [r for r in data.rows if r.skipped]
    if skipped:
        result.notes.append("left out: " + "; ".join(f"{r.method} on {r.instance} ({r.skipped})" for r in skipped))


STAGE = Stage(NAME, "Baselines: the tensor power method, TensorLy and the flows on the same instances", run)
