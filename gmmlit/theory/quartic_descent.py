"""Gradient descent on a quartic: the iterates whose sublinear rate the chapter "The slowdown"
compares with the rate of gradient EM along the ravine."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_finite_float, check_positive_float, check_positive_int


# ---------------------------------------------------------------------- gradient descent on a quartic
def gradient_descent(gradient, x0, step, n_steps):
    """Iterates ``x_{t+1} = x_t - step * gradient(x_t)``, shape ``(n_steps + 1, *x0.shape)``."""
    step = check_positive_float(step, "step")
    n_steps = check_positive_int(n_steps, "n_steps")
    x = np.array(x0, dtype=float)
    out = np.empty((n_steps + 1,) + x.shape)
    out[0] = x
    for t in range(n_steps):
        x = x - step * gradient(x)
        out[t + 1] = x
    return out


def gradient_descent_on_quartic(a, step, x0, n_steps):
    """Iterates of ``x_{t+1} = x_t - 4 a step x_t^3`` (:func:`gradient_descent` on ``q(x) = a x^4``).

    Returns an array of shape ``(n_steps + 1,)`` starting with ``x0``. Asymptotically
    ``x_t ~ 1 / sqrt(8 a step t)`` and ``q(x_t) ~ 1 / (64 a step^2 t^2)`` (derived in
    :func:`gmmlit.theory.symbolic.check_gd_quartic_asymptotics`).
    """
    a = check_positive_float(a, "a")
    step = check_positive_float(step, "step")
    x0 = check_finite_float(x0, "x0")
    if 4.0 * a * step * x0 * x0 >= 1.0:
        raise ValueError("4 a step x0^2 must be < 1 (otherwise the iteration overshoots and need not converge)")
    return gradient_descent(lambda x: 4.0 * a * x ** 3, x0, step, n_steps)
