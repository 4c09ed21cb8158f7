"""Independent reference values of the population KL and its gradient.

This module exists only to check :class:`gmmlit.core.objective.PopulationKL`. It shares no
numerical code with it (no integration rules, no log-sum-exp, no Bregman integrand from
the core) and is written to be obviously right rather than fast:

* ``d = 1``: :func:`reference_1d` integrates the textbook formulas

  .. math:: L = \\int p^* (\\log p^* - \\log p_\\theta)\\,dx, \\qquad
            \\nabla_{\\mu_i} L = -\\int p^*\\, \\psi_i\\, (x - \\mu_i)\\,dx

  by adaptive tanh-sinh quadrature in ``mpmath`` at 30 significant digits (default),
  splitting the real line at every teacher and student mean. The cancellation in the
  loss near the minimiser (integrand ``O(t^2)``, integral ``O(t^4)``) costs a few of
  those digits, far from the ``1e-10`` the core is tested to.
* ``d = 2``: :func:`reference_2d` applies a fine tensor trapezoid rule (step ``0.05``
  on the disc of radius ``12`` around each teacher mean, weights ``h^2 phi(z)``)
  to the Bregman form ``E_{p*}[e^s - 1 - s]`` and its gradient
  ``E_{p*}[(e^s - 1) psi_i (x - mu_i)]``, with every operation, including
  ``e^s - 1 - s = expm1(s) - s``, carried out in extended precision
  (``numpy.longdouble``, 64-bit mantissa on x86). With ``|s| >= 1e-8`` the
  subtraction then keeps about ``1e-11`` relative accuracy at worst; where ``|s|`` is
  smaller the integrand is below ``1e-16`` and does not matter. The step ``0.05`` puts
  the trapezoid error (``exp(-2 pi a / h)`` with strip half-width ``a = pi / D`` for
  teacher separation ``D <= 10``) below ``1e-17``.

:func:`reference_loss_and_grad` dispatches on the dimension.
"""

from __future__ import annotations

import numpy as np

from .mixture import Mixture
from .validation import check_means, check_positive_float, check_positive_int, check_weights

#: Significant digits of the mpmath reference in d = 1.
REFERENCE_DPS = 30

#: Step and half-width of the extended-precision trapezoid reference in d = 2.
REFERENCE_STEP_2D = 0.05
REFERENCE_RADIUS_2D = 12.0


def _check_problem(teacher, weights, means, dim):
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    if teacher.dim != dim:
        raise ValueError(f"teacher must be {dim}-dimensional for this reference, got dim={teacher.dim}")
    w = check_weights(weights, "weights")
    mu = check_means(means, "means", n_rows=w.shape[0], dim=dim)
    return w, mu


# ---------------------------------------------------------------------------- d = 1
def _mp_mixture_density(x, weights, centres):
    """``sum_i w_i exp(-(x - c_i)^2 / 2) / sqrt(2 pi)`` in mpmath arithmetic."""
    import mpmath as mp

    return mp.fsum(w * mp.exp(-((x - c) ** 2) / 2) for w, c in zip(weights, centres)) / mp.sqrt(2 * mp.pi)


def reference_1d(teacher, weights, means, dps=REFERENCE_DPS):
    """Loss and gradient in ``d = 1`` by adaptive mpmath quadrature.

    Parameters
    ----------
    teacher : Mixture
        One-dimensional teacher.
    weights : array_like (n,)
        Student weights.
    means : array_like (n, 1)
        Student means.
    dps : int
        Decimal digits of the working precision.

    Returns
    -------
    loss : float
    grad : ndarray (n, 1)
    """
    import mpmath as mp

    w, mu = _check_problem(teacher, weights, means, 1)
    dps = check_positive_int(dps, "dps", minimum=15)
    with mp.workdps(dps):
        pi_star = [mp.mpf(float(v)) for v in teacher.weights]
        mu_star = [mp.mpf(float(v)) for v in teacher.means[:, 0]]
        pi_s = [mp.mpf(float(v)) for v in w]
        mu_s = [mp.mpf(float(v)) for v in mu[:, 0]]
        cuts = sorted(set(float(v) for v in np.concatenate([teacher.means[:, 0], mu[:, 0]])))
        interval = [mp.ninf] + [mp.mpf(c) for c in cuts] + [mp.inf]

        cache = {}

        def densities(x):
            """``(p*(x), [pi_i phi(x - mu_i)], p_theta(x))``, computed once per node."""
            if x not in cache:
                terms = [p * mp.exp(-((x - c) ** 2) / 2) / mp.sqrt(2 * mp.pi) for p, c in zip(pi_s, mu_s)]
                cache[x] = (_mp_mixture_density(x, pi_star, mu_star), terms, mp.fsum(terms))
            return cache[x]

        def loss_integrand(x):
            a, _, b = densities(x)
            return a * (mp.log(a) - mp.log(b))

        def grad_integrand(i):
            def f(x):
                a, terms, b = densities(x)
                return -a * (terms[i] / b) * (x - mu_s[i])

            return f

        loss = mp.quad(loss_integrand, interval)
        grad = [mp.quad(grad_integrand(i), interval) for i in range(len(pi_s))]
        return float(loss), np.array([[float(g)] for g in grad])


