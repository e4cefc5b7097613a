"""Nested draws (a seed's W(0) grows with m, it is not redrawn) and the order law's prediction (verify.mlaw)."""

import numpy as np
import pytest

from solver import FlowConfig, solve
from solver.flow import initial_directions, seed_streams
from solver.ground_truth import identity_basis
from verify import mlaw


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_first_m_columns_of_a_seeds_w0_do_not_depend_on_m(seed):
    full = initial_directions(np.random.default_rng(seed), 5, 40)
    for m in (1, 2, 3, 6, 12, 24, 39):
        np.testing.assert_array_equal(initial_directions(np.random.default_rng(seed), 5, m), full[:, :m])
    assert np.allclose(np.linalg.norm(full, axis=0), 1.0)


def test_solver_w0_is_nested_in_m_and_reinit_stream_is_separate():
    """Through solve() (the batched torch path, CPU): the recorded correlations at t = 0 with U = I are W(0)."""
    truth = identity_basis(4, np.array([1.0, 0.8, 0.6, 0.4]))
    w0 = {}
    for m in (3, 8):
        run = solve(truth, FlowConfig(m=m, t_max=1.0, n_save=2), seeds=[11, 3])
        w0[m] = run.correlations[:, 0]                             # (B, m, r) = <wbar_k(0), u_j>
        again = solve(truth, FlowConfig(m=m, t_max=1.0, n_save=2), seeds=[3])
        np.testing.assert_array_equal(again.correlations[0, 0], w0[m][1])  # batch-independent
    np.testing.assert_array_equal(w0[8][:, :3], w0[3])
    np.testing.assert_allclose(w0[8][0].T, initial_directions(seed_streams(11)[0], 4, 8), atol=1e-15)
    # Three distinct streams: the basis (default_rng(seed) when basis_seed = seed), W(0), re-initializations.
    init, reinit = seed_streams(11)
    firsts = {init.standard_normal(), reinit.standard_normal(), np.random.default_rng(11).standard_normal()}
    assert len(firsts) == 3
    assert seed_streams(11)[1].standard_normal() == seed_streams(11)[1].standard_normal()


def test_basins_follow_the_signed_law_for_odd_l_minus_2():
    a = np.array([1.0, 0.5])
    U = np.eye(3)[:, :2]
    X = np.array([[0.6, -0.6, -0.5, 0.1], [0.3, 0.3, -0.5, 0.9], [0.7, 0.7, 0.7, 0.1]])
    # l = 4: a_j x_j^2, sign irrelevant
    assert mlaw.basins(X, a, U, 4).tolist() == [0, 0, 0, 1]
    # l = 3: a_j x_j, signed: column 1 heads for +u_2 (0.5*0.3 > 1*(-0.6)); column 2 has no positive y_j
    assert mlaw.basins(X, a, U, 3).tolist() == [0, 1, mlaw.NO_BASIN, 1]
    assert mlaw.predicted_fitted(X[:, :3], a, U, 3) == (0, 1)
    assert mlaw.m_needed(X, a, U, 4) == 4 and mlaw.m_needed(X[:, :3], a, U, 4) is None


def test_occupancy_formula_matches_monte_carlo_and_does_not_depend_on_d():
    a = [1.0, 0.5, 0.25]
    p, se = mlaw.basin_probabilities(a, 4, samples=100_000)
    assert abs(p.sum() - 1) < 1e-12 and np.all(np.diff(p) < 0) and se.max() < 0.002
    exact = mlaw.occupancy_probability(p, 6)
    for d in (3, 30):
        est = mlaw.p_all_occupied(6, a, 4, d, trials=20_000, seed=d)
        assert abs(est.p - exact) < 4 * est.se + 0.005
    # Equal coefficients: p_j = 1/r, the classic coupon collector.
    assert mlaw.occupancy_probability([0.5, 0.5], 3) == pytest.approx(1 - 2 * 0.5 ** 3)
    m90 = mlaw.predicted_m_quantile(a, 4, 0.9, samples=100_000)
    assert mlaw.occupancy_probability(p, m90) >= 0.9 > mlaw.occupancy_probability(p, m90 - 1)


