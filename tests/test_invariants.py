"""Unit tests of the invariant checkers on constructed trajectories with known answers.

Each checker is shown a record where it must pass and one where it must fail (a checker that cannot fail
is caught here). Records are built by hand: an identity basis in R^d (r = d unless stated), one fitted
component per direction whose mass follows the logistic law ``c' = 4 c (a - c)``-like growth at a chosen
discovery time, plus tiny unfitted components.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from solver import Trajectory
from solver.errors import ValidationError
from solver.record import Reinitialization
from verify import invariants as inv


def make_record(t_disc=(10.0, 20.0), a=(1.0, 0.5), d=None, K=401, t_end=100.0, misalign=None, lam=0.0,
                extra_loss=None, power_plateau=True) -> Trajectory:
    """One run: direction j is fitted by component j, whose mass rises (logistic in time) through a_j/2 at
    ``t_disc[j]`` to ``a_j - lambda/2``; component r+1 stays at norm 1e-10. ``misalign``: sin^2 of each
    fitted component to its u_j (put on the next coordinate); None: the P9 law ``(delta0/||w||)^4``."""
    a = np.asarray(a, dtype=float)
    r = a.size
    d = d or r
    m = r + 1
    times = np.linspace(0.0, t_end, K)
    target = a - lam / 2
    c = np.empty((K, m))
    for j in range(r):
        # Logistic through target/2 at t_disc[j], starting from delta0^2 = 1e-20 at t = 0.
        rate = math.log(target[j] / 1e-20 - 1) / t_disc[j]
        c[:, j] = target[j] / (1 + np.exp(-rate * (times - t_disc[j])))
    c[:, r] = 1e-20
    corr = np.zeros((K, m, r))
    for j in range(r):
        # Capped at 0.2 on the power-method plateau, so that component j heads for u_j there (C14's order law).
        cap = 0.2 if power_plateau else 0.5
        s2 = np.minimum((1e-10 / np.sqrt(c[:, j])) ** 4, cap) if misalign is None else np.full(K, misalign)
        corr[:, j, j] = np.sqrt(1 - s2)
        if r > 1:
            corr[:, j, (j + 1) % r] = np.sqrt(s2)
    corr[:, r, :] = 1 / math.sqrt(d)
    # The first plateau follows the power method (C7) from the record's W(0), as a flow's does (P3).
    plateau = (c.max(axis=1) <= 1e-2 * a.max()) & (times <= min(t_disc))
    n = int(np.argmin(plateau)) if power_plateau else 0
    if n:
        corr[:n] = inv.power_method_coordinates(corr[0], a, 4, times[:n])
    residuals = a[None, :] - np.einsum("km,kmj->kj", c, corr**4)
    loss = 0.5 * (residuals**2).sum(axis=1)
    if extra_loss is not None:
        loss = loss + extra_loss(times)
    U = np.eye(d)[:, :r]
    config = {"algorithm": "plain", "order": 4, "lam_used": lam, "delta0": 1e-10, "m": m, "integrator_used": "dopri5",
              "rtol_used": 1e-8, "atol_used": 1e-10}
    return Trajectory(config=config, seeds=[0], times=times, loss=loss[None], loss_floor=np.full((1, K), 1e-16),
                      residuals=residuals[None], a=a[None], U=U[None], final_log_norms=0.5 * np.log(c[-1])[None],
                      final_directions=np.zeros((1, d, m)), log_norms=0.5 * np.log(c)[None], correlations=corr[None],
                      events=[], meta={"unit_roundoff": 2.2e-16})


def by_name(verdicts, name):
    return [v for v in verdicts if v.name == name]


def test_clean_record_passes_every_checker():
    verdicts = inv.check_trajectory(make_record())
    assert [v.to_dict() for v in verdicts if not v.passed] == []
    for v in verdicts:
        d = v.to_dict()
        assert set(d) == {"claim", "name", "status", "margin", "margin_unit", "worst", "params", "details", "run",
                          "why"}
        assert inv.Verdict.from_dict(d).to_dict() == d


def test_deflation_order_fails_when_smaller_found_first_and_allows_ties():
    bad = inv.DeflationOrder().check(make_record(t_disc=(30.0, 20.0)), 0)
    assert bad.failed and bad.margin < 0 and bad.details["violations"] == [[0, 1]]
    tie = inv.DeflationOrder(rho=1.1).check(make_record(t_disc=(30.0, 20.0), a=(1.0, 0.95)), 0)
    assert tie.status is inv.Status.NOT_APPLICABLE and not tie.failed and tie.why and math.isnan(tie.margin)
    good = inv.DeflationOrder().check(make_record(), 0)
    assert good.passed and good.margin == pytest.approx(0.5, rel=0.05)


def test_fitting_detects_wrong_mass_and_honours_lambda():
    assert inv.Fitting().check(make_record(), 0).passed
    lam = 0.1
    rec = make_record(lam=lam)
    assert inv.Fitting().check(rec, 0).passed
    rec.resolved = dataclasses.replace(rec.resolved, lam=0.0)  # the mass now misses a_j by lambda/2 = 5% of a_1
    v = inv.Fitting().check(rec, 0)
    assert v.failed and v.worst == pytest.approx(lam / 2 / 0.5, rel=1e-3)


def test_plateaus_and_drops_flags_unexplained_drop():
    assert inv.PlateausAndDrops().check(make_record(), 0).passed
    # A drop at t = 60 with no discovery: a step of 0.3 in the loss.
    step = lambda t: 0.3 / (1 + np.exp(2 * (t - 60.0)))
    v = inv.PlateausAndDrops().check(make_record(extra_loss=step), 0)
    assert v.failed and v.worst["unexplained_drops"] == 1 and v.margin < 0


def test_local_stability_catches_a_drifting_component():
    assert inv.LocalStability().check(make_record(), 0).passed
    rec = make_record()
    # Component 0 rotates away from u_1 after t = 60: sin^2 reaches 0.5.
    late = rec.times > 60
    s2 = np.clip((rec.times - 60) / 80, 0, 0.5)
    rec.correlations[0, late, 0, 0] = np.sqrt(1 - s2[late])
    rec.correlations[0, late, 0, 1] = np.sqrt(s2[late])
    v = inv.LocalStability().check(rec, 0)
    assert v.failed and v.worst["individual"] == pytest.approx(0.5, rel=0.02)


def test_norm_correlation_fails_on_large_misaligned_component():
    assert inv.NormCorrelation().check(make_record(), 0).passed
    v = inv.NormCorrelation().check(make_record(misalign=0.05), 0)
    assert v.failed and v.worst == pytest.approx(0.05, rel=1e-6) and v.margin < 0


def law_record(exponent: float) -> Trajectory:
    """A component whose misalignment follows alpha = (delta0/||w||)^-exponent exactly as its norm grows."""
    rec = make_record(a=(1.0, 0.5, 0.25), t_disc=(10.0, 20.0, 30.0), power_plateau=False)
    delta0 = 1e-10
    norms = np.geomspace(delta0, 1.0, rec.times.size)
    alpha = np.minimum((delta0 / norms) ** exponent, 0.5)
    rec.log_norms[0, :, 3] = np.log(norms)
    rec.correlations[0, :, 3, :] = 0.0
    rec.correlations[0, :, 3, 2] = np.sqrt(1 - alpha)
    rec.correlations[0, :, 3, 1] = np.sqrt(alpha)
    # Keep the fitted components' own misalignment under the law's values.
    return rec


def test_norm_correlation_law_confirms_exponent_four_and_rejects_two():
    ok = inv.NormCorrelationLaw().check(law_record(4.0))
    assert ok.passed and ok.worst == pytest.approx(-4.0, abs=0.05) and ok.run is None
    bad = inv.NormCorrelationLaw().check(law_record(2.0))
    assert bad.failed and bad.worst == pytest.approx(-2.0, abs=0.05)
    assert inv.NormCorrelationLaw(band=2.5).check(law_record(2.0)).passed


def test_residual_near_orthogonal_detects_off_span_residual():
    assert inv.ResidualNearOrthogonal().check(make_record(), 0).passed
    # Loss with 0.1 ||T*||^2 outside span{u_j^l}: 2L - sum res^2 = 0.1 ||T*||^2.
    tstar2 = 1.0 + 0.25
    v = inv.ResidualNearOrthogonal().check(make_record(extra_loss=lambda t: 0.05 * tstar2 + 0 * t), 0)
    assert v.failed and v.worst == pytest.approx(math.sqrt(0.1), rel=1e-6)


def test_recovery_and_descent_fail_when_they_should():
    assert inv.Recovery().check(make_record(), 0).passed
    late = inv.Recovery().check(make_record(t_disc=(10.0, 200.0)), 0)
    assert late.failed and late.details["unrecovered"] == [1] and late.claim == "P12"
    assert inv.Descent().check(make_record(), 0).passed
    bump = lambda t: 1e-3 * np.exp(-((t - 50.0) ** 2))
    v = inv.Descent().check(make_record(extra_loss=bump), 0)
    assert v.failed and v.margin < 0


def test_descent_allows_reinitialization_jump_within_moved_mass():
    rec = make_record(extra_loss=lambda t: 0.1 + 0 * t)  # a plateau at L = 0.1 after both fits
    rec.flow = dataclasses.replace(rec.flow, algorithm="modified", delta1=1e-2, reinit_rule="norm")
    i = 240  # t = 60
    # A jump of half what moving one component of mass <= delta1^2 + delta0^2 can cause.
    rec.loss[0, i:] += 0.5 * math.sqrt(2 * rec.loss[0, i - 1]) * (1e-4 + 1e-20)
    rec.events = [Reinitialization(time=float(rec.times[i]), run=0, epoch=1, components=(2,))]
    assert inv.Descent().check(rec, 0).passed
    rec.events = []
    assert inv.Descent().check(rec, 0).failed


def test_unknown_parameter_is_a_validation_error():
    with pytest.raises(ValidationError):
        inv.check_trajectory(make_record(), rhoo=2.0)
    with pytest.raises(ValidationError):
        inv.Invariants().with_settings({"fitting.rho": 2.0})  # rho is a field of deflation_order only


def test_settings_replace_checker_fields_by_name():
    changed = inv.Invariants().with_settings({"settle": 3.0, "local_stability.noise_units": 0.2})
    assert changed.fitting.settle == 3.0 and changed.local_stability.settle == 3.0
    assert changed.local_stability.noise_units == 0.2 and changed.descent == inv.Descent()
    # A setting changes the verdict it should: a tighter rho turns the tie into a constrained pair.
    rec = make_record(t_disc=(30.0, 20.0), a=(1.0, 0.95))
    verdicts = inv.check_trajectory(rec, rho=1.01)
    order = [v for v in verdicts if v.name == "deflation_order"][0]
    assert order.failed and order.params == {"rho": 1.01}


def test_missing_tolerances_follow_flowconfig_rule():
    """One source for a record's tolerances: rtol_used/atol_used, else FlowConfig's rule for its integrator."""
    rec = make_record()
    assert inv.integration_tolerances(rec) == (1e-8, 1e-10)
    rec.resolved = dataclasses.replace(rec.resolved, rtol=None, atol=None)
    assert inv.integration_tolerances(rec) == (1e-8, 1e-10)  # dopri5: explicit
    rec.resolved = dataclasses.replace(rec.resolved, integrator="bdf")
    assert inv.integration_tolerances(rec) == (1e-6, 1e-6)   # implicit: atol = rtol
    rec.flow = dataclasses.replace(rec.flow, rtol=1e-9)
    assert inv.integration_tolerances(rec) == (1e-9, 1e-9)
    rec.resolved = dataclasses.replace(rec.resolved, integrator=None)  # and the config's is "auto"
    with pytest.raises(ValidationError):
        inv.integration_tolerances(rec)


def test_plot_norm_correlation_writes_png_and_svg(tmp_path):
    paths = inv.plot_norm_correlation([law_record(4.0)], tmp_path / "p9")
    assert sorted(p.suffix for p in paths) == [".png", ".svg"] and all(p.stat().st_size > 0 for p in paths)


def test_check_command_on_saved_records(tmp_path, capsys):
    from verify.cli import main

    make_record().save(tmp_path / "good")
    assert main(["check", str(tmp_path / "good")]) == 0
    make_record(t_disc=(30.0, 20.0)).save(tmp_path / "bad")
    assert main(["check", str(tmp_path), "--format", "json"]) == 1
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "DIR" in capsys.readouterr().err
    # --set over checker fields: a loose rho makes the swapped pair a tie (not applicable), no P1 failure. (The
    # hand-built record's late plateau is no flow's: P9's law and P3 may fail on it, so the exit code is not used.)
    assert main(["check", str(tmp_path / "bad")]) == 1
    assert re.search(r"P1\s+deflation_order\s+NO", capsys.readouterr().out)
    main(["check", str(tmp_path / "bad"), "--set", "deflation_order.rho=10"])
    assert re.search(r"P1\s+deflation_order\s+n/a", capsys.readouterr().out)
    assert main(["check", str(tmp_path / "bad"), "--set", "nope=1"]) == 2
    assert "--set" in capsys.readouterr().err


def test_plateaus_and_drops_does_not_demand_fits_a_coarse_grid_cannot_show():
    rec = make_record(K=3)  # save interval 50 >> the fits' duration ~2.3/a_j: one drop holds both fits
    v = inv.PlateausAndDrops().check(rec, 0)
    assert v.passed and v.details["resolved_discoveries"] == [] and len(v.details["drops"]) == 1


def test_norm_correlation_law_is_inconclusive_on_a_narrow_window():
    rec = law_record(2.0)
    rec.resolved = dataclasses.replace(rec.resolved, atol=1e-4)  # floor 16 d atol^2: only alpha > ~1e-4 resolved, about one decade of tau
    v = inv.NormCorrelationLaw().check(rec)
    assert v.status is inv.Status.INCONCLUSIVE and "decades" in v.why and v.worst == pytest.approx(-2.0, abs=0.1)


# ------------------------------------------------------------------------------------------ P3 and mutants
@pytest.fixture(scope="module")
def reference_runs():
    """The clean reference flow of verify.mutants and its field mutants (about 0.5 s each)."""
    from verify import mutants

    return {"clean": mutants.integrate(), **{name: mutants.integrate(mutant=name) for name in mutants.FIELD_MUTANTS}}


def test_power_method_tracking_passes_on_the_flow_and_fails_without_normalization(reference_runs):
    clean = inv.PowerMethodTracking().check(reference_runs["clean"], 0)
    assert clean.passed and clean.details["save_times"] >= 10, clean.to_dict()
    frozen = inv.PowerMethodTracking().check(reference_runs["no_normalization"], 0)
    assert frozen.failed and frozen.margin < -1e3


def test_power_method_deviation_is_of_the_order_of_the_mass():
    """At delta0 = 1e-3 the small-norm approximation's error is resolved above the integration noise: a fraction
    of sum_i c_i (measured 0.26), below kappa."""
    from verify import mutants

    tr = mutants.integrate(mutants.ReferenceInstance(delta0=1e-3, t_max=20.0, n_save=400))
    v = inv.PowerMethodTracking().check(tr, 0)
    assert v.passed and v.details["save_times"] >= 20
    assert 0.05 < v.details["deviation_over_mass"] < inv.PowerMethodTracking().kappa


def test_power_method_coordinates_follow_c7():
    # A single coordinate (h = e_1) is a fixed point; a mixed start moves toward the larger a_j h_j^(l-2).
    h0 = np.array([[1.0, 0.0], [0.6, 0.8]])
    h = inv.power_method_coordinates(h0, np.array([1.0, 0.5]), 4, np.linspace(0, 20, 5))
    assert np.allclose(h[:, 0], [1.0, 0.0], atol=1e-12)
    # y_j = a_j h_j^2: 0.36 for u_1 against 0.32 for u_2, so the component heads for u_1 (C14's order law).
    assert abs(h[-1, 1, 0]) > 0.999 and np.allclose((h**2).sum(axis=-1), 1.0, atol=1e-10)


@pytest.mark.slow
def test_every_p_checker_catches_a_mutant(reference_runs):
    """The clean reference run passes every checker that decides; each P-checker fails on at least one broken
    flow (verify.mutants; the table with Algorithm 1's re-initialization mutant is in the audit report)."""
    checks = inv.Invariants()
    clean = checks.check(reference_runs["clean"])
    keys = [f"{v.claim} {v.name}" for v in clean]
    assert [k for k, v in zip(keys, clean) if v.failed] == [], "the clean reference flow fails a checker"
    caught = {k: [name for name, tr in reference_runs.items() if name != "clean" and checks.check(tr)[i].failed]
              for i, k in enumerate(keys)}
    missing = [k for k, names in caught.items() if not names and k.split()[0] != "descent"]
    assert missing == [], f"checkers that catch no mutant: {missing}; table {caught}"


@pytest.mark.parametrize("order", [3, 4])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_kicked_cluster_decays_at_the_c11_rates(order, lam):
    """P8's perturbation test: co-rotation at -l a, merging at -l lambda/2 (neutral at lambda = 0)."""
    from verify.mutants import KICK_RATE_TOLERANCE, cluster_kick_rates

    rates = cluster_kick_rates(a=1.0, lam=lam, order=order)
    assert rates["agree"], rates
    assert abs(rates["co_rotation"]["measured"] + order) <= KICK_RATE_TOLERANCE * order
    assert abs(rates["merging"]["measured"] + order * lam / 2) <= KICK_RATE_TOLERANCE * order


def test_kicked_cluster_rates_catch_a_flipped_regularizer():
    from verify.mutants import cluster_kick_rates

    assert not cluster_kick_rates(lam=0.1, mutant="regularizer_sign")["agree"]
