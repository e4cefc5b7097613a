"""Arbitrary-precision arithmetics for the Gram-form kernels (numpy object arrays of scalars).

:mod:`solver.kernels` is written against the operator subset shared by torch, float64 numpy and
numpy ``object`` arrays; an *arithmetic* here supplies the scalars of those object arrays and the few
operations the kernels leave to the caller (``exp`` of the log-norms, ``sqrt`` for normalization,
conversions). Two are provided:

- :class:`MpmathArithmetic` (``mpmath.mpf``): the reference, always available.
- :class:`FlintArithmetic` (``flint.arb`` of python-flint, optional): each scalar operation is one
  C call instead of mpmath's pure-Python one, about 30x faster per right-hand side at 30 digits
  (``benchmarks/precision.py``). Arb numbers are balls; :meth:`FlintArithmetic.clean` drops the
  radii after each step so the integration is plain floating point at ``dps`` digits, exactly like
  mpmath (a rigorous enclosure of a long ODE integration is not the goal here).

Both carry a decimal precision ``dps``; the global precision of the library is set only inside
:meth:`Arithmetic.context`.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from typing import Any, Iterator

import numpy as np

from ..errors import ValidationError, require

__all__ = ["Arithmetic", "MpmathArithmetic", "FlintArithmetic", "ArbMatrixArray", "flint_available", "make_arithmetic",
           "BACKENDS", "MIN_DPS", "MAX_DPS", "validate_dps"]

BACKENDS = ("auto", "mpmath", "flint")
DEFAULT_DPS = 50  # digits of a high-precision run when none are given
MIN_DPS, MAX_DPS = 20, 2000
ObjArray = np.ndarray  # dtype=object


def validate_dps(dps: object) -> int:
    """``dps`` as an int in ``[MIN_DPS, MAX_DPS]``, else :class:`ValidationError`.

    Below 20 digits the backend is no more precise than float64 with a safety margin: nothing to gain.
    """
    ok = isinstance(dps, (int, np.integer)) and not isinstance(dps, bool) and MIN_DPS <= int(dps) <= MAX_DPS
    require(ok, "dps", f"an integer in [{MIN_DPS}, {MAX_DPS}]", dps)
    return int(dps)


def flint_available() -> bool:
    """Whether python-flint (Arb ball arithmetic, the fast high-precision backend) can be imported; without it
    the high-precision flow runs on mpmath."""
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


class Arithmetic:
    """Scalars at ``dps`` decimal digits plus the elementwise functions the kernels' callers need."""

    name: str = "abstract"

    def __init__(self, dps: int) -> None:
        self.dps = validate_dps(dps)

    # -- precision context -------------------------------------------------------------------------
    def context(self) -> contextlib.AbstractContextManager:
        raise NotImplementedError

    # -- construction ------------------------------------------------------------------------------
    def scalar(self, value: float | int | str | Fraction) -> Any:
        """A scalar at the working precision; floats are converted exactly, Fractions as ``p / q``."""
        if isinstance(value, Fraction):
            return self._make(value.numerator) / self._make(value.denominator)
        return self._make(value)

    def _make(self, value: float | int | str) -> Any:
        raise NotImplementedError

    def array(self, values: np.ndarray) -> ObjArray:
        """Object array of exact conversions of a float64 array (same shape)."""
        flat = np.asarray(values, dtype=np.float64).ravel()
        out = np.empty(flat.size, dtype=object)
        out[:] = [self._make(float(v)) for v in flat]
        return out.reshape(np.shape(values))

    # -- elementwise functions ---------------------------------------------------------------------
    def exp(self, x: ObjArray) -> ObjArray:
        raise NotImplementedError

    def log(self, x: Any) -> Any:
        raise NotImplementedError

    def sqrt(self, x: ObjArray) -> ObjArray:
        raise NotImplementedError

    def clean(self, x: ObjArray) -> ObjArray:
        """Normalize a state after a step (identity except for ball arithmetic)."""
        return x

    def matrices(self, x: ObjArray) -> ObjArray:
        """``x`` as the array type whose ``@`` this arithmetic does fastest (a view; the values are unchanged).

        The kernels' cost is their matrix products (``G = X^T X`` alone is ``m^2 d`` multiply-adds); numpy's
        object ``matmul`` makes one Python-level call per scalar operation.
        """
        return x

    # -- conversion out ----------------------------------------------------------------------------
    def to_float(self, x: ObjArray | Any) -> np.ndarray:
        """float64 copy (values below 1e-308 become 0, above 1e308 inf)."""
        arr = np.asarray(x, dtype=object)
        out = np.array([self._float(v) for v in arr.ravel()], dtype=np.float64)
        return out.reshape(arr.shape)

    def _float(self, v: Any) -> float:
        raise NotImplementedError

    def to_str(self, x: ObjArray | Any) -> Any:
        """Decimal strings with ``dps`` significant digits, nested like ``x`` (lists) or one string."""
        arr = np.asarray(x, dtype=object)
        if arr.ndim == 0:
            return self._str(arr.item())
        return np.vectorize(self._str, otypes=[object])(arr).tolist()

    def _str(self, v: Any) -> str:
        raise NotImplementedError

    @property
    def unit_roundoff(self) -> Any:
        """``2^(1-prec)`` as a scalar of this arithmetic (a float would underflow beyond ~300 digits)."""
        return self.scalar(2) ** (1 - self.prec)

    @property
    def prec(self) -> int:
        """Binary precision matching ``dps`` (mpmath's rule)."""
        return max(1, int(round((self.dps + 1) * math.log2(10))))

    def describe(self) -> dict:
        return {"backend": self.name, "dps": self.dps, "prec_bits": self.prec}


