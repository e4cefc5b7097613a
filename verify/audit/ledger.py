"""The ledger (SPEC section 3): from stage results to a status for every claim P1–P12 and C1–C13.

This module is the only place where a status is decided. It reads :class:`StageResult` records (their
``status`` and normalized ``results``) and returns :class:`LedgerEntry` rows; it runs nothing and draws
nothing, and the renderer only displays what it returns.

Statuses (SPEC section 3), strongest first (:data:`STATUS_ORDER`):

- **proven**: a symbolic proof for every d (proofs_check's ``status`` "proven" with ``scope["d"] == "all"``); the
  entry's ``scope`` states the l range and ``lemmas`` the stated lemmas it rests on.
- **verified**: exact checks at the listed instances only (``scope`` lists d and l).
- **supported**: numeric evidence, ``k`` of ``n`` runs agree, with the Wilson 95% interval ``ci95``
  (:func:`wilson_interval`, scipy's ``binomtest(k, n).proportion_ci(method="wilson")``) and the ``sizes`` of the
  runs counted (d, m, r, l, seeds).
- **open**: the evidence is missing (its stage failed or did not run in this profile) or does not decide the
  claim (e.g. an existence claim with unquantified constants that a finite run did not reproduce).
- **refuted**: a check that covers the claim's regime failed; the entry carries the counterexample and the
  command that reproduces it.
- **irreproducible**: the evidence store a claim is decided from (the phase stage's campaigns) holds a row that
  a re-run from its own command did not reproduce (:func:`verify.sweep.spotcheck.spot_check`): nothing is
  decided from that store; the entry carries the rows, their commands and the fields that differ.

A claim that rests on others (:data:`RESTS_ON`, SPEC's evidence column: P2 on C5, P3 on C6 and C7, P5 on C10)
takes the weakest status among its own and theirs (:func:`weakest`).

The rules, claim by claim (each is a function below with the same statement in its docstring):

====  ======================================================================================================
C*    proofs_check ``proven`` for all d -> proven; ``proven`` at listed d, ``verified`` or ``pass`` -> verified
      (instances listed); ``fail`` -> refuted (the failing checks); not run -> open (C9 also cites the
      ``descent`` invariant along the audited runs; it does not decide C9)
P1    with the phase stage's plain campaign: every plain run (every m), the order among the directions it
      fitted, ties as DeflationOrder -> all in the order of a_j: supported (k/n), else refuted (their
      commands); a campaign's spot-check mismatch -> irreproducible; the fixed-m verdicts and Algorithm 1's
      order are cited. Without a plain campaign:
      invariant verdicts ``P1`` on every audited run and the property sweep: any failed -> refuted; all passed ->
      supported (k/n = decided verdicts); none applicable -> open
P2    status of C5 (tangential speed independent of the component's own norm)
P3    the numeric comparison with the power method on the first plateau (``P3`` verdicts of
      :class:`verify.invariants.PowerMethodTracking`): all passed -> supported, one failed -> refuted, none ->
      open; then the weakest of that, C6 and C7
P4    every Figure 1 run discovers the largest a_j first, and the tensor power method rows of the baselines on
      orthogonal instances recover every component in the order of a_j -> supported; a miss -> refuted
P5    C10 verified and every Figure 1 run fits every direction, and no ``P5`` verdict failed -> supported;
      C10 refuted or a ``P5`` verdict failed -> refuted
P6    invariant verdicts ``P6`` (as P1)
P7    from the ``frontier`` stage (the evidence store's accuracy-frontier campaign): its float64 runs inside
      Theorem 1's regime (eps >= exp(-d/ln d)) at the campaign's largest m all recover every direction ->
      supported (k/n, Wilson interval); a miss or no run in the regime -> open ("not reproduced": the theorem's
      parameters are unquantified); float64 deviating from high precision by more than 1e-6 on the stiff
      Algorithm 1 cross-check -> open; the campaign absent or its stage failed -> open, saying so; a
      spot-check mismatch -> irreproducible. The audit's other Algorithm 1 runs are cited, not counted
P8    invariant verdicts ``P8`` (as P1)
P9    invariant verdicts ``P9`` (as P1)
P10   invariant verdicts ``P10`` (as P1)
P11   from the ``frontier`` stage: the campaign statistics' reading of the ``fixed`` family (eps alone varies):
      "not binding here" -> supported, "needed" -> refuted (the reading and its trends as the counterexample),
      "inconclusive at these sizes" -> open; k/n: the runs at the two smallest eps of each d that succeeded;
      the campaign absent or its stage failed -> open, saying so; a spot-check mismatch -> irreproducible.
      The audit's Algorithm 1 runs below the bound (spread spectrum, scale) are cited, not counted
P12   with the phase stage's campaigns: m_90 per line and algorithm (order-statistic intervals); every
      plain line that the order law puts inside its grid has a finite m_90 -> supported (k/n runs at
      m >= m_90); such a line above its grid -> open (no refutation: "large enough" may lie beyond); a
      spot-check mismatch -> irreproducible. Without plain runs in the store: a failed ``P12`` verdict -> refuted; else
      every Figure 1 run fits every direction -> supported
====  ======================================================================================================

Whenever a required stage failed, the claim is open and the evidence names the stage and its error. The
rules read the stages' result dataclasses (``verify/audit/stages/*.py``); a rule that meets malformed input
raises (a bug to fix, found by ``tests/test_audit.py``, which runs every rule on real stage results), it does
not turn into an "open" claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from solver.spec import Command

from ._types import Evidence, LedgerEntry, StageResult
from .stages.invariants import SourcedVerdict, SweepRow

__all__ = ["CLAIMS", "FAMILIES", "ClaimInfo", "decide_ledger", "decide_claim", "CLAIM_IDS", "STATUS_ORDER", "RESTS_ON",
           "weakest", "wilson_interval", "theorem1_bound"]

Stages = Mapping[str, StageResult]


@dataclass(frozen=True)
class ClaimInfo:
    """A ledger row's fixed part: the claim as SPEC section 3 states it, its family and evidence kind."""

    id: str
    title: str
    family: str
    evidence_kind: str


FAMILIES: dict[str, dict] = {
    "flow": {"title": "The flow and its geometry", "figures": []},
    "power": {"title": "Small components: the tensor power method", "figures": ["baselines"]},  # Figure 1 is under deflation
    "deflation": {"title": "Deflation: order, plateaus and fitting", "figures": ["figure1"]},
    "stability": {"title": "Local stability and the norm/correlation invariant", "figures": ["p9"]},
    "algorithm": {"title": "Over-parametrization and Algorithm 1", "figures": ["spread", "scale"]},
    "precision": {"title": "Precision and the accuracy regime",
                  "figures": ["precision", "frontier-success", "frontier-measures"]},
    "beyond": {"title": "Beyond the paper's claims (no claim decided here)",
               "figures": ["beyond-coherence", "beyond-orders"]},
}

