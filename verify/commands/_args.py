"""The argparse side of the run specification: the ``deflation run`` flags generated from the fields of
:class:`solver.spec.InstanceSpec`, :class:`solver.config.FlowConfig` and :class:`solver.spec.RunSpec`
(:func:`solver.spec.spec_fields`), and the value parsers the commands share."""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from solver.spec import field_type, flag_of, spec_fields

__all__ = ["add_spec_arguments", "float_flag", "int_flag", "list_flag"]


def _value_parser(kind: type, low: int | None) -> Callable[[str], Any]:
    if kind is tuple:
        return list_flag(float)
    if kind is float:
        return float_flag()
    if kind is int:
        return int_flag(1 if low is None else low)
    return str


def add_spec_arguments(parser: argparse.ArgumentParser, overrides: dict[str, Callable[[str], Any]] | None = None,
                       ) -> None:
    """Add one flag per field of :class:`InstanceSpec`, :class:`FlowConfig` and :class:`RunSpec`, in groups.

    The default and the help text come from the field (``metadata["help"]``), so ``deflation run --help``
    shows the library's defaults. ``overrides`` replaces the value parser of named fields (the
    high-precision command keeps ``--delta0`` as text, for norms below float64's range).
    """
    titles = {"instance": "instance (InstanceSpec)", "config": "model and algorithm (FlowConfig)",
              None: "seeds (RunSpec)"}
    groups = {key: parser.add_argument_group(title) for key, title in titles.items()}
    for obj, f in spec_fields():
        default_text = "" if f.default is None else f" (default {f.default})"
        help_text = f.metadata.get("help", "") + default_text
        kwargs: dict[str, Any] = {"dest": f.name, "default": f.default, "help": help_text}
        kind = field_type(obj, f)
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["help"] = f.metadata.get("help", "")
        elif "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        else:
            kwargs["type"] = (overrides or {}).get(f.name) or _value_parser(kind, f.metadata.get("low"))
        groups[obj].add_argument(flag_of(f), **kwargs)


def float_flag() -> Callable[[str], float]:
    """An argparse type: a finite number (argparse names the flag in its error)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite (got {text!r})")
        return value
    return parse


def int_flag(low: int = 1) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} (got {text!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} (got {value})")
        return value
    return parse


def list_flag(kind: type = float) -> Callable[[str], tuple]:
    """An argparse type: comma-separated ``kind`` values (numbers or integers), at least one."""
    words = {float: "numbers", int: "integers"}.get(kind, f"{kind.__name__} values")

    def parse(text: str) -> tuple:
        try:
            values = tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be comma-separated {words} (got {text!r})") from None
        if not values:
            raise argparse.ArgumentTypeError("must list at least one value")
        return values
    return parse
