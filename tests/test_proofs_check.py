"""The symbolic audit: every claim passes, every deliberately wrong variant fails, the CLI contract holds."""

from __future__ import annotations

import json

import pytest

import proofs_check
from proofs_check import CLAIMS, run_claim
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


def test_registry_is_c1_to_c13_in_order() -> None:
    assert [c.id for c in CLAIMS] == [f"C{i}" for i in range(1, 14)]


def test_every_claim_passes(all_claims_json: dict) -> None:
    entries = all_claims_json["data"]["claims"]
    assert [e["id"] for e in entries] == [c.id for c in CLAIMS]
    failed = {e["id"]: e["checks"] for e in entries if e["status"] != "pass"}
    assert not failed
    assert all_claims_json["code"] == 0
    # every claim touching the solver has a code cross-check, and it ran
    assert all(e["checks"]["code"] is True for e in entries)


def test_json_schema(all_claims_json: dict) -> None:
    assert set(all_claims_json["data"]) == {"claims"}
    for entry in all_claims_json["data"]["claims"]:
        assert set(entry) == {"id", "title", "status", "statement_tex", "steps", "covered", "checks", "seconds"}
        assert entry["status"] in ("pass", "fail")
        assert isinstance(entry["statement_tex"], str) and entry["statement_tex"]
        assert entry["steps"] and all(isinstance(s, str) for s in entry["steps"])
        assert set(entry["covered"]) == {"d", "l"} and {2, 3} <= set(entry["covered"]["d"]) and {3, 4} <= set(entry["covered"]["l"])
        assert set(entry["checks"]) == {"symbolic", "mpmath", "code"}
        assert all(v is None or isinstance(v, bool) for v in entry["checks"].values())
        assert isinstance(entry["seconds"], float)


def test_mutants_exist_for_c2_to_c7() -> None:
    ids = {claim_id for claim_id, _ in MUTANTS}
    assert {"C2", "C3", "C4", "C5", "C6", "C7"} <= ids


@pytest.mark.parametrize(("claim_id", "mutant"), MUTANTS)
def test_every_mutation_is_caught(claim_id: str, mutant: str) -> None:
    result = run_claim(proofs_check.claim_by_id(claim_id), mutant=mutant, fail_fast=True)
    assert result.status == "fail"
    assert result.checks["symbolic"] is False or result.checks["mpmath"] is False


def test_unknown_mutant_is_an_error() -> None:
    with pytest.raises(KeyError):
        run_claim(CLAIMS[1], mutant="no such mutant")


def test_cli_single_claim_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "c1", "--claim", "C8"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["claim", "status", "covered"]
    assert "C1" in out and "C8" in out and "2/2 pass" in out


def test_cli_md_has_latex_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "C7", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "## C7:" in out and out.count("$$") >= 4


def test_cli_unknown_claim_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "--claim", "C99"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--claim" in err and "C1..C13" in err and "C99" in err


def test_cli_exits_1_when_a_claim_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Route the command through a wrong variant: the command must report it and exit 1.
    monkeypatch.setattr(proofs_check, "run_claims", lambda ids: [run_claim(proofs_check.claim_by_id("C4"), mutant="lambda/2")])
    assert cli.main(["derive", "--claim", "C4"]) == 1
    out = capsys.readouterr().out
    assert "fail" in out and "0/1 pass" in out