_CLAIM_LIST = [
    ClaimInfo("P1", "Gradient flow fits larger components first, then smaller (deflation order), for orthogonal "
                    "T* and m large enough", "deflation", "trajectories + property tests"),
    ClaimInfo("P2", "The 1/||w||^2 normalization makes the direction's speed independent of its norm", "flow",
              "symbolic C5"),
    ClaimInfo("P3", "While components are small, each moves like the tensor power method", "power",
              "symbolic C6, C7 (+ numeric comparison)"),
    ClaimInfo("P4", "Power method from random starts discovers the largest components (Anandkumar et al. 2014)",
              "power", "numeric"),
    ClaimInfo("P5", "A discovered component grows quickly in norm and fits its ground truth (coefficient a_i, or "
                    "a_i - lambda/2)", "deflation", "symbolic C10 + numeric"),
    ClaimInfo("P6", "Flat regions = components small and T* - T stable; decreasing regions = a component being "
                    "fitted", "deflation", "numeric"),
    ClaimInfo("P7", "Theorem 1: the modified flow recovers all components to accuracy eps, eps >= exp(-o(d/log d))",
              "algorithm", "accuracy-frontier campaign + float64 vs high precision"),
    ClaimInfo("P8", "Local stability: components fitted to a ground truth stay close to it, individually and on "
                    "average", "stability", "invariant along trajectories"),
    ClaimInfo("P9", "Norm/correlation: a component whose norm crosses a threshold is highly correlated with some u_i",
              "stability", "invariant along trajectories"),
    ClaimInfo("P10", "The residual T* - T stays close to an orthogonal tensor", "stability", "numeric"),
    ClaimInfo("P11", "The exp(-o(d/log d)) restriction is mild: in practice below numerical precision", "precision",
              "accuracy-frontier campaign (float64 + high precision)"),
    ClaimInfo("P12", "Plain gradient flow fits orthogonal T* well as long as m is large enough", "algorithm",
              "numeric (success rate vs m)"),
    ClaimInfo("C1", "<u^l, v^l> = (u.v)^l", "flow", "symbolic"),
    ClaimInfo("C2", "Gradient of R(w^l)/||w||^(l-2)", "flow", "symbolic"),
    ClaimInfo("C3", "The full -grad L", "flow", "symbolic"),
    ClaimInfo("C4", "Radial law: d||w||/dt = 2||w|| R(wbar^l) - lambda ||w||", "flow", "symbolic"),
    ClaimInfo("C5", "Tangential law (independent of the component's own norm) and the unnormalized contrast", "flow",
              "symbolic"),
    ClaimInfo("C6", "Small-norm limit = Riemannian gradient of T*(x^l) on the sphere", "power", "symbolic"),
    ClaimInfo("C7", "Orthogonal coordinates and the log-ratio law", "power", "symbolic"),
    ClaimInfo("C8", "The sphere is invariant", "flow", "symbolic"),
    ClaimInfo("C9", "dL/dt = -||grad L||^2", "flow", "symbolic"),
    ClaimInfo("C10", "Single fitted component: equilibrium ||w||^2 = a - lambda/2 and its linearization", "deflation",
              "symbolic"),
    ClaimInfo("C11", "A fitted cluster of two components: linearized tangential rates", "stability", "symbolic"),
    ClaimInfo("C12", "Time-rescaling symmetry", "flow", "symbolic"),
    ClaimInfo("C13", "The Gram identities of SPEC section 1", "flow", "symbolic"),
    ClaimInfo("C14", "The order law at T = 0: y_j = a_j x_j^(l-2) obeys dy_j/dt = l (l-2) y_j (y_j - f), so the "
                     "order of the y_j never changes", "power", "symbolic"),
]
CLAIMS: dict[str, ClaimInfo] = {c.id: c for c in _CLAIM_LIST}
CLAIM_IDS: tuple[str, ...] = tuple(c.id for c in _CLAIM_LIST)

# Default reproduce commands (the paper's sizes); entries use the audited run's own command where one exists.
_FIGURE1 = Command("figure1", out="results/figure1")
TRUST_DEVIATION = 1e-6  # P7: float64 evidence is trusted while it deviates less than this from high precision
_CHECK = Command("check", ["results/figure1"])


@dataclass
class _Decision:
    status: str
    summary: str
    details: list[str]
    stages: list[str]
    figures: list[str]
    reproduce: str
    counterexample: dict | None = None
    scope: dict | None = None          # {"d": "all" | [..], "l": "all" | "l>=3" | [..]}
    k: int | None = None               # supported: runs that agree with the claim ...
    n: int | None = None               # ... out of the decided runs
    sizes: list[dict] | None = None    # supported: {"source", "d", "m", "r", "l", "seeds"} per group of runs
    lemmas: list[str] | None = None    # proven: the lemmas the proof rests on

    @property
    def ci95(self) -> list[float] | None:
        return wilson_interval(self.k, self.n) if self.n else None


# Weakest last: a claim that rests on others takes the last of its own and their statuses in this order.
STATUS_ORDER = ("proven", "verified", "supported", "open", "refuted", "irreproducible")

# SPEC section 3's evidence column: the claims whose status rests on derivations.
RESTS_ON: dict[str, tuple[str, ...]] = {"P2": ("C5",), "P3": ("C6", "C7"), "P5": ("C10",)}


def weakest(*statuses: str) -> str:
    """The weakest of ``statuses`` in :data:`STATUS_ORDER` (proven > verified > supported > open > refuted >
    irreproducible)."""
    return max(statuses, key=STATUS_ORDER.index)


def wilson_interval(k: int, n: int) -> list[float]:
    """The Wilson 95% interval of ``k`` successes in ``n`` runs (scipy's ``binomtest(...).proportion_ci``)."""
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def _count(decision: _Decision, k: int, n: int, sizes: list[dict]) -> _Decision:
    """``decision`` with its k of n runs and their sizes (and a numeric scope: the d and l that ran)."""
    decision.k, decision.n, decision.sizes = int(k), int(n), sizes
    ds = sorted({s["d"] for s in sizes if s.get("d") is not None})
    ls = sorted({s["l"] for s in sizes if s.get("l") is not None})
    decision.scope = {"d": ds, "l": ls}
    if n:
        lo, hi = decision.ci95
        decision.summary += f" ({k}/{n} runs, Wilson 95% interval {lo:.2f}-{hi:.2f})"
    return decision


def _spec_size(spec, source: str, seeds=None) -> dict:
    """Sizes of a :class:`solver.spec.RunSpec`'s runs."""
    inst = spec.instance
    return {"source": source, "d": int(inst.d), "m": int(spec.config.m), "r": int(inst.truth().r),
            "l": int(inst.order), "seeds": [int(s) for s in (seeds if seeds is not None else spec.seeds)]}


# ----------------------------------------------------------------------------------------------- helpers

def _stage_problem(stages: Stages, name: str) -> str | None:
    """None when the stage ran; otherwise a sentence naming what happened to it."""
    stage = stages.get(name)
    if stage is None:
        return f"stage '{name}' did not run"
    if stage.status == "ok":
        return None
    return f"stage '{name}' {stage.status}: {stage.error or 'no error recorded'}"


def _run_command(stages: Stages, name: str, default: str, index: int = 0) -> str:
    stage = stages.get(name)
    if stage is not None and len(stage.runs) > index:
        return stage.runs[index].command
    return default


# Recovery verdicts on the spread spectrum's plain flow are cited, not decisive: P12 says "m large enough"
# without quantifying m, and SPEC section 2 documents that m = 50 fits only three of five there.
_CITED_ONLY = {("P12", "spread-plain")}


