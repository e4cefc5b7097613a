"""The trajectory record: the contract between the solver and everything downstream.

Saved as two files written atomically (temporary file, then rename): ``trajectory.npz`` (arrays,
no pickles) and ``run.json`` (configuration, events, summary, metadata). :meth:`Trajectory.load`
restores the same object.

Arrays (B runs, K save times, m components, r ground-truth directions, d dimensions):

- ``times`` (K,): save times, shared by all runs.
- ``loss`` (B, K): ``1/2 ||T - T*||_F^2`` (no lambda term), from the Gram form.
- ``loss_floor`` (B, K): its resolution floor (unit roundoff times the cancelling terms' size).
- ``residuals`` (B, K, r): ``(T* - T)(u_j^{(x)l})``.
- ``log_norms`` (B, K, m) and ``correlations`` (B, K, m, r) (``<wbar_k, u_j>``): optional (None when
  the run was configured with ``record_components=False``).
- ``a`` (B, r), ``U`` (B, d, r): each run's ground truth.
- ``final_log_norms`` (B, m), ``final_directions`` (B, d, m): the state at the last time.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tempfile
import zipfile
from pathlib import Path, PurePath
from typing import Any, Mapping, Sequence

import numpy as np

from .config import FlowConfig
from .record import Event, Reinitialization, Resolved, event_from_dict

__all__ = ["Trajectory", "atomic_write_bytes", "atomic_write_json", "discovery_times", "json_safe", "package_versions"]

_ARRAYS = ("times", "loss", "loss_floor", "residuals", "log_norms", "correlations", "a", "U",
           "final_log_norms", "final_directions")
RECOVERY_TOLERANCE = 0.1


def package_versions(names: tuple[str, ...], missing: str | None = None) -> dict[str, str]:
    """Installed versions of the distributions ``names`` (plus ``python``), for every record's metadata.

    A distribution that is not installed maps to ``missing``, or is left out when ``missing`` is None.
    """
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the user's usual permissions (``0o666`` less the umask), not ``mkstemp``'s private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def atomic_write_json(path: Path, obj: Any) -> None:
    """JSON with NaN/inf written as null, atomically."""
    atomic_write_bytes(Path(path), (json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n").encode())


def json_safe(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays made plain, keys made strings and non-finite floats made ``None``
    (strict JSON has no NaN): the one conversion every JSON record of the project goes through.

    Records convert themselves: an object with a ``to_dict()`` method goes through it, any other dataclass
    through its fields; enums become their values, paths strings, sets sorted lists. Anything else is
    returned as it is (``json.dumps`` then refuses what JSON cannot hold, rather than writing its ``repr``).
    """
    if isinstance(obj, enum.Enum):
        return json_safe(obj.value)
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, type):
        return json_safe(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return [json_safe(v) for v in sorted(obj)]
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if np.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def discovery_times(times: np.ndarray, residuals: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First time each residual ``(T*-T)(u_j^l)`` falls to ``a_j / 2``, linearly interpolated.

    ``residuals`` is (B, K, r), ``a`` (B, r). Returns ``(t_disc, resolution)``, both (B, r): NaN where
    the level is never reached; ``resolution`` is the width of the save interval holding the crossing
    (the interpolation's error is below it).
    """
    B, K, r = residuals.shape
    t_disc = np.full((B, r), np.nan)
    resolution = np.full((B, r), np.nan)
    below = residuals <= (a[:, None, :] / 2)
    for b in range(B):
        for j in range(r):
            hits = np.nonzero(below[b, :, j])[0]
            if hits.size == 0:
                continue
            k = hits[0]
            if k == 0:
                t_disc[b, j], resolution[b, j] = times[0], 0.0
                continue
            r0, r1 = residuals[b, k - 1, j], residuals[b, k, j]
            level = a[b, j] / 2
            frac = 1.0 if r0 == r1 else (r0 - level) / (r0 - r1)
            t_disc[b, j] = times[k - 1] + frac * (times[k] - times[k - 1])
            resolution[b, j] = times[k] - times[k - 1]
    return t_disc, resolution


class Trajectory:
    """A batch of runs of one configuration; see the module docstring for the arrays.

    The record in the middle is typed: ``flow`` the :class:`solver.FlowConfig` as given, ``resolved`` what the
    run resolved (:class:`solver.record.Resolved`), ``events`` typed events (:mod:`solver.record`); ``meta`` holds
    the versions, the device, the work counters and, for a run of a :class:`solver.spec.RunSpec`, the spec's data
    (typed again by ``RunSpec.of(trajectory)``: the spec layer sits above this one). ``config`` is the
    ``run.json`` form of ``flow`` and ``resolved`` together, and a ``config`` dict in that form is accepted in place
    of them (records built by hand, older code).
    """

    def __init__(self, *, seeds: Sequence[int], times: np.ndarray, loss: np.ndarray, loss_floor: np.ndarray,
                 residuals: np.ndarray, a: np.ndarray, U: np.ndarray, final_log_norms: np.ndarray,
                 final_directions: np.ndarray, log_norms: np.ndarray | None = None,
                 correlations: np.ndarray | None = None, events: Sequence[Event | Mapping] = (),
                 meta: dict | None = None, flow: FlowConfig | None = None, resolved: Resolved | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        if config is not None:
            flow, resolved = FlowConfig.from_dict(dict(config)), Resolved.from_dict(config)
        if flow is None or resolved is None:
            raise TypeError("Trajectory: flow and resolved (or a config record) are required")
        self.flow, self.resolved = flow, resolved
        self.seeds = list(seeds)
        self.times, self.loss, self.loss_floor, self.residuals = times, loss, loss_floor, residuals
        self.a, self.U, self.final_log_norms, self.final_directions = a, U, final_log_norms, final_directions
        self.log_norms, self.correlations = log_norms, correlations
        self.events: list[Event] = [event_from_dict(e) for e in events]
        self.meta: dict = {} if meta is None else meta

    _FIELDS = ("seeds", "times", "loss", "loss_floor", "residuals", "a", "U", "final_log_norms", "final_directions",
               "log_norms", "correlations", "events", "meta", "flow", "resolved")

    def replace(self, **changes: Any) -> "Trajectory":
        """A copy with ``changes`` (any constructor argument but ``config``), the rest shared: e.g. a record
        whose ``a`` is relabelled, to see a checker fail on it (``dataclasses.replace`` for this class)."""
        unknown = sorted(set(changes) - set(self._FIELDS))
        if unknown:
            raise TypeError(f"Trajectory.replace: unknown field(s) {', '.join(unknown)}")
        return Trajectory(**{name: changes.get(name, getattr(self, name)) for name in self._FIELDS})

    def __repr__(self) -> str:
        return (f"Trajectory(batch={self.batch}, times={self.times.size}, integrator={self.resolved.integrator!r}, "
                f"algorithm={self.flow.algorithm!r})")

    @property
    def config(self) -> dict:
        """``run.json``'s ``config``: every :class:`FlowConfig` field and the resolved values (``*_used``)."""
        return {**self.flow.to_dict(), **self.resolved.to_dict()}

    @property
    def batch(self) -> int:
        return self.loss.shape[0]

    @property
    def order(self) -> int:
        return int(self.resolved.order)

    def discovery(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, resolution)`` of :func:`discovery_times` for this record."""
        return discovery_times(self.times, self.residuals, self.a)

    def final_relative_residuals(self) -> np.ndarray:
        """``(T* - T)(u_j^l) / a_j`` at the last save time, (B, r)."""
        return self.residuals[:, -1, :] / self.a

    def recovered(self) -> np.ndarray:
        """(B, r) booleans: ``|(T* - T)(u_j^l)| <= 0.1 a_j`` at the end (direction j is fitted)."""
        return np.abs(self.final_relative_residuals()) <= RECOVERY_TOLERANCE

    def summary(self) -> dict:
        """The per-run results that ``run.json`` carries (NaN written as null)."""
        t_disc, res = self.discovery()
        final = self.final_relative_residuals()
        recovered = self.recovered()
        runs = []
        for b in range(self.batch):
            runs.append({
                "seed": int(self.seeds[b]),
                "discovery_times": [None if np.isnan(v) else float(v) for v in t_disc[b]],
                "discovery_resolution": [None if np.isnan(v) else float(v) for v in res[b]],
                "final_residuals": final[b].tolist(),
                "final_loss": float(self.loss[b, -1]),
                "final_loss_floor": float(self.loss_floor[b, -1]),
                "recovered": recovered[b].tolist(),
                "reinitializations": int(sum(len(e.components) for e in self.events
                                             if isinstance(e, Reinitialization) and e.run == b)),
            })
        return {
            "discovery_times": [r["discovery_times"] for r in runs],
            "final_residuals": [r["final_residuals"] for r in runs],
            "final_loss": [r["final_loss"] for r in runs],
            "runs": runs,
        }

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write ``trajectory.npz`` and ``run.json`` into ``out_dir`` (each atomically)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {name: getattr(self, name) for name in _ARRAYS if getattr(self, name) is not None}
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
        atomic_write_bytes(out / "trajectory.npz", buf.getvalue())
        atomic_write_json(out / "run.json", {
            "format": "deflation-verify trajectory v1",
            "config": self.config,
            "seeds": self.seeds,
            "meta": self.meta,
            "events": self.events,
            **self.summary(),
        })
        return out

    @classmethod
    def load(cls, out_dir: str | os.PathLike) -> "Trajectory":
        """Read back a record written by :meth:`save`."""
        from .errors import ValidationError

        out = Path(out_dir)
        accepted = "a run folder written by deflation (run.json + trajectory.npz, complete)"
        try:
            with open(out / "run.json") as fh:
                info = json.load(fh)
            with np.load(out / "trajectory.npz", allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            missing = [k for k in ("config", "seeds", "events", "meta") if k not in info]
            missing += [k for k in _ARRAYS if k not in ("log_norms", "correlations") and k not in arrays]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # ValueError covers JSON errors
            raise ValidationError(str(out), accepted, f"{type(err).__name__}: {err}") from None
        if missing:
            raise ValidationError(str(out), accepted, f"missing {', '.join(missing)}")
        return cls(config=info["config"], seeds=info["seeds"], events=info["events"], meta=info["meta"],
                   log_norms=arrays.pop("log_norms", None), correlations=arrays.pop("correlations", None), **arrays)
