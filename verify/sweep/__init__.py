"""Sweeps on Dask and the phase diagrams (issue 10)."""
