"""Unit tests of the invariant checkers on constructed trajectories with known answers.

Each checker is shown a record where it must pass and one where it must fail (a checker that cannot fail
is caught here). Records are built by hand: an identity basis in R^d (r = d unless stated), one fitted
component per direction whose mass follows the logistic law ``c' = 4 c (a - c)``-like growth at a chosen
discovery time, plus tiny unfitted components.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver import Trajectory
from solver.errors import ValidationError
from verify import invariants as inv


def make_record(t_disc=(10.0, 20.0), a=(1.0, 0.5), d=None, K=401, t_end=100.0, misalign=None, lam=0.0,
                extra_loss=None) -> Trajectory:
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
        s2 = np.minimum((1e-10 / np.sqrt(c[:, j])) ** 4, 0.5) if misalign is None else np.full(K, misalign)
        corr[:, j, j] = np.sqrt(1 - s2)
        if r > 1:
            corr[:, j, (j + 1) % r] = np.sqrt(s2)
    corr[:, r, :] = 1 / math.sqrt(d)
    residuals = a[None, :] - np.einsum("km,kmj->kj", c, corr**4)
    loss = 0.5 * (residuals**2).sum(axis=1)
    if extra_loss is not None:
        loss = loss + extra_loss(times)
    U = np.eye(d)[:, :r]
    config = {"algorithm": "plain", "order": 4, "lam_used": lam, "delta0": 1e-10, "m": m, "rtol_used": 1e-8,
              "atol": 1e-10}
    return Trajectory(config=config, seeds=[0], times=times, loss=loss[None], loss_floor=np.full((1, K), 1e-16),
                      residuals=residuals[None], a=a[None], U=U[None], final_log_norms=0.5 * np.log(c[-1])[None],
                      final_directions=np.zeros((1, d, m)), log_norms=0.5 * np.log(c)[None], correlations=corr[None],
                      events=[], meta={"unit_roundoff": 2.2e-16})


def by_name(verdicts, name):
    return [v for v in verdicts if v.name == name]


def test_clean_record_passes_every_checker():
    verdicts = inv.check_trajectory(make_record())
    failed = [v.to_dict() for v in verdicts if not v.passed]
    assert not failed
    for v in verdicts:
        d = v.to_dict()
        assert set(d) == {"claim", "name", "passed", "margin", "worst", "params", "details", "run"}


def test_deflation_order_fails_when_smaller_found_first_and_allows_ties():
    bad = inv.deflation_order(make_record(t_disc=(30.0, 20.0)), 0)
    assert not bad.passed and bad.margin < 0 and bad.details["violations"] == [[0, 1]]
    tie = inv.deflation_order(make_record(t_disc=(30.0, 20.0), a=(1.0, 0.95)), 0, rho=1.1)
    assert tie.passed and not tie.details["applicable"]
    good = inv.deflation_order(make_record(), 0)
    assert good.passed and good.margin == pytest.approx(0.5, rel=0.05)


def test_fitting_detects_wrong_mass_and_honours_lambda():
    assert inv.fitting(make_record(), 0).passed
    lam = 0.1
    rec = make_record(lam=lam)
    assert inv.fitting(rec, 0).passed
    rec.config["lam_used"] = 0.0  # the mass now misses a_j by lambda/2 = 5% of a_1
    v = inv.fitting(rec, 0)
    assert not v.passed and v.worst == pytest.approx(lam / 2 / 0.5, rel=1e-3)


def test_plateaus_and_drops_flags_unexplained_drop():
    assert inv.plateaus_and_drops(make_record(), 0).passed
    # A drop at t = 60 with no discovery: a step of 0.3 in the loss.
    step = lambda t: 0.3 / (1 + np.exp(2 * (t - 60.0)))
    v = inv.plateaus_and_drops(make_record(extra_loss=step), 0)
    assert not v.passed and v.worst["unexplained_drops"] == 1 and v.margin < 0


def test_local_stability_catches_a_drifting_component():
    assert inv.local_stability(make_record(), 0).passed
    rec = make_record()
    # Component 0 rotates away from u_1 after t = 60: sin^2 reaches 0.5.
    late = rec.times > 60
    s2 = np.clip((rec.times - 60) / 80, 0, 0.5)
    rec.correlations[0, late, 0, 0] = np.sqrt(1 - s2[late])
    rec.correlations[0, late, 0, 1] = np.sqrt(s2[late])
    v = inv.local_stability(rec, 0)
    assert not v.passed and v.worst["individual"] == pytest.approx(0.5, rel=0.02)


def test_norm_correlation_fails_on_large_misaligned_component():
    assert inv.norm_correlation(make_record(), 0).passed
    v = inv.norm_correlation(make_record(misalign=0.05), 0)
    assert not v.passed and v.worst == pytest.approx(0.05, rel=1e-6) and v.margin < 0


def law_record(exponent: float) -> Trajectory:
    """A component whose misalignment follows alpha = (delta0/||w||)^-exponent exactly as its norm grows."""
    rec = make_record(a=(1.0, 0.5, 0.25), t_disc=(10.0, 20.0, 30.0))
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
    ok = inv.norm_correlation_law(law_record(4.0))
    assert ok.passed and ok.details["confirmed"] and ok.worst == pytest.approx(-4.0, abs=0.05)
    bad = inv.norm_correlation_law(law_record(2.0))
    assert not bad.passed and bad.details["confirmed"] is False and bad.worst == pytest.approx(-2.0, abs=0.05)


def test_residual_near_orthogonal_detects_off_span_residual():
    assert inv.residual_near_orthogonal(make_record(), 0).passed
    # Loss with 0.1 ||T*||^2 outside span{u_j^l}: 2L - sum res^2 = 0.1 ||T*||^2.
    tstar2 = 1.0 + 0.25
    v = inv.residual_near_orthogonal(make_record(extra_loss=lambda t: 0.05 * tstar2 + 0 * t), 0)
    assert not v.passed and v.worst == pytest.approx(math.sqrt(0.1), rel=1e-6)


def test_recovery_and_descent_fail_when_they_should():
    assert inv.recovery(make_record(), 0).passed
    late = inv.recovery(make_record(t_disc=(10.0, 200.0)), 0)
    assert not late.passed and late.details["unrecovered"] == [1]
    assert inv.descent(make_record(), 0).passed
    bump = lambda t: 1e-3 * np.exp(-((t - 50.0) ** 2))
    v = inv.descent(make_record(extra_loss=bump), 0)
    assert not v.passed and v.margin < 0


def test_descent_allows_reinitialization_jump_within_moved_mass():
    rec = make_record(extra_loss=lambda t: 0.1 + 0 * t)  # a plateau at L = 0.1 after both fits
    rec.config.update({"algorithm": "modified", "delta1": 1e-2, "reinit_rule": "norm"})
    i = 240  # t = 60
    # A jump of half what moving one component of mass <= delta1^2 + delta0^2 can cause.
    rec.loss[0, i:] += 0.5 * math.sqrt(2 * rec.loss[0, i - 1]) * (1e-4 + 1e-20)
    rec.events = [{"kind": "reinit", "run": 0, "epoch": 1, "time": float(rec.times[i]), "components": [2]}]
    assert inv.descent(rec, 0).passed
    rec.events = []
    assert not inv.descent(rec, 0).passed


def test_unknown_parameter_is_a_validation_error():
    with pytest.raises(ValidationError):
        inv.check_trajectory(make_record(), rhoo=2.0)


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


def test_plateaus_and_drops_does_not_demand_fits_a_coarse_grid_cannot_show():
    rec = make_record(K=3)  # save interval 50 >> the fits' duration ~2.3/a_j: one drop holds both fits
    v = inv.plateaus_and_drops(rec, 0)
    assert v.passed and v.details["resolved_discoveries"] == [] and len(v.details["drops"]) == 1


def test_norm_correlation_law_is_inconclusive_on_a_narrow_window():
    rec = law_record(2.0)
    rec.config["atol"] = 1e-4  # floor 16 d atol^2: only alpha > ~1e-4 resolved, about one decade of tau
    v = inv.norm_correlation_law(rec)
    assert v.passed and v.details["confirmed"] is None and not v.details["applicable"]
