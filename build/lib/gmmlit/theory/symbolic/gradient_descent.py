"""Gradient descent on ``a x^4``: the sublinear asymptotics."""

from __future__ import annotations

import math

import sympy as sp

from ...core.validation import check_positive_float, check_positive_int
from .base import SymbolicCheck


def gd_quartic_increment_series(order=4):
    """Series of ``1/x_{t+1}^2 - 1/x_t^2`` in ``x_t`` for ``x_{t+1} = x_t - 4 a eta x_t^3``."""
    x, a, eta = sp.symbols("x a eta", positive=True)
    nxt = x - 4 * a * eta * x ** 3
    return sp.series(1 / nxt ** 2 - 1 / x ** 2, x, 0, order).removeO(), (x, a, eta)


def check_gd_quartic_asymptotics(a=1.0, step=0.1, x0=1.0, n_steps=200_000):
    """Gradient descent on ``q(x) = a x^4`` is sublinear: ``q(x_t) ~ 1 / (64 a eta^2 t^2)``.

    Derivation (sympy): ``1/x_{t+1}^2 - 1/x_t^2 = 8 a eta + 48 a^2 eta^2 x_t^2 + O(x_t^4)``. Summing,
    ``1/x_t^2 = 8 a eta t + 6 a eta log t + C + o(1)``, so ``x_t ~ (8 a eta t)^{-1/2}`` and
    ``q(x_t) = a x_t^4 ~ 1/(64 a eta^2 t^2)``, with relative error
    ``delta(t) = 1 - 64 a eta^2 t^2 q(x_t) = (3/2) log(t)/t + C'/t + O(log^2 t / t^2)``.

    Numerical check: iterate (:func:`gmmlit.theory.quartic.gradient_descent_on_quartic`) and
    measure the slope of ``t delta(t)`` against ``log t`` between ``t = n_steps/10`` and
    ``n_steps``; it must be ``3/2`` within ``5%`` (the neglected ``O(log^2 t / t)`` terms
    are below ``1e-3`` of the slope there for ``a eta x0^2 <= 0.1``).
    """
    from ..quartic import gradient_descent_on_quartic

    a = check_positive_float(a, "a")
    step = check_positive_float(step, "step")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=1000)
    series, (x, a_s, eta_s) = gd_quartic_increment_series(4)
    expected = 8 * a_s * eta_s + 48 * a_s ** 2 * eta_s ** 2 * x ** 2
    tt = sp.Symbol("t", positive=True)
    x_asym = 1 / sp.sqrt(8 * a_s * eta_s * tt)
    loss_asym = sp.simplify(a_s * x_asym ** 4)
    symbolic_ok = sp.expand(series - expected) == 0 and sp.simplify(loss_asym - 1 / (64 * a_s * eta_s ** 2 * tt ** 2)) == 0
    xs = gradient_descent_on_quartic(a, step, x0, n_steps)
    t1, t2 = n_steps // 10, n_steps
    ratio = lambda t: 64 * a * step ** 2 * t ** 2 * a * xs[t] ** 4  # noqa: E731
    delta1, delta2 = 1 - ratio(t1), 1 - ratio(t2)
    slope = (t2 * delta2 - t1 * delta1) / (math.log(t2) - math.log(t1))
    numeric_ok = abs(slope - 1.5) <= 0.05 * 1.5 and abs(delta2) < 1e-3
    return SymbolicCheck(
        "gradient descent on a x^4 is sublinear",
        symbolic_ok and numeric_ok,
        {"1/x_{t+1}^2 - 1/x_t^2": series, "x_t": x_asym, "q(x_t)": loss_asym},
        f"64 a eta^2 t^2 q(x_t) = {ratio(t2):.6f} at t = {t2}; slope of t*delta vs log t = {slope:.4f} (predicted 1.5)",
    )

