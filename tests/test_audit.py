"""The audit frame: a reduced audit writes a schema-valid report with every claim, an HTML page that parses,
contains every claim and figure and renders offline in headless Chromium; a failing stage leaves the others
running and its claims open; the ledger rules map stage results to statuses as documented."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from proofs_check import ClaimResult
from solver.spec import InstanceSpec, RunSpec
from verify.audit import CLAIM_IDS, PROFILES, SCHEMA_PATH, decide_ledger, run_audit
from verify.audit._types import STATUSES, AuditReport, Figure, Stage, StageResult
from verify.audit.ledger import decide_claim
from verify.audit.pagecheck import layout_problems, repr_problems
from verify.audit.stages.derivations import DerivationsResult
from verify.audit.stages.figure1 import Figure1Result
from verify.audit.stages.invariants import InvariantsResult, SourcedVerdict
from verify.audit.stages.scale import ScaleResult, ScaleRow
from verify.audit.stages.spread import FlowOutcome, SpreadResult
from verify.experiments import figure1_spec
from verify.invariants import Status, Verdict

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> tuple[AuditReport, Path]:
    """One reduced audit (profile ``test``) shared by the report tests."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = tmp_path_factory.mktemp("audit")
    report = run_audit(PROFILES["test"], out, progress=False)
    return report, out


# ----------------------------------------------------------------------------------------------- report.json

def _check_against_schema(report: dict) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    try:
        import jsonschema
    except ImportError:  # hand check of the documented required keys
        for key in schema["required"]:
            assert key in report, key
        entry_keys = schema["$defs"]["entry"]["required"]
        for entry in report["ledger"]:
            assert set(entry_keys) <= set(entry), entry["id"]
        return
    jsonschema.validate(report, schema)


@pytest.mark.slow
def test_report_json_is_valid_and_has_every_claim(audit):
    report, out = audit
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report.to_dict()  # report.json is the objects' JSON form
    _check_against_schema(on_disk)
    ids = [e["id"] for e in on_disk["ledger"]]
    assert ids == list(CLAIM_IDS)
    assert sorted(ids) == sorted([f"P{i}" for i in range(1, 13)] + [f"C{i}" for i in range(1, 15)])
    for entry in on_disk["ledger"]:
        assert entry["status"] in ("proven", "verified", "supported", "refuted", "open", "irreproducible")
        if entry["status"] == "supported":  # k of n runs, their Wilson interval and sizes
            assert entry["n"] >= 1 and 0 <= entry["k"] <= entry["n"] and entry["sizes"], entry["id"]
            assert entry["ci95"][0] <= entry["k"] / entry["n"] <= entry["ci95"][1], entry["id"]
        if entry["status"] == "proven":
            assert entry["scope"]["d"] == "all", entry["id"]
        assert entry["reproduce"].startswith("deflation ")
        assert entry["evidence"]["summary"]
        if entry["status"] == "refuted":
            assert entry["counterexample"], entry["id"]
    assert [s["name"] for s in on_disk["stages"]] == ["derivations", "figure1", "spread", "scale", "invariants",
                                                       "precision", "frontier", "phase", "baselines",
                                                       "beyond"]
    assert on_disk["versions"]["numpy"] and on_disk["versions"]["git_commit"]
    # Every run is recorded with its configuration and seeds.
    runs = [r for s in on_disk["stages"] for r in s["runs"]]
    assert any("Figure 1" in r["label"] for r in runs)
    for run in runs:
        assert run["config"] and run["command"].startswith("deflation ")
    # A failed stage always names its error.
    for stage in on_disk["stages"]:
        assert (stage["status"] == "ok") == (stage["error"] is None)
    assert (out / "report.schema.json").read_text() == SCHEMA_PATH.read_text()


# ------------------------------------------------------------------------------------------------ index.html

