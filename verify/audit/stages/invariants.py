"""Stage ``invariants``: the invariant checkers of issue 4 (:func:`verify.invariants.check_trajectory`) on every
trajectory this audit made, the P9 norm/correlation plot, and the property sweep.

``results``: ``{"verdicts": [Verdict.to_dict() + {"source": "figure1" | "spread-plain" | "spread-modified"}],
"sweep": run_sweep(...) | None, "sweep_error": str | None}``. A verdict carries ``claim`` (e.g. ``"P1"``),
``name``, ``passed``, ``margin``, ``worst``, ``params``, ``details`` (``details["applicable"] = False`` when the
checker could not test its claim on that run), ``run``.
"""

from __future__ import annotations

from .._types import Figure, Stage, StageContext, StageResult

NAME = "invariants"


def _library():
    """``verify.invariants`` (a module or a package)."""
    from verify import invariants

    return invariants


def _verdict_dict(verdict) -> dict:
    return verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict)


def run_sweep(n: int, seed: int = 0, progress=None) -> dict:
    """The property sweep behind ``deflation check --sweep N`` (:func:`verify.experiments.invariant_sweep`), made
    JSON-ready: ``{"n", "seed", "claims": {"P1 deflation_order": {"passed", "applicable", "worst_margin",
    "worst_command", "failed_commands"}}, "instances": [{"command", "verdicts": [...]}], "seconds"}``."""
    from verify.experiments import invariant_sweep

    data = invariant_sweep(n, seed=seed, progress=progress)
    return {"n": n, "seed": seed, "claims": data["claims"], "seconds": data.get("seconds"),
            "instances": [{"command": inst["command"], "verdicts": [_verdict_dict(v) for v in inst["verdicts"]]}
                          for inst in data["instances"]]}


def run(ctx: StageContext, result: StageResult) -> None:
    invariants = _library()
    sources = {"figure1": ctx.artifacts["figure1"]}
    for label, trajectory in (ctx.artifacts.get("spread") or {}).items():
        sources[f"spread-{label}"] = trajectory
    verdicts = []
    for source, trajectory in sources.items():
        ctx.progress.message(f"invariants: checking {source} ({trajectory.batch} run(s))")
        for verdict in invariants.check_trajectory(trajectory):
            data = _verdict_dict(verdict)
            data["source"] = source
            verdicts.append(data)
    result.results = {"verdicts": verdicts, "sweep": None, "sweep_error": None}
    failed = [v for v in verdicts if not v.get("passed")]
    ctx.progress.message(f"invariants: {len(verdicts)} verdicts, {len(failed)} failed")

    stem = ctx.out / "figures" / "p9_norm_correlation"
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        invariants.plot_norm_correlation([sources["figure1"]], stem)
        result.figures.append(Figure(
            id="p9", title="P9: norm against correlation",
            caption=("Worst 1 - max_i <wbar_k, u_i>^2 over components with ||w_k|| >= tau, against tau, on the "
                     "Figure 1 runs (SPEC section 2 measured about (delta0/tau)^4)."),
            path="figures/p9_norm_correlation.svg", claims=["P9"]))
    except Exception as err:  # the plot is evidence for P9 only: keep the verdicts
        result.notes.append(f"P9 plot failed: {type(err).__name__}: {err}")

    if ctx.profile.sweep_n > 0:
        ctx.progress.message(f"invariants: property sweep over {ctx.profile.sweep_n} random instance(s)")
        try:
            result.results["sweep"] = run_sweep(ctx.profile.sweep_n,
                                                progress=lambda i, n: ctx.progress(i, n, "sweep"))
        except Exception as err:  # the sweep is a summary: its failure is reported, the verdicts stand
            result.results["sweep_error"] = f"{type(err).__name__}: {err}"
    ctx.artifacts[NAME] = verdicts


STAGE = Stage(NAME, "Invariants along the trajectories and the property sweep", run, requires=("figure1",))
