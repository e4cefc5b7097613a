"""Every parameter of a run of the flow (:class:`FlowConfig`), torch-free so that the CLI, the run
specification (:mod:`solver.spec`) and the sweep import it without loading torch.

Each field's ``metadata["help"]`` is the one description of that parameter: the ``deflation`` flags and
their help text are generated from it (:mod:`solver.spec`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field


from .errors import is_int, is_number, require

__all__ = ["FlowConfig", "ALGORITHMS", "REINIT_RULES", "INTEGRATORS", "IMPLICIT_INTEGRATORS", "LINEAR_SOLVERS",
           "DTYPE_NAMES", "SAVE_GRIDS", "PLAIN_T_MAX"]

ALGORITHMS = ("plain", "modified")
REINIT_RULES = ("norm", "cluster")
# The integrator names solver.integrators implements (checked there against its own tables).
INTEGRATORS = ("euler", "rk4", "dopri5", "bdf", "radau", "rosenbrock", "cvode")
# Stiff methods (implicit tolerances): SUNDIALS CVODE and scipy BDF/Radau on the CPU, the batched torch Rosenbrock
# on any device.
IMPLICIT_INTEGRATORS = ("bdf", "radau", "rosenbrock", "cvode")
LINEAR_SOLVERS = ("auto", "dense", "sparse", "krylov")
DTYPE_NAMES = ("float64", "float32")
SAVE_GRIDS = ("auto", "linear", "log")
# End time of a plain run when none is given (Figure 1's horizon).
PLAIN_T_MAX = 100.0


def _param(default, help: str, **cli):
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class FlowConfig:
    """Every parameter of a run, with our documented defaults (the paper's constants are not in the seed text).

    Attributes:
        algorithm: ``"plain"`` gradient flow, or ``"modified"`` (the paper's Algorithm 1).
        m: number of components.
        delta0: initial (and re-initialization) norm of a component.
        t_max: end time of a plain run (None: :data:`PLAIN_T_MAX`); for a modified run an optional cap on the
            total time.
        lam: regularizer ``lambda`` (``L = 1/2||T-T*||^2 + lambda/2 ||W||^2``). None: 0 for plain,
            ``eps / 10`` for modified (small enough that the fitted coefficients ``a_i - lambda/2``
            move by less than the target accuracy).
        delta1: re-initialization threshold (modified).
        gamma: epoch-length growth, ``beta_{s+1} = beta_s / (1 + gamma)`` (modified).
        eps: target accuracy; epochs run while ``beta_s >= eps`` (modified).
        epoch_factor: epoch length ``t_s = epoch_factor * (d + ln(1/delta0)) / beta_s`` (our rule).
        beta0: upper bound on ``max_j a_j``; None estimates it by the tensor power method
            (:func:`solver.flow.estimate_beta0`).
        reinit_rule: ``"norm"`` (the paper: ``||w_k|| < delta1``; default) or ``"cluster"`` (SPEC section 2:
            ``||w_k||^2 < delta1^2`` times the mass of ``k``'s cluster, the components with
            ``<wbar_j, wbar_k>^2 >= cluster_cos2``).
        cluster_cos2: cluster membership threshold of the cluster rule.
        drop_small: after the last epoch, set components with ``||w|| < delta1`` to norm 0 (the paper's
            optional output step; recorded as an event).
        integrator: ``auto`` (dopri5 for plain flows of a moderate spectrum on any device; otherwise rosenbrock on a
            CUDA device, cvode on the CPU, bdf there with ``linear_solver="sparse"``), ``cvode`` (SUNDIALS CVODE:
            BDF with GMRES and this project's preconditioner, CPU), ``rosenbrock`` (batched torch Rodas3, any
            device), ``dopri5``, ``rk4``, ``euler``, ``bdf`` or ``radau`` (scipy, CPU).
        linear_solver: the linear systems of implicit methods: ``auto`` (bdf and radau: dense LU up to 400
            unknowns, sparse LU above; rosenbrock: dense batched LU up to 2,000 unknowns
            on CUDA and on the CPU while sqrt(batch) * unknowns^2 <= 2e5, else matrix-free batched GMRES; cvode:
            GMRES), ``dense``, ``sparse`` (bdf, radau) or ``krylov`` (rosenbrock, cvode: scipy's public BDF takes no matrix-free solver).
        rtol, atol: tolerances of adaptive and implicit integrators (rtol None: 1e-8 explicit, 1e-6 implicit;
            atol None: 1e-10 explicit, ``rtol`` implicit). The rows are log-norms and unit-vector coordinates, so
            an absolute error ``rtol`` is a relative one. Implicit methods need it: a fitted direction's field is
            float64 noise ~1e-16 whose ``h``-fold in Newton's increment (``h`` up to 1e9 late in a spread run)
            exceeds an absolute tolerance of 1e-10 and stalls Newton (BENCHMARKS.md).
        step: step of fixed-step methods (initial step guess of adaptive ones when given).
        n_save: number of save times (plain) or per epoch (modified, at least 16).
        save_grid: ``auto``, ``linear`` or ``log`` (geometric; for long stiff runs).
        device: ``auto`` (cuda when present), ``cpu``, ``cuda`` or ``cuda:N``; scipy bdf/radau run on the CPU (asking
            for cuda with them is an error), rosenbrock runs on any device (``auto`` picks it on CUDA).
        dtype: ``float64`` (default) or ``float32``.
        max_steps: guard against a stalled explicit integration.
        record_components: keep per-component norms and correlations at every save time.
    """

    algorithm: str = _param("plain", "plain gradient flow, or modified (the paper's Algorithm 1)",
                            choices=ALGORITHMS)
    m: int = _param(50, "number of components")
    delta0: float = _param(1e-15, "initial (and re-initialization) norm of a component")
    t_max: float | None = _param(None, f"end time (plain: default {PLAIN_T_MAX:g}; modified: optional cap)")
    lam: float | None = _param(None, "regularizer lambda (default 0 plain, eps/10 modified)")
    delta1: float = _param(1e-5, "re-initialization threshold (modified)")
    gamma: float = _param(1.0, "epoch growth: beta_{s+1} = beta_s/(1+gamma)")
    eps: float = _param(1e-9, "target accuracy: epochs run while beta_s >= eps")
    epoch_factor: float = _param(8.0, "epoch length t_s = factor (d + ln 1/delta0) / beta_s")
    beta0: float | None = _param(None, "upper bound on max a_j (default: tensor power method estimate)")
    reinit_rule: str = _param("norm", "norm: ||w|| < delta1 (the paper); cluster: relative to its cluster's mass",
                              choices=REINIT_RULES)
    cluster_cos2: float = _param(0.5, "cluster membership <wbar_j, wbar_k>^2 >= this (cluster rule)")
    drop_small: bool = _param(False, "after the last epoch, drop components with ||w|| < delta1")
    integrator: str = _param("auto", "auto: dopri5 for moderate plain runs, else rosenbrock on cuda, cvode on cpu",
                             choices=("auto",) + INTEGRATORS)
    linear_solver: str = _param("auto", "linear systems of bdf/radau/rosenbrock (auto: dense LU for small systems)",
                                choices=LINEAR_SOLVERS)
    rtol: float | None = _param(None, "relative tolerance (default 1e-8 explicit, 1e-6 implicit)")
    atol: float | None = _param(None, "absolute tolerance (default 1e-10 explicit, rtol implicit)")
    step: float | None = _param(None, "step of euler/rk4 (initial step of adaptive methods)")
    n_save: int = _param(400, "save times (per epoch when modified, at least 16)", low=2)
    save_grid: str = _param("auto", "save-time grid: auto, linear or log", choices=SAVE_GRIDS)
    device: str = _param("auto", "auto, cpu, cuda or cuda:N")
    dtype: str = _param("float64", "floating-point type", choices=DTYPE_NAMES)
    max_steps: int = _param(10_000_000, "guard against a stalled explicit integration")
    record_components: bool = _param(True, "keep per-component norms and correlations at every save time")

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first bad field and its accepted range."""
        require(self.algorithm in ALGORITHMS, "algorithm", f"one of {ALGORITHMS}", self.algorithm)
        require(is_int(self.m) and self.m >= 1, "m", "an integer >= 1", self.m)
        _positive_finite("delta0", self.delta0)
        require(self.delta0 < 1e3, "delta0", "below 1e3", self.delta0)
        require(self.delta0 >= 1e-300, "delta0", ">= 1e-300 in float64 (use the high-precision backend below)",
                self.delta0)
        if self.t_max is not None:
            _positive_finite("t_max", self.t_max)
        if self.lam is not None:
            require(is_number(self.lam) and math.isfinite(self.lam) and self.lam >= 0, "lam", "a finite number >= 0",
                    self.lam)
        _positive_finite("delta1", self.delta1)
        _positive_finite("gamma", self.gamma)
        _positive_finite("eps", self.eps)
        _positive_finite("epoch_factor", self.epoch_factor)
        if self.beta0 is not None:
            _positive_finite("beta0", self.beta0)
        require(self.reinit_rule in REINIT_RULES, "reinit_rule", f"one of {REINIT_RULES}", self.reinit_rule)
        require(is_number(self.cluster_cos2) and 0 < self.cluster_cos2 <= 1, "cluster_cos2", "in (0, 1]",
                self.cluster_cos2)
        require(self.integrator in ("auto",) + INTEGRATORS, "integrator", f"one of {('auto',) + INTEGRATORS}",
                self.integrator)
        if self.rtol is not None:
            _positive_finite("rtol", self.rtol)
        if self.atol is not None:
            _positive_finite("atol", self.atol)
        require(self.linear_solver in LINEAR_SOLVERS, "linear_solver", f"one of {LINEAR_SOLVERS}", self.linear_solver)
        if self.linear_solver == "krylov":
            require(self.integrator in ("auto", "rosenbrock", "cvode"), "linear_solver",
                    "krylov only with the rosenbrock or cvode integrator", self.integrator)
        if self.linear_solver == "sparse":
            require(self.integrator not in ("rosenbrock", "cvode"), "linear_solver", "dense, krylov or auto with the "
                    f"{self.integrator} integrator", self.linear_solver)
        if self.step is not None:
            _positive_finite("step", self.step)
        require(is_int(self.n_save) and self.n_save >= 2, "n_save", "an integer >= 2", self.n_save)
        require(self.save_grid in SAVE_GRIDS, "save_grid", "one of auto, linear, log", self.save_grid)
        require(isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda")
                                                  or self.device.startswith("cuda:")),
                "device", "auto, cpu, cuda or cuda:N", self.device)
        require(self.dtype in DTYPE_NAMES, "dtype", f"one of {DTYPE_NAMES}", self.dtype)
        require(is_int(self.max_steps) and self.max_steps >= 1, "max_steps", "an integer >= 1", self.max_steps)
        if self.integrator in ("euler", "rk4"):
            require(self.step is not None, "step", f"a positive number for the fixed-step {self.integrator}",
                    self.step)

    @property
    def regularizer(self) -> float:
        """``lambda`` in use: the given one, else 0 (plain) or ``eps / 10`` (modified)."""
        if self.lam is not None:
            return float(self.lam)
        return 0.0 if self.algorithm == "plain" else self.eps / 10

    def tolerances(self, integrator: str) -> tuple[float, float]:
        """``(rtol, atol)`` in use with ``integrator`` (one of :data:`INTEGRATORS`): the given ones, else rtol 1e-8
        for the explicit methods and 1e-6 for the implicit ones (:data:`IMPLICIT_INTEGRATORS`), atol 1e-10 explicit
        and ``rtol`` implicit (see the class docstring for why)."""
        require(integrator in INTEGRATORS, "integrator", f"one of {INTEGRATORS}", integrator)
        implicit = integrator in IMPLICIT_INTEGRATORS
        rtol = float(self.rtol) if self.rtol is not None else (1e-6 if implicit else 1e-8)
        atol = float(self.atol) if self.atol is not None else (rtol if implicit else 1e-10)
        return rtol, atol

    @property
    def end_time(self) -> float | None:
        """``t_max`` in use: the given one, else :data:`PLAIN_T_MAX` for a plain run (None: no cap)."""
        if self.t_max is None and self.algorithm == "plain":
            return PLAIN_T_MAX
        return self.t_max

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FlowConfig":
        """The config of a ``to_dict()`` (extra keys, such as a record's ``*_used`` entries, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _positive_finite(name: str, value: float) -> None:
    require(is_number(value) and math.isfinite(value) and value > 0, name, "a finite number > 0", value)