class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            # A fetch would need src/href (xlink:href too) pointing outside the page; namespaces are not fetches.
            if name in ("src", "href", "xlink:href") and value and not value.startswith("#"):
                self.external.append(f"{tag} {name}={value}")

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.slow
def test_html_is_self_contained_and_has_every_claim_and_figure(audit):
    report, out = audit
    page = (out / "index.html").read_text()
    parser = _Collector()
    parser.feed(page)
    parser.close()
    for claim in CLAIM_IDS:
        assert f"claim-{claim}" in parser.ids, claim
    figures = list(report.figures())
    assert "figure1" in figures and "spread" in figures
    for fid in figures:
        assert f"fig-{fid}" in parser.ids, fid
    # Figures are inline SVG; no script, no stylesheet or image fetched from anywhere.
    assert parser.tags.count("svg") >= len(figures)
    assert "script" not in parser.tags and "img" not in parser.tags and "link" not in parser.tags
    assert parser.external == []
    assert "Ledger" in "".join(parser.text)
    # Written for a reader: no visible Python repr (True, None, nan, [..], {..}), no negative loss.
    assert repr_problems(page) == [], "\n".join(repr_problems(page))
    # The ledger table comes first, before any claim section; every stage has its results section.
    assert page.index('id="ledger"') < page.index('id="claim-P1"')
    for stage in report.stages:
        assert f"stage-{stage.name}" in parser.ids
    # The report is rendered from the objects: the Figure 1 stage's discovery table shows its seeds.
    figure1 = report.stage("figure1").results
    section = page[page.index('id="stage-figure1"'):page.index('id="stage-spread"')]
    assert all(f"<tr><td>{seed}</td>" in section for seed in figure1.seeds)
    # No id is defined twice (the figures' SVG ids are prefixed per figure).
    seen: dict[str, int] = {}
    for match in re.finditer(r'\bid="([^"]+)"', page):
        seen[match.group(1)] = seen.get(match.group(1), 0) + 1
    assert [k for k, v in seen.items() if v > 1] == []


@pytest.mark.slow
def test_markdown_has_ledger_and_every_claim(audit):
    _, out = audit
    text = (out / "report.md").read_text()
    assert text.index("## Ledger") < text.index("### P1")
    for claim in CLAIM_IDS:
        assert f"| {claim} |" in text and f"### {claim} " in text


def test_math_renders_without_network_or_script():
    from verify.audit.mathml import latex_to_html

    out = latex_to_html(r"\frac{d\bar w}{dt} = l (I - \bar w \bar w^\top) R(\bar w^{\otimes (l-1)}, I)")
    assert "<math" in out or "<svg" in out
    assert "<script" not in out and "src=" not in out and "href=\"http" not in out
    # Something it cannot parse still keeps the formula (as code or in the title), never raises.
    assert "undefinedmacro" in latex_to_html(r"\begin{undefinedenv} \undefinedmacro")


def _raw_commands(markup: str) -> list[str]:
    """LaTeX commands shown as text by a rendered formula (the source kept in title/annotation excluded)."""
    body = re.sub(r"<annotation.*?</annotation>", "", markup, flags=re.S)
    body = re.sub(r'title="[^"]*"', "", body)
    return re.findall(r">[^<]*\\[A-Za-z|{}][^<]*<", body)


def test_every_statement_and_the_c3_derivation_render_without_raw_latex():
    """The report once showed C3's ``\\Big\\langle`` as the text "\\langle" (latex2mathml passes sized
    delimiters through): every claim's statement and C3's derivation render as MathML with no command as text."""
    import proofs_check
    from verify.audit.mathml import latex_to_html
    from verify.audit.render import display_lines

    for claim in proofs_check.CLAIMS:
        for line in display_lines(claim.statement_tex):
            markup = latex_to_html(line)
            assert "<math" in markup and not _raw_commands(markup), (claim.id, line, _raw_commands(markup))
    steps = proofs_check.claim_by_id("C3").build(None).steps
    assert any(r"\langle" in step for step in steps)
    for step in steps:
        markup = latex_to_html(step)
        assert "<math" in markup and not _raw_commands(markup), (step, _raw_commands(markup))
    assert "\u27e8" in latex_to_html(r"\Big\langle R, x \Big\rangle")


