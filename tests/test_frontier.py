"""The accuracy-frontier campaign (claim P11): its grid, its parameters (no point fails by construction), the
resumable runner and the statistics (known slope recovered, flat data read as flat, few seeds as inconclusive)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import verify.experiments.frontier as fr
import verify.experiments.frontier_stats as fs


# ------------------------------------------------------------------------------------------------- the grid
def test_grid_has_both_readings_and_six_decades():
    cells = fr.grid_eps(8, range(6))
    assert len(cells) == 12
    generous = [e for r, _, e in cells if r == "d/ln d"]
    assert generous[0] == pytest.approx(math.exp(-8 / math.log(8)))
    assert generous[-1] == pytest.approx(math.exp(-8 / math.log(8)) * 1e-5)
    half = [e for r, _, e in cells if r == "d/(2 ln d)"]
    assert half[0] == pytest.approx(0.146081, rel=1e-5)  # the regime at d = 8 starts at 0.15 under this reading
    assert cells[0][2] == max(e for _, _, e in cells)


def test_families_move_or_hold_the_spectrum():
    shifted = fr.family_spectrum("shifted", 1e-3, 0.2)
    fixed_a = fr.family_spectrum("fixed", 1e-3, 0.2)
    fixed_b = fr.family_spectrum("fixed", 1e-6, 0.2)
    assert shifted[-1] == pytest.approx(1e-2) and shifted[0] == pytest.approx(10.0)
    assert fixed_a == fixed_b and fixed_a[-1] == pytest.approx(2.0)
    assert np.allclose(np.array(shifted[:-1]) / np.array(shifted[1:]), 10.0)
    with pytest.raises(Exception, match="family"):
        fr.family_spectrum("other", 1e-3, 0.2)


def test_campaign_sizes():
    runs = fr.campaign_runs(fr.FLOAT64)
    # The top eps of each d is one spectrum in both families: it runs once.
    assert len(runs) == 5 * (12 * 2 - 1) * 2 * fr.FLOAT64.seeds
    assert {r.m for r in runs} == {16, 32}
    assert len({r.key for r in runs}) == len(runs)
    hp = fr.campaign_runs(fr.HIGH_PRECISION)
    assert len(hp) == 2 * 3 * 5 and all(r.precision in ("flint", "mpmath") for r in hp)
    assert {(r.d, r.m) for r in hp} == {(4, 32), (6, 16)}
    assert "m_by_d = [[4, 8]]" in fr.HIGH_PRECISION.toml()
    assert all(r.dps >= 2 * math.log10(r.a[0] / r.eps) + 20 for r in hp)
    # The integration's error on T is kept three decades below eps, and never looser than float64's.
    assert all(r.spec().config.rtol * r.a[0] <= 1e-3 * r.eps * (1 + 1e-12) and r.spec().config.rtol <= 1e-16
               for r in hp)


def test_high_precision_runs_come_cell_by_cell_cheapest_first():
    """A campaign cut short holds complete cells: every (eps, d) cell's seeds in a row, the largest eps first."""
    hp = fr.campaign_runs(fr.HIGH_PRECISION)
    cells = [(r.eps, r.d) for r in hp]
    assert [r.eps for r in hp] == sorted((r.eps for r in hp), reverse=True)
    for start in range(0, len(hp), fr.HIGH_PRECISION.hp_seeds):
        block = hp[start:start + fr.HIGH_PRECISION.hp_seeds]
        assert len(set(cells[start:start + len(block)])) == 1 and [r.seed for r in block] == list(range(len(block)))


# --------------------------------------------------------------------------------- failure by construction
def _check(run: fr.FrontierRun) -> fr.ConstructionCheck:
    c = run.spec().config
    return fr.construction_check(run.a, run.eps, run.m, c.delta0, c.delta1, c.regularizer, run.precision, run.dps)


def test_high_precision_tolerance_follows_beta_down_to_the_eps_tolerance():
    """hp_epoch_rtol: float64's 1e-16 at the first epochs (never looser), 1e-6 beta_s / a_1 below that, and the eps
    tolerance hp_rtol from beta_s = 1e3 eps on (the last epochs)."""
    a_1, eps = 2362.9, 1e-40
    rtol = fr.hp_epoch_rtol(a_1, eps)
    assert rtol(a_1) == rtol(1e-9 * a_1) == 1e-16
    assert rtol(1e-12 * a_1) == pytest.approx(1e-18)
    assert rtol(1e3 * eps) == rtol(eps) == fr.hp_rtol(a_1, eps) == pytest.approx(1e-3 * eps / a_1)
    betas = a_1 * 0.5 ** np.arange(150)
    assert np.all(np.diff([rtol(b) for b in betas]) <= 0)


