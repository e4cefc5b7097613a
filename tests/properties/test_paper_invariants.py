"""Properties: the invariants of verify.invariants hold in the paper's regime.

Regime (SPEC section 3, P1/P5/P6/P8/P9/P10/P12 and Theorem 1's setting): orthogonal ``T*`` with a random basis,
spectrum ratios bounded away from 1 (``[1.3, 2]``), ``m >= 3d`` components, small initialization. A failure
prints every violated verdict and the ``deflation run`` command reproducing the run
(``deflation check`` on its output folder shows the same verdicts).
"""

from __future__ import annotations

import pytest
from hypothesis import event, given, note

from solver.spec import RunSpec
from verify.invariants import check_trajectory

from ._decided import record, requires_decided
from .strategies import examples, full_rank_identity_instances, orthogonal_instances

# The checkers an example must decide to count as evidence (the P9 law has its own property below). Measured
# decided fractions (ci profile): plain flow 30/30, modified flow 5/5, P9 law 8/8.
_REQUIRED = ("P1", "P3", "P5", "P6", "P8", "P9 norm_correlation", "P10", "descent")


def _violations(spec: RunSpec, skip: tuple[str, ...] = (), required: tuple[str, ...] = _REQUIRED) -> list[str]:
    trajectory = spec.solve()
    note(f"reproduce: {spec.command()}")
    verdicts = check_trajectory(trajectory)
    for v in verdicts:
        event(f"{v.claim} {v.name}: {v.status.value}")
    undecided = [f"{v.claim} {v.name}" for v in verdicts if not v.decided
                 and any(f"{v.claim} {v.name}" == r or v.claim == r for r in required)]
    record(not undecided, ", ".join(undecided))
    return [f"{v.claim} {v.name}: margin {v.margin:.3g}, worst {v.to_dict()['worst']}"
            for v in verdicts if v.failed and v.claim not in skip]


@examples(ci=30)
@given(orthogonal_instances(algorithm="plain"))
def test_plain_flow_satisfies_every_invariant_but_p12(spec):
    """P1, P5, P6, P8, P9, P10 and descent. P12 (every direction fitted) is *not* asserted at m >= 3d: it
    fails there reproducibly (see the counterexample test below and verify/FINDINGS_invariants.md)."""
    bad = _violations(spec, skip=("P12",))
    assert not bad, f"{'; '.join(bad)}\nreproduce: {spec.command()}"


# Wrapped after the definition, not decorated: the ci profile's derandomized examples are keyed by the test's
# source (decorators included), and the recorded findings refer to those examples. (P3 is checked too.)
test_plain_flow_satisfies_every_invariant_but_p12 = requires_decided(0.8)(
    test_plain_flow_satisfies_every_invariant_but_p12)
test_plain_flow_satisfies_every_invariant_but_p12 = pytest.mark.slow(test_plain_flow_satisfies_every_invariant_but_p12)


# P12 counterexample found by the property above (hypothesis, ci profile): d = r = 4, ratio 2, m = 12 = 3d.
# The smallest direction is never fitted (by t = 480 = 60/a_4; t_max 100x longer changes nothing). The order law
# (verify.mlaw) predicts fitted {1, 2, 3} for this seed's W(0), and P(all four basins occupied | m = 12) = 0.44
# (predicted m_90 = 37): "m large enough" is far above 3d here.
P12_COUNTEREXAMPLE = ("--d 4 --a 1.0,0.5,0.25,0.125 --basis random --basis-seed 0 --m 12 --delta0 1e-10 "
                      "--seeds 1 --first-seed 2 --algorithm plain --t-max 480")


def test_p12_counterexample_is_reproducible():
    spec = RunSpec.from_argv(P12_COUNTEREXAMPLE.split())
    trajectory = spec.solve()
    recovered = trajectory.recovered()[0]
    assert recovered.tolist() == [True, True, True, False], f"reproduce: {spec.command()}"
    # Every other invariant still holds on this run.
    assert not [v.name for v in check_trajectory(trajectory) if v.failed and v.claim != "P12"]