def test_long_statements_are_split_into_lines():
    """C13's four Gram identities, on one line, were wider than the page: one identity per line."""
    import proofs_check
    from verify.audit.render import display_lines

    c13 = display_lines(proofs_check.claim_by_id("C13").statement_tex)
    assert len(c13) == 4 and c13[2].startswith(r"\|T-T^*\|_F^2")
    assert display_lines(r"a_{x,\quad y} = b") == [r"a_{x,\quad y} = b"]  # only top-level separators split


def test_mathtext_fallback_gives_unique_ids(monkeypatch):
    from verify.audit import mathml

    monkeypatch.setattr(mathml, "backend", lambda: "mathtext")
    first, second = mathml.latex_to_html(r"a_1 + b^2"), mathml.latex_to_html(r"a_1 + b^2")
    assert "<svg" in first and "<svg" in second

    def ids(text: str) -> set[str]:
        return set(re.findall(r'\bid="([^"]+)"', text))

    assert ids(first) and not ids(first) & ids(second)


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a new network namespace with no interfaces) when it works here; else nothing (the
    Chromium flags below still block every host)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (headless render not checked)")
def test_page_renders_in_headless_chromium_offline(audit, tmp_path):
    _, out = audit
    shot = tmp_path / "page.png"
    command = _offline_prefix() + [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,4000", f"--screenshot={shot}",
        (out / "index.html").resolve().as_uri()]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.exists(), proc.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # A rendered page, not a blank or an error page: many distinct shades (text, tables, plots, badges).
    assert pixels[..., :3].std() > 0.05
    shutil.copy(shot, out / "screenshot.png")
    # Nothing is wider than the window (C13's statement once was): the page's own width, measured by
    # Chromium on a copy of the page with one measuring script (the report itself has none).
    probe = tmp_path / "measure.html"
    probe.write_text((out / "index.html").read_text().replace(
        "</body>", "<script>document.body.setAttribute('data-overflow', String(document.documentElement.scrollWidth"
                   " - document.documentElement.clientWidth))</script></body>"))
    dump = subprocess.run(command[:-2] + ["--dump-dom", probe.resolve().as_uri()], capture_output=True, text=True,
                          timeout=120)
    overflow = re.search(r'data-overflow="(-?\d+)"', dump.stdout)
    assert overflow, dump.stderr[-2000:]
    assert int(overflow.group(1)) <= 0
    # Every formula box, figure and table fits its container at a narrow and a wide window.
    assert layout_problems(out / "index.html", widths=(900, 1280), chromium=CHROMIUM) == {900: [], 1280: []}


# ---------------------------------------------------------------------------------------- stage isolation

def test_failing_stage_is_reported_and_the_others_still_run(tmp_path):
    ran = []

    def broken(ctx, result):
        import proofs_check_that_does_not_exist  # noqa: F401

    def fine(ctx, result):  # a stage no rule reads and no template block shows (the default block does)
        ran.append("extra")
        result.notes.append("ran")

    def needs_broken(ctx, result):
        ran.append("never")

    stages = (Stage("derivations", "broken", broken), Stage("extra", "fine", fine),
              Stage("invariants", "needs derivations", needs_broken, requires=("derivations",)))
    report = run_audit(PROFILES["test"], tmp_path, progress=False, stages=stages)
    status = {s.name: s for s in report.stages}
    assert status["derivations"].status == "failed" and status["derivations"].results is None
    assert "ModuleNotFoundError" in status["derivations"].error
    assert status["extra"].status == "ok" and ran == ["extra"]
    assert status["invariants"].status == "skipped"
    ledger = {e.id: e for e in report.ledger}
    assert ledger["C5"].status == "open" and "ModuleNotFoundError" in ledger["C5"].evidence.summary
    assert ledger["P2"].status == "open"
    _check_against_schema(report.to_dict())
    assert (tmp_path / "index.html").exists() and (tmp_path / "report.md").exists()
    page = (tmp_path / "index.html").read_text()
    assert 'id="stage-extra"' in page and "templates/stages/extra.html.j2" in page