def test_no_point_fails_by_construction():
    for run in fr.campaign_runs(fr.FLOAT64) + fr.campaign_runs(fr.HIGH_PRECISION):
        check = _check(run)
        assert check.ok, (run, check)
        assert check.margin_delta1 > 9 and check.margin_mass > 99  # the 0.1 factors, with lambda/2 negligible


def test_old_parameters_fail_by_construction():
    # The old probe: a_r = eps, delta0 = 1e-15, delta1 = 1e-5, m = 2d.
    for d, eps in ((4, 1e-12), (6, 1e-20), (4, 1e-40)):
        a = tuple(eps ** (j / 3) for j in range(4))
        check = fr.construction_check(a, eps, 2 * d, 1e-15, 1e-5, eps / 10, "flint", 120)
        assert not check.fitted_norm_ok  # sqrt(a_r) <= 1e-6 < delta1: the norm rule re-initializes a fitted u_r
    assert not fr.construction_check((1.0, 1e-40), 1e-40, 8, 1e-15, 1e-5, 1e-41, "flint", 120).fresh_mass_ok
    # float64 cannot resolve eps = 1e-20 against a_1 = 1.
    assert not fr.construction_check((1.0, 1e-20), 1e-20, 8, 1e-22, 1e-11, 1e-21).resolvable


# ------------------------------------------------------------------------------------------------- running
def test_tiny_campaign_writes_rows_and_resumes(tmp_path):
    from verify.sweep.store import read_rows

    spec = fr.CampaignSpec("t", dims=(4,), ks=(0,), families=("shifted",), m_over_r=(2,), seeds=1)
    written, total = fr.run_campaign(spec, tmp_path)
    assert (written, total) == (2, 2)  # both readings at k = 0
    rows = fr.read_frontier(tmp_path)
    assert len(rows) == 2 and set(rows["precision"]) == {"float64"}
    for name in ("eps", "delta0", "delta1", "precision", "max_rel_residual", "free_at_ar", "t_ur_ratio", "success"):
        assert name in rows.columns
    assert rows["error"].isna().all()
    row = rows.iloc[0]
    assert row["delta1"] == pytest.approx(0.1 * math.sqrt(min(row["a"])))
    assert row["delta0"] == pytest.approx(0.1 * math.sqrt(row["eps"] / row["m"]))
    assert row["max_rel_residual"] == pytest.approx(max(abs(np.asarray(row["final_residuals"]))))
    # The store's own reader reads the same files (it drops the columns it does not know).
    assert sorted(read_rows(tmp_path)["key"]) == sorted(rows["key"])
    assert fr.run_campaign(spec, tmp_path) == (0, 2)  # resumed: nothing left to run
    (tmp_path / "runs" / f"{rows['key'].iloc[0]}.parquet").unlink()
    assert fr.run_campaign(spec, tmp_path) == (1, 2)


@pytest.mark.parametrize("n", [7, 9, 20, 50])
def test_wilson_interval_contains_the_estimate_at_the_ends(n):
    """The closed form puts 0/n and n/n an ulp outside their own interval; the figure's error bars then fail."""
    for k in (0, n):
        lo, hi = fs.wilson(k, n)
        assert lo <= k / n <= hi and 0.0 <= lo and hi <= 1.0


def test_slope_needs_events_and_seeds_that_change_with_eps():
    """Failures that are whole seeds (the same outcome at every eps) or a handful of runs give no slope (their
    cluster-robust interval collapsed to [-0.000, +0.000] on the campaign), while the same design with seeds
    whose outcome changes with eps keeps one."""
    eps = np.repeat(10.0 ** -np.arange(6), 20)
    seeds = np.tile(np.arange(20), 6)
    whole_seeds = seeds >= 3  # seeds 0-2 fail at every eps
    assert fs.trend(6, eps, whole_seeds, groups=seeds).slope is None
    few = np.ones(120, dtype=bool)
    few[:4] = False
    assert fs.trend(6, eps, few, groups=seeds).slope is None
    changing = ~((seeds < 10) & (eps < 1e-2))  # ten seeds fail once eps is small
    fit = fs.trend(6, eps, changing, groups=seeds)
    assert fit.slope is not None and fit.slope < 0


