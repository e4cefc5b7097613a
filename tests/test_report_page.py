"""The rendered report as a reader meets it: no visible text looks like a Python repr (always checked, pure
HTML parsing) and, in headless Chromium at 900 and 1280 px, no formula box, figure or table overflows its
container (skipped without Chromium). The page is rendered from a small hand-built report (no solver run):
real claim statements, the real ledger rules on hand-made stage results, one very long derivation step and
one figure wider than the window. Each checker is shown to flag a deliberately broken page."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pytest

import proofs_check
from proofs_check import ClaimResult
from solver.spec import InstanceSpec, RunSpec
from verify.audit import PROFILES, decide_ledger
from verify.audit._types import AuditReport, Figure, Machine, StageResult
from verify.audit.pagecheck import find_chromium, layout_problems, markdown_repr_problems, repr_problems
from verify.audit.render import markdown_html, render_html, render_markdown
from verify.audit.stages.derivations import DerivationsResult
from verify.audit.stages.figure1 import Figure1Result
from verify.audit.stages.frontier import FrontierStageResult
from verify.audit.stages.spread import FlowOutcome, SpreadResult
from verify.audit.wording import floored, reader, recovered, repr_fragments, value
from verify.experiments import figure1_spec

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: the layout half (formula "
                                    "and figure boxes at 900 and 1280 px) is not checked; the repr half still is")

# A sympy expansion as it once reached the page: ~2,000 px of one formula.
LONG_STEP = " + ".join(rf"{k} a_{{{k}}} x_{{1}}^{{{k}}} x_{{2}}^{{{20 - k}}} \|w\|^{{{k}}}" for k in range(1, 60))


def _wide_svg(path: Path) -> None:
    """A figure drawn 12 inches wide (864 pt): wider than a 900 px window's content box."""
    from verify.plots import plt, save_figure

    fig, ax = plt.subplots(figsize=(12, 3))
    ax.plot([1, 2, 3], [1e-3, 1e-9, 1e-15])
    ax.set_yscale("log")
    save_figure(fig, path.with_suffix(""))


def _frontier() -> StageResult:
    """The frontier stage on a small synthetic campaign whose measures are not measured (nan) in every row."""
    import numpy as np
    import pandas as pd

    from verify.experiments import frontier_stats as fs

    rng = np.random.default_rng(0)
    eps = np.repeat(10.0 ** -np.arange(6.0), 4)
    rows = pd.concat([pd.DataFrame({"d": d, "eps": eps, "success": rng.random(eps.size) < 0.7, "m": 16,
                                    "family": "fixed", "seed": np.arange(eps.size) % 4, "precision": "float64",
                                    "error": None, "cpu_seconds": 1.0, "max_rel_residual": float("nan")})
                      for d in (4, 8)], ignore_index=True)
    analysis = fs.analyze(rows)
    return StageResult("frontier", "Frontier", results=FrontierStageResult(
        store="evidence/accuracy-frontier", analysis=analysis, p11=fs.ledger_p11(analysis), p7=fs.ledger_p7(rows),
        reproduced=3, checked=3, mismatches=[], seconds=1.0))


def _report(out: Path) -> AuditReport:
    claims = [ClaimResult(id=c.id, title=c.id, status="pass", statement_tex=c.statement_tex,
                          steps=[LONG_STEP] if c.id == "C6" else [r"\frac{d}{dt}\|w\| = 2\|w\| R(\bar w^{\otimes l})"],
                          covered={"d": [2, 3], "l": [3, 4, "symbolic"]},
                          checks={"symbolic": True, "mpmath": True, "code": None}, seconds=0.1)
              for c in proofs_check.CLAIMS]
    (out / "figures").mkdir(parents=True, exist_ok=True)
    _wide_svg(out / "figures" / "figure1.svg")
    figure1 = StageResult("figure1", "Figure 1", results=Figure1Result(
        spec=figure1_spec(seeds=2), seeds=[0, 1], discovery_times=[[17.2, 20.6, 24.7, 29.5, None]] * 2,
        discovery_rank=[[1, 2, 3, 4]] * 2, ordered=[False, False], first_is_largest=[True, True],
        recovered_all=[False, False], mean_discovery_times=[17.2, 20.6, 24.7, 29.5, None],
        final_loss=[-1.11e-16, 3.3e-12], loss_floor=1.2e-15),
        figures=[Figure("figure1", "Figure 1: plain gradient flow", "a caption", "figures/figure1.svg",
                        ["P1", "P5"])])
    spec = RunSpec(InstanceSpec(d=10, r=5, ratio=100.0))
    flow = FlowOutcome(spec=spec, seeds=[0], t_max=1e4, recovered=[[True, True, True, False, False]],
                       recovered_all=[False], fitted=[3], final_loss=[-3.331e-16], reinitializations=[3],
                       discovery_times=[[1.0, 2.0, 3.0, None, None]], seconds=1.0, loss_floor=[1e-15])
    spread = StageResult("spread", "Spread", results=SpreadResult(instance=spec.instance, plain=flow, modified=flow),
                         figures=[Figure("beyond-orders", "Beyond the paper: orders", "no claims here",
                                         "figures/figure1.svg", [])])
    stages = [StageResult("derivations", "Derivations", results=DerivationsResult(claims)), figure1, spread,
              _frontier()]
    return AuditReport(format="test", generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       command="deflation audit --profile test", wall_seconds=1.0, profile=PROFILES["test"],
                       versions={"python": "3"}, machine=Machine(cpus=2, device="cpu", omp_num_threads="1"),
                       ledger=decide_ledger({s.name: s for s in stages}), stages=stages)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page")
    (out / "index.html").write_text(render_html(_report(out), out))
    return out / "index.html"