# --------------------------------------------------------------------------------------------- ledger rules

def _claim(cid: str, status: str = "pass") -> ClaimResult:
    return ClaimResult(id=cid, title=cid, status=status, statement_tex="x", steps=[],
                       covered={"d": [2, 3], "l": [3, 4]},
                       checks={"symbolic": status == "pass", "mpmath": True, "code": True}, seconds=0.1)


def _derivations(*claims: ClaimResult) -> StageResult:
    return StageResult("derivations", "d", results=DerivationsResult(list(claims)))


def _verdict(claim: str, status: Status, source: str = "figure1") -> SourcedVerdict:
    margin = {Status.PASS: 0.5, Status.FAIL: -0.5}.get(status, float("nan"))
    return SourcedVerdict(source, Verdict(claim, "x", status, margin, 0.0, {}, {}, 0, "unit",
                                          None if status in (Status.PASS, Status.FAIL) else "why"))


def _figure1(first_ok: bool = True, fits: bool = True) -> StageResult:
    return StageResult("figure1", "Figure 1", results=Figure1Result(
        spec=figure1_spec(seeds=1), seeds=[0], discovery_times=[[17.2, 20.6, 24.7, 29.5, 35.2]],
        discovery_rank=[[1, 2, 3, 4, 5] if first_ok else [2, 1]], ordered=[first_ok], first_is_largest=[first_ok],
        recovered_all=[fits], mean_discovery_times=[17.2, 20.6, 24.7, 29.5, 35.2], final_loss=[1e-12],
        loss_floor=1e-15), figures=[Figure("figure1", "F1", "c", "runs/figure1/figure1.svg")])


def _statuses(stages: list[StageResult]) -> dict[str, str]:
    return {e.id: e.status for e in decide_ledger({s.name: s for s in stages})}


def _flow(recovered: list[bool]) -> FlowOutcome:
    return FlowOutcome(spec=RunSpec(InstanceSpec(d=4, r=2, ratio=100.0)), seeds=[0], t_max=1e4, recovered=[recovered], recovered_all=[all(recovered)],
                       fitted=[sum(recovered)], final_loss=[1e-9], reinitializations=[3],
                       discovery_times=[[1.0] * len(recovered)], seconds=1.0)


def _scale_row(d: int, recovered_all: bool) -> ScaleRow:
    return ScaleRow(d=d, m=5 * d, command="deflation run", recovered=[True, recovered_all], recovered_all=recovered_all,
                    in_order=True, discovery_times=[20.0, 2000.0 if recovered_all else None], final_loss=1e-12,
                    loss_floor=1e-15, epochs=30, rhs_evals=1000, seconds=1.0)


