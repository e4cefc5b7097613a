"""A property must decide, not just not fail: per-test counts of decided examples.

An example *decides* when the checkers the property is about reached a verdict (pass or fail) on it; one where
they say "not applicable" or "inconclusive" passes without being evidence. :func:`record` tags every example
with ``hypothesis.event`` ("decided" / "undecided: <why>", visible with ``--hypothesis-show-statistics``) and
counts it; :func:`requires_decided` wraps a ``@given`` test and fails it when fewer than ``fraction`` of the
examples it ran decided. Counts live in the process that runs the test function (a test function runs whole in
one pytest-xdist worker), keyed by the function, and are reset when it starts.
"""

from __future__ import annotations

import functools
from collections import Counter

from hypothesis import event

_COUNTS: dict[str, Counter] = {}
_CURRENT: list[str] = []


def record(decided: bool, why: str = "") -> None:
    """Tag the running example as decided or not (``why`` names the checker that did not decide)."""
    event("decided" if decided else f"undecided: {why}")
    if _CURRENT:
        _COUNTS[_CURRENT[-1]][decided] += 1


def requires_decided(fraction: float):
    """Fail the wrapped ``@given`` test when fewer than ``fraction`` of its examples decided (and at least one
    example ran)."""

    def wrap(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            key = f"{test.__module__}.{test.__name__}"
            _COUNTS[key] = Counter()
            _CURRENT.append(key)
            try:
                test(*args, **kwargs)
            finally:
                _CURRENT.pop()
            counts = _COUNTS.pop(key)
            total = counts[True] + counts[False]
            assert total > 0, f"{key}: no example ran"
            assert counts[True] >= fraction * total, (
                f"{key} decided in only {counts[True]} of {total} examples (required: {fraction:.0%}); the others "
                "were not applicable or inconclusive, which is no evidence")

        run.decided_fraction = fraction
        return run

    return wrap
