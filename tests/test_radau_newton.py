"""The high-precision Radau IIA's Newton solve at steps where ``h ||J||`` exceeds float64's ``1/u``.

The flow's direction blocks have a radial null vector (the field is taken at ``x/||x||``); at the late epochs of a
small-eps run the steps reach ``h ~ 1e17`` and the float64 LU of ``I - h lambda J`` can meet an exact zero pivot.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

from solver.precision import integrators
from solver.precision.arithmetic import make_arithmetic


def _radially_null_matrix(h: float) -> tuple[np.ndarray, np.ndarray]:
    """``I - h J`` for ``J = -(I - xhat xhat^T)``, ``xhat = (1, 1)/sqrt 2``: eigenvalue 1 along ``xhat``, ``1 + h``
    across it; and ``xhat``."""
    xhat = np.array([1.0, 1.0]) / np.sqrt(2.0)
    J = -0.5 * np.array([[1.0, -1.0], [-1.0, 1.0]])  # I - xhat xhat^T, written with exact entries
    return np.eye(2) - h * J, xhat


def test_newton_solver_keeps_the_tangential_solution_where_the_lu_is_singular():
    matrix, xhat = _radially_null_matrix(1e20)
    tangent = np.array([1.0, -1.0]) / np.sqrt(2.0)
    b = 3.0 * tangent + 5.0 * xhat
    # The deliberately broken path: the plain LU meets an exact zero pivot and returns inf/NaN.
    with np.errstate(all="ignore"), pytest.warns(scipy.linalg.LinAlgWarning):
        plain = scipy.linalg.lu_solve(scipy.linalg.lu_factor(matrix), b)
    assert not np.all(np.isfinite(plain))

    v = integrators.newton_solver(matrix)(b)
    assert np.all(np.isfinite(v))
    assert v @ tangent == pytest.approx(3.0 / (1.0 + 1e20), rel=1e-12)
    assert abs(v @ xhat) <= 1e-12  # the radial part, lost to rounding, is dropped (the projection removes it)


def test_newton_solver_is_the_lu_solve_on_a_regular_matrix():
    matrix, _ = _radially_null_matrix(10.0)
    b = np.array([0.3, -2.0])
    assert integrators.newton_solver(matrix)(b) == pytest.approx(np.linalg.solve(matrix, b), rel=1e-14)


class _Circle:
    """``x' = -(I - xhat xhat^T)(xhat - target)`` on the unit circle, from ``(1, 0)`` at 30 digits: the flow's radial null in two
    dimensions, pulled to ``target`` at rate 1; the projection normalizes, as the flow's does."""

    def __init__(self) -> None:
        self.arithmetic = make_arithmetic("mpmath", 30)
        self.target = np.array([[0.28], [0.96]])

    def _unit(self, Y):
        return Y / self.arithmetic.sqrt((Y * Y).sum())

    def field(self, Y):
        x = self._unit(Y)
        pull = x - self.arithmetic.array(self.target)
        return -(pull - x * (x * pull).sum())

    def project(self, Y):
        return self._unit(Y)

    def scale(self, Y0, Y1, rtol, atol):
        return atol + rtol * np.maximum(np.abs(self.arithmetic.to_float(Y0)), np.abs(self.arithmetic.to_float(Y1)))

    def jacobian(self, Y):
        x = self.arithmetic.to_float(self._unit(Y)).ravel()
        return -(np.eye(2) - np.outer(x, x))


def _integrate_circle() -> tuple[np.ndarray, integrators.StepStats]:
    problem = _Circle()
    with problem.arithmetic.context():
        Y0 = problem.arithmetic.array(np.array([[1.0], [0.0]]))
        save = np.geomspace(1.0, 1e20, 21)  # the flow's epochs double t up to ~1/eps
        Y, stats = integrators.integrate_radau(problem, Y0, 0.0, 1e20, save, lambda *_: None, rtol=1e-12,
                                               atol=1e-14, max_steps=20_000)
        return problem.arithmetic.to_float(Y).ravel(), stats


def test_radau_crosses_steps_beyond_one_over_unit_roundoff_without_rejections(monkeypatch):
    Y, stats = _integrate_circle()
    assert Y == pytest.approx([0.28, 0.96], abs=1e-12)
    assert stats.rejected <= 0.1 * stats.accepted

    # The same integration with the plain LU (no fallback) rejects about every other step once h > 1e16 (with this
    # target the rounding of I - h J leaves an exact zero pivot; with others it does not, as in the flow).
    def plain(matrix):
        lu = scipy.linalg.lu_factor(matrix, check_finite=False)
        return lambda v: scipy.linalg.lu_solve(lu, v, check_finite=False)

    monkeypatch.setattr(integrators, "newton_solver", plain)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        _, broken = _integrate_circle()
    assert broken.rejected > 0.1 * broken.accepted
