"""Stage ``invariants``: the invariant checkers (:class:`verify.invariants.Invariants`) on every trajectory
this audit made, the P9 norm/correlation plot, the property sweep (:func:`verify.experiments.invariant_sweep`),
the checker x mutant table (:func:`verify.mutants.mutant_table`: every checker on deliberately broken flows) and
P8's kicked-cluster decay rates against C11 (:func:`verify.mutants.cluster_kick_rates`).

``results``: :class:`InvariantsResult`: every :class:`verify.invariants.Verdict` with the trajectory it was
taken on (``source``: ``figure1``, ``spread-plain``, ``spread-modified``), and the sweep's per-checker rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._types import Figure, Stage, StageContext, StageResult

if TYPE_CHECKING:
    from verify.invariants import Verdict

NAME = "invariants"


@dataclass(frozen=True)
class SourcedVerdict:
    """A verdict and the audited trajectory it was taken on."""

    source: str
    verdict: "Verdict"

    def to_dict(self) -> dict:
        return {**self.verdict.to_dict(), "source": self.source}


@dataclass
class SweepRow:
    """One checker over the sweep's instances: decided verdicts (``applicable``), how many passed, the worst
    margin and the command of its instance, and the command of every failed instance."""

    passed: int
    applicable: int
    worst_margin: float
    worst_command: str | None
    failed_commands: list[str]

    @property
    def failed(self) -> int:
        return self.applicable - self.passed


@dataclass
class SweepSummary:
    """The property sweep: ``n`` random instances in the paper's regime from generator seed ``seed``; rows
    keyed ``"<claim> <checker>"`` (e.g. ``"P1 deflation_order"``)."""

    n: int
    seed: int
    rows: dict[str, SweepRow]
    instances: list[dict]  # {"command", "verdicts": [Verdict]}
    seconds: float

    def for_claim(self, claim: str) -> dict[str, SweepRow]:
        return {key: row for key, row in self.rows.items() if key.split()[0] == claim}


@dataclass
class InvariantsResult:
    verdicts: list[SourcedVerdict]
    sweep: SweepSummary | None = None
    sweep_error: str | None = None
    sources: list[str] = field(default_factory=list)
    sizes: dict[str, dict] = field(default_factory=dict)  # per source: d, m, r, l, seeds of its runs
    mutants: dict | None = None      # verify.mutants.mutant_table: which checker catches which broken flow
    kick_rates: list[dict] = field(default_factory=list)  # verify.mutants.cluster_kick_rates (P8 vs C11)
    mutants_error: str | None = None

    def for_claim(self, claim: str) -> list[SourcedVerdict]:
        return [v for v in self.verdicts if v.verdict.claim == claim]


def run_sweep(n: int, seed: int = 0, progress=None) -> SweepSummary:
    """The property sweep behind ``deflation check --sweep N`` (:func:`verify.experiments.invariant_sweep`)."""
    from verify.experiments import invariant_sweep

    data = invariant_sweep(n, seed=seed, progress=progress)
    return SweepSummary(n=n, seed=seed, rows={key: SweepRow(**row) for key, row in data["claims"].items()},
                        instances=[{"command": inst["command"], "verdicts": inst["verdicts"]}
                                   for inst in data["instances"]], seconds=data["seconds"])


def run(ctx: StageContext, result: StageResult) -> None:
    from verify import invariants

    sources = {"figure1": ctx.artifacts["figure1"]}
    for label, trajectory in (ctx.artifacts.get("spread") or {}).items():
        sources[f"spread-{label}"] = trajectory
    checks = invariants.Invariants()
    verdicts = []
    for source, trajectory in sources.items():
        ctx.progress.message(f"invariants: checking {source} ({trajectory.batch} run(s))")
        verdicts += [SourcedVerdict(source, v) for v in checks.check(trajectory)]
    sizes = {source: {"d": int(tr.U.shape[1]), "m": int(tr.config["m"]), "r": int(tr.U.shape[2]),
                      "l": int(tr.order), "seeds": [int(s) for s in tr.seeds]} for source, tr in sources.items()}
    result.results = InvariantsResult(verdicts=verdicts, sources=list(sources), sizes=sizes)
    ctx.progress.message(f"invariants: {len(verdicts)} verdicts, {sum(v.verdict.failed for v in verdicts)} failed")

    stem = ctx.out / "figures" / "p9_norm_correlation"
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        invariants.plot_norm_correlation([sources["figure1"]], stem)
        result.figures.append(Figure(
            id="p9", title="P9: norm against correlation",
            caption=(r"Worst $1 - \max_i \langle \bar w_k, u_i\rangle^2$ over components with $\|w_k\| \ge \tau$, "
                     r"against $\tau$, on the Figure 1 runs (SPEC section 2 measured about $(\delta_0/\tau)^4$). "
                     "Filled: measured, above the "
                     "resolution floor of the recorded correlations; hollow triangles on the floor: unresolved "
                     "(the value is at most the floor); the shaded band is below the floor."),
            path="figures/p9_norm_correlation.svg", claims=["P9"]))
    except Exception as err:  # the plot is evidence for P9 only: keep the verdicts
        result.notes.append(f"P9 plot failed: {type(err).__name__}: {err}")

    from verify import mutants

    ctx.progress.message("invariants: checker mutants (broken flows on the reference instance) and the kicked cluster")
    try:
        result.results.mutants = mutants.mutant_table()
        result.results.kick_rates = [mutants.cluster_kick_rates(lam=lam, order=order)
                                     for order in (3, 4) for lam in (0.0, 0.1)]
    except Exception as err:  # evidence about the checkers: reported, the verdicts stand
        result.results.mutants_error = f"{type(err).__name__}: {err}"

    if ctx.profile.sweep_n > 0:
        ctx.progress.message(f"invariants: property sweep over {ctx.profile.sweep_n} random instance(s)")
        try:
            result.results.sweep = run_sweep(ctx.profile.sweep_n, progress=lambda i, n: ctx.progress(i, n, "sweep"))
        except Exception as err:  # the sweep is a summary: its failure is reported, the verdicts stand
            result.results.sweep_error = f"{type(err).__name__}: {err}"
    ctx.artifacts[NAME] = verdicts


STAGE = Stage(NAME, "Invariants along the trajectories and the property sweep", run, requires=("figure1",))