class MpmathArithmetic(Arithmetic):
    """mpmath ``mpf`` scalars (the reference arithmetic)."""

    name = "mpmath"

    def __init__(self, dps: int) -> None:
        super().__init__(dps)
        import mpmath

        self._mp = mpmath

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        with self._mp.workdps(self.dps):
            yield

    def _make(self, value):
        return self._mp.mpf(value)

    def exp(self, x):
        return np.vectorize(self._mp.exp, otypes=[object])(x)

    def log(self, x):
        return self._mp.log(x)

    def sqrt(self, x):
        return np.vectorize(self._mp.sqrt, otypes=[object])(x)

    def _float(self, v):
        return float(v)

    def _str(self, v):
        return self._mp.nstr(v, self.dps, strip_zeros=False, min_fixed=1, max_fixed=0)


class FlintArithmetic(Arithmetic):
    """python-flint ``arb`` scalars with their radii dropped after every step (see module docstring)."""

    name = "flint"

    def __init__(self, dps: int) -> None:
        super().__init__(dps)
        try:
            import flint
        except ImportError:
            raise ValidationError("backend", "mpmath or auto (python-flint is not installed)", "flint") from None
        self._flint = flint

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        ctx = self._flint.ctx
        previous = ctx.prec
        ctx.prec = self.prec
        try:
            yield
        finally:
            ctx.prec = previous

    def _make(self, value):
        if isinstance(value, str):
            return self._flint.arb(value).mid()  # a decimal string is rounded to the working precision
        return self._flint.arb(value)

    def exp(self, x):
        return np.vectorize(lambda v: v.exp(), otypes=[object])(x)

    def log(self, x):
        return x.log()

    def sqrt(self, x):
        return np.vectorize(lambda v: v.sqrt(), otypes=[object])(x)

    def clean(self, x):
        return np.vectorize(lambda v: v.mid(), otypes=[object])(x)

    def matrices(self, x):
        return np.asarray(x, dtype=object).view(ArbMatrixArray)

    @property
    def unit_roundoff(self):
        return Arithmetic.unit_roundoff.fget(self).mid()

    def _float(self, v):
        return float(v.mid())

    def _str(self, v):
        return v.mid().str(self.dps, radius=False, more=True)


class ArbMatrixArray(np.ndarray):
    """Object array of ``flint.arb`` whose 2-D ``@`` is one ``flint.arb_mat`` product.

    Elementwise operations stay numpy's (their results keep this type); a matrix product converts both
    operands (``O(n k + k p)`` scalars), multiplies in C (``O(n k p)``) and converts back: 3.5x faster than
    numpy's object ``matmul`` for the 50 x 10 x 50 Gram product of Figure 1, more for larger ``d``.
    Anything else (batched or non-object operands) falls back to ``numpy.matmul``.
    """

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        # A full reduction (the loss is a sum of sums) gives the scalar, as for a plain object array.
        if obj.ndim == 0:
            return obj[()]
        return super().__array_wrap__(obj, context, return_scalar)

    def __matmul__(self, other):
        return _arb_matmul(self, other)

    def __rmatmul__(self, other):
        return _arb_matmul(other, self)


def _arb_matmul(left, right) -> np.ndarray:
    A, B = np.asarray(left), np.asarray(right)
    if A.ndim != 2 or B.ndim != 2 or A.dtype != object or B.dtype != object or 0 in A.shape + B.shape:
        out = np.matmul(A, B)
        return out.view(ArbMatrixArray) if isinstance(out, np.ndarray) and out.dtype == object else out
    import flint

    (n, k), (_, p) = A.shape, B.shape
    product = flint.arb_mat(n, k, A.ravel().tolist()) * flint.arb_mat(k, p, B.ravel().tolist())
    out = np.empty(n * p, dtype=object)
    out[:] = product.entries()
    return out.reshape(n, p).view(ArbMatrixArray)


def make_arithmetic(backend: str, dps: int) -> Arithmetic:
    """``auto``: flint when installed, else mpmath."""
    require(backend in BACKENDS, "backend", f"one of {BACKENDS}", backend)
    if backend == "auto":
        backend = "flint" if flint_available() else "mpmath"
    return FlintArithmetic(dps) if backend == "flint" else MpmathArithmetic(dps)