def _verdicts(stages: Stages, claim: str) -> list[SourcedVerdict]:
    stage = stages.get("invariants")
    if stage is None or stage.status != "ok":
        return []
    return stage.results.for_claim(claim)


def _verdict_line(sv: SourcedVerdict) -> str:
    v = sv.verdict
    return (f"{v.name} on {sv.source} run {'all' if v.run is None else v.run}: {v.status.value}, "
            f"margin {_fmt(v.margin)}, worst {_fmt(v.worst)}" + (f" ({v.why})" if v.why else ""))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in value.items()) + "}"
    return str(value)


def _counterexample_from_verdict(stages: Stages, sv: SourcedVerdict) -> dict:
    command = None
    if sv.source == "figure1":
        command = _run_command(stages, "figure1", _FIGURE1)
    elif sv.source.startswith("spread-"):
        stage = stages.get("spread")
        for run in (stage.runs if stage else []):
            if sv.source.split("-", 1)[1] in run.label:
                command = run.command
    return {"source": sv.source, "run": sv.verdict.run, "verdict": sv.verdict.to_dict(),
            "reproduce": f"{command} && deflation check {_out_of(command)}" if command else None}


def _out_of(command: str) -> str:
    """Where the run ``command`` writes: its :class:`Command` ``out``, else ``deflation run``'s default."""
    return getattr(command, "out", None) or "results/run"


def _sweep_rows(stages: Stages, claim: str) -> dict[str, SweepRow]:
    """The property sweep's per-checker rows for ``claim`` (keys ``"P1 deflation_order"`` etc.)."""
    stage = stages.get("invariants")
    if stage is None or stage.status != "ok" or stage.results.sweep is None:
        return {}
    return stage.results.sweep.for_claim(claim)


def _sweep_lines(stages: Stages, claim: str) -> list[str]:
    """What the property sweep says about ``claim``, one line per checker."""
    stage = stages.get("invariants")
    if stage is None or stage.status != "ok":
        return []
    if stage.results.sweep_error:
        return [f"property sweep failed: {stage.results.sweep_error}"]
    if stage.results.sweep is None:
        return []
    n = stage.results.sweep.n
    return [f"property sweep ({n} random instances) {key}: passed {row.passed}/{row.applicable} "
            f"decided, worst margin {_fmt(row.worst_margin)}" for key, row in _sweep_rows(stages, claim).items()]


def _from_verdicts(stages: Stages, claim: str, reproduce: str, figures: list[str]) -> _Decision | None:
    """Rule shared by the invariant claims. Evidence: the applicable verdicts for ``claim`` on the audited
    runs (those in ``_CITED_ONLY`` excluded) and the property sweep's rows. Any failure -> refuted (the first
    failure is the counterexample); all passed -> supported; nothing applicable -> None (caller decides)."""
    everything = _verdicts(stages, claim)
    verdicts = [v for v in everything if v.verdict.decided and (claim, v.source) not in _CITED_ONLY]
    cited = [v for v in everything if v.verdict.decided and (claim, v.source) in _CITED_ONLY]
    undecided = [v for v in everything if not v.verdict.decided]
    sweep = {k: r for k, r in _sweep_rows(stages, claim).items() if r.applicable}
    if not verdicts and not sweep:
        return None
    failed = [v for v in verdicts if v.verdict.failed]
    sweep_failed = {k: r for k, r in sweep.items() if r.failed}
    sources = sorted({v.source for v in verdicts})
    details = ([_verdict_line(v) for v in (failed or verdicts)[:8]]
               + [f"cited, not decisive: {_verdict_line(v)}" for v in cited] + _sweep_lines(stages, claim)
               + [f"undecided: {_verdict_line(v)}" for v in undecided])
    if failed or sweep_failed:
        if failed:
            counterexample = _counterexample_from_verdict(stages, failed[0])
        else:
            key, row = next(iter(sweep_failed.items()))
            command = (row.failed_commands or [row.worst_command])[0]
            counterexample = {"source": "property sweep", "checker": key, "row": row.__dict__,
                              "reproduce": f"{command} --out results/counterexample && deflation check "
                                           "results/counterexample" if command else None}
        n_fail = len(failed) + sum(r.failed for r in sweep_failed.values())
        n_all = len(verdicts) + sum(r.applicable for r in sweep.values())
        return _count(_Decision("refuted", f"{n_fail} {claim} check(s) failed"
                         + (f" on {', '.join(sorted({v.source for v in failed}))}" if failed else "")
                         + (" in the property sweep" if sweep_failed else ""),
                         details, ["invariants"], figures, reproduce, counterexample),
                      n_all - n_fail, n_all, _verdict_sizes(stages, verdicts, sweep))
    margins = [v.verdict.margin for v in verdicts]
    n_sweep = sum(r.applicable for r in sweep.values())
    summary = (f"all {len(verdicts)} {claim} verdicts passed" + (f" on {', '.join(sources)}" if sources else "")
               + (f" and {n_sweep}/{n_sweep} sweep checks" if n_sweep else "")
               + (f"; smallest margin {min(margins):.3g}" if margins else ""))
    return _count(_Decision("supported", summary, details, ["invariants"], figures, reproduce),
                  len(verdicts) + n_sweep, len(verdicts) + n_sweep, _verdict_sizes(stages, verdicts, sweep))


def _verdict_sizes(stages: Stages, verdicts: list[SourcedVerdict], sweep: dict) -> list[dict]:
    """Sizes of the audited runs the verdicts were taken on, and of the property sweep when it counted."""
    known = getattr(stages["invariants"].results, "sizes", None) or {}
    out = [dict(known.get(source, {}), source=source) for source in sorted({v.source for v in verdicts})]
    if sweep:
        summary = stages["invariants"].results.sweep
        out.append({"source": "property sweep", "instances": summary.n, "generator_seed": summary.seed})
    return out


def _open(reason: str, stages_used: list[str], reproduce: str, details: list[str] | None = None,
          figures: list[str] | None = None) -> _Decision:
    return _Decision("open", reason, details or [], stages_used, figures or [], reproduce)


# ------------------------------------------------------------------------------------------ derivations

