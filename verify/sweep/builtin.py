"""The built-in sweep specs, ``quick`` and ``full`` (``deflation sweep quick``), and the campaigns ``plain_m`` and
``alg1_m`` (``deflation sweep plain_m --out evidence/plain_m``; defined, sized below, not yet run).

``quick`` (216 runs; budget: under 10 minutes on 2 idle cores) asks P12's question at a size where a run
costs about a CPU second: d = 6, r = 3 orthogonal (Haar basis, one per seed), m/r in {1, 2, 4, 8} and three
spectra:

- spread a_1/a_3 = 1.44 (Figure 1's ratio 1.2): discovery times differ little, every component has a
  sizeable basin; the plain flow should succeed once m is a small multiple of r and may fail at m = r
  (one component per direction leaves no room for a collision).
- spread 10 and 100 (ratios 3.2 and 10): a_1's basin holds most random starts, so components cluster on u_1
  and the plain flow depends on late components still small when u_1 is fitted (SPEC section 2, the
  spread-spectrum miss); Algorithm 1's re-initializations are meant to recover there.

Spread 10^4 was tried and left out: Algorithm 1's m = 24 runs there cost from 2.7 CPU seconds to over 8 wall
minutes each on the shared machine (one of nine finished in the first ten minutes), which alone breaks the
budget; ``full`` keeps it.

Plain runs go to t = 60 / a_r (discovery of a_r needs about ln(1/delta0) / (2 a_r), then time to settle),
BDF with dense Newton solves (at most 7 x 24 = 168 unknowns: dense LU is fastest, BENCHMARKS.md), from norm
1e-10. Algorithm 1 uses the paper's re-initialization rule with delta0 = 1e-15, delta1 = 1e-5 (the setting
that recovered the spread spectrum in 5/5 seeds at d = 10, README) and eps = a_r / 2: every component lies
above the target accuracy, so success means every one is found, and the last (longest) epoch still lasts
8 (d + ln 1/delta0) / beta >= 16 times the ~ln(1/delta0) / (2 a_r) that discovering a_r takes. Nine seeds per
cell: a 9/9 cell's Wilson 95% interval is [70%, 100%], so m* at 90% is a statement about the grid, not a proof.

``full`` asks it for d in {10, 20, 40}, r = 5, m/r in {1, 2, 4, 8, 16}, spreads 2.07 (ratio 1.2), 10^2, 10^4,
10^8, ten seeds: 1200 runs, hours on a workstation; it is what the full audit cites.
"""

QUICK = """
name = "quick"
description = "P12 / P1: success of the plain flow and Algorithm 1 over m/r x spread, d = 6, r = 3"

[grid]
d = [6]
r = [3]
spread = [1.44, 10.0, 100.0]
m_over_r = [1, 2, 4, 8]
algorithm = ["plain", "modified"]
seeds = 9
basis = "random"

[plain]
delta0 = 1e-10
t_max_per_a_min = 60.0
integrator = "bdf"
linear_solver = "dense"
n_save = 50
record_components = false

[modified]
delta0 = 1e-15
delta1 = 1e-5
eps_per_a_min = 0.5
linear_solver = "dense"
n_save = 32
record_components = false
"""

FULL = """
name = "full"
description = "P12 / P1: success of the plain flow and Algorithm 1 over m/r x spread, d = 10, 20, 40, r = 5"

[grid]
d = [10, 20, 40]
r = [5]
spread = [2.0736, 100.0, 10000.0, 100000000.0]
m_over_r = [1, 2, 4, 8, 16]
algorithm = ["plain", "modified"]
seeds = 10
basis = "random"

[plain]
delta0 = 1e-10
t_max_per_a_min = 60.0
integrator = "bdf"
n_save = 50
record_components = false

[modified]
delta0 = 1e-15
delta1 = 1e-5
eps_per_a_min = 0.5
n_save = 32
record_components = false
"""

# The quick audit's phase diagram: quick's grid at 4 seeds per cell (96 runs), to fit the audit's budget.
AUDIT = QUICK.replace('name = "quick"', 'name = "audit"').replace("seeds = 9", "seeds = 4")
assert AUDIT != QUICK and "seeds = 4" in AUDIT

# The audit's test profile: the frame, not the science (4 plain runs at d = 4).
TEST = """
name = "test"
description = "tests: two plain-flow cells at d = 4, r = 2"

[grid]
d = [4]
r = [2]
spread = [1.44]
m_over_r = [1, 4]
algorithm = ["plain"]
seeds = 2
basis = "random"

[plain]
delta0 = 1e-10
t_max_per_a_min = 60.0
n_save = 20
record_components = false
"""

# ------------------------------------------------------------------------------------------ the campaigns
# How large must m be (P12, Theorem 1's m = poly(d)), with nested draws: each seed has a success curve in m, so
# m_needed per seed and m_90 with an order-statistic interval (verify.sweep.mcurve). A geometric m grid of
# ratio sqrt 2. The order law (verify.mlaw) predicts for the plain flow (l = 4) m_90 of 9, 24, 121 at r = 3 and
# 19, 69, ~820 at r = 5 for spreads 1.44, 10, 100, and no dependence on d: the grid stops at 181, so r = 5 at
# spread 100 is predicted above it (its seeds are right-censored there; the campaign measures how many).
M_GRID = [3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181]

PLAIN_M = f"""
name = "plain_m"
description = "campaign (a): plain flow success vs m per seed (nested draws), d in 6, 12, 24, r in 3, 5, three spreads"

[grid]
d = [6, 12, 24]
r = [3, 5]
spread = [1.44, 10.0, 100.0]
m = {M_GRID}
algorithm = ["plain"]
seeds = 30
basis = "random"

[plain]
delta0 = 1e-10
t_max_per_a_min = 60.0
integrator = "cvode"
n_save = 50
record_components = false
"""

# Algorithm 1 at r = d/2 (spread 100 spread over r directions: a_j = 100^(-(j-1)/(r-1))), m/r on a sqrt 2 grid
# from 1 (the least m that can hold r fitted clusters) to 16 (the first sitting's grid stopped at 8, below the
# transition from d = 10 on); eps = a_r / 2 as in quick: success = every
# direction fitted.
ALG1_M = """
name = "alg1_m"
description = "campaign (b): Algorithm 1 success vs m per seed (nested draws), d in 6..30, r = d/2"

[grid]
d = [6, 10, 14, 20, 30]
r_over_d = [0.5]
spread = [100.0]
m_over_r = [1.0, 1.41421356, 2.0, 2.82842712, 4.0, 5.65685425, 8.0, 11.3137085, 16.0]
algorithm = ["modified"]
seeds = 20
basis = "random"

[modified]
delta0 = 1e-15
delta1 = 1e-5
eps_per_a_min = 0.5
n_save = 32
record_components = false
"""

# The campaigns' tests: their frame at a size a test can afford (d = 4, r = 2, 2 seeds, 3 m).
CAMPAIGN_TEST = """
name = "campaign_test"
description = "tests: nested-m curves at d = 4, r = 2"

[grid]
d = [4]
r = [2]
spread = [1.44]
m = [2, 4, 8]
algorithm = ["plain"]
seeds = 3
basis = "random"

[plain]
delta0 = 1e-10
t_max_per_a_min = 60.0
n_save = 20
record_components = false
"""

BUILTIN: dict[str, str] = {"quick": QUICK, "full": FULL, "audit": AUDIT, "test": TEST, "plain_m": PLAIN_M,
                           "alg1_m": ALG1_M, "campaign_test": CAMPAIGN_TEST}