def test_spec_file_describes_every_campaign_run_into_the_folder(tmp_path):
    """float64 and high precision run apart into one folder: its spec.toml is their union, not the last one run."""
    f64 = fr.CampaignSpec("f", dims=(4,), ks=(0,), families=("shifted",), m_over_r=(2,), seeds=1)
    hp = fr.CampaignSpec("h", seeds=0, hp_dims=(4,), hp_eps=(1e-12,), hp_m_by_d=((4, 2),), hp_seeds=1)
    assert fr.CampaignSpec.from_toml(hp.toml()) == hp  # the file round-trips
    fr.run_campaign(f64, tmp_path, limit=0)
    fr.run_campaign(hp, tmp_path, limit=0)
    written = fr.CampaignSpec.from_toml((tmp_path / "spec.toml").read_text())
    assert written.name == "f+h"
    assert {r.key for r in fr.campaign_runs(written)} == {r.key for r in fr.campaign_runs(f64) + fr.campaign_runs(hp)}
    fr.run_campaign(f64, tmp_path, limit=0)  # running a part again keeps the union
    assert fr.CampaignSpec.from_toml((tmp_path / "spec.toml").read_text()) == written
    # The check can fail: the high-precision spec alone does not describe the folder.
    assert {r.key for r in fr.campaign_runs(hp)} != {r.key for r in fr.campaign_runs(written)}


def test_row_reproduces_from_its_command(tmp_path):
    from verify.sweep.spotcheck import spot_check

    spec = fr.CampaignSpec("t", dims=(4,), ks=(1,), families=("fixed",), m_over_r=(2,), seeds=1)
    fr.run_campaign(spec, tmp_path, limit=1)
    result = spot_check(tmp_path, k=1)
    assert result.reproduced == 1, result.line()


def test_worker_processes_write_the_rows_one_process_writes(tmp_path):
    """Two worker processes: the same keys and the same outcomes, bit for bit, as the runs done in this process."""
    import pandas as pd

    spec = fr.CampaignSpec("t", dims=(4,), ks=(3,), families=("fixed",), m_over_r=(2,), seeds=1)
    n = len(fr.campaign_runs(spec))  # one eps per reading of the bound
    assert fr.run_campaign(spec, tmp_path / "pool", workers=2) == (n, n)
    assert fr.run_campaign(spec, tmp_path / "one", workers=1) == (n, n)
    pool, one = (fr.read_frontier(tmp_path / name).sort_values("key").reset_index(drop=True) for name in ("pool", "one"))
    assert list(pool["key"]) == list(one["key"]) and len(pool) == n == 2
    for column in ("success", "final_loss", "rhs_evals"):
        pd.testing.assert_series_equal(pool[column], one[column])
    assert fr.run_campaign(spec, tmp_path / "pool", workers=2) == (0, n)  # resumes: nothing left


# ---------------------------------------------------------------------------------------------- statistics
def _synthetic(slope: float, intercept: float, seeds: int, rng: np.random.Generator):
    x = np.repeat(np.arange(6.0) + 1.5, seeds)
    p = 1 / (1 + np.exp(-(intercept + slope * x)))
    return 10.0 ** -x, rng.random(x.size) < p


def test_known_slope_is_recovered_and_read_as_needed():
    rng = np.random.default_rng(1)
    eps, y = _synthetic(-1.2, 5.0, 60, rng)
    t = fs.trend(8, eps, y)
    assert t.slope_ci[0] < -1.2 < t.slope_ci[1]
    assert t.reading == "needed" and t.ca_z < 0 and t.ca_p < 1e-6
    assert t.eps_50 is not None and 1e-6 < t.eps_50 < 1e-2


def test_flat_data_is_read_as_not_binding():
    rng = np.random.default_rng(2)
    eps, y = _synthetic(0.0, math.log(0.9 / 0.1), 150, rng)
    t = fs.trend(8, eps, y)
    assert t.slope_ci[0] < 0 < t.slope_ci[1]
    assert t.reading == "not binding here"
    assert -fs.MARGIN <= t.diff_ci[0] and t.diff_ci[1] <= fs.MARGIN


