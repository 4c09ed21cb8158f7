"""Exact Gaussian integrals (Isserlis' theorem) and truncated series in ``t`` on sympy polynomial rings.

Series are elements of a sympy polynomial ring whose first generator is ``t``: exact
rational arithmetic, much faster than expression trees for the expansions of the quartic module."""

from __future__ import annotations

import math

import sympy as sp


def wick_moment(exponents, covariance, one, cache=None):
    """``E[prod_i a_i^{k_i}]`` for zero-mean jointly Gaussian ``a`` with the given covariance.

    Stein's identity ``E[a_i f(a)] = sum_j C_ij E[d_j f(a)]`` applied to one factor at a
    time (Isserlis' theorem). ``covariance[i][j]`` and ``one`` may be sympy expressions or
    elements of a sympy polynomial ring; ``cache`` (a dict) is reused across calls.
    """
    k = tuple(int(e) for e in exponents)
    if cache is None:
        cache = {}
    if k in cache:
        return cache[k]
    total_degree = sum(k)
    if total_degree == 0:
        result = one
    elif total_degree % 2:
        result = 0 * one
    else:
        i = next(p for p, e in enumerate(k) if e > 0)
        rest = list(k)
        rest[i] -= 1
        result = 0 * one
        for j, e in enumerate(rest):
            if e > 0:
                lower = list(rest)
                lower[j] -= 1
                result += e * covariance[i][j] * wick_moment(lower, covariance, one, cache)
    cache[k] = result
    return result


def gaussian_expectation(expr, variables, covariance=None):
    """Exact ``E[expr]`` for a polynomial in zero-mean jointly Gaussian ``variables``.

    ``covariance`` is a sympy matrix (identity when ``None``) and may hold symbols; other
    symbols in ``expr`` are treated as constants. Moments by :func:`wick_moment`.
    """
    variables = tuple(variables)
    k = len(variables)
    cov = sp.eye(k) if covariance is None else sp.Matrix(covariance)
    if cov.shape != (k, k):
        raise ValueError(f"covariance must be {k}x{k} (one row per variable), got {cov.shape}")
    rows = cov.tolist()
    poly = sp.Poly(sp.expand(expr), *variables)
    cache = {}
    total = sp.Integer(0)
    for monom, coeff in zip(poly.monoms(), poly.coeffs()):
        total += coeff * wick_moment(monom, rows, sp.Integer(1), cache)
    return sp.expand(total)


def _truncate(p, order):
    """Drop the terms of ``p`` with ``t``-degree above ``order``."""
    return p.ring({m: c for m, c in p.items() if m[0] <= order})


def _t_coefficient(p, k):
    """The coefficient of ``t^k`` in ``p`` (a ring element free of ``t``)."""
    return p.ring({(0,) + m[1:]: c for m, c in p.items() if m[0] == k})


def _exp_series(y, order):
    """``exp(y)`` to ``O(t^{order+1})`` for ``y = O(t)``."""
    out, power = y.ring.one, y.ring.one
    for k in range(1, order + 1):
        power = _truncate(power * y, order)
        out += power * sp.Rational(1, math.factorial(k))
    return out


def _log1p_series(u, order):
    """``log(1 + u)`` to ``O(t^{order+1})`` for ``u = O(t)``."""
    if _t_coefficient(u, 0) != 0:
        raise ValueError("the log1p series needs u = O(t)")
    out, power = u.ring.zero, u.ring.one
    for k in range(1, order + 1):
        power = _truncate(power * u, order)
        out += power * sp.Rational((-1) ** (k + 1), k)
    return out


def _expect(p, positions, covariance):
    """Replace the monomials in the Gaussian generators at ``positions`` by their moments."""
    ring = p.ring
    cache = {}
    out = ring.zero
    for monom, coeff in p.items():
        rest = list(monom)
        for q in positions:
            rest[q] = 0
        moment = wick_moment([monom[q] for q in positions], covariance, ring.one, cache)
        out += ring({tuple(rest): coeff}) * moment
    return out


def _is_zero_poly(p):
    return p == p.ring.zero

