"""Stage ``beyond``: where the paper makes no claim (:func:`verify.baselines.beyond.run_beyond`): the plain flow
(and, in the full profile, Algorithm 1) on non-orthogonal T* as the mutual coherence of the u_j grows, and on
tensor orders 3 to 6. Reported as found; no claim of the ledger is decided here.

``results``: the library's :class:`verify.baselines.beyond.BeyondStudy` as it is.
"""

from __future__ import annotations

from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "beyond"


def run(ctx: StageContext, result: StageResult) -> None:
    from verify.baselines.beyond import plot_beyond, run_beyond

    p = ctx.profile
    if p.beyond_seeds < 1:
        result.notes.append(f"profile {p.name} runs no beyond-the-paper study")
        return
    ctx.progress.message(f"beyond: coherences {list(p.beyond_coherences)}, orders {list(p.beyond_orders)}, "
                         f"{'/'.join(p.beyond_algorithms)}, {p.beyond_seeds} seed(s)")
    study = run_beyond(seeds=p.beyond_seeds, coherences=p.beyond_coherences, orders=p.beyond_orders,
                       algorithms=p.beyond_algorithms, progress=ctx.progress)
    result.results = study
    result.runs.append(RunRecord(label="beyond the paper (coherence, tensor order)", command=study.command,
                                 config=study.to_dict()["setting"], seeds=list(range(p.beyond_seeds)),
                                 ground_truth={"coherences": list(p.beyond_coherences),
                                               "orders": list(p.beyond_orders)}, seconds=study.seconds))
    paths = plot_beyond(study, ctx.out / "figures" / "beyond")
    captions = {
        "coherence": (r"Non-orthogonal $T^*$ (pairwise $\langle u_i, u_j\rangle = \mu$): median discovery time of "
                      r"each direction and the final relative error $\|T - T^*\|_F / \|T^*\|_F$ against $\mu$ "
                      "(errors under 1e-9 drawn on 1e-9 as upper bounds). float64."),
        "orders": (r"Tensor orders $l = 3, \dots, 6$ on the identity basis: discovery times over the norm-growth time "
                   r"$\ln(1/\delta_0) / (2 a_j)$, and plateau lengths, against $l$. float64."),
    }
    for path in paths:
        if path.suffix != ".svg":
            continue
        kind = "coherence" if "coherence" in path.stem else "orders"
        result.figures.append(Figure(id=f"beyond-{kind}", title=f"Beyond the paper: {kind}",
                                     caption=captions[kind], path=str(path.relative_to(ctx.out)), claims=[]))


STAGE = Stage(NAME, "Beyond the paper's claims: non-orthogonal T* and tensor orders 3-6", run)
