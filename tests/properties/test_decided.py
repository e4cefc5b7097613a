"""The decided-fraction guard itself can fail: a property that decides too rarely is an error, not a pass."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._decided import record, requires_decided


def test_a_property_that_rarely_decides_fails():
    @requires_decided(0.5)
    @settings(max_examples=20, database=None, derandomize=True)
    @given(st.integers(0, 9))
    def rarely(x):
        record(x < 2, "x >= 2")

    with pytest.raises(AssertionError, match="decided in only"):
        rarely()


def test_a_property_that_mostly_decides_passes():
    @requires_decided(0.5)
    @settings(max_examples=20, database=None, derandomize=True)
    @given(st.integers(0, 9))
    def mostly(x):
        record(x < 8, "x >= 8")

    mostly()
