"""Audit profiles: the sizes of every stage, in one place.

``quick`` is ``make audit`` (about 8 minutes on a 2-core CPU), ``full`` is for a GPU or a long afternoon,
``test`` is the reduced instance the test suite runs (hidden from ``--help``). A profile only chooses
sizes; what the stages compute and how the ledger is decided do not depend on it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["Profile", "PROFILES", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """Sizes of every audit stage.

    Attributes:
        name: ``quick``, ``full`` or ``test``.
        description: one line for the report and ``--help``.
        claims: derivation claim ids to run (None: all of C1–C13).
        figure1_seeds, figure1_d, figure1_m, figure1_t_max: the Figure 1 runs (paper: 5, 10, 50, 100).
        sweep_n: random instances of the property sweep (0 skips the sweep).
        spread_d, spread_m, spread_r: the spread spectrum ``a_i = 10^{-2(i-1)}``, ``i <= r`` (SPEC section 2).
        spread_plain_seeds, spread_modified_seeds: runs of each flow on it.
        spread_plain_t_max: end time of the plain flow (its smallest scale needs ``t ~ 1/a_r``).
        spread_modified_eps: target accuracy of Algorithm 1 there.
        scale_dims, scale_m_per_d, scale_r, scale_eps: Algorithm 1 on the spread spectrum (random basis) at each
            d of ``scale_dims`` with m = ``scale_m_per_d`` d, r directions, target accuracy ``scale_eps``.
        precision_dps, precision_t_max, precision_m: the float64 vs high-precision cross-check.
        baselines_instances, baselines_seeds: the classical methods and the flows side by side
            (:func:`verify.baselines.run_baselines`; 0 seeds skips the stage).
        campaigns: the evidence store's campaigns (``evidence/<name>/``, :mod:`verify.sweep.campaigns`) that P12
            and P1 are decided from; empty skips them.
        campaign_root: the folder holding them (None: the repository's ``evidence/``; a relative path is
            under the audit's output folder).
        build_campaigns: run a campaign's built-in spec into ``OUT/evidence/<name>`` when it is absent there,
            and the float64 runs of the tiny accuracy-frontier campaign into ``OUT/evidence/accuracy-frontier`` (the
            test profile: its campaigns are made on the spot; never for real evidence).
        spot_check_k: rows of each campaign re-run from their commands every audit (at least 8 for evidence; the
            ``frontier`` stage's accuracy-frontier campaign, which P7 and P11 are decided from, included).
        spot_check_all: re-run every row (the full audit) instead of a sample.
        beyond_seeds, beyond_coherences, beyond_orders, beyond_algorithms: the beyond-the-paper study
            (:func:`verify.baselines.beyond.run_beyond`; 0 seeds skips it).
        adds: what this profile adds over ``quick`` (shown in the report).
    """

    name: str
    description: str
    claims: tuple[str, ...] | None = None
    figure1_seeds: int = 5
    figure1_d: int = 10
    figure1_m: int = 50
    figure1_t_max: float = 100.0
    sweep_n: int = 4
    spread_d: int = 10
    spread_m: int = 50
    spread_r: int = 5
    spread_plain_seeds: int = 1
    spread_modified_seeds: int = 1
    spread_plain_t_max: float = 1e11
    spread_modified_eps: float = 1e-9
    scale_dims: tuple[int, ...] = (20,)
    scale_m_per_d: int = 5
    scale_r: int = 5
    scale_eps: float = 1e-9
    precision_dps: int = 30
    precision_t_max: float = 20.0
    precision_m: int = 50
    baselines_instances: tuple[str, ...] = ("figure1", "order3", "nonorthogonal")
    baselines_seeds: int = 2
    campaigns: tuple[str, ...] = ("alg1_m", "plain_m")
    campaign_root: str | None = None
    build_campaigns: bool = False
    spot_check_k: int = 8
    spot_check_all: bool = False
    beyond_seeds: int = 1
    beyond_coherences: tuple[float, ...] = (0.0, 0.3, 0.5)
    beyond_orders: tuple[int, ...] = (3, 6)
    beyond_algorithms: tuple[str, ...] = ("plain",)
    adds: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["claims"] = list(self.claims) if self.claims is not None else None
        return data


QUICK = Profile(
    name="quick",
    description="make audit: every stage at the paper's sizes where it is cheap, one seed of each spread-spectrum "
                "flow, the cross-check to t = 20 (past the first discovery) at 30 digits, Algorithm 1 at d = 20, "
                "m = 100, the evidence store's campaigns (m-law and accuracy frontier) with 8 random rows of each "
                "re-run",
)

FULL = Profile(
    name="full",
    description="a GPU or a long afternoon: 3 seeds of each spread-spectrum flow, a 32-instance property sweep, "
                "the cross-check to t = 60 at 30 digits, every row of the m-law campaigns re-run",
    sweep_n=32,
    spread_plain_seeds=3,
    spread_modified_seeds=3,
    scale_dims=(30, 60),
    precision_dps=30,
    precision_t_max=60.0,
    baselines_instances=("figure1", "spread", "nonorthogonal", "order3", "large"),
    baselines_seeds=5,
    spot_check_all=True,
    beyond_seeds=3,
    beyond_coherences=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    beyond_orders=(3, 4, 5, 6),
    beyond_algorithms=("plain", "modified"),
    adds=(
        "spread spectrum: 3 seeds of the plain and of the modified flow instead of 1 (seed luck matters there, "
        "SPEC section 2)",
        "Algorithm 1 at larger d: d = 30 and 60 (m = 150, 300; about 11 minutes on one core) instead of d = 20",
        "property sweep: 32 random instances instead of 4",
        "float64 vs high precision: to t = 60 (every discovery) instead of t = 20",
        "baselines: every default instance (figure1, spread, nonorthogonal, order3, large) at 5 seeds instead of "
        "three instances at 2",
        "evidence store: every row of the m-law campaigns re-run from its command instead of 8 random rows per "
        "campaign (the accuracy-frontier campaign: 8 sampled rows in both)",
        "beyond the paper: coherences 0-0.5 in steps of 0.1 and orders 3-6, plain flow and Algorithm 1, 3 seeds, "
        "instead of coherences 0, 0.3, 0.5 and orders 3, 6, plain flow, 1 seed",
    ),
)

# Reduced sizes for tests/test_audit.py (well under 90 s): the frame, not the science.
TEST = Profile(
    name="test",
    description="reduced sizes for the test suite; its statuses are not evidence about the paper",
    claims=("C1", "C13"),
    figure1_seeds=2,
    figure1_d=6,
    figure1_m=12,
    figure1_t_max=60.0,
    sweep_n=1,
    spread_d=4,
    spread_m=8,
    spread_r=2,
    spread_plain_t_max=1e4,
    spread_modified_eps=1e-3,
    scale_dims=(5,),
    scale_m_per_d=2,
    scale_r=2,
    scale_eps=1e-3,
    precision_dps=30,
    precision_t_max=3.0,
    precision_m=6,
    baselines_instances=("order3",),
    baselines_seeds=1,
    campaigns=("campaign_test",),
    campaign_root="evidence",
    build_campaigns=True,
    spot_check_k=3,
    beyond_coherences=(0.3,),
    beyond_orders=(3,),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (QUICK, FULL, TEST)}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``quick``, ``full`` or ``test``)."""
    from solver.errors import ValidationError

    if name not in PROFILES:
        raise ValidationError("--profile", f"one of {tuple(PROFILES)}", name)
    return PROFILES[name]
