"""The sweep: spec parsing and validation, the Parquet store, phase summaries, and real two-worker
LocalCluster sweeps that lose a worker mid-sweep or are killed and resumed."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import pytest

from solver.errors import ValidationError
from verify.cli import main
from verify.sweep.phase import phase_summary, wilson_interval
from verify.sweep.runner import point_payload, run_point, run_sweep
from verify.sweep.spec import load_spec, parse_spec
from verify.sweep.store import existing_keys, read_rows, write_row

# Two plain runs per grid point, 8 runs, each well under a second on one core: d = 4, r = 2.
TINY = """
name = "tiny"
[grid]
d = [4]
r = [2]
spread = [1.0, 4.0]
m_over_r = [1, 2]
algorithm = ["plain"]
seeds = 2
[plain]
delta0 = 1e-6
t_max_per_a_min = 20.0
n_save = 16
integrator = "bdf"
linear_solver = "dense"
record_components = false
"""

RESULT_COLUMNS = ["key", "command", "recovered_all", "n_recovered", "final_loss", "rhs_evals", "reinitializations"]
LIST_COLUMNS = ["recovered", "discovery_times", "final_residuals"]


# ------------------------------------------------------------------------------------------------ spec
def test_spec_expands_to_one_runspec_per_seed():
    spec = parse_spec(TINY)
    points = spec.points()
    assert len(points) == 1 * 1 * 2 * 2 * 2
    assert len({p.key for p in points}) == len(points)
    for p in points:
        assert p.spec.n_seeds == 1
        assert p.spec.config.m == round(p.m_over_r * p.spec.instance.r)
        a = p.spec.instance.coefficients()
        assert a[0] / a[-1] == pytest.approx(p.spread, rel=1e-12)
        assert p.spec.instance.basis_seed == p.spec.first_seed  # basis_seed = "seed": each run its own instance
        assert p.spec.config.t_max == pytest.approx(20.0 * p.spread, rel=1e-5)


def test_spec_scaled_eps_and_parameter_axes():
    text = TINY.replace('algorithm = ["plain"]', 'algorithm = ["modified"]').split("[plain]")[0]
    text += "[modified]\ndelta1 = [1e-5, 1e-4]\neps_per_a_min = 0.25\n"
    points = parse_spec(text).points()
    assert len(points) == 16
    assert {p.spec.config.delta1 for p in points} == {1e-5, 1e-4}
    for p in points:
        assert p.spec.config.eps == pytest.approx(0.25 / p.spread, rel=1e-5)


@pytest.mark.parametrize("edit, field", [
    (("seeds = 2", "seeds = 2\nfoo = 1"), "grid.foo"),
    (("d = [4]", "d = []"), "grid.d"),
    (("m_over_r = [1, 2]", "m_over_r = [0, 2]"), "grid.m_over_r"),
    (("m_over_r = [1, 2]", "m_over_r = [1, 2]\nm = [3]"), "grid.m_over_r"),
    (("r = [2]", "r = [5]"), "grid.r"),
    (("spread = [1.0, 4.0]", 'spread = ["wide"]'), "grid.spread"),
    (('algorithm = ["plain"]', 'algorithm = ["newton"]'), "grid.algorithm"),
    (("delta0 = 1e-6", "delta0 = -1.0"), "plain.delta0"),
    (("delta0 = 1e-6", "delta_zero = 1e-6"), "plain.delta_zero"),
    (('integrator = "bdf"', 'integrator = "leapfrog"'), "plain.integrator"),
    (("seeds = 2", "seeds = 0"), "grid.seeds"),
    (("record_components = false", "record_components = 0"), "plain.record_components"),
    (("n_save = 16", "n_save = 16.5"), "plain.n_save"),
])
def test_bad_spec_names_the_field(edit, field):
    with pytest.raises(ValidationError) as info:
        parse_spec(TINY.replace(*edit))
    assert str(info.value).startswith(f"{field}: must be")
    assert "\n" not in str(info.value)


def test_builtin_specs_parse_and_quick_has_200_runs():
    quick, full = load_spec("quick"), load_spec("full")
    assert len(quick.points()) >= 200
    assert {"plain", "modified"} <= set(quick.axes["algorithm"])
    assert {10, 20, 40} <= set(full.axes["d"])


def test_cli_bad_spec_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace("m_over_r = [1, 2]", "m_over_r = []"))
    out = tmp_path / "out"
    assert main(["sweep", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "grid.m_over_r: must be" in err
    assert not out.exists()
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert not out.exists()


# ----------------------------------------------------------------------------------------------- store
@pytest.fixture(scope="module")
def reference_rows():
    """Every run of TINY solved in this process, one after the other: what any sweep of TINY must equal."""
    return {row["key"]: row for row in (run_point(point_payload(p)) for p in parse_spec(TINY).points())}


def _assert_rows_equal(df: pd.DataFrame, reference: dict) -> None:
    assert sorted(df["key"]) == sorted(reference)
    for _, row in df.iterrows():
        ref = reference[row["key"]]
        for col in RESULT_COLUMNS:
            assert row[col] == ref[col], col
        for col in LIST_COLUMNS:
            assert np.array_equal(np.asarray(row[col], dtype=float), np.asarray(ref[col], dtype=float),
                                  equal_nan=True), col


def test_store_roundtrip_ignores_partial_files(tmp_path, reference_rows):
    rows = list(reference_rows.values())
    for row in rows[:3]:
        write_row(tmp_path, row)
    (tmp_path / "runs" / ".abc.parquet.tmp").write_bytes(b"half a file")  # what a kill mid-write leaves
    assert existing_keys(tmp_path) == {r["key"] for r in rows[:3]}
    df = read_rows(tmp_path)
    assert len(df) == 3
    _assert_rows_equal(df, {r["key"]: r for r in rows[:3]})


def test_reference_rows_are_plausible(reference_rows):
    rows = list(reference_rows.values())
    assert all(r["error"] is None for r in rows)
    # Equal coefficients (spread 1) and m = 2r: both directions are found (this instance family's easy corner).
    easy = [r for r in rows if r["spread"] == 1.0 and r["m"] == 4]
    assert easy and all(r["recovered_all"] for r in easy)


# ----------------------------------------------------------------------------------------------- phase
def test_phase_summary_m_star_and_counts():
    rows = []
    rates = {1: [0, 0, 0, 1], 2: [1, 1, 1, 1], 4: [1, 1, 1, 0]}  # m/r -> successes of 4 seeds
    for m_over_r, outcomes in rates.items():
        for seed, ok in enumerate(outcomes):
            rows.append({"algorithm": "plain", "d": 6, "r": 3, "spread": 100.0, "m_over_r": float(m_over_r),
                         "recovered_all": bool(ok), "n_recovered": 3 if ok else 2, "error": None})
    rows.append({"algorithm": "plain", "d": 6, "r": 3, "spread": 100.0, "m_over_r": 4.0, "recovered_all": False,
                 "n_recovered": 0, "error": "RuntimeError: boom"})
    summary = phase_summary(pd.DataFrame(rows), threshold=0.75)
    entry = summary.lookup("plain", 6, 100.0)
    # 1: 25%, 2: 100%, 4: 75% (the error is left out): rate >= 75% from m/r = 2 on.
    assert entry.m_over_r == 2.0 and entry.m == 6
    assert entry.failures_at_or_above == 1 and entry.runs_at_or_above == 8
    assert summary.n_errors == 1
    strict = phase_summary(pd.DataFrame(rows), threshold=0.9).lookup("plain", 6, 100.0)
    assert strict.m_over_r is None  # 75% at the largest m/r: never reached and kept
    lo, hi = wilson_interval(3, 4)
    assert 0 < lo < 0.75 < hi < 1


# ------------------------------------------------------------------------------------- real LocalCluster
@pytest.fixture(scope="module")
def client():
    from distributed import Client

    from verify.sweep.runner import local_cluster

    cluster = local_cluster(2)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow
def test_sweep_survives_a_killed_worker(tmp_path, client, reference_rows):
    spec = parse_spec(TINY)
    killed: list[str] = []

    def kill_a_busy_worker(row, c):
        if killed:
            return
        busy = [addr for addr, keys in c.processing().items() if keys]
        target = busy[0] if busy else next(iter(c.scheduler_info()["workers"]))
        pid = c.run(os.getpid, workers=[target])[target]
        os.kill(pid, signal.SIGKILL)  # the nanny starts a new worker; the scheduler reruns the lost task
        killed.append(target)

    result = run_sweep(spec, tmp_path, client=client, on_row=kill_a_busy_worker)
    assert killed
    assert result.written == len(reference_rows)
    files = list((tmp_path / "runs").glob("*.parquet"))
    assert len(files) == len(reference_rows)
    df = read_rows(tmp_path)
    assert len(df) == df["key"].nunique() == len(reference_rows)  # each run exactly once
    _assert_rows_equal(df, reference_rows)


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path, client, reference_rows):
    spec = parse_spec(TINY)

    class Killed(Exception):
        pass

    def die_after_three(row, c):
        if len(existing_keys(tmp_path)) >= 3:
            raise Killed

    with pytest.raises(Killed):
        run_sweep(spec, tmp_path, client=client, on_row=die_after_three)
    first = existing_keys(tmp_path)
    assert 3 <= len(first) < len(reference_rows)
    # Resumed through the scheduler's address, as `deflation sweep --scheduler tcp://...` does.
    result = run_sweep(spec, tmp_path, scheduler=client.scheduler.address)
    assert result.workers == 2
    assert result.skipped == len(first)
    assert result.written == len(reference_rows) - len(first)
    assert not first & {row["key"] for row in result.rows}  # nothing already present ran again
    df = read_rows(tmp_path)
    assert len(df) == df["key"].nunique() == len(reference_rows)
    _assert_rows_equal(df, reference_rows)
    # A third call finds everything present and runs nothing (no cluster is even started).
    assert run_sweep(spec, tmp_path).written == 0


@pytest.mark.slow
def test_plot_redraws_from_the_dataset(tmp_path, reference_rows, capsys):
    for row in reference_rows.values():
        write_row(tmp_path, row)
    assert main(["sweep", "--plot", str(tmp_path), "--quiet"]) == 0
    for name in ("phase.png", "phase.svg", "phase.md", "phase.json"):
        assert (tmp_path / name).is_file()
    assert "| plain | 4 | 2 |" in (tmp_path / "phase.md").read_text()
    assert main(["sweep", "--plot", str(tmp_path / "nothing")]) == 2


def _synthetic_rows(outcomes: dict[float, list[bool]], times=(1.0, 2.0, 3.0)) -> pd.DataFrame:
    rows = []
    for m_over_r, oks in outcomes.items():
        for seed, ok in enumerate(oks):
            rows.append({"algorithm": "plain", "d": 6, "r": 3, "spread": 100.0, "m_over_r": m_over_r,
                         "recovered_all": ok, "n_recovered": 3 if ok else 2, "error": None,
                         "discovery_times": list(times), "command": f"deflation run --seed {seed}"})
    return pd.DataFrame(rows)


def test_claim_evidence_rules():
    from verify.sweep.claims import p1_evidence, p12_evidence

    rows = _synthetic_rows({1.0: [False, False], 2.0: [True, True], 4.0: [True, True]})
    summary = phase_summary(rows)
    p12 = p12_evidence(summary)
    assert p12.status == "supported" and "m* = 6" in p12.statement  # a failure at m < m* refutes nothing
    assert p1_evidence(rows, summary).status == "supported"
    swapped = _synthetic_rows({1.0: [False], 2.0: [True], 4.0: [True]}, times=(1.0, 3.0, 2.0))
    p1 = p1_evidence(swapped, phase_summary(swapped))
    assert p1.status == "refuted" and p1.commands
    never = _synthetic_rows({1.0: [False], 2.0: [True], 4.0: [False]})
    assert p12_evidence(phase_summary(never)).status == "open"  # not reached within the grid: no refutation


# ------------------------------------------------------------------------------- the evidence store
def test_rows_have_the_evidence_columns(reference_rows):
    from verify.sweep.store import EVIDENCE_COLUMNS

    for row in reference_rows.values():
        for col in EVIDENCE_COLUMNS:
            assert row.get(col) is not None, col
        assert row["success"] == row["recovered_all"] and row["algorithm"] == "plain"
        assert row["fitted"] == [j + 1 for j, ok in enumerate(row["recovered"]) if ok]
        assert row["predicted_model"] == "basins" and set(row["predicted"]) <= {1, 2}
        assert row["integrator"] == row["integrator_used"] == "bdf" and row["draws"] == "nested-v1"
        assert len(row["commit"]) >= 40 or row["commit"] == "unknown"


def test_resume_reruns_exactly_the_missing_rows(tmp_path, client, reference_rows):
    """Rows deleted from a finished store (or never written: a killed campaign) are rerun, nothing else."""
    spec = parse_spec(TINY)
    for row in reference_rows.values():
        write_row(tmp_path, row)
    gone = sorted(reference_rows)[:3]
    for key in gone:
        (tmp_path / "runs" / f"{key}.parquet").unlink()
    result = run_sweep(spec, tmp_path, client=client)
    assert result.skipped == len(reference_rows) - 3 and sorted(r["key"] for r in result.rows) == gone
    df = read_rows(tmp_path)
    assert len(df) == df["key"].nunique() == len(reference_rows)
    _assert_rows_equal(df, reference_rows)


def test_spot_check_reproduces_and_flags_a_tampered_row(tmp_path, reference_rows):
    from verify.sweep.spotcheck import spot_check

    rows = list(reference_rows.values())
    assert len(rows) == 8
    tampered = dict(next(r for r in rows if np.isfinite(r["discovery_times"]).any()))
    j = int(np.flatnonzero(np.isfinite(tampered["discovery_times"]))[0])
    times = list(tampered["discovery_times"])
    times[j] += 3 * tampered["discovery_tolerance"][j] + 1.0  # outside the run's stated tolerance
    tampered["discovery_times"] = times
    for row in rows:
        write_row(tmp_path, tampered if row["key"] == tampered["key"] else row)
    reproduced, k, mismatches = spot_check(tmp_path, k=8, seed=1)
    assert (reproduced, k) == (7, 8)
    assert [(m.key, m.field) for m in mismatches] == [(tampered["key"], f"discovery_times[{j + 1}]")]
    # An edited command names another run: caught by its key.
    other = next(r for r in rows if r["key"] != tampered["key"])
    edited = dict(other, command=other["command"].replace("--m ", "--m 1"))
    write_row(tmp_path, edited)
    check = spot_check(tmp_path, full=True)
    assert check.k == 8 and check.reproduced == 6 and not check.ok and "irreproducible" in check.line()


def test_m_curves_m_needed_non_monotone_and_m90_interval(tmp_path):
    from scipy.stats import binom

    from verify.sweep.mcurve import SeedCurve, m_lines, quantile_interval

    assert SeedCurve(0, (2, 4, 8), (False, True, True)).m_needed == 4
    bumpy = SeedCurve(1, (2, 4, 8), (True, False, True))
    assert bumpy.m_needed == 8 and not bumpy.monotone
    assert SeedCurve(2, (2, 4, 8), (True, True, False)).m_needed is None
    # Order-statistic interval: coverage >= 95% by the binomial law, and the shortest such.
    est, low, high = quantile_interval(list(range(1, 101)), 0.9)
    assert est == 90 and binom.cdf(high - 1, 100, 0.9) - binom.cdf(low - 1, 100, 0.9) >= 0.95
    assert quantile_interval([5] * 10 + [None] * 2, 0.9)[2] is None  # censored seeds: no upper end
    rows = []
    for seed, need in enumerate([2, 4, 4, 8, None]):
        for m in (2, 4, 8):
            ok = need is not None and m >= need
            rows.append({"algorithm": "plain", "d": 4, "r": 2, "spread": 1.0, "seed": seed, "m": m, "success": ok,
                         "fitted": [1, 2] if ok else [1], "predicted": [1, 2] if m >= 4 else [1], "error": None})
    (line,) = m_lines(pd.DataFrame(rows))
    assert [c.m_needed for c in line.curves] == [2, 4, 4, 8, None] and line.non_monotone == 0
    assert line.compared == 15 and line.agree == 11 and line.m90 is None  # 1 of 5 censored: q = 0.9 above
    from verify.sweep.claims import law_agreement, p12_m90_evidence
    from verify.sweep.mcurve import plot_m_curves

    assert law_agreement(pd.DataFrame(rows)) == (11, 15)
    evidence = p12_m90_evidence(pd.DataFrame(rows))
    assert evidence.status == "open" and "above the grid" in evidence.statement and "11 of 15" in evidence.statement
    four = pd.DataFrame([r for r in rows if r["seed"] != 4])
    assert p12_m90_evidence(four).status == "supported"

    paths = plot_m_curves(pd.DataFrame(rows), tmp_path / "m_curves")
    assert all(p.stat().st_size > 0 for p in paths)


def test_r_over_d_and_the_campaign_specs():
    spec = parse_spec(TINY.replace("r = [2]", "r_over_d = [0.5]").replace("d = [4]", "d = [4, 6]"))
    assert spec.shapes() == [(4, 2), (6, 3)]
    with pytest.raises(ValidationError, match="grid.r"):
        parse_spec(TINY.replace("r = [2]", "r = [2]\nr_over_d = [0.5]"))
    plain, alg1 = load_spec("plain_m"), load_spec("alg1_m")
    assert len(plain) == 3 * 2 * 3 * 13 * 30 and len(alg1) == 5 * 9 * 20
    assert {(p.spec.instance.d, p.spec.instance.rank) for p in alg1.points()} == {(6, 3), (10, 5), (14, 7),
                                                                                (20, 10), (30, 15)}
    ms = sorted({p.spec.config.m for p in plain.points()})
    assert all(1.3 < b / a < 1.55 for a, b in zip(ms[2:], ms[3:]))  # geometric, ratio ~ sqrt 2


def test_m90_table_for_nested_stores_only(tmp_path):
    """``write_m_curves`` writes the m_90 table and figure for a store of nested draws, and nothing for rows
    drawn before draws were nested (their seeds have no curve in m)."""
    from verify.sweep.phase import m90_markdown, write_m_curves
    from verify.sweep.mcurve import m_lines

    rows = []
    for seed, need in enumerate([2, 4, 4, 8, None]):
        for m in (2, 4, 8):
            ok = need is not None and m >= need
            rows.append({"algorithm": "plain", "d": 4, "r": 2, "spread": 1.0, "seed": seed, "m": m, "success": ok,
                         "fitted": [1, 2] if ok else [1], "predicted": [1, 2] if m >= 4 else [1], "error": None,
                         "order": 4, "draws": "nested-v1"})
    nested = pd.DataFrame(rows)
    paths = write_m_curves(nested, tmp_path)
    assert {p.name for p in paths} >= {"m90.json", "m90.md", "m_curves.png"}
    table = (tmp_path / "m90.md").read_text()
    assert "| plain | 4 | 2 | 1 | 5 | 1 | - |" in table  # one seed above the grid: m_90 unbounded at 5 seeds
    four = m90_markdown(m_lines(nested[nested["seed"] != 4]))
    assert "| plain | 4 | 2 | 1 | 4 | 0 | 8 |" in four
    assert write_m_curves(nested.assign(draws=None), tmp_path / "old") == []


def test_p1_from_a_sweep_treats_ties_and_resolution_as_deflation_order_does():
    """A sweep row whose a_2 / a_3 = 1.2 pair is reversed by 1.4 time units, within the two discovery times'
    resolution (2.4 each), is in order for :class:`DeflationOrder` and so for the sweep's P1; reversed by more
    than the resolution, it is out of order."""
    from verify.sweep.claims import _out_of_order

    row = pd.Series({"a": None, "ratio": 1.2, "discovery_tolerance": [1.6, 2.4, 2.4]})
    assert not _out_of_order(row, [11.26, 18.07, 16.67])
    assert _out_of_order(row, [11.26, 18.07, 12.0])
    assert not _out_of_order(row.copy().set_axis(row.index), [11.26, 12.0, 18.07])
    assert _out_of_order(pd.Series({"a": [1.0, 0.5, 0.25], "discovery_tolerance": [0.0, 0.0, 0.0]}), [1.0, 3.0, 2.0])
    assert not _out_of_order(pd.Series({"a": [1.0, 0.95, 0.25], "discovery_tolerance": [0.0, 0.0, 0.0]}),
                             [2.0, 1.0, 3.0])  # a_1 / a_2 < rho = 1.1: a tie, either order


def test_readme_evidence_section_and_benchmark_lines_come_from_the_store(tmp_path, reference_rows):
    """The README block and the BENCHMARKS lines are computed from a store's rows (here TINY's, two copies
    under two campaign names, one of them missing a row), and the block replaces only what lies between its
    markers."""
    from verify.sweep.evidence_readme import BEGIN, END, benchmark_lines, evidence_section, replace_section

    (tmp_path / "a").mkdir()
    for row in reference_rows.values():
        write_row(tmp_path / "a", row)
    section = evidence_section(tmp_path, ("a", "b"))
    assert section.startswith(BEGIN) and section.rstrip().endswith(END)
    assert "`a`: no spec, 8 rows" in section and "`b`: absent" in section  # no spec.toml for "a": size unknown
    assert "| plain | 4 | 2 | 1 | 2 |" in section and "| plain | 4 | 2 | 4 | 2 |" in section
    lines = benchmark_lines(tmp_path, ("a",))
    cpu = sum(r["cpu_seconds"] for r in reference_rows.values())
    assert f"| a | 4 | 8 | {cpu / 3600:.2f} | {cpu / 8:.2f} | {3600 / (cpu / 8):.0f} |" in lines
    text = "intro\n" + BEGIN + "\nold\n" + END + "\nrest\n"
    assert replace_section(text, section) == "intro\n" + section.rstrip("\n") + "\nrest\n"
    with pytest.raises(ValueError, match="markers"):
        replace_section("no markers here", section)


def test_law_vs_measured_pools_d_and_counts_the_law_on_the_same_w0():
    from verify.sweep.mcurve import law_vs_measured, law_vs_measured_markdown

    rows = pd.DataFrame([{"algorithm": "plain", "d": d, "r": 2, "spread": 10.0, "order": 4, "m": m, "seed": s,
                          "success": m == 8 or s == 0, "predicted": [1, 2] if m == 8 else [1], "error": None}
                         for d in (4, 6) for m in (2, 8) for s in range(3)])
    table = law_vs_measured(rows, samples=20_000)
    assert [(t["m"], t["n"], t["k"], t["predicted_k"], t["ds"]) for t in table] == [(2, 6, 2, 0, [4, 6]),
                                                                                    (8, 6, 6, 6, [4, 6])]
    assert 0 < table[0]["law"] < table[1]["law"] < 1            # P(every basin occupied) grows with m
    assert "| 2 | 10 | 8 | 6 | 1.00 | 1.00 |" in law_vs_measured_markdown(table)


def test_a_campaign_in_the_repository_is_named_by_its_relative_path_in_commands(tmp_path):
    from verify.sweep.campaigns import EVIDENCE_ROOT, CampaignState

    inside = CampaignState(name="plain_m", folder=str(EVIDENCE_ROOT / "plain_m"), status="complete", rows=1,
                           expected=1)
    assert inside.out == "evidence/plain_m"
    outside = CampaignState(name="x", folder=str(tmp_path / "x"), status="complete", rows=1, expected=1)
    assert outside.out == str(tmp_path / "x")