# ---------------------------------------------------------------------------- d = 2
def _ld_logsumexp(a, b):
    """``log sum_k b_k exp(a[:, k])`` row-wise, in the precision of ``a``."""
    top = a.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.sum(b[None, :] * np.exp(a - top), axis=1))


def reference_2d(teacher, weights, means, h=REFERENCE_STEP_2D, radius=REFERENCE_RADIUS_2D):
    """Loss and gradient in ``d = 2`` by a fine extended-precision trapezoid rule.

    Parameters
    ----------
    teacher : Mixture
        Two-dimensional teacher.
    weights : array_like (n,)
    means : array_like (n, 2)
    h : float
        Grid step.
    radius : float
        Radius of the disc of grid points kept around each teacher mean.

    Returns
    -------
    loss : float
    grad : ndarray (n, 2)
    """
    w, mu = _check_problem(teacher, weights, means, 2)
    h = check_positive_float(h, "h", maximum=0.5)
    radius = check_positive_float(radius, "radius")
    ld = np.longdouble
    k = int(np.floor(radius / h))
    axis = np.arange(-k, k + 1).astype(ld) * ld(h)
    zx, zy = np.meshgrid(axis, axis, indexing="ij")
    z = np.stack([zx.ravel(), zy.ravel()], axis=1)
    z = z[np.sum(z * z, axis=1) <= ld(radius) ** 2]  # the disc; the mass outside is below exp(-radius^2 / 2)
    two_pi = 2 * np.pi * ld(1)  # the 1/(2 pi) of phi cancels in s; it only enters node weights
    node_w = ld(h) ** 2 * np.exp(-0.5 * np.sum(z * z, axis=1)) / two_pi
    pi_s = w.astype(ld)
    pi_star = teacher.weights.astype(ld)
    mu_s = mu.astype(ld)
    mu_star = teacher.means.astype(ld)
    loss = ld(0)
    grad = np.zeros(mu.shape, dtype=ld)
    for j in range(teacher.n_components):
        x = mu_star[j][None, :] + z
        a_s = -0.5 * np.sum((x[:, None, :] - mu_s[None, :, :]) ** 2, axis=2)
        a_t = -0.5 * np.sum((x[:, None, :] - mu_star[None, :, :]) ** 2, axis=2)
        log_p_theta = _ld_logsumexp(a_s, pi_s)
        s = log_p_theta - _ld_logsumexp(a_t, pi_star)
        em1 = np.expm1(s)
        wj = pi_star[j] * node_w
        loss += np.sum(wj * (em1 - s))
        resp = pi_s[None, :] * np.exp(a_s - log_p_theta[:, None])
        c = (wj * em1)[:, None] * resp
        grad += np.einsum("ki,kia->ia", c, x[:, None, :] - mu_s[None, :, :])
    return float(loss), grad.astype(float)


def reference_loss_and_grad(teacher, weights, means):
    """Reference ``(loss, grad)``: :func:`reference_1d` in ``d = 1``, :func:`reference_2d` in ``d = 2``."""
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    if teacher.dim == 1:
        return reference_1d(teacher, weights, means)
    if teacher.dim == 2:
        return reference_2d(teacher, weights, means)
    raise ValueError(f"teacher.dim must be 1 or 2 for the independent reference, got {teacher.dim}")