def test_ledger_rules():
    derivations = _derivations(*[_claim(f"C{i}") for i in range(1, 14)])
    invariants = StageResult("invariants", "i", results=InvariantsResult(verdicts=[
        _verdict("P1", Status.PASS), _verdict("P9", Status.PASS), _verdict("P8", Status.FAIL),
        _verdict("P6", Status.NOT_APPLICABLE), _verdict("P10", Status.INCONCLUSIVE), _verdict("P3", Status.PASS),
        _verdict("P12", Status.PASS), _verdict("P12", Status.FAIL, source="spread-plain")]))
    entries = {e.id: e for e in decide_ledger({s.name: s for s in [derivations, _figure1(), invariants]})}
    s = {k: e.status for k, e in entries.items()}
    assert all(s[f"C{i}"] == "verified" for i in range(1, 14))  # instance checks only: never "proven"
    assert entries["C1"].scope == {"d": [2, 3], "l": [3, 4]}
    assert s["C14"] == "open"                                   # not run
    assert s["P2"] == "verified"                                # from C5
    assert s["P3"] == "supported" and entries["P3"].rests_on == ["C6", "C7"]  # the numeric comparison decides
    assert s["P1"] == "supported" and s["P9"] == "supported"
    assert (entries["P1"].k, entries["P1"].n) == (1, 1) and entries["P1"].ci95[1] == 1.0
    assert s["P8"] == "refuted"                                 # a failed verdict is a counterexample
    assert s["P6"] == "open" and s["P10"] == "open"             # only undecided verdicts: no evidence
    assert s["P4"] == "supported" and s["P5"] == "supported"
    assert s["P12"] == "supported"                              # the spread plain run is cited, not decisive
    assert s["P7"] == "open" and s["P11"] == "open"             # their stages did not run

    # proofs_check's "proven" counts only with scope d = "all"; a claim inherits the weakest of what it rests on.
    proven = [_claim(f"C{i}") for i in range(1, 14)]
    for c in proven:
        c.status, c.scope = "proven", {"d": "all", "l": "all"}
    proven[5].scope = {"d": [2, 3], "l": "all"}                 # C6 "proven" at listed d only
    entries = {e.id: e for e in decide_ledger({s.name: s for s in [_derivations(*proven), _figure1(), invariants]})}
    assert entries["C5"].status == "proven" and entries["C5"].scope == {"d": "all", "l": "all"}
    assert entries["C6"].status == "verified" and entries["P2"].status == "proven"
    assert entries["P3"].status == "supported"                  # numeric k/n is weaker than C6 (verified)
    no_numeric = StageResult("invariants", "i", results=InvariantsResult(verdicts=[_verdict("P1", Status.PASS)]))
    assert _statuses([_derivations(*proven), _figure1(), no_numeric])["P3"] == "open"

    s = _statuses([_derivations(_claim("C5", "fail"), _claim("C6")), _figure1(first_ok=False)])
    assert s["C5"] == "refuted" and s["P2"] == "refuted"
    assert s["C7"] == "open" and s["P3"] == "open"              # C7 not run
    assert s["P4"] == "refuted"
    assert s["P1"] == "open"                                    # no invariants stage

    crashed = StageResult("invariants", "i", status="failed", error="ImportError: no verify.invariants")
    entries = {e.id: e for e in decide_ledger({"invariants": crashed})}
    assert entries["P9"].status == "open" and "ImportError" in entries["P9"].evidence.summary

    # P7 and P11 are decided from the frontier stage only: the audit's own Algorithm 1 runs (the spread spectrum's,
    # the scale stage's) are cited, never counted, and without the frontier stage both stay open, saying why.
    spread = StageResult("spread", "s", results=SpreadResult(InstanceSpec(d=4, r=2, ratio=100.0),
                                                             plain=_flow([True, False]),
                                                             modified=_flow([True, True])))
    scale = StageResult("scale", "a", results=ScaleResult(coefficients=[1.0, 1e-2], eps=1e-9, m_per_d=5,
                                                          rows=[_scale_row(20, True), _scale_row(30, False)]))
    entries = {e.id: e for e in decide_ledger({s.name: s for s in (spread, scale)})}
    for claim in ("P7", "P11"):
        entry = entries[claim]
        assert entry.status == "open" and entry.n is None, claim
        assert "stage 'frontier' did not run" in entry.evidence.summary, claim
        assert any(line.startswith("cited, not counted (below exp(-d/ln d)") and "d = 30" in line
                   for line in entry.evidence.details), claim
        assert entry.reproduce.startswith("deflation probe --campaign")


