"""One run specification: :class:`RunSpec` = :class:`InstanceSpec` (the ground truth) + :class:`FlowConfig`
+ seeds.

Everything that describes a run goes through it: the ``deflation run`` flags are the dataclass fields
(:func:`spec_fields`; ``verify.commands._args`` builds the parser and its help from them), so every default lives
in one place (the field); the reproduce command of a record, an audit row or a sweep row is
:meth:`RunSpec.command`, a :class:`Command`; the sweep keys its Parquet rows by :meth:`RunSpec.key`.

Data flow::

    RunSpec --truth()/config--> solver.solve --> Trajectory --verify.invariants--> Verdict --> ledger row

Torch-free and argparse-free: the CLI builds its parser from this module's fields without loading torch
(``solve`` imports it lazily); :meth:`RunSpec.to_argv` and :meth:`RunSpec.from_argv` convert to and from flag lists
as data. This module is the top of the solver's import graph: it imports the flow (on call), and neither the flow
nor the record imports it (a record holds its spec as data, :meth:`RunSpec.of`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import shlex
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .config import FlowConfig
from .errors import ValidationError, is_int, is_number, require

if typing.TYPE_CHECKING:  # numpy and the ground truth load when a spec is used, not when flags are built
    import numpy as np

    from .ground_truth import GroundTruth
    from .trajectory import Trajectory

__all__ = ["InstanceSpec", "RunSpec", "Command", "PROGRAM", "solve", "spec_fields", "flag_of", "field_type",
           "estimate_memory_bytes", "available_memory_bytes", "BASES"]

BASES = ("identity", "random", "nonorthogonal")
DEFAULT_R = 5
PROGRAM = "deflation"


class Command(str):
    """A reproduce line: ``deflation <subcommand> <argv...> [--out <out>]``, shell-quoted (``shlex.join``).

    Immutable, with typed fields (``subcommand``, ``argv``, ``out``) so that no caller parses a command string
    back. A ``str`` subclass so that a record, a Parquet row or a report stores it as the plain line it prints,
    and a stored line compares equal to the command that wrote it; ``str(command)`` is that line.
    """

    subcommand: str
    argv: tuple[str, ...]
    out: str | None

    def __new__(cls, subcommand: str, argv: Sequence[str] = (), out: str | os.PathLike[str] | None = None,
                ) -> "Command":
        argv = tuple(str(word) for word in argv)
        out = None if out is None else str(out)
        words = [PROGRAM, subcommand, *argv] + ([] if out is None else ["--out", out])
        self = super().__new__(cls, shlex.join(words))
        for name, value in (("subcommand", subcommand), ("argv", argv), ("out", out)):
            object.__setattr__(self, name, value)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Command is immutable (cannot set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Command is immutable (cannot delete {name})")

    def __reduce__(self) -> tuple:
        return (Command, (self.subcommand, self.argv, self.out))

    def __repr__(self) -> str:
        return f"Command({self.subcommand!r}, {self.argv!r}, out={self.out!r})"

    @property
    def words(self) -> tuple[str, ...]:
        """The argument vector the line runs (``shlex.split(str(self))``, without the splitting)."""
        return (PROGRAM, self.subcommand, *self.argv) + (() if self.out is None else ("--out", self.out))

    def with_out(self, out: str | os.PathLike[str] | None) -> "Command":
        """The same command writing to ``out`` (None: no ``--out``)."""
        return Command(self.subcommand, self.argv, out)


@dataclass(frozen=True)
class InstanceSpec:
    """The ground truth ``T* = sum_j a_j u_j^{(x)l}`` of a run, by name and seed (docs/spec.md section 1).

    Attributes:
        d: dimension.
        r: rank (None: ``len(a)`` when ``a`` is given, else 5).
        a: coefficients ``a_1, a_2, ...`` (None: the geometric spectrum ``a_1 = 1``, ``a_i/a_{i+1} = ratio``).
        ratio: ``a_i / a_{i+1}`` of the geometric spectrum (Figure 1: 1.2; the spread spectrum: 100).
        order: tensor order ``l >= 3``.
        basis: ``identity`` (``u_j = e_j``, Figure 1), ``random`` (Haar orthonormal) or ``nonorthogonal``
            (independent uniform unit vectors).
        basis_seed: seed of the random bases.
    """

    d: int = field(default=10, metadata={"help": "dimension"})
    r: int | None = field(default=None, metadata={"help": f"rank (default: len(--a), else {DEFAULT_R})"})
    a: tuple[float, ...] | None = field(default=None, metadata={"help": "coefficients a_1,a_2,... (overrides --ratio)"})
    ratio: float = field(default=1.2, metadata={"help": "a_1 = 1, a_i/a_{i+1} = ratio"})
    order: int = field(default=4, metadata={"help": "tensor order l", "low": 3})
    basis: str = field(default="identity", metadata={"help": "ground-truth directions", "choices": BASES})
    basis_seed: int = field(default=0, metadata={"help": "seed of random bases", "low": 0})

    def __post_init__(self) -> None:
        if self.a is not None:
            object.__setattr__(self, "a", tuple(float(x) for x in self.a))

    @property
    def rank(self) -> int:
        """``r`` in use."""
        if self.a is not None:
            return len(self.a)
        return self.r if self.r is not None else DEFAULT_R

    def coefficients(self) -> np.ndarray:
        """``(a_1, ..., a_r)``: the given ones, else ``a_i = ratio^{-(i-1)}``."""
        import numpy as np

        from .ground_truth import geometric_spectrum

        if self.a is not None:
            a = np.asarray(self.a, dtype=np.float64)
            if self.r is not None and self.r != a.size:
                raise ValidationError("r", f"equal to the number of a values ({a.size})", self.r)
            require(a.size >= 1 and bool(np.all(np.isfinite(a)) and np.all(a > 0)), "a",
                    "positive finite coefficients", list(self.a))
            return a
        require(is_number(self.ratio) and math.isfinite(self.ratio) and self.ratio >= 1, "ratio",
                "a finite number >= 1", self.ratio)
        return geometric_spectrum(self.rank, self.ratio)

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first bad field."""
        require(is_int(self.d) and self.d >= 1, "d", "an integer >= 1", self.d)
        if self.r is not None:
            require(is_int(self.r) and self.r >= 1, "r", "an integer >= 1", self.r)
        require(is_int(self.order) and self.order >= 3, "order", "an integer >= 3", self.order)
        require(self.basis in BASES, "basis", f"one of {BASES}", self.basis)
        require(is_int(self.basis_seed) and self.basis_seed >= 0, "basis_seed", "an integer >= 0", self.basis_seed)
        if self.basis != "nonorthogonal":
            require(self.rank <= self.d, "r", f"at most d = {self.d} for an orthogonal basis", self.rank)
        self.coefficients()

    def truth(self) -> GroundTruth:
        """The ground truth this specification names."""
        from .ground_truth import identity_basis, random_nonorthogonal, random_orthonormal

        self.validate()
        a = self.coefficients()
        if self.basis == "identity":
            return identity_basis(self.d, a, self.order)
        if self.basis == "random":
            return random_orthonormal(self.d, a, self.order, self.basis_seed)
        return random_nonorthogonal(self.d, a, self.order, self.basis_seed)