def decide_derivation(stages: Stages, claim: str) -> _Decision:
    """C*: proofs_check's record decides. ``status`` ``proven`` with ``scope["d"] == "all"`` -> proven (the
    scope's l range and the ``lemmas`` it rests on are carried); ``proven`` over a listed d, ``verified`` or
    ``pass`` -> verified at the listed instances (``scope``, else ``covered``); ``fail`` / ``refuted`` ->
    refuted with the failing checks as the counterexample; the stage failed or the claim was not run -> open.
    Nothing is called proven that was checked at instances only."""
    reproduce = f"deflation derive --claim {claim} --format md"
    problem = _stage_problem(stages, "derivations")
    if problem:
        return _open(problem, ["derivations"], reproduce)
    data = stages["derivations"].results.by_id().get(claim)
    if data is None:
        return _open(f"{claim} was not run in this profile", ["derivations"], reproduce)
    covered, checks = data.covered, data.checks
    scope = dict(getattr(data, "scope", None) or {"d": covered.get("d"), "l": covered.get("l")})
    lemmas = list(getattr(data, "lemmas", None) or [])
    details = [f"scope d = {scope.get('d')}, l = {scope.get('l')}; instance checks at d = {covered['d']}, "
               f"l = {covered['l']}",
               "checks: " + ", ".join(f"{k} {_fmt(v)}" for k, v in checks.items()),
               f"{_fmt(data.seconds)} s"] + [f"rests on the lemma: {lemma}" for lemma in lemmas]
    if claim == "C9":  # numeric companion (not decisive): the descent invariant along the audited runs
        descent = [v for v in _verdicts(stages, "descent") if v.verdict.decided]
        if descent:
            details.append(f"descent invariant along the audited runs (cited): held in "
                           f"{sum(v.verdict.passed for v in descent)}/{len(descent)} runs")
    if data.status in ("fail", "refuted"):
        return _Decision("refuted", f"proofs_check reports a failure ({_covered(covered)})", details,
                         ["derivations"], [], reproduce, {"checks": checks, "covered": covered, "reproduce": reproduce},
                         scope=scope)
    if data.status == "proven" and scope.get("d") == "all":
        return _Decision("proven", f"symbolic proof for every d, l {_l_range(scope.get('l'))}"
                         + (f", resting on {len(lemmas)} stated lemma(s)" if lemmas else "")
                         + f"; instance, 50-digit and solver-code checks pass ({_covered(covered)})",
                         details, ["derivations"], [], reproduce, scope=scope, lemmas=lemmas)
    if data.status in ("pass", "verified", "proven"):
        if scope.get("d") == "all":  # "verified" yet scope says all d: the instances are what was checked
            scope = {"d": covered.get("d"), "l": covered.get("l")}
        return _Decision("verified", f"exact checks at the listed instances only ({_covered(scope)}); "
                         "symbolic, 50-digit and solver-code checks pass", details, ["derivations"], [], reproduce,
                         scope=scope, lemmas=lemmas or None)
    raise ValueError(f"{claim}: unknown proofs_check status {data.status!r}")


def _l_range(l_scope) -> str:
    if l_scope in ("all", None):
        return ">= 3 (all orders)"
    return l_scope.replace("l", "") if isinstance(l_scope, str) else f"in {l_scope}"


def _covered(covered: dict) -> str:
    return f"d in {covered.get('d')}, l in {covered.get('l')}"


def _from_symbolic(stages: Stages, claim: str, symbolic: list[str], reproduce: str) -> _Decision:
    """The weakest status of the listed C claims (:func:`weakest`), with the scope they share when proven or
    verified; a refuted one is the counterexample."""
    parts = {c: decide_derivation(stages, c) for c in symbolic}
    details = [f"{c}: {d.status} ({d.summary})" for c, d in parts.items()]
    status = weakest(*(d.status for d in parts.values()))
    if status == "refuted":
        bad = [c for c, d in parts.items() if d.status == "refuted"]
        return _Decision("refuted", f"derivation {', '.join(bad)} failed", details, ["derivations"], [], reproduce,
                         parts[bad[0]].counterexample)
    if status in ("proven", "verified"):
        scopes = [d.scope or {} for d in parts.values()]
        scope = scopes[0] if len({str(sc) for sc in scopes}) == 1 else {"d": [sc.get("d") for sc in scopes],
                                                                          "l": [sc.get("l") for sc in scopes]}
        return _Decision(status, f"follows from {', '.join(symbolic)} ({status})", details, ["derivations"], [],
                         reproduce, scope=scope,
                         lemmas=sorted({x for d in parts.values() for x in (d.lemmas or [])}) or None)
    return _open(f"derivation(s) {', '.join(c for c, d in parts.items() if d.status not in ('proven', 'verified'))} "
                 "not proven or verified", ["derivations"], reproduce, details)


# ----------------------------------------------------------------------------------------- paper claims

def _phase(stages: Stages):
    """The phase stage's results, or None when it did not run (then the older evidence decides alone)."""
    stage = stages.get("phase")
    if stage is None or stage.status != "ok" or stage.results is None:
        return None
    return stage.results


def _frontier(stages: Stages):
    """The frontier stage's results (:class:`verify.audit.stages.frontier.FrontierStageResult`), or None."""
    stage = stages.get("frontier")
    if stage is None or stage.status != "ok" or stage.results is None:
        return None
    return stage.results


_FRONTIER_COMMAND = "deflation probe --campaign float64 --out evidence/accuracy-frontier"


def _store_arg(store: str) -> str:
    """The campaign folder as ``--out`` shows it: relative to the repository when it lies inside it."""
    root = Path(__file__).resolve().parents[2]
    path = Path(store).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else store


def _frontier_missing(stages: Stages) -> str:
    """Why the accuracy-frontier evidence is missing: the stage did not run, failed, or found no campaign."""
    problem = _stage_problem(stages, "frontier")
    if problem is not None:
        return problem
    return ("the frontier stage found no accuracy-frontier campaign in the evidence store (`deflation probe "
            "--campaign float64` builds it)")


def _frontier_irreproducible(front, claim: str) -> _Decision | None:
    """``irreproducible`` when the frontier campaign's spot-check re-ran a row to another outcome."""
    if not front.mismatches:
        return None
    return _Decision("irreproducible", f"{claim} rests on the accuracy-frontier campaign, whose spot-check reproduced "
                     f"{front.reproduced}/{front.checked} rows", list(front.mismatches), ["frontier"],
                     ["frontier-success"], _FRONTIER_COMMAND)


def _irreproducible(phase, claim: str, reproduce: str, figures: list[str]) -> _Decision | None:
    """``irreproducible`` when a campaign the phase stage read failed its spot-check (a loud failure: the
    mismatching rows, their commands and fields are the counterexample), else None."""
    bad = list(phase.irreproducible)
    if not bad:
        return None
    mismatches = [m for c in bad for m in c.spot.mismatches]
    details = [c.line() for c in bad] + [f"row {m.key}: {m.field} recorded {_fmt(m.recorded)}, re-run "
                                         f"{_fmt(m.rerun)} ({m.command})" for m in mismatches[:8]]
    first = mismatches[0]
    return _Decision("irreproducible", f"{claim} rests on campaign(s) {', '.join(c.name for c in bad)}, whose "
                     f"spot-check did not reproduce: {'; '.join(c.spot.line() for c in bad)}", details,
                     ["phase"], figures, reproduce,
                     {"campaigns": [c.name for c in bad], "key": first.key, "field": first.field,
                      "reproduce": first.command,
                      "mismatches": [m.__dict__ for m in mismatches[:20]]})


def _campaign_command(phase, algorithm: str) -> str:
    """The ``deflation sweep`` command that builds (or resumes) the campaigns holding ``algorithm``'s runs."""
    names = [c for c in phase.campaigns if algorithm in c.algorithms]
    return " && ".join(f"deflation sweep {c.name} --out {c.out}" for c in names) or "deflation sweep plain_m"


def _campaign_lines(phase) -> list[str]:
    """One line per campaign; a partial one also says that its m_needed and m_90 are taken over the m present."""
    return [f"evidence store: {c.line()}" + ("; partial: each seed's m_needed and each line's m_90 are taken over "
                                            "the grid m present so far" if c.status == "partial" else "")
            for c in phase.campaigns]