# The same family as the P12 counterexample (d = r = 4, ratio 2, m = 12). a_3 is never fitted while a_4 is
# (t = 88), so the deflation order P1 fails as a consequence of the skipped direction. This is the first seed
# for which the order law predicts that set (verify.mlaw.predicted_fitted: {1, 2, 4}), and the run confirms it
# (verify/FINDINGS_invariants.md).
P1_COUNTEREXAMPLE = ("--d 4 --a 1.0,0.5,0.25,0.125 --basis random --basis-seed 1337 --m 12 --delta0 1e-10 "
                     "--seeds 1 --first-seed 1 --algorithm plain --t-max 480")


def test_p1_fails_when_a_middle_direction_is_skipped():
    spec = RunSpec.from_argv(P1_COUNTEREXAMPLE.split())
    trajectory = spec.solve()
    assert trajectory.recovered()[0].tolist() == [True, True, False, True], f"reproduce: {spec.command()}"
    failed = sorted({v.claim for v in check_trajectory(trajectory) if v.failed})
    assert failed == ["P1", "P12"], f"{failed}\nreproduce: {spec.command()}"


@examples(ci=5)
@given(orthogonal_instances(algorithm="modified", max_d=6, max_r=3, max_m=18))
def test_modified_flow_satisfies_every_invariant_but_p7(spec):
    """Every invariant but P7 (every a_j >= eps recovered): at m = 3d it fails reproducibly when no component
    ever falls below delta1 (see the counterexample below); Theorem 1 asks for m = poly(d), not 3d."""
    bad = _violations(spec, skip=("P7",))
    assert not bad, f"{'; '.join(bad)}\nreproduce: {spec.command()}"


test_modified_flow_satisfies_every_invariant_but_p7 = requires_decided(0.8)(
    test_modified_flow_satisfies_every_invariant_but_p7)


# P7 counterexample found by the property above (ci profile; hypothesis shrank it to seed 0): Algorithm 1 at
# d = 4, m = 12 = 3d never fits a_3 = 0.25 (eps = 1e-3). No component is ever re-initialized: every one joins
# the u_1 or u_2 cluster with a norm above delta1, so none is free to find u_3 (the mechanism the README's
# finding on the retired fixed-m probe describes at d = 4). Seeds 1, 2, 3 of the same instance fit all three.
P7_COUNTEREXAMPLE = ("--d 4 --a 1.0,0.5,0.25 --basis random --basis-seed 69 --algorithm modified --m 12 "
                     "--delta0 1e-10 --eps 0.001 --linear-solver dense --first-seed 0")


def test_p7_counterexample_is_reproducible():
    spec = RunSpec.from_argv(P7_COUNTEREXAMPLE.split())
    trajectory = spec.solve()
    assert trajectory.recovered()[0].tolist() == [True, True, False], f"reproduce: {spec.command()}"
    assert trajectory.summary()["runs"][0]["reinitializations"] == 0
    assert sorted({v.claim for v in check_trajectory(trajectory) if v.failed}) == ["P7"]


@requires_decided(0.5)
@examples(ci=8)
@given(full_rank_identity_instances())
def test_norm_correlation_law_where_resolvable(spec):
    """P9's empirical law: worst misalignment among components with ||w|| >= tau ~ (delta0/tau)^4. An example
    whose resolved window is too narrow is inconclusive (counted, not failed); the property fails when fewer than
    half of its examples decide (measured: 20 of 30 in a thorough run)."""
    from verify.invariants import NormCorrelationLaw

    verdict = NormCorrelationLaw().check(spec.solve())
    note(f"reproduce: {spec.command()}")
    details = verdict.to_dict()["details"]
    record(verdict.decided, verdict.why or "")
    if not verdict.decided:
        return
    assert verdict.passed, (f"exponent {verdict.worst:.3g} (law: -4 +- {verdict.params['band']}), points "
                            f"{details['log10_tau_over_delta0']} {details['log10_worst_alpha']}\n"
                            f"reproduce: {spec.command()}")


# Marked after the definition, for the reason above.
test_norm_correlation_law_where_resolvable = pytest.mark.slow(test_norm_correlation_law_where_resolvable)
