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

from verify.audit import CLAIM_IDS, PROFILES, SCHEMA_PATH, decide_ledger, run_audit
from verify.audit._types import Figure, Stage, StageResult

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> tuple[dict, Path]:
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


def test_report_json_is_valid_and_has_every_claim(audit):
    report, out = audit
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report
    _check_against_schema(on_disk)
    ids = [e["id"] for e in on_disk["ledger"]]
    assert ids == list(CLAIM_IDS)
    assert sorted(ids) == sorted([f"P{i}" for i in range(1, 13)] + [f"C{i}" for i in range(1, 14)])
    for entry in on_disk["ledger"]:
        assert entry["status"] in ("verified", "supported", "refuted", "open")
        assert entry["reproduce"].startswith("deflation ")
        assert entry["evidence"]["summary"]
        if entry["status"] == "refuted":
            assert entry["counterexample"], entry["id"]
    assert [s["name"] for s in on_disk["stages"]] == ["derivations", "figure1", "spread", "invariants", "precision",
                                                       "probe"]
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


def test_html_is_self_contained_and_has_every_claim_and_figure(audit):
    report, out = audit
    page = (out / "index.html").read_text()
    parser = _Collector()
    parser.feed(page)
    parser.close()
    for claim in CLAIM_IDS:
        assert f"claim-{claim}" in parser.ids, claim
    figures = [f["id"] for s in report["stages"] for f in s["figures"]]
    assert "figure1" in figures and "spread" in figures
    for fid in figures:
        assert f"fig-{fid}" in parser.ids, fid
    # Figures are inline SVG; no script, no stylesheet or image fetched from anywhere.
    assert parser.tags.count("svg") >= len(figures)
    assert "script" not in parser.tags and "img" not in parser.tags and "link" not in parser.tags
    assert parser.external == []
    assert "Ledger" in "".join(parser.text)
    # The ledger table comes first, before any claim section.
    assert page.index("id='ledger'") < page.index('id="claim-P1"')
    # No id is defined twice (the figures' SVG ids are prefixed per figure).
    seen: dict[str, int] = {}
    for match in re.finditer(r'\bid="([^"]+)"', page):
        seen[match.group(1)] = seen.get(match.group(1), 0) + 1
    assert [k for k, v in seen.items() if v > 1] == []


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


# ---------------------------------------------------------------------------------------- stage isolation

def test_failing_stage_is_reported_and_the_others_still_run(tmp_path):
    ran = []

    def broken(ctx, result):
        import proofs_check_that_does_not_exist  # noqa: F401

    def fine(ctx, result):
        ran.append("figure1")
        result.results = {"note": "ran"}

    def needs_broken(ctx, result):
        ran.append("never")

    stages = (Stage("derivations", "broken", broken), Stage("figure1", "fine", fine),
              Stage("invariants", "needs derivations", needs_broken, requires=("derivations",)))
    report = run_audit(PROFILES["test"], tmp_path, progress=False, stages=stages)
    status = {s["name"]: s for s in report["stages"]}
    assert status["derivations"]["status"] == "failed"
    assert "ModuleNotFoundError" in status["derivations"]["error"]
    assert status["figure1"]["status"] == "ok" and ran == ["figure1"]
    assert status["invariants"]["status"] == "skipped"
    ledger = {e["id"]: e for e in report["ledger"]}
    assert ledger["C5"]["status"] == "open" and "ModuleNotFoundError" in ledger["C5"]["evidence"]["summary"]
    assert ledger["P2"]["status"] == "open"
    _check_against_schema(report)
    assert (tmp_path / "index.html").exists() and (tmp_path / "report.md").exists()


# --------------------------------------------------------------------------------------------- ledger rules

def _claim(cid: str, status: str = "pass") -> dict:
    return {"id": cid, "title": cid, "status": status, "statement_tex": "x", "steps": [],
            "covered": {"d": [2, 3], "l": [3, 4]}, "checks": {"symbolic": status == "pass", "mpmath": True,
                                                              "code": True}, "seconds": 0.1}


