"""The symbolic audit: every claim is proven for every d (or says where it is not), every deliberately wrong
variant fails both the proof and the instance checks, the CLI contract holds."""

from __future__ import annotations

import json
import re

import pytest
import sympy as sp

import proofs_check
from proofs_check import CLAIMS, LEMMAS, run_claim
from proofs_check._gram_calculus import L, Gram, Tensor, is_zero_vec, simplify_zero
from proofs_check._proofs import PROOFS, Proof
from verify import cli

MUTANTS = [(claim.id, mutant) for claim in CLAIMS for mutant in claim.mutants]


@pytest.fixture(scope="module")
def all_claims_json() -> dict:
    """One full ``deflation derive --format json`` run, shared by the tests below (exit code kept)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli.main(["derive", "--format", "json"])
    return {"code": code, "data": json.loads(buffer.getvalue())}


def test_registry_is_c1_to_c14_in_order() -> None:
    assert [c.id for c in CLAIMS] == [f"C{i}" for i in range(1, 15)]
    assert set(PROOFS) == {c.id for c in CLAIMS}


@pytest.mark.slow
def test_every_claim_is_proven_for_every_d(all_claims_json: dict) -> None:
    entries = all_claims_json["data"]["claims"]
    assert [e["id"] for e in entries] == [c.id for c in CLAIMS]
    assert all_claims_json["code"] == 0
    assert all(e["passed"] and e["status"] in ("proven", "verified") for e in entries)
    proven = [e for e in entries if e["status"] == "proven"]
    assert len(proven) >= 11
    for e in proven:
        assert e["scope"]["d"] == "all" and e["scope"]["l"] in ("all", "l>=3")
        assert e["checks"]["proof"] is True and all(p["ok"] for p in e["proof_checks"])
        assert set(e["lemmas"]) <= set(LEMMAS)
    # every claim touching the solver has a code cross-check, and it ran
    assert all(e["checks"]["code"] is True for e in entries)
    ids = {e["id"] for e in entries}
    assert all(set(e["rests_on"]) <= ids - {e["id"]} for e in entries)
    used = {name for e in entries for name in e["lemmas"]}
    assert used == set(all_claims_json["data"]["lemmas"])


@pytest.mark.slow
def test_json_schema(all_claims_json: dict) -> None:
    assert set(all_claims_json["data"]) == {"claims", "lemmas"}
    for entry in all_claims_json["data"]["claims"]:
        assert set(entry) == {"id", "title", "title_tex", "status", "passed", "scope", "lemmas", "lemma_statements", "rests_on", "statement_tex", "steps",
                              "details", "covered", "checks", "proof_checks", "facts", "seconds"}
        assert isinstance(entry["statement_tex"], str) and entry["statement_tex"] and entry["title_tex"]
        assert entry["steps"] and all(isinstance(s, str) for s in entry["steps"])
        assert set(entry["covered"]) == {"d", "l", "pairs"} and entry["covered"]["pairs"]
        assert {tuple(p) for p in entry["covered"]["pairs"]} <= {(d, l) for d in entry["covered"]["d"] for l in entry["covered"]["l"]}
        assert set(entry["checks"]) == {"symbolic", "mpmath", "code", "proof"}
        assert all(v is None or isinstance(v, bool) for v in entry["checks"].values())
        assert isinstance(entry["seconds"], float)


@pytest.mark.slow
def test_covered_says_where_the_instances_were(all_claims_json: dict) -> None:
    by_id = {e["id"]: e for e in all_claims_json["data"]["claims"]}
    assert by_id["C9"]["covered"]["d"] == [2]  # dL/dt instances at d = 2 only
    assert sorted(map(tuple, by_id["C11"]["covered"]["pairs"])) == [(2, 3), (2, 4), (3, 3)]


def _shown(entry: dict) -> list[str]:
    """Every LaTeX string the report shows for a claim."""
    return [entry["statement_tex"], entry["title_tex"], *entry["steps"], *(d["tex"] for d in entry["details"]),
            *(d["label"] for d in entry["details"])]


@pytest.mark.slow
def test_no_raw_sympy_or_python_repr_in_what_the_report_shows(all_claims_json: dict) -> None:
    for e in all_claims_json["data"]["claims"]:
        for text in _shown(e):
            bare = re.sub(r"\\[a-zA-Z]+", "", re.sub(r"\\text\{[^}]*\}", "", text))  # commands and prose out
            assert not re.search(r"(?<![a-zA-Z])n(?![a-zA-Z])", bare), (e["id"], "undefined symbol n", text[:120])
            assert r"\left[\begin{matrix}" not in text  # unstretched brackets
            assert not re.search(r":\s*1[,}]|\{\s*'|True|False|None", text), (e["id"], text[:120])
        for step in e["steps"]:
            assert len(step) < 1200, (e["id"], "long expression not summarized", len(step))


@pytest.mark.slow
def test_every_formula_renders_as_mathml(all_claims_json: dict) -> None:
    from verify.audit.mathml import latex_to_html

    for e in all_claims_json["data"]["claims"]:
        for text in _shown(e):
            markup = latex_to_html(text)
            body = re.sub(r'title="[^"]*"', "", re.sub(r"<annotation.*?</annotation>", "", markup, flags=re.S))
            assert "<math" in markup and not re.findall(r">[^<]*\\[A-Za-z|{}][^<]*<", body), (e["id"], text[:120])


@pytest.mark.slow
def test_derivations_stage_template_shows_status_scope_and_full_forms(all_claims_json: dict) -> None:
    from proofs_check import run_claims
    from verify.audit._types import StageResult
    from verify.audit.render import _environment
    from verify.audit.stages.derivations import DerivationsResult

    claims = run_claims(["C2", "C8"])
    stage = StageResult("derivations", "d", results=DerivationsResult(claims, {k: LEMMAS[k] for k in ("power-span",)}))
    html = _environment(True).get_template("stages/derivations.html.j2").render(stage=stage)
    assert "<details" in html and "power-span" in html and "all d" in html and "proven" in html
    assert "{'" not in html and "[2, 3]" not in html
    md = _environment(False).get_template("stages/derivations.md.j2").render(stage=stage)
    assert "| C2 " in md and "all d" in md


def test_a_wrong_identity_is_not_proven() -> None:
    g = Gram()
    v, x = g.vector("v"), g.vector("x")
    R = Tensor([(sp.Integer(1), v)])
    assert is_zero_vec(R.partial(g, x) - v * g.dot(v, x) ** (L - 1))
    assert not is_zero_vec(R.partial(g, x) - v * g.dot(v, x) ** L)
    assert not simplify_zero(R.full(g, x) - g.dot(v, x) ** (L - 1))
    assert simplify_zero(R.full(g, x) - g.dot(v, x) ** L)


@pytest.mark.parametrize(("claim_id", "mutant"), MUTANTS)
def test_every_mutation_fails_the_proof(claim_id: str, mutant: str) -> None:
    assert not PROOFS[claim_id](mutant).proven


@pytest.mark.parametrize(("claim_id", "mutant"), MUTANTS)
def test_every_mutation_is_caught(claim_id: str, mutant: str) -> None:
    result = run_claim(proofs_check.claim_by_id(claim_id), mutant=mutant, fail_fast=True)
    assert result.status == "fail"
    assert result.checks["symbolic"] is False or result.checks["mpmath"] is False


def test_without_its_proof_a_claim_is_only_verified_at_its_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROOFS, "C8", lambda mutant=None: Proof([("a failing step", False)], [], {"d": "all", "l": "all"}))
    result = run_claim(proofs_check.claim_by_id("C8"))
    assert result.status == "verified" and result.scope["d"] == [2, 3] and result.lemmas == ()
    assert result.checks["proof"] is False


def test_order_law_on_a_solver_trajectory() -> None:
    from proofs_check._order_law import trajectory_order

    facts = trajectory_order()
    assert facts["y_order_changes"] == 0 and facts["decided_pairs"] > 1000 and facts["max_norm"] < 1e-3
    assert facts["x2_order_changes"] > 0  # the same check on a quantity the law does not cover fails


def test_unknown_mutant_is_an_error() -> None:
    with pytest.raises(KeyError):
        run_claim(CLAIMS[1], mutant="no such mutant")


def test_cli_single_claim_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "c1", "--claim", "C8"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["claim", "status", "scope"]
    assert "C1" in out and "C8" in out and "2/2 proven for every d" in out and "2/2 pass" in out


def test_cli_md_has_latex_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "C7", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "## C7:" in out and out.count("$$") >= 4 and "**proven**" in out


def test_cli_unknown_claim_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "C99"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--claim" in err and "C1..C14" in err and "C99" in err


def test_cli_exits_1_when_a_claim_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Route the command through a wrong variant: the command must report it and exit 1.
    monkeypatch.setattr(proofs_check, "run_claims", lambda ids: [run_claim(proofs_check.claim_by_id("C4"), mutant="lambda/2")])
    assert cli.main(["derive", "--claim", "C4"]) == 1
    out = capsys.readouterr().out
    assert "fail" in out and "0/1 pass" in out


def test_wrong_rates_and_exponents_are_not_proven() -> None:
    """The all-d machinery of C10/C11/C12 distinguishes the true law from a near miss."""
    from proofs_check._proofs import _linearized, model

    c, lam = sp.Symbol("c", positive=True), sp.Symbol("lambda", positive=True)
    a_eq = c + lam / 2
    Bt, _, _, _ = _linearized(1, [c], a_eq, tangential=True)
    assert simplify_zero(Bt[0, 0] + L * a_eq) and not simplify_zero(Bt[0, 0] + (L - 1) * a_eq)
    Br, _, _, _ = _linearized(1, [c], a_eq, tangential=False)
    assert simplify_zero(Br[0, 0] + 4 * c) and not simplify_zero(Br[0, 0] + L * c)
    M = model(2, 2)
    F = M.flow(0)
    s = sp.Symbol("s", positive=True)
    sub = {M.lam: s * M.lam, **{aj: s * aj for aj in M.a}}
    for p, nk in zip(M.names, M.n):
        sub[nk] = sp.sqrt(s) * nk
        for j in range(2):
            sub[M.g.G(p, f"u_{{{j + 1}}}")] = sp.sqrt(s) * M.g.G(p, f"u_{{{j + 1}}}")
    sub[M.g.G(M.names[0], M.names[1])] = s * M.g.G(M.names[0], M.names[1])
    scaled = F.subs(sub)
    scaled = type(F)({p: cf * (sp.sqrt(s) if p.startswith("w") else 1) for p, cf in scaled.items()})
    assert is_zero_vec(scaled - F * s ** sp.Rational(3, 2))
    assert not is_zero_vec(scaled - F * s)