@pytest.mark.slow
def test_every_rule_runs_on_real_stage_results(audit):
    """Each claim's rule on the stage results of a real (test-profile) audit: a rule that reads a field its
    stage does not produce fails here instead of turning the claim "open"."""
    report, _ = audit
    stages = {s.name: s for s in report.stages}
    assert all(s.ok for s in stages.values()), {s.name: s.error for s in stages.values() if not s.ok}
    for claim in CLAIM_IDS:
        decision = decide_claim(stages, claim)
        assert decision.status in STATUSES and decision.summary and decision.reproduce.startswith("deflation ")
    # The rules that read each stage actually decided from it (not "stage did not run").
    decided = {e.id: e for e in report.ledger}
    assert decided["C1"].status == "proven" and decided["C13"].status == "proven"  # proofs for every d
    assert decided["C1"].scope["d"] == "all" and decided["C13"].scope["d"] == "all"
    assert "stage" not in decided["P4"].evidence.summary and "stage" not in decided["P11"].evidence.summary


def test_ledger_rules_raise_on_malformed_stage_results():
    """No rule turns malformed input into an "open" claim: an untyped results dict is a bug and raises."""
    malformed = StageResult("figure1", "Figure 1", results={"first_is_largest": [True], "runs": [{"seed": 0}]})
    with pytest.raises(AttributeError):
        decide_ledger({"figure1": malformed})
    figure1 = _figure1()
    figure1.results.seeds = None  # a stage that forgot a field
    with pytest.raises(TypeError):
        decide_claim({"figure1": figure1}, "P4")


def test_cli_rejects_unknown_profile(capsys):
    from verify.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--profile", "huge"])
    assert exit_info.value.code == 2


# ------------------------------------------------------------------------------- the evidence store in the audit

def _phase_from(out: Path, *, seed: int = 0, full: bool = True):
    """The phase stage's result on the test audit's campaign store at ``out`` (every row re-run when ``full``)."""
    import pandas as pd

    from verify.audit.stages.phase import PhaseStageResult
    from verify.sweep.campaigns import read_campaign
    from verify.sweep.claims import ClaimEvidence, p1_all_runs, p12_m90_evidence

    rows, state = read_campaign("campaign_test", out, seed=seed, full=full)
    rows = pd.concat([rows.assign(campaign="campaign_test")])
    none = ClaimEvidence("P1", "open", "none")
    return PhaseStageResult(campaigns=[state], p12=p12_m90_evidence(rows), p1=p1_all_runs(rows, "plain", "t"),
                            p1_modified=none, m90_md={}, alg1_fit=None, alg1_fit_md="", d_tests=[], d_tests_md="",
                            seed=seed, spot_seconds=0.0)


def test_the_audit_reads_the_store_and_says_reproduced_k_of_k(audit):
    report, out = audit
    phase = report.stage("phase")
    (state,) = phase.results.campaigns
    assert state.name == "campaign_test" and state.status == "complete" and state.rows == 9
    assert state.spot is not None and (state.spot.reproduced, state.spot.k) == (3, 3) and state.older_solver == 0
    assert "reproduced 3/3" in (out / "report.md").read_text() and "reproduced 3/3" in (out / "index.html").read_text()
    law_k, law_n = state.law
    assert law_n == 9 and f"{law_k} of {law_n}" in (out / "report.md").read_text()
    assert {f.id for f in phase.figures} >= {"phase-campaign_test", "mcurves-campaign_test"}


def test_a_tampered_row_makes_the_claims_irreproducible(audit, tmp_path):
    """One row of a copied store with its outcome flipped: the spot-check (every row) finds it, the campaign
    is not reproducible, and P12 and P1, decided from that store, become ``irreproducible`` with the row as the
    counterexample; the untouched copy decides them as usual."""
    import pyarrow.parquet as pq

    from verify.sweep.store import write_row

    _, out = audit
    store = tmp_path / "campaign_test"
    shutil.copytree(out / "evidence" / "campaign_test", store)
    clean = _phase_from(tmp_path)
    stages = {"phase": StageResult("phase", "p", results=clean)}
    assert clean.campaigns[0].reproducible and clean.campaigns[0].spot.k == 9
    assert decide_claim(stages, "P12").status != "irreproducible" and decide_claim(stages, "P1").status != "irreproducible"
    row = pq.read_table(sorted((store / "runs").glob("*.parquet"))[0]).to_pylist()[0]
    row["success"] = row["recovered_all"] = not row["success"]
    write_row(store, row)
    tampered = _phase_from(tmp_path)
    assert not tampered.campaigns[0].reproducible and "irreproducible" in tampered.campaigns[0].line()
    stages = {"phase": StageResult("phase", "p", results=tampered)}
    for claim in ("P12", "P1"):
        decision = decide_claim(stages, claim)
        assert decision.status == "irreproducible", claim
        assert decision.counterexample["key"] == row["key"] and decision.counterexample["field"] == "success"
    entries = {e.id: e for e in decide_ledger(stages)}
    assert entries["P12"].status == "irreproducible" and "irreproducible" in STATUSES


