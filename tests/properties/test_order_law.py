"""Property: the plain flow's fitted set is the set of occupied basins of W(0) (SPEC C14, verify.mlaw).

Regime: orthogonal T* (random basis), l = 4, few components (``r <= m <= 3r``, so basins are often empty and
the law has something to predict), ``delta0 = 1e-10``, plain flow to ``t = 60 / a_r``. Asserted: every
occupied basin is fitted (``missed`` empty). Not asserted: a direction fitted although no basin held it (a
*rescue*: a component still small when its own direction was fitted sees the residual, not T*, and moves on);
rescues are findings, counted with ``hypothesis.event`` and listed with their commands in
evidence/order_law/README.md, with how they depend on delta0.
"""

from __future__ import annotations

from hypothesis import event, given, note
from hypothesis import strategies as st

from solver.config import FlowConfig
from solver.spec import InstanceSpec, RunSpec
from verify.mlaw import check_run

from .strategies import bounded_ratio_spectra, examples


@st.composite
def sparse_plain_instances(draw, max_d: int = 6, max_r: int = 3, delta0: float = 1e-10) -> RunSpec:
    """A random orthonormal ``T*`` (``d <= max_d``, ``2 <= r <= max_r``, ratios in [1.3, 3]) with ``m`` in
    ``[r, 3r]`` components at norm ``delta0``; plain flow to ``t = 60 / a_r``, BDF with dense solves."""
    d = draw(st.integers(3, max_d))
    r = draw(st.integers(2, min(max_r, d)))
    a = draw(bounded_ratio_spectra(r, 1.3, 3.0))
    m = draw(st.integers(r, 3 * r))
    instance = InstanceSpec(d=d, a=tuple(a), basis="random", basis_seed=draw(st.integers(0, 2**20)))
    config = FlowConfig(algorithm="plain", m=m, delta0=delta0, t_max=60.0 / a[-1], integrator="bdf",
                        linear_solver="dense", n_save=40, record_components=False)
    return RunSpec(instance, config, first_seed=draw(st.integers(0, 2**20)), n_seeds=1)


@examples(ci=8)
@given(sparse_plain_instances())
def test_every_occupied_basin_is_fitted(spec):
    check = check_run(spec)
    note(f"predicted {check.predicted}, observed {check.observed}; reproduce: {check.command}")
    event("law exact" if check.agrees else ("rescue" if not check.missed else "miss"))
    assert not check.missed, (f"occupied basins {check.missed} not fitted (predicted {check.predicted}, "
                              f"observed {check.observed})\nreproduce: {check.command}")
