"""A sweep specification: a grid over the instance, m (or m/r), the algorithm and its parameters, and seeds,
read from TOML and expanded into one :class:`solver.spec.RunSpec` per run (one seed per run).

The TOML format (every key is validated; an unknown key, an empty list or a bad value is a
:class:`ValidationError` naming the field as ``table.key``)::

    name = "quick"                 # optional label
    description = "..."            # optional

    [grid]
    d = [6]                        # dimensions (integers >= 2)
    r = [3]                        # ranks (integers >= 1; r <= d for orthogonal bases); or
    # r_over_d = [0.5]             # r = round(r_over_d * d) at each d (exactly one of r, r_over_d)
    spread = [1.0, 100.0]          # a_1 / a_r of a geometric spectrum a_j = spread^(-(j-1)/(r-1)); or
    # ratio = [1.2, 10]            # a_j / a_{j+1} (exactly one of spread, ratio)
    m_over_r = [1, 2, 4]           # m = round(m_over_r * r); or m = [...] (exactly one of them)
    algorithm = ["plain", "modified"]
    seeds = 4                      # runs per grid point, seeds first_seed .. first_seed + seeds - 1
    first_seed = 0
    basis = "random"               # identity | random | nonorthogonal (a value or a list)
    order = 4                      # tensor order l (a value or a list)
    basis_seed = "seed"            # "seed": every run its own Haar basis (seeded by the run seed); or an integer

    [plain]                        # solver.FlowConfig fields of the plain runs (a value, or a list: a grid axis)
    delta0 = 1e-10
    t_max_per_a_min = 60.0         # t_max = t_max_per_a_min / a_r (discovery of a_r takes ~ln(1/delta0)/(2 a_r))

    [modified]                     # FlowConfig fields of Algorithm 1's runs
    delta0 = 1e-15
    eps_per_a_min = 0.25           # eps = eps_per_a_min * a_r (every a_j lies above the target accuracy)

Data flow::

    TOML text --parse_spec--> SweepSpec --points()--> [SweepPoint(RunSpec, m_over_r, spread)] --runner--> rows
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from solver.config import ALGORITHMS, FlowConfig
from solver.errors import ValidationError, is_int, is_number, require
from solver.spec import BASES, InstanceSpec, RunSpec

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the backport
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["SweepSpec", "SweepPoint", "parse_spec", "load_spec", "SCALED_KEYS"]

_TOP_KEYS = {"name", "description", "grid", "plain", "modified"}
_GRID_KEYS = {"d", "r", "r_over_d", "spread", "ratio", "m", "m_over_r", "algorithm", "seeds", "first_seed", "basis",
              "order",
              "basis_seed"}
# Per-algorithm keys that scale with the smallest coefficient a_r of each instance (not FlowConfig fields).
SCALED_KEYS = {"plain": ("t_max_per_a_min",), "modified": ("eps_per_a_min", "t_max_per_a_min")}
# Fields the grid sets itself.
_FIXED_BY_GRID = {"algorithm", "m"}
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(FlowConfig)}
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: its :class:`RunSpec` (one seed) and the grid coordinates it came from."""

    spec: RunSpec
    m_over_r: float
    spread: float

    @property
    def key(self) -> str:
        return self.spec.key()


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the grid's axes (lists) and each algorithm's parameter axes.

    Attributes:
        name: label (the built-in spec's name, or the TOML's ``name``).
        axes: ``grid`` keys -> list of values (``seeds``, ``first_seed``, ``basis_seed`` as given).
        algorithm_params: ``"plain"``/``"modified"`` -> key -> list of values (a one-element list for a scalar).
        text: the TOML source.
    """

    name: str
    axes: Mapping[str, Any]
    algorithm_params: Mapping[str, Mapping[str, list]]
    text: str = ""
    description: str = ""

    def ranks(self, d: int) -> list[int]:
        """The ranks of the grid at dimension ``d`` (``r``, or ``round(r_over_d * d)``)."""
        if "r_over_d" in self.axes:
            return sorted({max(1, int(round(x * d))) for x in self.axes["r_over_d"]})
        return list(self.axes["r"])

    def shapes(self) -> list[tuple[int, int]]:
        """Every (d, r) of the grid, in grid order."""
        return [(d, r) for d in self.axes["d"] for r in self.ranks(d)]

    def points(self) -> list[SweepPoint]:
        """Every run, in grid order: d, r, spectrum, m, algorithm, the algorithm's parameters, seed."""
        ax = self.axes
        spectrum_key = "spread" if "spread" in ax else "ratio"
        m_key = "m_over_r" if "m_over_r" in ax else "m"
        seeds = range(ax["first_seed"], ax["first_seed"] + ax["seeds"])
        points: list[SweepPoint] = []
        for (d, r), order, basis, value, m_value, algorithm in itertools.product(
                self.shapes(), ax["order"], ax["basis"], ax[spectrum_key], ax[m_key], ax["algorithm"]):
            if spectrum_key == "spread":
                spread = float(value)
                ratio = 1.0 if r == 1 else float(spread ** (1.0 / (r - 1)))
            else:
                ratio = float(value)
                spread = float(ratio ** (r - 1))
            m = int(round(m_value * r)) if m_key == "m_over_r" else int(m_value)
            m_over_r = float(m_value) if m_key == "m_over_r" else m / r
            a_min = 1.0 / spread
            params = self.algorithm_params.get(algorithm, {})
            names = sorted(params)
            for combo in itertools.product(*(params[n] for n in names)):
                fields = dict(zip(names, combo))
                config = _config(algorithm, m, a_min, fields)
                for seed in seeds:
                    basis_seed = seed if ax["basis_seed"] == "seed" else int(ax["basis_seed"])
                    instance = InstanceSpec(d=d, r=r, ratio=ratio, order=order, basis=basis, basis_seed=basis_seed)
                    points.append(SweepPoint(RunSpec(instance=instance, config=config, first_seed=seed, n_seeds=1),
                                             m_over_r=m_over_r, spread=spread))
        return points

    def __len__(self) -> int:
        return len(self.points())


