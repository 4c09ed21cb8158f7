"""The pointwise gradient of ``-log p_theta(x)`` in the means, derived by sympy, and the
implementation's gradient (:meth:`gmmlit.PopulationKL.grad`) against it."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .base import SymbolicCheck, _is_zero, mixture_symbols


def gradient_formula(sym, i):
    """Derived gradient of ``-log p_theta(x)`` in ``mu_i``: ``-psi_i (x - mu_i)`` (column)."""
    return -sym.responsibility(i) * sym.offset(i)


def check_pointwise_gradient(n, d, formula=gradient_formula):
    """sympy's gradient of ``-log p_theta(x)`` in every ``mu_i`` against ``formula(sym, i)``."""
    sym = mixture_symbols(n, d)
    f = -sp.log(sym.density())
    diffs, sympy_grads = [], []
    for i in range(sym.n):
        g = sp.Matrix([sym.with_kernels(sp.diff(f, sym.mu[i][a])) for a in range(sym.d)])
        sympy_grads.append(g)
        diffs.append(sp.simplify(g - formula(sym, i)))
    passed = all(_is_zero(e) for dm in diffs for e in dm)
    return SymbolicCheck(
        f"gradient of -log p_theta, n={n}, d={d}",
        passed,
        {"formula (i=1)": formula(sym, 0), "sympy (i=1)": sympy_grads[0], "difference (all i)": [dm.T for dm in diffs]},
        f"{sym.n} gradient blocks compared",
    )



def check_gradient_implementation(instance=None, rule=None, tol=1e-9):
    """:meth:`gmmlit.PopulationKL.grad` against sympy: the gradient in the means of the
    Bregman integrand ``e^s - 1 - s``, differentiated by sympy, integrated on the same
    rule's nodes, at a point on the ravine and one off it (``_instance.sample_points``).

    ``tol`` bounds the largest entry difference relative to the largest entry (the two
    sides differ by rounding only: the integrand is evaluated naively, ``e^s - 1`` losing
    about ``1e-16 / |s|`` relative where ``s`` is small).
    """
    from ...core.quadrature import TrapezoidRule
    from ._instance import bregman_integrand_expression, default_instance, integrate_on_nodes, sample_points

    inst = default_instance() if instance is None else instance
    obj = inst.objective(TrapezoidRule(0.3, 7.0) if rule is None else rule)
    n, d = inst.means_star.shape
    x = sp.symbols(f"x1:{d + 1}", real=True)
    mu = [[sp.Symbol(f"mu{i + 1}_{a + 1}", real=True) for a in range(d)] for i in range(n)]
    flat = [c for row in mu for c in row]
    integrand = bregman_integrand_expression(inst.teacher.weights, inst.teacher.means, inst.weights, x, mu)
    funcs = [sp.lambdify((*x, *flat), sp.diff(integrand, c), "numpy", cse=True) for c in flat]
    gaps = {}
    for label, theta in sample_points(inst, obj).items():
        sym = np.array([integrate_on_nodes(f, obj, *theta.ravel()) for f in funcs])
        impl = obj.grad(theta).ravel()
        gaps[label] = float(np.abs(impl - sym).max() / np.abs(sym).max())
    return SymbolicCheck(
        f"PopulationKL.grad against sympy's gradient of the integrand, n={n}, d={d}",
        all(g <= tol for g in gaps.values()),
        {},
        "; ".join(f"{k}: {v:.1e}" for k, v in gaps.items()) + f" (max relative entry difference, tolerance {tol:g})",
    )
