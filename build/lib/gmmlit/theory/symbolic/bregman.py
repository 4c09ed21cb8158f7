"""The Bregman integrand ``e^s - 1 - s``: the implementation
(:func:`gmmlit.core.objective.bregman_integrand`) against sympy's exact value."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from .base import SymbolicCheck

#: Arguments of :func:`check_bregman_integrand`: tiny, series range (``|s| <= 1``), its
#: edge, and large values of both signs.
BREGMAN_POINTS = (1e-100, 1e-12, -3e-9, 1e-5, -0.01, 0.3, -0.7, 0.999, 1.0, -1.0, 1.001, 2.5, -4.0, 30.0, -50.0)


def _exact_integrand(value, digits=50):
    """``e^s - 1 - s`` at the float ``value`` (taken exactly), correct to ``digits`` digits:
    the working precision covers the cancellation of ``e^s - 1 - s ~ s^2 / 2``."""
    r = sp.Rational(float(value))
    extra = 2 * max(0, int(-np.log10(abs(float(value))))) if value != 0 else 0
    with mpmath.workdps(digits + extra + 10):
        x = mpmath.mpf(r.p) / r.q
        return float(mpmath.exp(x) - 1 - x)


def check_bregman_integrand(points=BREGMAN_POINTS, tol=4e-16, integrand=None):
    """``bregman_integrand(s)`` against ``e^s - 1 - s`` evaluated exactly (sympy's rational value of each float, mpmath with 50 digits beyond the cancellation),
    at the exactly representable floats ``points``: relative error at most ``tol`` (about two
    units in the last place). ``integrand`` replaces the implementation (to test the check)."""
    from ...core.objective import bregman_integrand

    integrand = bregman_integrand if integrand is None else integrand
    s = np.asarray(points, dtype=float)
    impl = np.asarray(integrand(s), dtype=float)
    exact = np.array([_exact_integrand(value) for value in s])
    rel = np.abs(impl - exact) / exact
    worst = int(np.argmax(rel))
    return SymbolicCheck(
        "bregman_integrand against sympy's e^s - 1 - s (50 digits)",
        bool(np.all(rel <= tol)),
        {"e^s - 1 - s": sp.exp(sp.Symbol("s")) - 1 - sp.Symbol("s")},
        f"largest relative error {rel[worst]:.1e} at s = {s[worst]:g} over {s.size} points (tolerance {tol:g})",
    )