def test_algorithm1_model_fits_everything_with_enough_epochs():
    a = np.array([1.0, 0.1, 0.01])
    betas = [1.0 / 1.5 ** s for s in range(15)]  # reaches below a_3
    rng = np.random.default_rng(0)
    epochs = mlaw.algorithm1_epochs(a, 4, 3, betas, rng, claimed="one")
    got = sorted(j for e in epochs for j in e)
    assert got == [0, 1, 2] and epochs[0] == (0,)  # only a_1 is eligible in the first epoch
    # With "all", every component that went to u_1 stays there: m = 1 can fit only u_1.
    assert mlaw.algorithm1_success(a, 4, 1, betas, eps=0.005, trials=50, claimed="all").p == 0.0
    assert mlaw.algorithm1_success(a, 4, 6, betas, eps=0.005, trials=200, claimed="one").p == 1.0


# ------------------------------------------------------------------------ the model-based m_p(d)
def _synthetic_campaign(k: float, seeds: int = 30, seed: int = 0):
    """Nested success curves with a known log-log slope: seed s at dimension d needs
    ``m_needed = 2 d^k exp(0.5 u_s + 0.4 e_sd)`` (a seed effect u_s shared across d, as nested draws share a
    seed's stream), and succeeds at every grid m >= m_needed. Every quantile of m_needed then grows as d^k."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ms = np.unique(np.round(4 * np.sqrt(2) ** np.arange(16)).astype(int))
    u = rng.standard_normal(seeds)
    rows = []
    for d in (6, 10, 14, 20, 30):
        for s in range(seeds):
            need = 2 * d ** k * np.exp(0.5 * u[s] + 0.4 * rng.standard_normal())
            rows += [{"d": d, "seed": s, "m": int(m), "success": bool(m >= need), "error": None} for m in ms]
    return pd.DataFrame(rows)


def test_logistic_m_law_recovers_a_known_slope_and_not_from_shuffled_data():
    from verify.sweep.mfit import fit_m_law

    rows = _synthetic_campaign(1.5)
    fit = fit_m_law(rows, "power")
    k, low, high = fit.slope
    assert abs(k - 1.5) < 0.2 and low < 1.5 < high and high - low < 0.6
    assert fit.clusters == 30 and fit.n == len(rows)
    # m_90 at d = 14: the true 90% quantile of 2 d^k exp(N(0, 0.5^2 + 0.4^2)).
    true_m90 = 2 * 14 ** 1.5 * np.exp(1.2816 * np.hypot(0.5, 0.4))
    est, lo, hi = fit.m_p(14, 0.9)
    assert lo < est < hi and 0.67 < est / true_m90 < 1.5
    # The same rows with success shuffled over them carry no m or d signal: the slope is not recovered.
    shuffled = rows.assign(success=np.random.default_rng(1).permutation(rows["success"].to_numpy()))
    k, low, high = fit_m_law(shuffled, "power").slope
    assert not (low < 1.5 < high and high - low < 0.6)


def test_compare_forms_and_d_independence_on_synthetic_campaigns():
    import pandas as pd

    from verify.sweep.mfit import compare_forms, d_independence, fit_m_law

    both = compare_forms(_synthetic_campaign(2.0, seed=3))
    assert set(both) == {"power", "sqrt", "delta_aic", "verdict"} and "6..30" in both["verdict"]
    flat = _synthetic_campaign(0.0, seed=4).assign(r=3, spread=10.0)
    steep = _synthetic_campaign(1.0, seed=5).assign(r=5, spread=10.0)
    tests = {t.r: t for t in d_independence(pd.concat([flat, steep]))}
    assert tests[5].p_wald < 1e-3 and tests[5].p_lr < 1e-3 and tests[5].b_d < 0   # success falls with d
    assert tests[3].p_lr > 1e-3 and abs(tests[3].b_d) < 3 * tests[3].se_d          # no d in the data
    with pytest.raises(ValueError, match="two values of d"):
        fit_m_law(flat[flat["d"] == 6])
