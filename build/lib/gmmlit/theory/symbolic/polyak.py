"""The Polyak step on a homogeneous quartic (target value 0)."""

from __future__ import annotations

import itertools

import sympy as sp

from ...core.validation import check_positive_int
from .base import SymbolicCheck


def check_polyak_quartic_step(n_vars=3):
    """Polyak step ``v+ = v - Q/|g|^2 g`` on a homogeneous quartic ``Q``, target value 0.

    * Euler's identity ``<grad Q(v), v> = 4 Q(v)`` for a generic quartic (symbolic coefficients);
    * ``|v+|^2 = |v|^2 - 7 Q^2 / |g|^2`` (abstract ``g`` with ``<g, v> = 4 Q`` imposed);
    * radial case ``g = 4 Q v / |v|^2``: ``|v+| = (3/4)|v|``, loss factor ``(3/4)^4``; a step
      multiplied by ``c`` gives ``|1 - c/4|``;
    * ``3/4`` is the minimum: ``|v+|^2 / |v|^2 - 9/16 = 7 (|g|^2|v|^2 - <g,v>^2) / (16 |g|^2 |v|^2) >= 0``
      (Lagrange's identity).
    """
    k = check_positive_int(n_vars, "n_vars", minimum=2)
    if k > 4:
        raise ValueError(f"n_vars must be <= 4, got {k}")
    v = sp.Matrix(sp.symbols(f"v1:{k + 1}", real=True))
    monomials = [m for m in itertools.product(range(5), repeat=k) if sum(m) == 4]
    coeffs = sp.symbols(f"c0:{len(monomials)}", real=True)
    quartic = sum(c * sp.prod([v[i] ** e for i, e in enumerate(m)]) for c, m in zip(coeffs, monomials))
    grad = sp.Matrix([sp.diff(quartic, vi) for vi in v])
    euler = sp.expand((grad.T * v)[0, 0] - 4 * quartic)
    # abstract gradient
    g = sp.Matrix(sp.symbols(f"g1:{k + 1}", real=True))
    q = sp.Symbol("Q", positive=True)
    gg, vv, gv = (g.T * g)[0, 0], (v.T * v)[0, 0], (g.T * v)[0, 0]
    v_plus = v - q / gg * g
    # impose <g, v> = 4Q by eliminating g_1
    g1 = sp.solve(sp.Eq(gv, 4 * q), g[0])[0]
    step_identity = sp.simplify(sp.together(((v_plus.T * v_plus)[0, 0] - vv + 7 * q ** 2 / gg).subs(g[0], g1)))
    # radial case
    lam = 4 * q / vv
    radial = v - q / (lam ** 2 * vv) * (lam * v)
    radial_factor = sp.sqrt(sp.simplify((radial.T * radial)[0, 0] / vv))
    c = sp.Symbol("c", positive=True)
    scaled = v - c * q / (lam ** 2 * vv) * (lam * v)
    scaled_factor_sq = sp.factor(sp.simplify((scaled.T * scaled)[0, 0] / vv))
    loss_factor = sp.simplify(quartic.subs({vi: sp.Rational(3, 4) * vi for vi in v}, simultaneous=True) / quartic)
    gap = sp.Rational(7, 16) * (gg * vv - gv ** 2) / (gg * vv)
    lagrange = sum((g[i] * v[j] - g[j] * v[i]) ** 2 for i in range(k) for j in range(i + 1, k))
    bound = sp.simplify((1 - 7 * q ** 2 / (gg * vv) - sp.Rational(9, 16)).subs(q, gv / 4) - gap)
    passed = (
        euler == 0
        and step_identity == 0
        and sp.simplify(radial_factor - sp.Rational(3, 4)) == 0
        and sp.simplify(scaled_factor_sq - (1 - c / 4) ** 2) == 0
        and sp.simplify(loss_factor - sp.Rational(81, 256)) == 0
        and bound == 0
        and sp.expand(gg * vv - gv ** 2 - lagrange) == 0
    )
    return SymbolicCheck(
        f"Polyak step on a homogeneous quartic in {k} variables",
        passed,
        {
            "<grad Q, v> - 4Q": euler,
            "|v+|^2 - (|v|^2 - 7Q^2/|g|^2)": step_identity,
            "radial factor": radial_factor,
            "radial factor^2 with multiplier c": scaled_factor_sq,
            "loss factor (radial)": loss_factor,
        },
        "factor^2 - 9/16 = (7/16)(|g|^2|v|^2 - <g,v>^2)/(|g|^2|v|^2) >= 0 by Lagrange's identity",
    )