def _from_evidence(evidence, stages_used: list[str], figures: list[str], reproduce: str,
                   details: list[str], sizes: list[dict] | None = None) -> _Decision:
    """A :class:`verify.sweep.claims.ClaimEvidence` as the claim's decision (its status is the ledger's
    vocabulary: supported / refuted / open); its commands become the counterexample when refuted."""
    counterexample = None
    if evidence.status == "refuted":
        counterexample = {"reproduce": evidence.commands[0] if evidence.commands else reproduce,
                          "commands": list(evidence.commands)}
    decision = _Decision(evidence.status, evidence.statement, details, stages_used, figures, reproduce,
                         counterexample)
    counted = _evidence_counts(evidence)
    if counted is not None:
        k, n, own = counted
        _count(decision, k, n, own or sizes or [])
    return decision


def _evidence_counts(evidence) -> tuple[int, int, list[dict]] | None:
    """k of n runs behind a sweep's :class:`verify.sweep.claims.ClaimEvidence` (its own ``k``/``n`` when it has
    them; P1: the runs checked for order; P12: the runs at m >= m*), or None when it does not count runs."""
    if getattr(evidence, "n", None) is not None:
        return int(evidence.k), int(evidence.n), list(getattr(evidence, "sizes", []) or [])
    details = evidence.details or {}
    if "checked" in details:
        return details["checked"] - details.get("out_of_order", 0), details["checked"], []
    if "m_star" in details:
        lines = [e for e in details["m_star"] if e.get("m_over_r") is not None]
        n = sum(e.get("runs_at_or_above", 0) for e in lines)
        k = n - sum(e.get("failures_at_or_above", 0) for e in lines)
        sizes = [{"source": "phase sweep", "d": e.get("d"), "m": e.get("m"), "r": e.get("r"),
                  "spread": e.get("spread")} for e in lines]
        return (k, n, sizes) if n else None
    return None


def decide_p1(stages: Stages) -> _Decision:
    """P1: with the phase stage's plain campaign, every plain run decides (at every m of the grid, also the runs
    that did not fit every direction: the order among the directions each fitted, ties as
    :class:`verify.invariants.DeflationOrder` treats them, :func:`verify.sweep.claims.p1_all_runs`): all in the
    order of the a_j -> supported (k of n runs), else refuted with their commands; a campaign whose spot-check
    failed -> irreproducible. The verdicts on the audit's fixed-m runs and Algorithm 1's order in its campaign
    are cited. Without a plain campaign: invariant verdicts ``P1`` on every audited run: any failed -> refuted
    with the counterexample; all passed -> supported; none (the invariants stage failed) -> open, with the
    Figure 1 discovery order cited as partial evidence."""
    reproduce = f"{_run_command(stages, 'figure1', _FIGURE1)} && {_CHECK}"
    decision = _from_verdicts(stages, "P1", reproduce, ["figure1"])
    figure1 = _figure1_lines(stages)
    phase = _phase(stages)
    if phase is not None:
        bad = _irreproducible(phase, "P1", reproduce, ["figure1"])
        if bad is not None:
            return bad
        cited = ([f"audited runs at a fixed m (cited): {decision.status} -- {decision.summary}"]
                 if decision is not None else [])
        cited += [f"Algorithm 1 (cited, P1 is about the plain flow): {phase.p1_modified.statement}"]
        if phase.p1.n:
            return _from_evidence(phase.p1, ["phase", "invariants", "figure1"], ["figure1"],
                                  _campaign_command(phase, "plain"), _campaign_lines(phase) + cited
                                  + figure1)
        figure1 = [f"campaigns: {phase.p1.statement}"] + _campaign_lines(phase) + cited + figure1
    if decision is not None:
        decision.details += figure1
        return decision
    return _open(_stage_problem(stages, "invariants") or "no P1 verdict was produced", ["invariants", "figure1"],
                 reproduce, figure1, ["figure1"])


def _figure1_lines(stages: Stages) -> list[str]:
    stage = stages.get("figure1")
    if stage is None or stage.status != "ok":
        return []
    r = stage.results
    n = len(r.ordered)
    times = ", ".join("never" if t is None else f"{t:.1f}" for t in r.mean_discovery_times)
    return [f"Figure 1: discovery order = order of decreasing a_j in {sum(r.ordered)}/{n} runs; "
            f"mean discovery times {times}"]


def decide_p2(stages: Stages) -> _Decision:
    """P2: the status of C5 (the tangential law does not depend on the component's own norm)."""
    return _from_symbolic(stages, "P2", ["C5"], "deflation derive --claim C5 --format md")


def decide_p3(stages: Stages) -> _Decision:
    """P3: the numeric comparison on the first plateau decides (``P3`` verdicts of
    :class:`verify.invariants.PowerMethodTracking`: every small component's angle to the power-method ODE of C7,
    integrated from the same W(0), stays within its margin of max_i c_i(t)): all passed -> supported (k of n
    runs), one failed -> refuted; none -> open. The ledger then lowers it to the weakest of C6 and C7
    (:data:`RESTS_ON`): P3 never says more than its derivations do."""
    reproduce = f"{_run_command(stages, 'figure1', _FIGURE1)} && {_CHECK}"
    symbolic = _from_symbolic(stages, "P3", ["C6", "C7"], "deflation derive --claim C6 --claim C7 --format md")
    numeric = _from_verdicts(stages, "P3", reproduce, ["figure1"])
    if numeric is None:
        return _open(_stage_problem(stages, "invariants") or "no numeric comparison with the power method ran",
                     ["invariants", "derivations"], reproduce, symbolic.details)
    numeric.details = symbolic.details + numeric.details
    numeric.stages = ["invariants", "derivations"]
    return numeric