# ------------------------------------------------------------------------------------------ wording helpers

def test_values_read_as_words_and_numbers():
    assert value(True) == "yes" and value(None) == "not measured" and value(float("nan")) == "not measured"
    assert value([3, 4, "symbolic"]) == "3, 4 and symbolic"
    assert value({"unexplained_drops": 0, "missing_discoveries": []}) == "unexplained drops 0; missing discoveries none"
    assert recovered([True, True, True, False, False]) == "3 of 5 (u_4 and u_5 missed)"
    assert floored(-1.110e-16, 1.2e-15) == "≤ floor (1.2e-15)" and floored(3e-10, 1.2e-15) == "3.000e-10"
    assert reader("worst {unexplained_drops: 0, missing_discoveries: []}") == \
        "worst unexplained drops 0; missing discoveries none"
    assert reader("margin nan, worst None") == "margin not measured, worst not measured"
    assert reader("recovered all: True") == "recovered all: yes"
    assert reader("which [True, True, True, False, False]") == "which 3 of 5 (u_4 and u_5 missed)"
    assert reader("d in [2, 3], l in [3, 4, 'symbolic']") == "d in 2 and 3, l in 3, 4 and symbolic"
    assert reader("t_disc[1..5] at x[0]") == "t_disc[1..5] at x[0]"  # indexing is not a literal
    # An interval after its estimate or level is notation, not a list; a list after a word is still written out.
    for interval in ("m_90 = 24 [17, unbounded]", "Wilson 95% [0.84, 0.91]", "slope +0.177 [-0.038, +0.391]",
                     "m_50 = above the grid (95% [-, unbounded])"):
        assert reader(interval) == interval
    assert reader("d = [4, 8], interval [0.1, 0.2]") == "d = 4 and 8, interval 0.1 and 0.2"
    assert reader("the solver's loss and the backend's target") == "the solver's loss and the backend's target"
    for text in ("worst {unexplained_drops: 0}", "margin nan", "worst None", "which [True, False]",
                 "l in [3, 'symbolic']", "claims: ]", "~nan s left", "final loss -1.110e-16"):
        assert repr_fragments(text), text
        assert not repr_fragments(reader(text)) or text == "claims: ]", (text, reader(text))


# ------------------------------------------------------------------------------------------------ repr half

def test_page_has_no_python_repr(page):
    problems = repr_problems(page.read_text())
    assert problems == [], "\n".join(problems)


def test_markdown_has_no_python_repr(tmp_path):
    markdown = render_markdown(_report(tmp_path))
    problems = markdown_repr_problems(markdown)
    assert problems == [], "\n".join(problems)
    assert "≤ floor (1.2e-15)" in markdown and "-1.110e-16" not in markdown
    # The frontier stage's block: its spot-check, P7 and P11 as the ledger reads them, and the campaign's tables.
    assert "**reproduced 3/3** float64 rows" in markdown and "#### `fixed`, m = 16" in markdown
    assert "- P11 (the reading of the `fixed` family): **open**: family 'fixed': inconclusive" in markdown
    assert markdown_repr_problems("| 8 | True |\n`x = None`\n$$[True]$$") == ["line 1: True in \"| 8 | True |\""]


