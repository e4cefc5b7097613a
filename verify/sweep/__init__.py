"""Sweeps on Dask and the phase diagrams.

- :mod:`.spec`: a sweep spec (TOML, or the built-in ``quick`` / ``full``) expanded into one
  :class:`solver.spec.RunSpec` per run (one seed each; the row's key is :meth:`RunSpec.key`).
- :mod:`.runner`: the runs on a Dask LocalCluster (one single-threaded worker process per core) or an existing
  scheduler, rows written as they finish, resumable by key.
- :mod:`.store`: the Parquet dataset, one atomically written file per run.
- :mod:`.phase`: success rates over m/r x spread, the empirical m*(d, spread), heatmaps and tables.
- :mod:`.mcurve`: per-seed success curves in m (nested draws), m_needed, m_90 with an order-statistic interval.
- :mod:`.spotcheck`: re-run a sample of a store's rows from their commands; ``(k_reproduced, k, mismatches)``.
- :mod:`.campaigns`: the store's campaigns as the audit reads them (absent / partial / complete, older rows,
  spot-check).
- :mod:`.mfit`: logistic m_p(d) with seed-clustered errors, its log-log slope, d-independence tests.
- :mod:`.evidence_readme`: the README's evidence section and the runs-per-CPU-hour lines, from the store.

Names load on first use (dask, pyarrow and torch only when a sweep runs or a dataset is read).
"""

from solver._lazy import lazy_exports

_WHERE = {
    "spec": ("SweepSpec", "SweepPoint", "parse_spec", "load_spec"),
    "runner": ("run_sweep", "run_point", "SweepResult", "local_cluster"),
    "store": ("read_rows", "write_row", "existing_keys", "EVIDENCE_COLUMNS"),
    "phase": ("PhaseSummary", "PhaseCell", "MStar", "phase_summary", "plot_phase", "write_phase"),
    "builtin": ("BUILTIN",),
    "mcurve": ("SeedCurve", "MLine", "seed_curves", "m_lines", "quantile_interval"),
    "spotcheck": ("SpotCheck", "Mismatch", "spot_check", "sample_rows"),
    "campaigns": ("CampaignState", "read_campaign", "campaign_state"),
    "mfit": ("MFit", "fit_m_law", "compare_forms", "d_independence"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)