def decide_p4(stages: Stages) -> _Decision:
    """P4: every Figure 1 run (random starts) discovers the direction of largest a_j first, and every tensor power
    method row of the baselines on an orthogonal instance recovers every component in the order of the a_j
    (:func:`verify.baselines.runner.p4_rows`) -> supported; a run that discovers another first, or a power-method
    row that misses a component or the order -> refuted (with its command); Figure 1 failed -> open. Without the
    baselines stage the Figure 1 evidence decides alone (and the details say so)."""
    reproduce = _run_command(stages, "figure1", _FIGURE1)
    problem = _stage_problem(stages, "figure1")
    if problem:
        return _open(problem, ["figure1"], reproduce)
    r = stages["figure1"].results
    firsts = r.first_is_largest
    details = [f"seed {seed}: discovery order {rank}" for seed, rank in zip(r.seeds, r.discovery_rank)]
    bad = [i for i, ok in enumerate(firsts) if not ok]
    if bad:
        return _Decision("refuted", f"{len(bad)}/{len(firsts)} Figure 1 runs discovered another direction first",
                         details, ["figure1"], ["figure1"], reproduce,
                         {"seed": r.seeds[bad[0]], "discovery_rank": r.discovery_rank[bad[0]], "reproduce": reproduce})
    summary = f"all {len(firsts)} Figure 1 runs (m = {r.spec.config.m} random starts) discover e_1 (largest a) first"
    used, figures = ["figure1"], ["figure1"]
    baselines = stages.get("baselines")
    if baselines is None or baselines.status != "ok" or baselines.results is None:
        details.append(_stage_problem(stages, "baselines") or "the profile ran no baselines")
        return _count(_Decision("supported", summary, details, used, figures, reproduce), len(firsts), len(firsts),
                      [_spec_size(r.spec, "figure1", r.seeds)])
    from verify.baselines.runner import p4_rows

    rows = p4_rows(baselines.results)
    used, figures = used + ["baselines"], figures + ["baselines"]
    for row in rows:
        details.append(f"{row.method} on {row.instance}: {row.success}/{row.seeds} recovered every component, "
                       f"{row.order_matches_a}/{row.seeds} in the order of a_j ({row.command})")
    for row in baselines.results.rows:
        if row.method in ("tpm", "tensorly_power") and row not in rows and row.seeds > 0:
            details.append(f"outside the claim (non-orthogonal T*): {row.method} on {row.instance} "
                           f"{row.success}/{row.seeds}")
    failing = [row for row in rows if row.success < row.seeds or (row.order_matches_a or 0) < row.seeds]
    if failing:
        row = failing[0]
        return _Decision("refuted", f"the tensor power method missed a component or the order on {row.instance}",
                         details, used, figures, row.command, {"method": row.method, "instance": row.instance,
                                                               "reproduce": row.command})
    if rows:
        summary += (f"; the tensor power method with deflation recovers every component in the order of a_j in "
                    f"{sum(row.seeds for row in rows)} runs over {len({row.instance for row in rows})} orthogonal "
                    "instance(s)")
    sizes = [_spec_size(r.spec, "figure1", r.seeds)] + [
        {"source": f"baselines {row.method} on {row.instance}", "seeds": row.seeds} for row in rows]
    total = len(firsts) + sum(row.seeds for row in rows)
    return _count(_Decision("supported", summary, details, used, figures, reproduce), total, total, sizes)


def decide_p5(stages: Stages) -> _Decision:
    """P5: C10 verified, every Figure 1 run fits every direction (residual <= 0.1 a_j at the end), and no
    ``P5`` verdict failed -> supported; C10 refuted or a ``P5`` verdict failed -> refuted; otherwise open."""
    reproduce = f"deflation derive --claim C10 && {_run_command(stages, 'figure1', _FIGURE1)} && {_CHECK}"
    symbolic = decide_derivation(stages, "C10")
    numeric = _from_verdicts(stages, "P5", reproduce, ["figure1"])
    details = [f"C10: {symbolic.status} ({symbolic.summary})"] + (numeric.details if numeric else [])
    if symbolic.status == "refuted":
        return _Decision("refuted", "derivation C10 failed", details, ["derivations"], [], reproduce,
                         symbolic.counterexample)
    if numeric is not None and numeric.status == "refuted":
        numeric.details = details
        return numeric
    problem = _stage_problem(stages, "figure1")
    if problem:
        return _open(problem, ["figure1", "derivations"], reproduce, details)
    fits = stages["figure1"].results.recovered_all
    details.append(f"Figure 1: every direction fitted in {sum(fits)}/{len(fits)} runs")
    if symbolic.status in ("proven", "verified") and all(fits):
        r1 = stages["figure1"].results
        summary = (f"C10 {symbolic.status} (equilibrium a - lambda/2, stable); every Figure 1 run fits every "
                   "direction" + ("; P5 verdicts pass" if numeric else ""))
        return _count(_Decision("supported", summary, details, ["derivations", "figure1", "invariants"], ["figure1"],
                                reproduce), len(fits), len(fits), [_spec_size(r1.spec, "figure1", r1.seeds)])
    reason = ("C10 not proven or verified" if symbolic.status not in ("proven", "verified")
              else "a Figure 1 run left a direction unfitted")
    return _open(reason, ["derivations", "figure1"], reproduce, details, ["figure1"])


def _invariant_claim(claim: str, figures: list[str]) -> Callable[[Stages], _Decision]:
    def decide(stages: Stages) -> _Decision:
        reproduce = f"{_run_command(stages, 'figure1', _FIGURE1)} && {_CHECK}"
        decision = _from_verdicts(stages, claim, reproduce, figures)
        if decision is not None:
            return decision
        return _open(_stage_problem(stages, "invariants") or f"no {claim} verdict was produced", ["invariants"],
                     reproduce, _sweep_lines(stages, claim), figures)

    decide.__doc__ = (f"{claim}: invariant verdicts ``{claim}`` on every audited run: any failed -> refuted "
                      "(first failure is the counterexample); all passed -> supported; none -> open.")
    return decide


def mutant_lines(stages: Stages, claim: str) -> list[str]:
    """What the checker x mutant table says about ``claim``'s checkers: which broken flows each catches."""
    stage = stages.get("invariants")
    if stage is None or stage.status != "ok":
        return []
    res = stage.results
    if getattr(res, "mutants_error", None):
        return [f"checker mutants failed: {res.mutants_error}"]
    table = getattr(res, "mutants", None)
    if not table:
        return []
    out = []
    for key in table["checkers"]:
        if key.split()[0] == claim or (claim == "P7" and key == "P12 recovery"):
            caught = [m for m, v in table["table"][key].items() if v == "caught"]
            out.append(f"checker {key} catches {len(caught)}/{len(table['mutants'])} broken flows"
                       + (f": {', '.join(caught)}" if caught else " (it cannot fail on these mutants)"))
    return out


def _kick_lines(stages: Stages) -> list[str]:
    stage = stages.get("invariants")
    if stage is None or stage.status != "ok":
        return []
    return [f"kicked two-component cluster (l = {k['order']}, lambda = {k['lambda']:g}): co-rotation rate "
            f"{k['co_rotation']['measured']:.6g} (C11: {k['co_rotation']['predicted']:.6g}), merging "
            f"{k['merging']['measured']:.3g} (C11: {k['merging']['predicted']:.3g}): "
            f"{'agree' if k['agree'] else 'DISAGREE'}" for k in (getattr(stage.results, "kick_rates", None) or [])]


decide_p6 = _invariant_claim("P6", ["figure1"])
decide_p8 = _invariant_claim("P8", ["figure1"])
decide_p9 = _invariant_claim("P9", ["p9"])
decide_p10 = _invariant_claim("P10", ["figure1"])


def theorem1_bound(d: int) -> float:
    """``exp(-d / ln d)``: the edge of Theorem 1's regime ``eps >= exp(-o(d/log d))`` (our reading)."""
    return math.exp(-d / math.log(d))


@dataclass
class _RunGroup:
    """One of the audit's own Algorithm 1 runs at (d, eps), as the line the ledger cites."""

    source: str
    d: int
    eps: float
    line: str

    @property
    def in_regime(self) -> bool:
        return self.eps >= theorem1_bound(self.d)


