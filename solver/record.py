"""The typed parts of a run's record: what ``auto`` resolved to, and the events of Algorithm 1.

They are values in memory (frozen dataclasses) and dicts only in ``run.json`` (:meth:`solver.Trajectory.save`),
in the keys that file has always had: :meth:`Resolved.to_dict` gives the ``*_used`` entries of its ``config``
and :func:`event_from_dict` reads its ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

__all__ = ["Epoch", "Resolved", "Event", "EpochStart", "Reinitialization", "Drop", "event_from_dict"]


@dataclass(frozen=True)
class Epoch:
    """One epoch of the modified flow: ``[start, end]`` at threshold ``beta`` (SPEC section 2)."""

    start: float
    end: float
    beta: float


@dataclass(frozen=True)
class Resolved:
    """What a run resolved from its :class:`solver.FlowConfig` (``auto`` and defaults made concrete), and the
    instance's shape.

    Attributes:
        integrator: the integrator that ran (``dopri5``, ``rosenbrock``, ``cvode``, ``bdf``, ``gbs``, ...).
        linear_solver: its linear solver (``dense``, ``krylov``, ``sparse``), None for explicit methods.
        rtol, atol: the tolerances used (None in records that predate them).
        lam: the regularizer ``lambda`` used.
        beta0: the first epoch's threshold (None for the plain flow).
        device: where it ran (``cpu``, ``cuda:0``).
        epochs: the schedule (empty for the plain flow).
        d, r, order: the instance's dimension, rank and tensor order.
    """

    integrator: str | None
    rtol: float | None
    atol: float | None
    lam: float | None
    device: str | None
    d: int | None = None
    r: int | None = None
    order: int | None = None
    linear_solver: str | None = None
    beta0: float | None = None
    epochs: tuple[Epoch, ...] = ()

    # record key -> field, for run.json's config (its keys predate this class).
    _KEYS: ClassVar[dict[str, str]] = {"integrator_used": "integrator", "rtol_used": "rtol", "atol_used": "atol",
                                       "lam_used": "lam", "beta0_used": "beta0", "device_used": "device",
                                       "linear_solver_used": "linear_solver", "d": "d", "r": "r", "order": "order"}

    def to_dict(self) -> dict:
        """The record's keys (``linear_solver_used`` only where there is one)."""
        out = {key: getattr(self, name) for key, name in self._KEYS.items()}
        if self.linear_solver is None:
            del out["linear_solver_used"]
        out["epochs"] = [{"start": e.start, "end": e.end, "beta": e.beta} for e in self.epochs]
        return out

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "Resolved":
        """From a record's ``config`` (absent keys -> None: older records and hand-built ones)."""
        values = {name: config.get(key) for key, name in cls._KEYS.items()}
        epochs = tuple(Epoch(float(e["start"]), float(e["end"]), float(e["beta"])) for e in config.get("epochs") or ())
        return cls(**values, epochs=epochs)


@dataclass(frozen=True)
class Event:
    """An event of a run, at time ``time``. ``event["name"]`` reads a field as the record's dict did."""

    kind: ClassVar[str] = ""
    time: float

    def to_dict(self) -> dict:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}

    def __getitem__(self, name: str) -> Any:
        if name == "kind":
            return self.kind
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


@dataclass(frozen=True)
class EpochStart(Event):
    """Epoch ``epoch`` of the modified flow starts at ``time``, ends at ``end``, threshold ``beta``."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    end: float
    beta: float


@dataclass(frozen=True)
class Reinitialization(Event):
    """Run ``run``'s ``components`` were re-drawn at norm ``delta0`` at the start of epoch ``epoch``."""

    kind: ClassVar[str] = "reinit"
    run: int
    epoch: int
    components: tuple[int, ...]


@dataclass(frozen=True)
class Drop(Event):
    """Run ``run``'s ``components`` (norm below ``delta1`` at the end) were set to norm 0 (Algorithm 1's output)."""

    kind: ClassVar[str] = "drop"
    run: int
    components: tuple[int, ...]


_EVENTS = {cls.kind: cls for cls in (EpochStart, Reinitialization, Drop)}


def event_from_dict(data: Mapping[str, Any] | Event) -> Event:
    """An event from its ``run.json`` form (an :class:`Event` is returned as it is)."""
    if isinstance(data, Event):
        return data
    cls = _EVENTS.get(data.get("kind"))
    if cls is None:
        raise ValueError(f"event kind: one of {sorted(_EVENTS)} (got {data.get('kind')!r})")
    values = {f.name: data[f.name] for f in fields(cls)}
    if "components" in values:
        values["components"] = tuple(int(k) for k in values["components"])
    return cls(**values)
