"""Values and evidence lines written for a reader: what the report prints instead of Python's ``repr``.

Two layers. :func:`value` (the templates' ``fmt`` filter) formats one value: numbers at a precision,
booleans as yes/no, None and nan as "not measured", lists as "a, b and c", dicts as "key value; ...".
:func:`reader` rewrites a sentence that was already built elsewhere (the ledger's evidence lines, the sweep's
statements) where it still holds a Python literal: ``{a: 0, b: []}``, ``[True, False]``, ``'symbolic'``,
``None``, ``nan``. :data:`REPR` is the pattern the page test uses to find any that is left.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Sequence

__all__ = ["value", "numbers", "yes_no", "listing", "recovered", "floored", "reader", "REPR", "repr_fragments",
           "NOT_MEASURED"]

NOT_MEASURED = "not measured"


def _number(x: float, spec: str) -> str:
    if math.isnan(x):
        return NOT_MEASURED
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    text = format(x, spec)
    return text.replace("inf", "∞")


def value(x: Any, spec: str = ".3g", missing: str = NOT_MEASURED) -> str:
    """One value for a person: numbers in ``spec`` (nan/None: ``missing``), booleans yes/no, lists joined
    with "and", dicts as "key value; key value" (underscores in keys become spaces), anything else ``str``."""
    if x is None:
        return missing
    if isinstance(x, bool):
        return yes_no(x)
    if hasattr(x, "item") and callable(x.item) and getattr(x, "shape", None) == ():  # numpy scalars
        x = x.item()
    if isinstance(x, int) and not isinstance(x, bool):
        return format(x, spec) if spec and spec[-1] in "eEfF%" else str(x)
    if isinstance(x, float):
        return missing if math.isnan(x) else _number(x, spec)
    if hasattr(x, "tolist") and callable(x.tolist):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        if not x:
            return "none"
        return listing([value(v, spec, missing) for v in x])
    if isinstance(x, dict):
        if not x:
            return "none"
        return "; ".join(f"{str(k).replace('_', ' ')} {value(v, spec, missing)}" for k, v in x.items())
    return str(x)


def numbers(xs: Iterable[Any], spec: str = ".3g", missing: str = "never", sep: str = ", ") -> str:
    """A row of numbers for a table cell: ``1.5, 2.25, never`` (None/nan: ``missing``)."""
    return sep.join(value(x, spec, missing) for x in xs)


def yes_no(flag: Any) -> str:
    """``yes`` / ``no``; None: not measured."""
    return NOT_MEASURED if flag is None else ("yes" if flag else "no")


def listing(items: Iterable[Any], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def recovered(flags: Sequence[Any], name: str = "u") -> str:
    """``[True, True, False]`` as "recovered 2 of 3 (u_3 missed)" (1-based names)."""
    flags = [bool(f) for f in flags]
    missed = [f"{name}_{j + 1}" for j, f in enumerate(flags) if not f]
    text = f"{sum(flags)} of {len(flags)}"
    if missed:
        text += f" ({listing(missed)} missed)"
    return text


def floored(x: Any, floor: Any, spec: str = ".3e") -> str:
    """A measured loss or error against its resolution floor: below (or at) the floor it is rounding, not a
    value, and prints as "≤ floor (1.2e-15)"; a negative value is always under its floor."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NOT_MEASURED
    x = float(x)
    if floor is not None and not (isinstance(floor, float) and math.isnan(floor)):
        floor = abs(float(floor))
        if x <= floor:
            return f"≤ floor ({floor:.1e})"
    elif x < 0:
        return "≤ floor (rounding)"
    return _number(x, spec)


# ------------------------------------------------------------------------------- sentences built elsewhere