def _verdict(claim: str, passed: bool, source: str = "figure1", applicable: bool = True) -> dict:
    return {"claim": claim, "name": "x", "passed": passed, "margin": 0.5 if passed else -0.5, "worst": 0.0,
            "params": {}, "details": {"applicable": applicable}, "run": 0, "source": source}


def _figure1(first_ok: bool = True, fits: bool = True) -> StageResult:
    return StageResult("figure1", "Figure 1", results={
        "instance": {"m": 50}, "runs": [{"seed": 0}], "discovery_rank": [[1, 2, 3, 4, 5] if first_ok else [2, 1]],
        "ordered": [first_ok], "first_is_largest": [first_ok], "recovered_all": [fits],
        "mean_discovery_times": [17.2, 20.6, 24.7, 29.5, 35.2]},
        figures=[Figure("figure1", "F1", "c", "runs/figure1/figure1.svg")])


def _statuses(stages: list[StageResult]) -> dict[str, str]:
    return {e.id: e.status for e in decide_ledger({s.name: s for s in stages})}


def test_ledger_rules():
    derivations = StageResult("derivations", "d", results={"claims": [_claim(f"C{i}") for i in range(1, 14)]})
    invariants = StageResult("invariants", "i", results={"verdicts": [
        _verdict("P1", True), _verdict("P9", True), _verdict("P8", False), _verdict("P6", True, applicable=False),
        _verdict("P12", True), _verdict("P12", False, source="spread-plain")], "sweep": None, "sweep_error": None})
    s = _statuses([derivations, _figure1(), invariants])
    assert all(s[f"C{i}"] == "verified" for i in range(1, 14))
    assert s["P2"] == "verified" and s["P3"] == "verified"    # from C5; from C6 and C7
    assert s["P1"] == "supported" and s["P9"] == "supported"
    assert s["P8"] == "refuted"                                 # a failed verdict is a counterexample
    assert s["P6"] == "open"                                    # only a not-applicable verdict: no evidence
    assert s["P4"] == "supported" and s["P5"] == "supported"
    assert s["P12"] == "supported"                              # the spread plain run is cited, not decisive
    assert s["P7"] == "open" and s["P11"] == "open"             # their stages did not run

    failing = StageResult("derivations", "d", results={"claims": [_claim("C5", "fail"), _claim("C6")]})
    s = _statuses([failing, _figure1(first_ok=False)])
    assert s["C5"] == "refuted" and s["P2"] == "refuted"
    assert s["C7"] == "open" and s["P3"] == "open"              # C7 not run
    assert s["P4"] == "refuted"
    assert s["P1"] == "open"                                    # no invariants stage

    crashed = StageResult("invariants", "i", status="failed", error="ImportError: no verify.invariants")
    entries = {e.id: e for e in decide_ledger({"invariants": crashed})}
    assert entries["P9"].status == "open" and "ImportError" in entries["P9"].evidence["summary"]

    spread = StageResult("spread", "s", results={
        "instance": {"a": [1.0, 1e-2]}, "plain": {"recovered": [[True, False]], "fitted": [1]},
        "modified": {"seeds": [0], "recovered": [[True, True]], "recovered_all": [True], "fitted": [2],
                     "reinitializations": [3]}})
    probe = StageResult("probe", "p", results={"rows": [
        {"d": 10, "eps": 1e-6, "reached": 1e-7, "recovered_all": True, "epochs": 20, "seconds": 1.0,
         "bound": 0.0130}]})
    s = _statuses([spread, probe])
    assert s["P7"] == "supported" and s["P11"] == "supported"
    probe.results["rows"][0]["recovered_all"] = False
    s = _statuses([spread, probe])
    assert s["P11"] == "open"                                   # a miss below the bound is not a refutation


def test_cli_rejects_unknown_profile(capsys):
    from verify.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--profile", "huge"])
    assert exit_info.value.code == 2
