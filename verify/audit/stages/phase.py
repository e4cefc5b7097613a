"""Stage ``phase``: how large must m be, from the evidence store.

The campaigns of the evidence store (``evidence/<name>/``, :mod:`verify.sweep.campaigns`; the profile's
``campaigns``), read, not re-run: each one's presence and completeness, the rows an older solver made,
and a spot-check that re-runs ``spot_check_k`` rows drawn uniformly at random from each store (seeded by
the audit's seed and the campaign's name; every row in the full profile) on a two-worker Dask
LocalCluster. From the rows: P12 from m_90 per line and algorithm (:func:`verify.sweep.claims.p12_m90_evidence`),
P1 from every plain run's order among the directions it fitted (:func:`verify.sweep.claims.p1_all_runs`),
the order law's agreement per campaign, Algorithm 1's model-based m_90(d) and slope
(:func:`verify.sweep.mfit.compare_forms`), the plain flow's d-independence tests, and the figures.
Where the accuracy restriction bites (P11) is the ``frontier`` stage's, from its own campaign in the same store.

``results``: :class:`PhaseStageResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "phase"


@dataclass
class PhaseStageResult:
    """What the campaigns say (``campaigns``: :class:`verify.sweep.campaigns.CampaignState` each, with its
    spot-check) and the claim evidence drawn from them.

    ``p12``: m_90 per line (decided on plain lines); ``p1``: order among fitted directions in every plain run;
    ``p1_modified``: the same count on Algorithm 1's runs (cited); ``m90_md``: per campaign, the m_90 table;
    ``alg1_fit``: :func:`verify.sweep.mfit.compare_forms` on Algorithm 1's rows (None without two d);
    ``d_tests``: :func:`verify.sweep.mfit.d_independence` on the plain rows."""

    campaigns: list
    p12: Any
    p1: Any
    p1_modified: Any
    m90_md: dict
    alg1_fit: dict | None
    alg1_fit_md: str
    d_tests: list
    d_tests_md: str
    seed: int
    spot_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def irreproducible(self) -> list:
        """The campaigns whose spot-check found a mismatch."""
        return [c for c in self.campaigns if not c.reproducible]

    @property
    def runs(self) -> int:
        return sum(c.rows for c in self.campaigns)

    def to_dict(self) -> dict:
        from solver.trajectory import json_safe

        return json_safe({"campaigns": [c.to_dict() for c in self.campaigns], "p12": self.p12, "p1": self.p1,
                          "p1_modified": self.p1_modified, "m90_md": self.m90_md, "alg1_fit": self.alg1_fit,
                          "d_tests": [t.to_dict() for t in self.d_tests], "seed": self.seed,
                          "spot_seconds": self.spot_seconds, "notes": self.notes})


def evidence_root(ctx: StageContext) -> Path:
    """The folder holding the profile's campaigns: the repository's ``evidence/``, or ``campaign_root`` (a relative
    one under the audit's output folder). The frontier stage reads its campaign from the same place."""
    from verify.sweep.campaigns import EVIDENCE_ROOT

    root = ctx.profile.campaign_root
    if root is None:
        return EVIDENCE_ROOT
    return Path(root) if Path(root).is_absolute() else ctx.out / root


def _read_campaigns(ctx: StageContext, client) -> tuple[list, Any, float]:
    """Every campaign of the profile read and spot-checked: ``(states, rows of all, spot-check seconds)``."""
    import pandas as pd

    from verify.sweep import load_spec, run_sweep
    from verify.sweep.campaigns import read_campaign
    from verify.sweep.runner import run_point
    from verify.sweep.store import existing_keys

    p = ctx.profile
    root = evidence_root(ctx)

    def run_many(payloads: list[dict]) -> list[dict]:
        futures = client.map(run_point, payloads, pure=False)
        return client.gather(futures)

    states, frames, seconds = [], [], 0.0
    for name in p.campaigns:
        if p.build_campaigns and not existing_keys(root / name):
            run_sweep(load_spec(name), root / name, client=client)
        ctx.progress.message(f"phase: campaign {name}: reading {root / name} and re-running "
                             f"{'every row' if p.spot_check_all else f'{p.spot_check_k} random rows'}")
        start = time.perf_counter()
        rows, state = read_campaign(name, root, spot_k=p.spot_check_k, seed=ctx.seed, full=p.spot_check_all,
                                    run_many=run_many)
        seconds += time.perf_counter() - start
        states.append(state)
        if len(rows):
            frames.append(rows.assign(campaign=name))
    rows = pd.concat(frames, ignore_index=True) if frames else None
    return states, rows, seconds


def _figures(ctx: StageContext, result: StageResult, states: list, rows) -> dict:
    """The campaigns' figures under ``OUT/figures`` (phase diagram, success vs m, m_90(d)) and their m_90
    tables (markdown, per campaign)."""
    from verify.sweep.mcurve import m_lines, plot_m_curves
    from verify.sweep.mfit import plot_m90
    from verify.sweep.phase import m90_markdown, phase_summary, plot_phase

    tables = {}
    for state in states:
        if state.status == "absent":
            continue
        sel = rows[rows["campaign"] == state.name]
        tables[state.name] = m90_markdown(m_lines(sel))
        stem = ctx.out / "figures"
        plot_phase(phase_summary(sel), stem / f"phase-{state.name}", title=f"campaign {state.name}")
        result.figures.append(Figure(
            id=f"phase-{state.name}", title=f"Phase diagram of campaign {state.name}",
            caption=(f"Campaign {state.name} ({state.line()}): share of runs that fitted every direction (final "
                     r"residual $\le 0.1\, a_j$) per cell k/n; the framed cell is the smallest $m/r$ with success "
                     "≥ 90% there and at every larger $m/r$. float64."),
            path=f"figures/phase-{state.name}.svg", claims=["P12"]))
        plot_m_curves(sel, stem / f"mcurves-{state.name}", title=f"campaign {state.name}")
        result.figures.append(Figure(
            id=f"mcurves-{state.name}", title=f"Success vs m, campaign {state.name}",
            caption=("Success rate against m (nested draws: one W(0) per seed, its first m columns the same for "
                     "every m), one line per d with Wilson 95% bars; ticks under the axis: each seed's "
                     r"$m_{\mathrm{needed}}$ (success at every grid m from there on); dashed: the order law's "
                     "predicted P(every basin occupied | m) for the plain flow (independent of d)."),
            path=f"figures/mcurves-{state.name}.svg", claims=["P12"]))
        if sel["d"].nunique() >= 2:
            plot_m90(sel, stem / f"m90-{state.name}")
            result.figures.append(Figure(
                id=f"m90-{state.name}", title=f"m_90(d) on log-log axes, campaign {state.name}",
                caption=(r"$m_{90}$ (dots) and $m_{50}$ (open) per d with their 95% order-statistic intervals "
                         "(an arrowhead: unbounded above at this number of seeds); line and band: the logistic "
                         "model's m_90(d) with its 95% delta-method band (standard errors clustered by seed) and "
                         "the log-log slope k in the legend."),
                path=f"figures/m90-{state.name}.svg", claims=["P12", "P7"]))
    return tables


def run(ctx: StageContext, result: StageResult) -> None:
    from verify.sweep import local_cluster
    from verify.sweep.claims import ClaimEvidence, p1_all_runs, p12_m90_evidence
    from verify.sweep.mfit import compare_forms, d_independence, d_tests_markdown, mfit_markdown

    p = ctx.profile
    if not p.campaigns:
        result.notes.append(f"profile {p.name} reads no campaign")
        return
    with local_cluster(2) as cluster, cluster.get_client() as client:
        from verify.sweep._plugin import SingleThreadPlugin

        client.register_plugin(SingleThreadPlugin())
        states, rows, spot_seconds = _read_campaigns(ctx, client)
    none = ClaimEvidence("P1", "open", "no Algorithm 1 campaign is present")
    tables, fit, fit_md, tests, tests_md = {}, None, "", [], ""
    if rows is not None:
        plain, modified = rows[rows["algorithm"] == "plain"], rows[rows["algorithm"] == "modified"]
        plain_names = sorted(set(plain["campaign"]))
        p12 = p12_m90_evidence(rows)
        p1 = p1_all_runs(plain, "plain", ", ".join(plain_names)) if len(plain) else ClaimEvidence(
            "P1", "open", "no plain-flow campaign is present (plain_m absent)")
        p1_mod = p1_all_runs(modified, "modified", ", ".join(sorted(set(modified["campaign"])))) if len(
            modified) else none
        tables = _figures(ctx, result, states, rows)
        if modified["d"].nunique() >= 2:
            fit = compare_forms(modified)
            fit_md = mfit_markdown(fit, sorted({int(d) for d in modified["d"]}))
        if plain["d"].nunique() >= 2:
            tests = d_independence(plain)
            tests_md = d_tests_markdown(tests)
    else:
        p12 = ClaimEvidence("P12", "open", "no campaign holds runs")
        p1 = p1_mod = ClaimEvidence("P1", "open", "no campaign holds runs")
    result.results = PhaseStageResult(
        campaigns=states, p12=p12, p1=p1, p1_modified=p1_mod, m90_md=tables, alg1_fit=fit, alg1_fit_md=fit_md,
        d_tests=tests, d_tests_md=tests_md, seed=ctx.seed, spot_seconds=spot_seconds)
    for state in states:
        result.runs.append(RunRecord(
            label=f"campaign {state.name}: {state.line()}",
            command=f"deflation sweep {state.name} --out {state.out}",
            config={"campaign": state.name, "rows": state.rows, "expected": state.expected,
                    "spot_check_seed": [ctx.seed, state.name]},
            seeds=[], ground_truth={"folder": state.out}, seconds=0.0))
        if state.status != "complete":
            result.notes.append(state.line())
        if not state.reproducible:
            result.notes.append(f"IRREPRODUCIBLE: campaign {state.name}: {state.spot.line()}")


STAGE = Stage(NAME, "How large must m be (the evidence store's campaigns, spot-checked)", run)