def _config(algorithm: str, m: int, a_min: float, fields: dict[str, Any]) -> FlowConfig:
    values = {k: v for k, v in fields.items() if k in _CONFIG_FIELDS}
    if "t_max_per_a_min" in fields:
        values["t_max"] = float(f"{fields['t_max_per_a_min'] / a_min:.6g}")
    if "eps_per_a_min" in fields:
        values["eps"] = float(f"{fields['eps_per_a_min'] * a_min:.6g}")
    return FlowConfig(algorithm=algorithm, m=m, **values)


# ---------------------------------------------------------------------------------------------- parsing
def load_spec(source: str | Path) -> SweepSpec:
    """A built-in spec by name (``quick``, ``full``, ...) or a TOML file; :class:`ValidationError` naming
    ``SPEC`` when neither, or naming the bad field."""
    from .builtin import BUILTIN

    text = str(source)
    if text in BUILTIN:
        return parse_spec(BUILTIN[text], default_name=text)
    path = Path(text)
    if not path.is_file():
        raise ValidationError("SPEC", f"a TOML file or a built-in spec ({', '.join(sorted(BUILTIN))})", text)
    try:
        body = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValidationError("SPEC", "a readable UTF-8 TOML file", f"{type(err).__name__}: {err}") from None
    return parse_spec(body, default_name=path.stem)