def test_all_successes_flat_and_few_seeds_inconclusive():
    eps = np.repeat(10.0 ** -np.arange(6.0), 25)
    t = fs.trend(6, eps, np.ones(eps.size, bool))
    assert t.slope is None and t.reading == "not binding here"  # 50/50 at each end bounds the difference
    few = np.repeat(10.0 ** -np.arange(6.0), 2)
    t2 = fs.trend(6, few, np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1], bool))
    assert t2.reading == "inconclusive at these sizes" and t2.seeds_to_decide > 4


def test_shared_seeds_count_once():
    # 3 seeds, each the same outcome at all 6 eps: 18 runs, but 3 observations per end, not 6.
    eps = np.tile(10.0 ** -np.arange(6.0), 3)
    seeds = np.repeat(np.arange(3), 6)
    y = np.ones(eps.size, bool)
    independent = fs.trend(6, eps, y)
    clustered = fs.trend(6, eps, y, groups=seeds)
    assert clustered.diff_ci[1] - clustered.diff_ci[0] > independent.diff_ci[1] - independent.diff_ci[0]
    assert clustered.reading == "inconclusive at these sizes"
    # 3 seeds cannot bound the difference; the number that would, does (all successes at both ends).
    n = clustered.seeds_to_decide
    assert 10 < n < 30
    full = fs.trend(6, np.tile(10.0 ** -np.arange(6.0), n), np.ones(6 * n, bool), groups=np.repeat(np.arange(n), 6))
    assert full.reading == "not binding here"
    short = n - 1
    part = fs.trend(6, np.tile(10.0 ** -np.arange(6.0), short), np.ones(6 * short, bool),
                    groups=np.repeat(np.arange(short), 6))
    assert part.reading == "inconclusive at these sizes"


def test_flat_failure_locates_nothing():
    eps = np.repeat(10.0 ** -np.arange(6.0), 40)
    t = fs.trend(4, eps, np.zeros(eps.size, bool))
    assert t.reading == "inconclusive at these sizes" and t.note.startswith("fails at the top")


def test_a_broken_statistic_would_be_caught():
    # A rising rate must never be read as "needed" (the sign of the trend test matters).
    rng = np.random.default_rng(3)
    eps, y = _synthetic(+1.2, -3.0, 60, rng)
    t = fs.trend(8, eps, y)
    assert t.reading == "inconclusive at these sizes" and t.ca_z > 0 and t.note == "success rises as eps shrinks"


def _frame(slope_by_d: dict[int, float], seeds: int, rng):
    import pandas as pd

    parts = []
    for d, slope in slope_by_d.items():
        eps, y = _synthetic(slope, 6.0 if slope else 3.0, seeds, rng)
        parts.append(pd.DataFrame({"d": d, "eps": eps, "success": y, "m": 16, "family": "fixed",
                                   "seed": np.arange(eps.size),
                                   "precision": "float64", "error": None, "cpu_seconds": 1.0,
                                   "max_rel_residual": 0.01}))
    return pd.concat(parts, ignore_index=True)


def test_family_reading_and_ledger():
    rng = np.random.default_rng(4)
    flat = fs.analyze(_frame({4: 0.0, 8: 0.0}, 200, rng))
    assert flat.families["fixed"].reading == "not binding here"
    assert fs.ledger_p11(flat).status == "supported"
    falling = fs.analyze(_frame({4: -1.5, 8: -1.5, 12: -1.5}, 80, rng))
    trends = falling.families["fixed"].trends
    assert all(t.reading == "needed" for t in trends)
    assert fs.ledger_p11(falling).status in ("refuted", "open")
    assert "fixed" in falling.markdown()