_WORD = r"(?<![\w.'-])"
_END = r"(?![\w'])"
_BOOL_LIST = re.compile(r"\[\s*((?:True|False)(?:\s*,\s*(?:True|False))*)\s*\]")
_LIST = re.compile(r"(?<![\w\]])\[([^\[\]{}]*)\]")
_DICT = re.compile(r"\{([^{}]*)\}")
# An interval "[lo, hi]" right after its estimate or its level ("24 [17, unbounded]", "95% [0.84, 0.91]") is
# notation, not a Python list: it stays as written.
_INTERVAL_END = r"\s*(?:[+-]?\d+(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?inf|∞|unbounded|-)\s*"
_INTERVAL = re.compile(_INTERVAL_END + "," + _INTERVAL_END)
_AFTER_ESTIMATE = re.compile(r"[\d%]\s?$")
_QUOTED = re.compile(r"(?<![\w])'([^'\s][^']*)'(?![\w])")  # a Python string, not an apostrophe
# A negative number of rounding size (<= 1e-15 in magnitude): where a loss is printed, it is under its floor.
_NEG_TINY = re.compile(_WORD + r"-\d(?:\.\d+)?e-(?:1[5-9]|[2-9]\d|\d{3})" + _END)
_NEG_LOSS = re.compile(r"(\bloss\b[^,;:()]*?)" + _NEG_TINY.pattern)

#: What still looks like a Python literal in visible text (used by the page test).
REPR = re.compile(
    r"\b(?:True|False|None)\b|(?<![\w.])nan\b|\[\s*\]|\{\s*\}|\{'|'\}|\['|'\]|\[True|\[False|"
    r"\{\s*\w+\s*:|\bclaims:\s*\]|~nan|"
    + _NEG_LOSS.pattern)


def repr_fragments(text: str) -> list[str]:
    """Every fragment of ``text`` that :data:`REPR` matches (empty: reads like prose)."""
    return [m.group(0) for m in REPR.finditer(text)]


def _is_interval(match: re.Match) -> bool:
    return bool(_INTERVAL.fullmatch(match.group(1)) and _AFTER_ESTIMATE.search(match.string[:match.start()]))


def _items(body: str) -> list[str]:
    return [part.strip().strip("'\"") for part in body.split(",") if part.strip()]


def reader(text: Any) -> str:
    """``text`` with the Python literals it holds written out: ``which [True, False]`` -> "which 1 of 2
    (u_2 missed)", ``{a_b: 0, c: []}`` -> "a b 0; c none", ``[3, 4, 'symbolic']`` -> "3, 4 and symbolic",
    True/False -> yes/no, None/nan -> not measured, a loss printed as -1e-16 or so -> "≤ floor (rounding)"."""
    if text is None:
        return ""
    text = str(text)
    if "$" in text:  # LaTeX between $...$ is not a Python literal: rewrite only the prose around it
        parts = re.split(r"(\$[^$]+\$)", text)
        return "".join(part if part.startswith("$") and part.endswith("$") and len(part) > 1 else reader(part)
                       for part in parts)
    text = _BOOL_LIST.sub(lambda m: recovered([v.strip() == "True" for v in m.group(1).split(",")]), text)

    def _dict(m: re.Match) -> str:
        pairs = []
        for part in re.split(r",\s*(?=[\w'\"]+\s*:)", m.group(1)):
            if not part.strip():
                continue
            key, _, val = part.partition(":")
            pairs.append(f"{key.strip().strip(chr(39)).replace('_', ' ')} {val.strip() or 'none'}")
        return "; ".join(pairs) if pairs else "none"

    for _ in range(3):  # nested literals, innermost first
        new = _LIST.sub(lambda m: m.group(0) if _is_interval(m) else listing(_items(m.group(1))), text)
        new = _DICT.sub(_dict, new)
        if new == text:
            break
        text = new
    text = _QUOTED.sub(r"\1", text)
    text = re.sub(r"\bTrue\b", "yes", text)
    text = re.sub(r"\bFalse\b", "no", text)
    text = re.sub(r"\bNone\b", NOT_MEASURED, text)
    text = re.sub(r"(?<![\w.])nan\b", NOT_MEASURED, text)
    text = _NEG_LOSS.sub(r"\1≤ floor (rounding)", text)
    return text