def test_campaign_states_absent_partial_and_older_solver(audit, tmp_path):
    from verify.sweep.campaigns import read_campaign

    _, out = audit
    rows, state = read_campaign("plain_m", tmp_path, spot_k=8)
    assert len(rows) == 0 and state.status == "absent" and state.spot is None and "absent" in state.line()
    store = tmp_path / "campaign_test"
    shutil.copytree(out / "evidence" / "campaign_test", store)
    for path in sorted((store / "runs").glob("*.parquet"))[:2]:
        path.unlink()
    rows, state = read_campaign("campaign_test", tmp_path, spot_k=0, head="0" * 40)
    assert state.status == "partial" and (state.rows, state.expected) == (7, 9) and "7/9 rows" in state.line()
    assert state.older_solver == 7 and "made by an older solver" in state.line()


def test_spot_check_sample_is_seeded_uniform_over_the_store(audit):
    from verify.sweep.spotcheck import sample_rows
    from verify.sweep.store import read_rows

    _, out = audit
    rows = read_rows(out / "evidence" / "campaign_test")
    picks = {tuple(sample_rows(rows.sample(frac=1, random_state=s), 4, seed=(7, 1))["key"]) for s in range(3)}
    assert len(picks) == 1 and len(next(iter(picks))) == 4      # same seed, any row order: the same sample
    seen = set()
    for seed in range(40):
        seen |= set(sample_rows(rows, 4, seed=(seed, 1))["key"])
    assert seen == set(rows["key"])                             # every row can be drawn, none preferred
    assert len(sample_rows(rows, 4, full=True)) == len(rows) == len(sample_rows(rows, 20))


def test_p1_counts_every_run_in_the_order_among_its_fitted_directions():
    import pandas as pd

    from verify.sweep.claims import p1_all_runs

    def row(seed, fitted, times):
        return {"algorithm": "plain", "d": 6, "r": 3, "order": 4, "m": 4, "seed": seed, "a": [1.0, 0.3, 0.1],
                "ratio": None, "fitted": fitted, "discovery_times": times, "discovery_tolerance": [0.1] * 3,
                "error": None, "command": f"deflation run --first-seed {seed}"}

    nan = float("nan")
    ok = pd.DataFrame([row(0, [1, 3], [1.0, nan, 5.0]),          # a_2 skipped, 1 before 3: in order
                       row(1, [2], [nan, 2.0, nan]),              # one direction: no order to check
                       row(2, [1, 2, 3], [1.0, 2.0, 3.0])])
    evidence = p1_all_runs(ok, campaign="x")
    assert evidence.status == "supported" and (evidence.k, evidence.n) == (2, 2)
    assert evidence.details["skipped"] == 2 and evidence.details["fewer_than_two"] == 1
    reversed_ = pd.concat([ok, pd.DataFrame([row(3, [1, 3], [6.0, nan, 5.0])])])  # 3 before 1 among the fitted
    evidence = p1_all_runs(reversed_, campaign="x")
    assert evidence.status == "refuted" and (evidence.k, evidence.n) == (2, 3)
    assert evidence.commands == ["deflation run --first-seed 3"]


def test_cli_rejects_a_negative_seed(tmp_path, capsys):
    from verify.cli import main

    assert main(["audit", "--seed", "-1", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err and not (tmp_path / "a").exists()