# ------------------------------------------------------------------------------------- the CLI and the audit
def test_campaign_flags_are_checked(capsys):
    from verify.cli import main

    for argv, needle in ((["probe", "--campaign", "nope"], "--campaign: must be one of tiny, float64, high-precision"),
                         (["probe", "--campaign", "tiny", "--limit", "0"], "--limit: must be an integer >= 1"),
                         (["probe", "--campaign", "tiny", "--workers", "0"], "--workers: must be an integer in [1, 64]"),
                         (["probe", "--analyze", "--workers", "2"], "--workers: must be given with --campaign only"),
                         (["probe", "--point", "other:4:1e-3:8:0"], "--point: must be a family among"),
                         (["probe", "--point", "fixed:4:1e-3:8:0", "--precision", "quad"], "--precision: must be one"),
                         (["probe", "--point", "fixed:4:1e-3:8:0", "--rtol", "0.1"], "--rtol: must be a number in"),
                         (["probe", "--point", "fixed:4:1e-3:8:0", "--precision", "flint", "--rtol", "1e-8"],
                          "--rtol: must be given with a float64 --point only"),
                         (["probe", "--analyze", "--rtol", "1e-8"], "--rtol: must be given with a float64 --point")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err


def test_analyze_refuses_an_empty_store(tmp_path, capsys):
    from verify.cli import main

    assert main(["probe", "--analyze", "--out", str(tmp_path)]) == 2
    assert "--out: must be a folder holding campaign rows" in capsys.readouterr().err


def test_audit_stage_reads_the_store(tmp_path):
    from verify.audit.stages.frontier import frontier_evidence

    spec = fr.CampaignSpec("t", dims=(4,), ks=(0, 1), families=("shifted",), m_over_r=(2,), seeds=1)
    fr.run_campaign(spec, tmp_path / "store")
    res = frontier_evidence(tmp_path / "store", spot_check_rows=1, figures=tmp_path / "figures")
    assert (res.reproduced, res.checked) == (1, 1)
    # Inside exp(-d/ln d) = 0.056 at d = 4: eps = 0.236 and 0.056 (not 0.0236, nor 0.0056).
    assert res.analysis.runs == 4 and res.p7.n == 2 and res.p11.claim == "P11" and "m = 8" in res.p7.statement
    assert (tmp_path / "figures" / "frontier-success.svg").exists()
    assert (tmp_path / "figures" / "frontier-measures.svg").exists()
    with pytest.raises(FileNotFoundError):
        frontier_evidence(tmp_path / "empty")


def test_point_reruns_a_campaign_row(tmp_path, capsys):
    import json

    from verify.cli import main

    spec = fr.CampaignSpec("t", dims=(6,), ks=(0,), families=("shifted",), m_over_r=(2,), seeds=1)
    fr.run_campaign(spec, tmp_path)
    row = fr.read_frontier(tmp_path).sort_values("eps").iloc[0]
    capsys.readouterr()
    assert main(["probe", "--point", f"shifted:6:{float(row['eps'])!r}:8:0"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["key"] == row["key"] and printed["success"] == bool(row["success"])
    assert printed["max_rel_residual"] == pytest.approx(row["max_rel_residual"], rel=1e-6)
    # Another local tolerance is another run (its own key), with the same outcome here.
    assert main(["probe", "--point", f"shifted:6:{float(row['eps'])!r}:8:0", "--rtol", "1e-8"]) == 0
    tighter = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert tighter["key"] != row["key"] and tighter["success"] == bool(row["success"])


def test_high_precision_rows_are_kept_apart(tmp_path):
    # A high-precision row (made here from a float64 one: a real flint run costs minutes) is stored under its own
    # key, read back with its precision and digits, and tabulated apart from the float64 statistics.
    spec = fr.CampaignSpec("t", dims=(4,), ks=(0, 1), families=("fixed",), m_over_r=(2,), seeds=1)
    fr.run_campaign(spec, tmp_path)
    import pyarrow.parquet as pq

    rows = fr.read_frontier(tmp_path)
    base = pq.read_table(tmp_path / "runs" / f"{rows['key'].iloc[0]}.parquet").to_pylist()[0]
    run = fr.FrontierRun("fixed", 4, "high-precision", -1, 1e-12, fr.grid_eps(4, (0,))[0][2], 8, 0, "flint",
                         fr.hp_digits(2362.9, 1e-12))
    assert run.key != run.spec().key() and run.dps == 51
    base.update({"key": run.key, "precision": "flint", "dps": run.dps, "eps": 1e-12, "reading": "high-precision",
                 "k": -1})
    fr.write_frontier_row(tmp_path, base)
    again = fr.read_frontier(tmp_path)
    hp = again[again["precision"] == "flint"]
    assert len(hp) == 1 and int(hp["dps"].iloc[0]) == 51
    analysis = fs.analyze(again)
    assert [(c["precision"], c["d"], c["eps"], c["n"]) for c in analysis.high_precision] == [("flint", 4, 1e-12, 1)]
    assert sum(t.n for t in analysis.by_m[("fixed", 8)].trends) == len(rows)  # the flint row is not among them
    # Paired with the same seed's float64 run at the grid's smallest eps; a flipped outcome shows as disagreement.
    deepest = bool(rows.loc[rows["eps"].idxmin(), "success"])
    cell, = analysis.high_precision
    assert cell["paired"] == 1 and cell["agree"] == int(bool(base["success"]) == deepest)
    assert cell["float64_eps"] == rows["eps"].min() and cell["by_seed"] == ("S" if base["success"] else "F")
    flipped = fr.FrontierRun("fixed", 4, "high-precision", -1, 1e-20, run.eps_top, 8, 0, "flint", 67)
    fr.write_frontier_row(tmp_path, {**base, "key": flipped.key, "eps": 1e-20, "dps": 67, "success": not deepest})
    cell20 = [c for c in fs.analyze(fr.read_frontier(tmp_path)).high_precision if c["eps"] == 1e-20][0]
    assert (cell20["agree"], cell20["paired"]) == (0, 1)
    # P11 cites the pairs: 1 of 2 seeds keep their float64 outcome (the flipped one does not).
    assert "high precision (cited): 1/2 seeds keep their float64 outcome down to eps = 1e-20 (d = 4)" in \
        fs.ledger_p11(fs.analyze(fr.read_frontier(tmp_path))).statement
    assert "float64 (eps)" in fs.analyze(fr.read_frontier(tmp_path)).markdown()


def test_probe_without_a_mode_is_one_usage_line(capsys):
    from verify.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["probe"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err == "deflation probe: error: one of the arguments --campaign --analyze --point is required"


# ------------------------------------------------------------------------------------------------ the ledger
def _frontier_stage(result=None, **kwargs):
    from verify.audit._types import StageResult

    return StageResult("frontier", "Accuracy frontier", results=result, **kwargs)


def _ledger(*stages) -> dict:
    from verify.audit import decide_ledger

    return {e.id: e for e in decide_ledger({s.name: s for s in stages})}


def test_ledger_decides_p7_and_p11_from_a_tiny_store_and_a_broken_copy(tmp_path):
    """P7 and P11 from a real (tiny) campaign store: P7 counts the runs inside exp(-d/ln d) at the largest m with
    their Wilson interval; one seed reads as inconclusive, so P11 stays open. A copy whose one row was flipped
    is irreproducible for both: nothing is decided from a store that a re-run contradicts."""
    import shutil

    import pyarrow.parquet as pq

    from verify.audit.stages.frontier import frontier_evidence

    store = tmp_path / "store"
    spec = fr.CampaignSpec("t", dims=(4,), ks=(0, 1), families=fr.FAMILIES, m_over_r=(8,), seeds=1)
    fr.run_campaign(spec, store)
    rows = fr.read_frontier(store)
    res = frontier_evidence(store, spot_check_rows=len(rows))
    assert (res.reproduced, res.checked) == (len(rows), len(rows)) and not res.mismatches
    entries = _ledger(_frontier_stage(res))
    p7, p11 = entries["P7"], entries["P11"]
    inside = rows[rows["eps"] >= fr.bound(4)]
    assert (p7.k, p7.n) == (int(inside["success"].sum()), len(inside)) == (res.p7.k, res.p7.n) and p7.n >= 2
    assert p7.status == ("supported" if p7.k == p7.n else "open") and p7.ci95[1] == 1.0
    assert "m = 32 inside exp(-d/ln d)" in p7.evidence.summary and p7.reproduce.startswith("deflation probe")
    assert p11.status == "open" and "inconclusive at these sizes" in p11.evidence.summary
    assert (p11.k, p11.n) == (res.p11.k, res.p11.n) and p11.n >= 1
    assert p11.reproduce == f"deflation probe --analyze --out {store}"

    broken = tmp_path / "broken"
    shutil.copytree(store, broken)
    row = pq.read_table(sorted((broken / "runs").glob("*.parquet"))[0]).to_pylist()[0]
    row["success"] = row["recovered_all"] = not row["success"]
    fr.write_frontier_row(broken, row)
    res = frontier_evidence(broken, spot_check_rows=len(rows))
    assert res.reproduced == len(rows) - 1 and row["key"] in res.mismatches[0]
    for claim, entry in _ledger(_frontier_stage(res)).items():
        if claim in ("P7", "P11"):
            assert entry.status == "irreproducible", claim
            assert f"reproduced {len(rows) - 1}/{len(rows)}" in entry.evidence.summary, claim


def _onsets_frame(seeds: int, rng):
    """Success falling with x = log10(1/eps) at every d, half-way at x = (3 + d/2)/1.5: the onset moves with d."""
    import pandas as pd

    parts = []
    for d in (4, 8, 12):
        x = np.repeat(np.arange(6.0) + 1.5, seeds)
        y = rng.random(x.size) < 1 / (1 + np.exp(-((3 + 0.5 * d) - 1.5 * x)))
        parts.append(pd.DataFrame({"d": d, "eps": 10.0 ** -x, "success": y, "m": 16, "family": "fixed",
                                   "seed": np.arange(x.size), "precision": "float64", "error": None,
                                   "cpu_seconds": 1.0, "max_rel_residual": 0.01}))
    return pd.concat(parts, ignore_index=True)


def _analysed(rows):
    from verify.audit.stages.frontier import FrontierStageResult

    analysis = fs.analyze(rows)
    return FrontierStageResult(store="evidence/accuracy-frontier", analysis=analysis, p11=fs.ledger_p11(analysis),
                               p7=fs.ledger_p7(rows), reproduced=8, checked=8, mismatches=[], seconds=0.0)


def test_ledger_reads_p11_from_the_campaign_statistics():
    # Flat success down to the grid's smallest eps: "not binding here" -> supported, k/n the bottom of each d.
    flat = _ledger(_frontier_stage(_analysed(_frame({4: 0.0, 8: 0.0}, 200, np.random.default_rng(4)))))["P11"]
    assert flat.status == "supported" and "not binding here" in flat.evidence.summary and flat.n == 2 * 2 * 200
    # Success falling with log(1/eps) at every d, the onset moving with d: "needed" -> refuted, with the trends.
    falling = _ledger(_frontier_stage(_analysed(_onsets_frame(80, np.random.default_rng(4)))))["P11"]
    assert falling.status == "refuted" and "needed" in falling.evidence.summary
    assert [c["d"] for c in falling.counterexample["falls_at"]] == [4, 8, 12]
    assert all(c["low_minus_high_ci95"][1] < 0 for c in falling.counterexample["falls_at"])
    assert falling.counterexample["reproduce"] == "deflation probe --analyze --out evidence/accuracy-frontier"
    # P7 from the same rows: the runs inside exp(-d/ln d) (x = 1.5 at d = 8 and 12; none at d = 4) all succeed
    # -> supported; one miss among them leaves P7 open ("not reproduced": our parameters, not the theorem's).
    rows = _onsets_frame(80, np.random.default_rng(4))
    inside = [eps >= fr.bound(int(d)) for d, eps in zip(rows["d"], rows["eps"])]
    assert sorted(set(rows[inside]["d"])) == [8, 12] and rows[inside]["success"].all()
    p7 = _ledger(_frontier_stage(_analysed(rows)))["P7"]
    assert p7.status == "supported" and (p7.k, p7.n) == (160, 160) and p7.ci95[0] > 0.97
    rows.loc[rows[inside].index[0], "success"] = False
    p7 = _ledger(_frontier_stage(_analysed(rows)))["P7"]
    assert (p7.k, p7.n) == (159, 160) and p7.status == "open" and p7.evidence.summary.startswith("not reproduced")


def test_ledger_says_why_without_the_frontier_evidence():
    absent = _ledger(_frontier_stage(None))
    failed = _ledger(_frontier_stage(None, status="failed", error="OSError: unreadable parquet"))
    missing = _ledger()
    for claim in ("P7", "P11"):
        assert absent[claim].status == "open" and "found no accuracy-frontier campaign" in \
            absent[claim].evidence.summary
        assert failed[claim].status == "open" and "OSError: unreadable parquet" in failed[claim].evidence.summary
        assert missing[claim].status == "open" and "stage 'frontier' did not run" in missing[claim].evidence.summary
        assert absent[claim].k is None and absent[claim].ci95 is None


def test_measures_figure_when_no_run_found_u_r(tmp_path):
    # Every run failed: t(u_r) is nan throughout, which a log axis cannot show; the figure is still drawn.
    import pandas as pd

    eps = np.append(np.repeat(10.0 ** -np.arange(1.0, 4.0), 2), 1e-12)
    rows = pd.DataFrame({"d": 4, "eps": eps, "family": ["shifted", "fixed"] * 3 + ["fixed"],
                         "precision": ["float64"] * 6 + ["flint"], "error": None, "max_rel_residual": 1.0,
                         "free_at_ar": 0, "t_ur_ratio": float("nan")})
    paths = fs.plot_measures(rows, tmp_path / "measures")
    assert paths and all(p.is_file() and p.stat().st_size > 0 for p in paths)
