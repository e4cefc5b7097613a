"""The one exception type for bad input: it names the parameter and the accepted range."""

from __future__ import annotations


class ValidationError(ValueError):
    """Bad input. ``str(err)`` is a one-line message naming the parameter and the accepted range."""

    def __init__(self, parameter: str, accepted: str, got: object | None = None) -> None:
        self.parameter = parameter
        self.accepted = accepted
        self.got = got
        got_text = "" if got is None else f" (got {_short(got)})"
        super().__init__(f"{parameter}: must be {accepted}{got_text}")

    def renamed(self, parameter: str) -> "ValidationError":
        """The same error naming ``parameter`` instead (a library field shown as its command-line flag)."""
        return ValidationError(parameter, self.accepted, self.got)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def require(condition: bool, parameter: str, accepted: str, got: object | None = None) -> None:
    """Raise :class:`ValidationError` unless ``condition`` holds."""
    if not condition:
        raise ValidationError(parameter, accepted, got)


def is_int(value: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    import numpy as np

    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A real number (Python or numpy), not a bool."""
    import numpy as np

    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