def _algorithm1_groups(stages: Stages) -> tuple[list[_RunGroup], list[str]]:
    """The audit's own Algorithm 1 runs with their (d, eps): the spread stage's modified runs and the scale stage's
    runs (cited beside the accuracy-frontier campaign, which decides P7 and P11); and a line per stage that did not
    run."""
    groups, problems = [], []
    if _stage_problem(stages, "spread") is None:
        out = stages["spread"].results.modified
        spec = out.spec
        d, eps = int(spec.instance.d), float(spec.config.eps)
        for seed, f, n_re in zip(out.seeds, out.fitted, out.reinitializations):
            groups.append(_RunGroup("spread", d, eps, f"spread spectrum, Algorithm 1, seed {seed}, eps = {eps:g}: "
                                    f"fitted {f}/{len(out.recovered[0])} directions ({n_re} re-initializations)"))
    else:
        problems.append(_stage_problem(stages, "spread"))
    scale = stages.get("scale")
    if scale is not None and scale.status == "ok" and scale.results:
        eps = float(scale.results.eps)
        for row in scale.results.rows:
            groups.append(_RunGroup("scale", row.d, eps,
                                    f"Algorithm 1 at d = {row.d}, m = {row.m} (random basis), eps = {eps:g}: fitted "
                                    f"{sum(row.recovered)}/{len(row.recovered)} directions, in the order of the a_j: "
                                    f"{'yes' if row.in_order else 'no'}, {row.seconds:.0f} s"))
    elif scale is not None:
        problems.append(_stage_problem(stages, "scale"))
    return groups, problems


def _cited_runs(groups: list[_RunGroup]) -> list[str]:
    """The audit's own Algorithm 1 runs as cited lines, each with the side of Theorem 1's bound it lies on."""
    return [f"cited, not counted ({'inside' if g.in_regime else 'below'} exp(-d/ln d) = "
            f"{_fmt(theorem1_bound(g.d))}): {g.line}" for g in groups]


def _frontier_sizes(front) -> list[dict]:
    """The accuracy-frontier campaign's float64 runs, one size per d (r = 4, order 4; the m it ran)."""
    cells = front.analysis.by_m
    ds = sorted({t.d for reading in cells.values() for t in reading.trends})
    ms = sorted({m for _family, m in cells})
    return [{"source": "accuracy-frontier (float64)", "d": int(d), "m": ms, "r": 4, "l": 4} for d in ds]


def decide_p7(stages: Stages) -> _Decision:
    """P7 from the ``frontier`` stage (the accuracy-frontier campaign of the evidence store,
    :func:`verify.experiments.frontier_stats.ledger_p7`): its float64 runs inside Theorem 1's regime
    (``eps >= exp(-d/ln d)``) at the campaign's largest m all recovered every direction -> supported, with k of n
    and the Wilson interval; a miss -> open ("not reproduced": Theorem 1 asserts success for suitable,
    unquantified parameters, so a run with our parameter choice cannot refute it); no run in the regime -> open;
    the campaign absent, or the frontier stage failed or did not run -> open, saying so; a spot-check mismatch ->
    irreproducible. The float64 vs high-precision cross-check on a stiff Algorithm 1 instance is cited; a
    relative deviation above ``TRUST_DEVIATION`` (1e-6) leaves P7 open (recovery is judged at 0.1 a_j, so only a
    deviation far above 1e-6 could change a recovery decision; the backend's own 1e-10 agreement target is shown
    beside it). The spread and scale stages' Algorithm 1 runs are cited, not counted."""
    groups, problems = _algorithm1_groups(stages)
    details = _cited_runs(groups) + [p for p in problems if p]
    precision = stages.get("precision")
    deviation = None
    if precision is not None and precision.status == "ok":
        r = precision.results
        devs = [v for v in (r.max_rel_loss, r.max_rel_residuals) if v is not None]
        deviation = max(devs) if devs else None
        agreement = {True: "met", False: "not met", None: "float64 resolved no point"}[r.agree]
        details.append(f"float64 vs {r.dps} digits on {getattr(r, 'instance', '') or 'the Figure 1 instance'} to t = "
                       f"{_fmt(r.t_max)}: max relative deviation loss {_fmt(r.max_rel_loss)}, residuals "
                       f"{_fmt(r.max_rel_residuals)} (the backend's agreement target {_fmt(r.tolerance)}: "
                       f"{agreement})")
    else:
        details.append(_stage_problem(stages, "precision") or "")
    stages_used = ["frontier", "precision", "spread", "scale"]
    figures = ["frontier-success", "precision"]
    front, early = _frontier_or_decision(stages, "P7", stages_used, details, figures)
    if early is not None:
        return early
    ev = front.p7
    if ev.n == 0:
        return _open(f"no accuracy-frontier run inside Theorem 1's regime (eps >= exp(-d/ln d)): {ev.statement}",
                     stages_used, _FRONTIER_COMMAND, details, figures)
    if ev.k < ev.n:
        return _count(_open(f"not reproduced (our parameters; the theorem's are unquantified): {ev.statement}",
                            stages_used, _FRONTIER_COMMAND, details, figures), ev.k, ev.n, _frontier_sizes(front))
    if deviation is not None and deviation > TRUST_DEVIATION:
        return _count(_open(f"float64 and high precision deviate by {deviation:.2g} > {TRUST_DEVIATION:g}: the "
                            f"float64 evidence is not trusted ({ev.statement})", stages_used, _FRONTIER_COMMAND,
                            details, figures), ev.k, ev.n, _frontier_sizes(front))
    return _count(_Decision(ev.status, ev.statement, details, stages_used, figures, _FRONTIER_COMMAND),
                  ev.k, ev.n, _frontier_sizes(front))


def _frontier_or_decision(stages: Stages, claim: str, stages_used: list[str], details: list[str],
                          figures: list[str]) -> tuple[Any, _Decision | None]:
    """The ``frontier`` stage's result with its campaign line first in ``details``, or the decision to return
    without it: open when the campaign is absent or the stage failed or did not run, irreproducible on a
    spot-check mismatch."""
    front = _frontier(stages)
    if front is None:
        return None, _open(f"no evidence: {_frontier_missing(stages)}", stages_used, _FRONTIER_COMMAND, details,
                           figures)
    bad = _frontier_irreproducible(front, claim)
    if bad is not None:
        return None, bad
    details.insert(0, f"accuracy-frontier campaign ({_store_arg(front.store)}; spot-check reproduced "
                      f"{front.reproduced}/{front.checked} rows)")
    return front, None


def decide_p11(stages: Stages) -> _Decision:
    """P11 from the ``frontier`` stage (:func:`verify.experiments.frontier_stats.ledger_p11`): the campaign
    statistics' reading of the ``fixed`` family (the spectrum held while eps alone shrinks) -> "not binding here":
    supported; "needed": refuted, with the reading and the trends of the d where success falls as the
    counterexample (``deflation probe --analyze`` recomputes them from the rows); "inconclusive at these sizes":
    open. k of n: the float64 runs at the two smallest eps of each d that succeeded. The campaign absent, or the
    frontier stage failed or did not run -> open, saying so; a spot-check mismatch -> irreproducible. The spread
    and scale stages' Algorithm 1 runs (fixed parameters, no trend in eps) are cited, not counted."""
    groups, problems = _algorithm1_groups(stages)
    details = _cited_runs(groups) + [p for p in problems if p]
    stages_used, figures = ["frontier", "spread", "scale"], ["frontier-success", "frontier-measures"]
    front, early = _frontier_or_decision(stages, "P11", stages_used, details, figures)
    if early is not None:
        return early
    ev = front.p11
    analyze = f"deflation probe --analyze --out {_store_arg(front.store)}"
    counterexample = None
    if ev.status == "refuted":
        fixed = front.analysis.families["fixed"]
        counterexample = {"reproduce": analyze, "family": "fixed", "reading": fixed.reading, "why": fixed.why,
                          "falls_at": [{"d": t.d, "top_2_eps": list(t.high), "bottom_2_eps": list(t.low),
                                        "low_minus_high_ci95": list(t.diff_ci), "cochran_armitage_z": t.ca_z,
                                        "p": t.ca_p} for t in fixed.trends if t.reading == "needed"]}
    decision = _Decision(ev.status, ev.statement, details, stages_used, figures, analyze, counterexample)
    return _count(decision, ev.k, ev.n, _frontier_sizes(front)) if ev.n else decision


