"""Stage ``frontier``: where Theorem 1's accuracy restriction bites (claims P11 and P7, decided from this stage
alone), read from the evidence store (``evidence/accuracy-frontier``, :mod:`verify.experiments.frontier`), not
rerun: the per-d trend statistics and the reading (:func:`verify.experiments.frontier_stats.analyze`), the ledger
evidence of P11 and P7, the figures, and a spot-check that re-runs a seeded sample of the float64 rows from their
own commands (:func:`verify.sweep.spotcheck.spot_check`; about a CPU second a row, so the quick audit stays within
its minutes).

``results``: :class:`FrontierStageResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "frontier"
STORE = Path(__file__).resolve().parents[3] / "evidence" / "accuracy-frontier"
SPOT_CHECK_ROWS = 8
# The spot-check samples rows that cost at most this many CPU seconds (almost all of them; the fixed family's
# slowest runs cost a minute), so that the quick audit stays within its minutes.
SPOT_CHECK_MAX_CPU = 5.0


@dataclass
class FrontierStageResult:
    """The frontier as the store holds it: ``analysis`` (:class:`verify.experiments.frontier_stats.FrontierAnalysis`),
    ``p11`` and ``p7`` (:class:`verify.experiments.frontier_stats.LedgerEvidence`), the spot-check
    (``reproduced`` of ``checked`` rows; ``mismatches`` as one line each) and the store's folder."""

    store: str
    analysis: Any
    p11: Any
    p7: Any
    reproduced: int
    checked: int
    mismatches: list[str]
    seconds: float

    def to_dict(self) -> dict:
        import dataclasses

        from solver.trajectory import json_safe

        return json_safe({"store": self.store, "markdown": self.analysis.markdown(),
                          "p11": dataclasses.asdict(self.p11), "p7": dataclasses.asdict(self.p7),
                          "reproduced": self.reproduced, "checked": self.checked, "mismatches": self.mismatches,
                          "seconds": self.seconds})


def frontier_evidence(store: Path | str = STORE, *, spot_check_rows: int = SPOT_CHECK_ROWS,
                      figures: Path | None = None, seed: int = 0) -> FrontierStageResult:
    """Read the campaign under ``store``, analyse it, spot-check ``spot_check_rows`` float64 rows (0: none; drawn
    among the rows that cost at most :data:`SPOT_CHECK_MAX_CPU` CPU seconds) and,
    when ``figures`` is given, draw ``figures/frontier-success.*`` and ``figures/frontier-measures.*``.
    Raises ``FileNotFoundError`` when the store holds no rows."""
    import verify.experiments.frontier as fr
    from verify.experiments import frontier_stats as fs
    from verify.sweep.spotcheck import spot_check

    start = time.perf_counter()
    rows = fr.read_frontier(store)
    if not len(rows):
        raise FileNotFoundError(f"no accuracy-frontier rows under {store}/runs")
    analysis = fs.analyze(rows)
    reproduced = checked = 0
    mismatches: list[str] = []
    if spot_check_rows:
        # High-precision rows are re-run by `deflation probe --point`, not by the float64 spot-check.
        f64 = rows[(rows["precision"] == "float64") & (rows["cpu_seconds"] <= SPOT_CHECK_MAX_CPU)]
        check = spot_check(f64, k=spot_check_rows, seed=seed)
        reproduced, checked = check.reproduced, check.k
        mismatches = [f"{m.key} {m.field}: {m.recorded!r} -> {m.rerun!r}" for m in check.mismatches]
    if figures is not None:
        fs.plot_success(rows, analysis, Path(figures) / "frontier-success")
        fs.plot_measures(rows, Path(figures) / "frontier-measures")
    return FrontierStageResult(store=str(store), analysis=analysis, p11=fs.ledger_p11(analysis),
                               p7=fs.ledger_p7(rows), reproduced=reproduced, checked=checked, mismatches=mismatches,
                               seconds=time.perf_counter() - start)


def run(ctx: StageContext, result: StageResult) -> None:
    from .phase import evidence_root

    store = evidence_root(ctx) / STORE.name
    k = max(ctx.profile.spot_check_k, 0)
    if ctx.profile.build_campaigns and not any((store / "runs").glob("*.parquet")):
        import verify.experiments.frontier as fr

        # The test profile's store is made on the spot (its float64 runs take seconds), never for real evidence.
        ctx.progress.message(f"frontier: building the float64 runs of campaign {fr.TINY.name} under {store}")
        fr.run_campaign(fr.TINY, store, precision="float64")
    if not any((store / "runs").glob("*.parquet")):
        result.notes.append(f"no accuracy-frontier campaign under {store}: P11 and P7 stay open (`deflation probe "
                            f"--campaign float64 --out {store}` builds it)")
        return
    ctx.progress.message(f"frontier: reading {store} and spot-checking {k} rows")
    res = frontier_evidence(store, spot_check_rows=k, figures=ctx.out / "figures", seed=ctx.seed)
    result.results = res
    result.runs.append(RunRecord(label="accuracy-frontier campaign (read from the evidence store)",
                                 command="deflation probe --campaign float64 --out evidence/accuracy-frontier",
                                 config={"runs": res.analysis.runs, "errors": res.analysis.errors},
                                 seeds=[], ground_truth={"families": list(res.analysis.families)},
                                 seconds=res.seconds))
    result.notes.append(f"spot-check: reproduced {res.reproduced}/{res.checked} rows from their commands"
                        + ("" if not res.mismatches else " (" + "; ".join(res.mismatches[:3]) + ")"))
    result.figures.append(Figure(
        id="frontier-success", title="Algorithm 1: success against the target accuracy",
        caption=(r"Per d, the share of runs that fitted every direction against $\log_{10}(1/\varepsilon)$ (Wilson 95% "
                 r"bars), per family (spectrum shifted with $\varepsilon$; spectrum fixed) and m, with the logistic "
                 r"fit; dotted $e^{-d/\ln d}$, dashed $e^{-d/(2\ln d)}$. float64."),
        path="figures/frontier-success.svg", claims=["P11", "P7"]))
    result.figures.append(Figure(
        id="frontier-measures", title="Algorithm 1: continuous measures against the target accuracy",
        caption=(r"$\max_j |res_j|/a_j$ at the end, the free components at the epoch where $\beta \le a_r$, and "
                 r"$t(u_r)/(\ln(1/\delta_0)/(2a_r))$, one colour per d; crosses: high precision."),
        path="figures/frontier-measures.svg", claims=["P11"]))


STAGE = Stage(NAME, "Accuracy frontier (exp(-o(d/log d))), from the evidence store", run)