@dataclass(frozen=True)
class RunSpec:
    """A run: the instance, the flow's configuration and the seeds ``first_seed, ..., first_seed + n_seeds - 1``
    (one run per seed, batched). The same spec gives the same trajectory on the same device."""

    instance: InstanceSpec = InstanceSpec()
    config: FlowConfig = FlowConfig()
    first_seed: int = field(default=0, metadata={"help": "seed of the first run", "low": 0})
    n_seeds: int = field(default=1, metadata={"help": "number of runs, seeds first-seed.. (batched)",
                                              "flag": "--seeds"})

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.n_seeds))

    def validate(self) -> None:
        """Check every field (instance, config, seeds) and that the run fits in memory."""
        self.instance.validate()
        self.config.validate()
        require(is_int(self.first_seed) and self.first_seed >= 0, "first_seed", "an integer >= 0", self.first_seed)
        require(is_int(self.n_seeds) and self.n_seeds >= 1, "n_seeds", "an integer >= 1", self.n_seeds)
        need, have = estimate_memory_bytes(self), available_memory_bytes()
        if have is not None and need > 0.8 * have:
            raise ValidationError(
                "m", f"a run that fits in memory: about {need / 2**30:.1f} GiB needed for seeds={self.n_seeds}, "
                     f"d={self.instance.d}, m={self.config.m}, n_save={self.config.n_save}, "
                     f"{have / 2**30:.1f} GiB available (lower m, d, --seeds, --n-save, or --no-record-components)")

    def replace(self, **changes: Any) -> "RunSpec":
        """A copy with fields of the spec, its instance or its config replaced by name (``m=100, d=20, n_seeds=1``)."""
        own = {f.name for f in dataclasses.fields(self)} - {"instance", "config"}
        inst = {f.name for f in dataclasses.fields(InstanceSpec)}
        conf = {f.name for f in dataclasses.fields(FlowConfig)}
        unknown = set(changes) - own - inst - conf
        require(not unknown, "field", "a field of RunSpec, InstanceSpec or FlowConfig", sorted(unknown))
        return dataclasses.replace(
            self, instance=dataclasses.replace(self.instance, **{k: v for k, v in changes.items() if k in inst}),
            config=dataclasses.replace(self.config, **{k: v for k, v in changes.items() if k in conf}),
            **{k: v for k, v in changes.items() if k in own})

    # ------------------------------------------------------------------------------------------ running
    def solve(self, progress: Callable[[float, float, str], None] | None = None,
              initial_state: tuple[np.ndarray, np.ndarray] | None = None) -> Trajectory:
        """:func:`solver.flow.solve` on this spec's instance, config and seeds; the record's ``meta`` carries the
        spec (``meta["spec"]``, read back by :meth:`of`) and its command (``meta["command"]``)."""
        from .flow import solve

        self.validate()
        trajectory = solve(self.instance.truth(), self.config, self.seeds, progress=progress,
                           initial_state=initial_state)
        trajectory.meta["spec"] = self.to_dict()
        trajectory.meta["command"] = self.command()
        return trajectory

    @classmethod
    def of(cls, trajectory: Trajectory) -> "RunSpec | None":
        """The spec a record ran (its ``meta["spec"]``), or None for a record solved on arrays. The record holds
        the spec's data, not the class: the trajectory layer sits below this one."""
        data = trajectory.meta.get("spec")
        return None if data is None else cls.from_dict(data)

    # ---------------------------------------------------------------------------- text and dict forms
    def to_argv(self) -> list[str]:
        """The ``deflation run`` flags of this spec: every field that differs from its default, in field order."""
        argv: list[str] = []
        for obj, f in spec_fields():
            value = getattr(self if obj is None else getattr(self, obj), f.name)
            if value == f.default:
                continue
            flag = flag_of(f)
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            elif isinstance(value, tuple):
                argv += [flag, ",".join(repr(float(x)) for x in value)]
            elif isinstance(value, float):
                argv += [flag, repr(value)]
            else:
                argv += [flag, str(value)]
        return argv

    def command(self, subcommand: str = "run", extra: Sequence[str] = (),
                out: str | os.PathLike[str] | None = None) -> Command:
        """The :class:`Command` that reruns this spec: ``deflation run --d 10 ... [extra] [--out out]``.

        A trailing ``["--out", path]`` in ``extra`` becomes the command's ``out`` (the same line either way)."""
        extra = list(extra)
        if out is None and len(extra) >= 2 and extra[-2] == "--out":
            out, extra = extra[-1], extra[:-2]
        return Command(subcommand, [*self.to_argv(), *extra], out)

    @classmethod
    def from_flags(cls, values: Mapping[str, Any]) -> "RunSpec":
        """The spec of parsed flag values keyed by field name (other keys ignored; missing ones take their
        default), validated."""
        parts: dict[str | None, dict[str, Any]] = {"instance": {}, "config": {}, None: {}}
        for obj, f in spec_fields():
            if f.name in values:
                parts[obj][f.name] = values[f.name]
        spec = cls(instance=InstanceSpec(**parts["instance"]), config=FlowConfig(**parts["config"]), **parts[None])
        spec.validate()
        return spec

    @classmethod
    def from_args(cls, args: Any) -> "RunSpec":
        """The spec of an ``argparse.Namespace`` holding the ``deflation run`` flags (validated)."""
        return cls.from_flags(vars(args))

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> "RunSpec":
        """The spec of a ``deflation run`` flag list (the inverse of :meth:`to_argv`), validated.

        Accepts ``--flag value``, ``--flag=value`` and ``--flag``/``--no-flag`` for booleans; an unknown flag or a
        value of the wrong type raises :class:`ValidationError` naming it."""
        by_flag = {flag_of(f): (obj, f) for obj, f in spec_fields()}
        values: dict[str, Any] = {}
        words, i = list(argv), 0
        while i < len(words):
            word = words[i]
            name, has_inline, inline = word.partition("=")
            negated = name.startswith("--no-") and ("--" + name[5:]) in by_flag
            key = "--" + name[5:] if negated else name
            if key not in by_flag:
                raise ValidationError("argv", "flags of deflation run (deflation run --help)", word)
            obj, f = by_flag[key]
            kind = field_type(obj, f)
            if kind is bool:
                require(not has_inline, key, "a flag without a value", word)
                values[f.name] = not negated
                i += 1
                continue
            require(not negated, key, "a flag with a value", word)
            if has_inline:
                text = inline
            else:
                require(i + 1 < len(words), key, "followed by a value", None)
                text, i = words[i + 1], i + 1
            values[f.name] = _convert(key, kind, text)
            i += 1
        return cls.from_flags(values)

    def to_dict(self) -> dict:
        """Plain JSON-able form (``from_dict`` inverts it)."""
        return {"instance": {**dataclasses.asdict(self.instance),
                             "a": None if self.instance.a is None else list(self.instance.a)},
                "config": self.config.to_dict(), "first_seed": self.first_seed, "n_seeds": self.n_seeds}

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        try:
            return cls(instance=InstanceSpec(**data["instance"]), config=FlowConfig.from_dict(data["config"]),
                       first_seed=int(data["first_seed"]), n_seeds=int(data["n_seeds"]))
        except (KeyError, TypeError) as err:
            raise ValidationError("spec", "a dict written by RunSpec.to_dict()", f"{type(err).__name__}: {err}") \
                from None

    def key(self) -> str:
        """A stable 16-hex-digit key of the full inputs (same key, same run): sha256 of the canonical JSON."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def solve(truths: Any, config: FlowConfig | None = None, seeds: Sequence[int] | None = None,
          progress: Callable[[float, float, str], None] | None = None,
          initial_state: tuple[np.ndarray, np.ndarray] | None = None) -> Trajectory:
    """The package's entry point, ``solver.solve``: ``solve(spec)`` is :meth:`RunSpec.solve` (``config`` and
    ``seeds`` left out: they are the spec's), anything else goes to :func:`solver.flow.solve` (ground truths,
    config, seeds). It lives here, above the flow layer, so that the flow never imports the spec."""
    if isinstance(truths, RunSpec):
        require(config is None and seeds is None, "solve(spec)",
                "called without config or seeds (they are the spec's; use spec.replace(...) or spec.solve())",
                "config" if config is not None else "seeds")
        return truths.solve(progress=progress, initial_state=initial_state)
    from . import flow

    return flow.solve(truths, config, seeds, progress=progress, initial_state=initial_state)


# ------------------------------------------------------------------------------------- memory guard
def estimate_memory_bytes(spec: RunSpec) -> int:
    """Peak memory of a float64 run, in bytes, from its dominant arrays (an estimate, within ~2x):
    the state and the integrator's stages (~10 copies of ``B (d+1) m``), the Gram matrices ``G`` (``B m^2``,
    ~4 live), the record (``B K m (r + 1)`` with ``K`` save times) and, for a dense Newton matrix, ``((d+1) m)^2``."""
    c, inst = spec.config, spec.instance
    B, d, m, r = spec.n_seeds, inst.d, c.m, inst.rank
    K = c.n_save + 1 if c.algorithm == "plain" else 64 * max(16, c.n_save)
    words = 10 * B * (d + 1) * m + 4 * B * m * m + B * K * (r + 2)
    if c.record_components:
        words += B * K * m * (r + 1)
    if c.linear_solver == "dense" or (c.linear_solver == "auto" and (d + 1) * m <= 400):
        words += ((d + 1) * m) ** 2
    return 8 * int(words)


def available_memory_bytes() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------------------- flag fields
def spec_fields() -> list[tuple[str | None, dataclasses.Field]]:
    """``(owner, field)`` of every flag, in flag order: owner ``"instance"``, ``"config"`` or None (the spec's
    own seed fields)."""
    return ([("instance", f) for f in dataclasses.fields(InstanceSpec)]
            + [("config", f) for f in dataclasses.fields(FlowConfig)]
            + [(None, f) for f in dataclasses.fields(RunSpec) if f.name not in ("instance", "config")])


def flag_of(f: dataclasses.Field) -> str:
    """The ``deflation run`` flag of a field: ``metadata["flag"]``, else ``--`` + its name with dashes."""
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


_OWNERS: dict[str | None, type] = {"instance": InstanceSpec, "config": FlowConfig, None: RunSpec}


@functools.cache
def _hints(owner: type) -> dict[str, Any]:
    return typing.get_type_hints(owner)


def field_type(owner: str | None, f: dataclasses.Field) -> type:
    """The value type of a flag's field: ``bool``, ``int``, ``float``, ``str`` or ``tuple`` (a list of floats);
    ``None`` in an optional field's hint is dropped."""
    hint = _hints(_OWNERS[owner])[f.name]
    base = {a for a in typing.get_args(hint) if a is not type(None)} or {hint}
    if hint is bool:
        return bool
    if tuple[float, ...] in base:
        return tuple
    for kind in (float, int):
        if kind in base:
            return kind
    return str


def _convert(flag: str, kind: type, text: str) -> Any:
    try:
        if kind is tuple:
            values = tuple(float(v) for v in text.split(",") if v.strip())
            require(len(values) >= 1, flag, "comma-separated numbers, at least one", text)
            return values
        return kind(text)
    except ValueError:
        accepted = {float: "a number", int: "an integer", tuple: "comma-separated numbers"}.get(kind, "a value")
        raise ValidationError(flag, accepted, text) from None