def test_page_shows_floors_math_titles_and_no_empty_claims_slot(page):
    html = page.read_text()
    assert "≤ floor (1.2e-15)" in html and "-1.110e-16" not in html and "-3.331e-16" not in html
    assert "no claim decided" in html and "claims: ]" not in html
    # The C4 title is MathML, not ASCII.
    c4 = html[html.index('id="claim-C4"'):]
    c4 = c4[:c4.index("</h3>")]
    assert "<math" in c4 and "d||w||/dt" not in c4
    assert "3 of 5 (u_4 and u_5 missed)" in html


def test_frontier_tables_are_html_tables_with_their_intervals(page):
    """The frontier stage's analysis reaches the page as HTML tables (its Markdown source nowhere), with its
    intervals written as intervals ("[lo, hi]"), not rewritten as prose ("lo and hi")."""
    html = page.read_text()
    block = html[html.index('id="stage-frontier"'):]
    block = block[:block.index("</section>")] if "</section>" in block else block
    assert '<div class="md">' in block and "<table>" in block and "<th>logistic slope per decade [95%]</th>" in block
    assert "|---|" not in block and "<pre>" not in block
    assert re.search(r"<td>\[[+-]\d\.\d{2}, [+-]\d\.\d{2}\]</td>", block), "difference with its interval"
    assert "from their own commands (" in block
    assert markdown_html("| a | b |\n|---|---|\n| 1 | [0.34, 1.00] |\n") == (
        '<div class="md"><table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n'
        "<td>1</td>\n<td>[0.34, 1.00]</td>\n</tr>\n</tbody>\n</table></div>")


def test_many_groups_of_runs_read_as_a_table(tmp_path):
    """A claim counting more than three groups of runs lists them as a table (one row a group, a column per size
    key); up to three stay one line."""
    report = _report(tmp_path)
    entry = next(e for e in report.ledger if e.id == "P11")

    def block() -> str:
        html = render_html(report, tmp_path)
        text = html[html.index('id="claim-P11"'):]
        return text[:text.index("<p><b>Reproduce")]

    entry.sizes = [{"source": "campaign", "d": d, "m": [16, 32], "r": 4, "l": 4, "seeds": 20} for d in (4, 6, 8, 12)]
    table = block()
    assert '<table class="sizes muted">' in table and table.count("<tr>") == 5
    assert "<th>seeds</th>" in table and "<td>16 and 32</td>" in table and "runs counted:" not in table
    entry.sizes = entry.sizes[:2]
    line = block()
    assert "<table" not in line and "runs counted: campaign (d 4, m 16 and 32, r 4, l 4, seeds 20)" in line


def test_repr_checker_flags_a_broken_page(page):
    bad = ("<p id='bad'>recovered all: True, margin nan, worst None, which [True, False], claims: ]</p>"
           "<td>final loss -1.110e-16</td>")
    broken = page.read_text().replace("</body>", bad + "</body>")
    problems = repr_problems(broken)
    flagged = " ".join(problems)
    for fragment in ("True", "nan", "None", "[True", "claims: ]", "-1.110e-16"):
        assert fragment in flagged, (fragment, problems)
    # Code and preformatted text are not prose: a command or a traceback may say True.
    assert repr_problems("<html><body><code>--flag True</code><pre>x = None</pre></body></html>") == []


# ---------------------------------------------------------------------------------------------- layout half

@needs_chromium
def test_no_formula_box_or_figure_overflows_at_900_and_1280_px(page):
    problems = layout_problems(page, chromium=CHROMIUM)
    assert set(problems) == {900, 1280}
    assert problems == {900: [], 1280: []}, problems


@needs_chromium
def test_layout_checker_flags_an_overflowing_box(page, tmp_path):
    broken = tmp_path / "index.html"
    broken.write_text(page.read_text().replace(
        "</body>", "<div id='bad-formula' class='formula' style='overflow-x: visible; max-width: none; width: 1600px'>"
                   "x</div><figure id='bad-figure'><svg width='2000' height='10' style='max-width: none'></svg>"
                   "</figure></body>"))
    problems = layout_problems(broken, widths=(900,), chromium=CHROMIUM)[900]
    text = "\n".join(problems)
    assert "#bad-formula" in text and "#bad-figure" in text and "page:" in text, text


def test_heatmap_text_reads_on_its_cell():
    import matplotlib.pyplot as plt

    from verify.plots import text_color

    viridis, greens = plt.get_cmap("viridis"), plt.get_cmap("RdYlGn")
    assert text_color(viridis(0.0)) == "white" and text_color(viridis(1.0)) == "black"
    assert text_color(greens(0.5)) == "black" and text_color((0.85, 0.85, 0.85, 1.0)) == "black"
