"""Classical baselines beside the flows: the robust tensor power method in Gram form, TensorLy's
power iteration and CP-ALS, the exact-rank and over-parametrized flows and Algorithm 1, on named instances,
judged by one recovery rule (:mod:`verify.baselines.recovery`); and the beyond-the-paper study
(:mod:`verify.baselines.beyond`).

Public surface: :func:`run_baselines` -> :class:`BaselinesResult` (rows of :class:`BaselineRow`),
:func:`format_table`, :func:`plot_baselines`; :func:`tensor_power_method`; :func:`recovery`.
"""

from .figures import plot_baselines
from .instances import DEFAULT_INSTANCES, INSTANCES, BaselineInstance, get_instance
from .recovery import Decomposition, Recovery, recovery
from .runner import METHODS, PROFILES, BaselineRow, BaselinesResult, format_table, p4_rows, run_baselines, run_method, run_profile
from .tpm import TPMConfig, tensor_power_method

__all__ = ["plot_baselines", "DEFAULT_INSTANCES", "INSTANCES", "BaselineInstance", "get_instance",
           "Decomposition", "Recovery", "recovery", "METHODS", "BaselineRow", "BaselinesResult", "format_table",
           "run_baselines", "run_method", "PROFILES", "run_profile", "p4_rows", "TPMConfig", "tensor_power_method"]
