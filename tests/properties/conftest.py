"""Hypothesis profiles of the property suite.

``ci`` (default): the whole of ``tests/properties`` in a few minutes on a 2-core machine, the same examples on
every run.
``thorough``: at least 200 random examples per property (``pytest tests/properties --hypothesis-profile=thorough``;
pass the ``tests/properties`` path so that this conftest is loaded before the profile is selected).
Numeric properties have no deadline (an instance's run time varies with its spectrum) and the health check
on slow data generation is off for the same reason. Per-property example counts in ``ci`` come from
:func:`examples`, so that the expensive properties (modified flow) draw fewer instances there.
"""

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
               print_blob=True)
# ci draws the same examples on every run (derandomize): CI must not pass or fail by the luck of the draw.
# Hunting for new counterexamples is the thorough profile's job; what it finds is kept as an explicit test.
settings.register_profile("ci", max_examples=10, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=200, **_COMMON)
settings.load_profile("ci")
