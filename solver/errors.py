"""The one exception type for bad input: it names the parameter and the accepted range."""

from __future__ import annotations


class ValidationError(ValueError):
    """Bad input. ``str(err)`` is a one-line message naming the parameter and the accepted range."""

    def __init__(self, parameter: str, accepted: str, got: object | None = None) -> None:
        self.parameter = parameter
        self.accepted = accepted
        got_text = "" if got is None else f" (got {_short(got)})"
        super().__init__(f"{parameter}: must be {accepted}{got_text}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def require(condition: bool, parameter: str, accepted: str, got: object | None = None) -> None:
    """Raise :class:`ValidationError` unless ``condition`` holds."""
    if not condition:
        raise ValidationError(parameter, accepted, got)