def parse_spec(text: str, default_name: str = "sweep") -> SweepSpec:
    """Parse and validate a sweep's TOML text (format: module docstring)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValidationError("SPEC", "valid TOML", str(err)) from None
    _no_unknown("", data, _TOP_KEYS)
    require("grid" in data and isinstance(data["grid"], dict), "grid", "a [grid] table", None)
    name = data.get("name", default_name)
    require(isinstance(name, str) and name.strip() != "", "name", "a non-empty string", name)
    description = data.get("description", "")
    require(isinstance(description, str), "description", "a string", description)
    grid = data["grid"]
    _no_unknown("grid.", grid, _GRID_KEYS)
    axes: dict[str, Any] = {}
    axes["d"] = _int_list(grid, "d", low=2)
    _exactly_one(grid, ("r", "r_over_d"))
    if "r" in grid:
        axes["r"] = _int_list(grid, "r", low=1)
    else:
        axes["r_over_d"] = _number_list(grid, "r_over_d", low=0.0, strict=True)
    _exactly_one(grid, ("spread", "ratio"))
    if "spread" in grid:
        axes["spread"] = _number_list(grid, "spread", low=1.0)
    else:
        axes["ratio"] = _number_list(grid, "ratio", low=1.0)
    _exactly_one(grid, ("m_over_r", "m"))
    if "m_over_r" in grid:
        axes["m_over_r"] = _number_list(grid, "m_over_r", low=0.0, strict=True)
    else:
        axes["m"] = _int_list(grid, "m", low=1)
    axes["algorithm"] = _choice_list(grid, "algorithm", ALGORITHMS)
    axes["basis"] = _choice_list(grid, "basis", BASES, default=["random"])
    axes["order"] = _int_list(grid, "order", low=3, default=[4])
    axes["seeds"] = _int(grid, "seeds", low=1)
    axes["first_seed"] = _int(grid, "first_seed", low=0, default=0)
    basis_seed = grid.get("basis_seed", "seed")
    require(basis_seed == "seed" or (is_int(basis_seed) and basis_seed >= 0), "grid.basis_seed",
            '"seed" or an integer >= 0', basis_seed)
    axes["basis_seed"] = basis_seed

    params: dict[str, dict[str, list]] = {}
    for algorithm in ALGORITHMS:
        table = data.get(algorithm, {})
        require(isinstance(table, dict), algorithm, f"a [{algorithm}] table", table)
        allowed = (_CONFIG_FIELDS - _FIXED_BY_GRID) | set(SCALED_KEYS[algorithm])
        _no_unknown(f"{algorithm}.", table, allowed,
                    extra=f"a FlowConfig field (not algorithm or m) or one of {SCALED_KEYS[algorithm]}")
        if "eps_per_a_min" in table and "eps" in table:
            raise ValidationError(f"{algorithm}.eps", "not given together with eps_per_a_min", table["eps"])
        if "t_max_per_a_min" in table and "t_max" in table:
            raise ValidationError(f"{algorithm}.t_max", "not given together with t_max_per_a_min", table["t_max"])
        values = {}
        for key, value in table.items():
            items = value if isinstance(value, list) else [value]
            require(len(items) >= 1, f"{algorithm}.{key}", "a value or a non-empty list", value)
            if key in _CONFIG_FIELDS:
                kind = _field_kind(key)
                for item in items:
                    require(_has_kind(item, kind), f"{algorithm}.{key}", f"a {kind.__name__} value", item)
                if kind is float:
                    items = [float(x) for x in items]
            if key in SCALED_KEYS[algorithm]:
                for item in items:
                    require(is_number(item) and math.isfinite(item) and item > 0, f"{algorithm}.{key}",
                            "a finite number > 0", item)
                items = [float(x) for x in items]
            values[key] = items
        params[algorithm] = values

    spec = SweepSpec(name=name, axes=axes, algorithm_params=params, text=text, description=description)
    _check_points(spec)
    return spec


def _check_points(spec: SweepSpec) -> None:
    """Validate every distinct configuration and instance shape once, naming the TOML field."""
    ax = spec.axes
    r_field = "grid.r" if "r" in ax else "grid.r_over_d"
    for (d, r), basis in itertools.product(spec.shapes(), ax["basis"]):
        if basis != "nonorthogonal":
            require(r <= d, r_field, f"at most d = {d} for an orthogonal basis", r)
    for r in sorted({r for _, r in spec.shapes()}):
        if "spread" in ax and r == 1:
            require(all(s == 1.0 for s in ax["spread"]), "grid.spread", "1 when r = 1 (a single coefficient)",
                    ax["spread"])
        if "m_over_r" in ax:
            for value in ax["m_over_r"]:
                require(round(value * r) >= 1, "grid.m_over_r", f"at least 1/r = {1 / r:g} (m >= 1)", value)
    count = len(spec.shapes()) * len(ax["order"]) * len(ax["basis"]) * len(ax.get("spread", ax.get("ratio")))
    count *= len(ax.get("m_over_r", ax.get("m"))) * ax["seeds"]
    count *= sum(math.prod(len(v) for v in spec.algorithm_params.get(a, {}).values()) for a in ax["algorithm"])
    require(count <= MAX_RUNS, "grid", f"at most {MAX_RUNS} runs", count)
    for algorithm in ax["algorithm"]:
        params = spec.algorithm_params.get(algorithm, {})
        names = sorted(params)
        for combo in itertools.product(*(params[n] for n in names)):
            fields = dict(zip(names, combo))
            try:
                config = _config(algorithm, 1, 1.0, fields)
                config.validate()
            except ValidationError as err:
                raise err.renamed(f"{algorithm}.{err.parameter}") from None
            except TypeError as err:  # a value of a type FlowConfig cannot hold
                raise ValidationError(algorithm, "values of the FlowConfig field types", str(err)) from None
    # Instance fields (d, order, basis) through InstanceSpec's own checks, on one representative point each.
    for (d, r), order, basis in itertools.product(spec.shapes(), ax["order"], ax["basis"]):
        try:
            InstanceSpec(d=d, r=r, ratio=1.0, order=order, basis=basis).validate()
        except ValidationError as err:
            raise err.renamed(f"grid.{err.parameter}") from None


def _field_kind(name: str) -> type:
    """The value type of a FlowConfig field (``float | None`` -> float)."""
    import typing

    hint = typing.get_type_hints(FlowConfig)[name]
    kinds = [k for k in (typing.get_args(hint) or (hint,)) if k is not type(None)]
    return kinds[0]


def _has_kind(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return is_int(value)
    if kind is float:
        return is_number(value)
    return isinstance(value, kind)


def _no_unknown(prefix: str, table: dict, allowed: set[str], extra: str | None = None) -> None:
    for key in table:
        if key not in allowed:
            raise ValidationError(f"{prefix}{key}", extra or f"a known key ({', '.join(sorted(allowed))})", "unknown key")


def _exactly_one(grid: dict, keys: tuple[str, str]) -> None:
    given = [k for k in keys if k in grid]
    require(len(given) == 1, f"grid.{keys[0]}", f"given, or grid.{keys[1]} instead (exactly one of them)",
            given or None)


def _as_list(grid: dict, key: str, default: list | None) -> list:
    if key not in grid:
        require(default is not None, f"grid.{key}", "given", None)
        return list(default)  # type: ignore[arg-type]
    value = grid[key]
    items = value if isinstance(value, list) else [value]
    require(len(items) >= 1, f"grid.{key}", "a value or a non-empty list", value)
    require(len(set(map(repr, items))) == len(items), f"grid.{key}", "distinct values", value)
    return items


def _int_list(grid: dict, key: str, low: int, default: list | None = None) -> list[int]:
    items = _as_list(grid, key, default)
    for item in items:
        require(is_int(item) and item >= low, f"grid.{key}", f"integers >= {low}", item)
    return [int(x) for x in items]


def _number_list(grid: dict, key: str, low: float, strict: bool = False, default: list | None = None) -> list[float]:
    items = _as_list(grid, key, default)
    for item in items:
        ok = is_number(item) and math.isfinite(item) and (item > low if strict else item >= low)
        require(ok, f"grid.{key}", f"finite numbers {'>' if strict else '>='} {low:g}", item)
    return [float(x) for x in items]


def _choice_list(grid: dict, key: str, choices: tuple[str, ...], default: list | None = None) -> list[str]:
    items = _as_list(grid, key, default)
    for item in items:
        require(item in choices, f"grid.{key}", f"one of {', '.join(choices)}", item)
    return list(items)


def _int(grid: dict, key: str, low: int, default: int | None = None) -> int:
    if key not in grid:
        require(default is not None, f"grid.{key}", f"an integer >= {low}", None)
        return int(default)  # type: ignore[arg-type]
    value = grid[key]
    require(is_int(value) and value >= low, f"grid.{key}", f"an integer >= {low}", value)
    return int(value)