def decide_p12(stages: Stages) -> _Decision:
    """P12: with the phase stage's campaigns holding plain runs, m_90 decides
    (:func:`verify.sweep.claims.p12_m90_evidence`: per line and algorithm, m_90 with its order-statistic
    interval and m_50; every plain line that the order law puts inside its grid has a finite m_90 -> supported,
    k of n the runs at m >= m_90; such a line above its grid -> open, "large enough" may lie beyond; a
    campaign whose spot-check failed -> irreproducible); the fixed-m verdicts are cited. Without plain runs in
    the store: a failed ``P12`` verdict -> refuted; otherwise every Figure 1 run (m = 50) fits every direction
    -> supported, with the store's Algorithm 1 lines cited. The plain flow on the spread spectrum is cited, not
    decisive: "m large enough" is not quantified by the claim. Figure 1 failed -> open."""
    reproduce = _run_command(stages, "figure1", _FIGURE1)
    numeric = _from_verdicts(stages, "P12", reproduce, ["figure1", "spread"])
    phase = _phase(stages)
    campaign_cited: list[str] = []
    if phase is not None:
        bad = _irreproducible(phase, "P12", reproduce, ["spread"])
        if bad is not None:
            return bad
        cited = []
        if numeric is not None:
            cited.append(f"audited runs at a fixed m (cited, not decisive: a failure below m_90 is no "
                         f"counterexample to 'm large enough'): {numeric.status} -- {numeric.summary}")
        if phase.alg1_fit is not None:
            k = phase.alg1_fit["power"]["slope"]
            cited.append(f"Algorithm 1, logistic model: m_90(d) log-log slope {k[0]:.2f} [{k[1]:.2f}, {k[2]:.2f}]; "
                         f"{phase.alg1_fit['verdict']}")
        has_plain = any(line.get("algorithm") == "plain" for line in phase.p12.details.get("lines", []))
        if has_plain:
            per_line = [f"m_90 per line: {text}" for text in phase.p12.details.get("per_line", [])]
            return _from_evidence(phase.p12, ["phase", "figure1", "spread"], ["spread"],
                                  _campaign_command(phase, "plain"), _campaign_lines(phase) + cited + per_line)
        campaign_cited = [f"campaigns (no plain runs; cited): {phase.p12.statement}"] + _campaign_lines(phase)
    if numeric is not None and numeric.status == "refuted":
        return numeric
    details = (list(numeric.details) if numeric else _sweep_lines(stages, "P12")) + campaign_cited
    spread = stages.get("spread")
    if spread is not None and spread.status == "ok":
        plain = spread.results.plain
        details.append(f"spread spectrum, plain flow to t = {plain.t_max:g}: fitted "
                       f"{plain.fitted} of {len(plain.recovered[0])} directions per run (cited, not decisive)")
    problem = _stage_problem(stages, "figure1")
    if problem:
        return _open(problem, ["figure1"], reproduce, details, ["figure1", "spread"])
    fits = stages["figure1"].results.recovered_all
    if all(fits):
        r1 = stages["figure1"].results
        return _count(_Decision("supported", f"plain flow with m = {r1.spec.config.m} fits every direction in "
                                f"{len(fits)}/{len(fits)} Figure 1 runs", details, ["figure1", "spread", "invariants"],
                                ["figure1", "spread"], reproduce), len(fits), len(fits),
                      [_spec_size(r1.spec, "figure1", r1.seeds)])
    return _open(f"plain flow fitted every direction in only {sum(fits)}/{len(fits)} Figure 1 runs", ["figure1"],
                 reproduce, details, ["figure1", "spread"])


_PAPER_RULES: dict[str, Callable[[Stages], _Decision]] = {
    "P1": decide_p1, "P2": decide_p2, "P3": decide_p3, "P4": decide_p4, "P5": decide_p5, "P6": decide_p6,
    "P7": decide_p7, "P8": decide_p8, "P9": decide_p9, "P10": decide_p10, "P11": decide_p11, "P12": decide_p12,
}


def decide_claim(stages: Stages, claim: str) -> _Decision:
    """The rule of ``claim`` (a P rule above, or :func:`decide_derivation` for a C claim) on ``stages``."""
    rule = _PAPER_RULES.get(claim)
    return rule(stages) if rule is not None else decide_derivation(stages, claim)


def _inherit(claim: str, decision: _Decision, parts: dict[str, _Decision]) -> _Decision:
    """``decision`` lowered to the weakest status among it and the claims it rests on (:data:`RESTS_ON`)."""
    deps = RESTS_ON.get(claim, ())
    status = weakest(decision.status, *(parts[c].status for c in deps))
    lines = [f"rests on {c}: {parts[c].status}" for c in deps]
    decision.details = lines + decision.details
    if status == decision.status:
        return decision
    weak = [c for c in deps if parts[c].status == status]
    decision.summary = (f"{status}, inherited from {', '.join(weak)} (own evidence: {decision.status}; "
                        f"{decision.summary})")
    decision.status = status
    if status == "refuted":
        decision.counterexample = parts[weak[0]].counterexample
    if status in ("proven", "verified"):
        decision.scope = parts[weak[0]].scope
    return decision


def decide_ledger(stages: Stages) -> list[LedgerEntry]:
    """Every claim of SPEC section 3, in ledger order, with its status decided by the rule above and lowered to
    the weakest status among the claims it rests on (:data:`RESTS_ON`)."""
    decisions = {info.id: decide_claim(stages, info.id) for info in _CLAIM_LIST}
    for claim, decision in decisions.items():
        if claim.startswith("P"):
            decision.details += mutant_lines(stages, claim) + (_kick_lines(stages) if claim == "P8" else [])
    entries = []
    for info in _CLAIM_LIST:
        decision = _inherit(info.id, decisions[info.id], decisions)
        entries.append(LedgerEntry(
            id=info.id, title=info.title, family=info.family, kind="paper" if info.id.startswith("P") else "derivation",
            status=decision.status,
            evidence=Evidence(summary=decision.summary, details=[d for d in decision.details if d],
                              figures=decision.figures, stages=decision.stages, kind=info.evidence_kind),
            reproduce=decision.reproduce, counterexample=decision.counterexample, scope=decision.scope,
            k=decision.k, n=decision.n, ci95=decision.ci95, sizes=decision.sizes, lemmas=decision.lemmas,
            rests_on=list(RESTS_ON.get(info.id, ()))))
    return entries
