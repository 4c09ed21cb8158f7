"""The pointwise Hessian blocks of ``-log p_theta(x)`` (explicit ``n`` and a symbolic ``n``),
and the implementation's Hessian (:meth:`gmmlit.PopulationKL.hessian`) against sympy's."""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from .base import SymbolicCheck, _check_dim, _is_zero, mixture_symbols


def hessian_block_formula(sym, i, k):
    """Derived block ``d^2(-log p) / (d mu_i d mu_k)``:
    ``-[delta_ik psi_i ((x - mu_i)(x - mu_i)^T - I) - psi_i psi_k (x - mu_i)(x - mu_k)^T]``."""
    ri, rk = sym.offset(i), sym.offset(k)
    psi_i, psi_k = sym.responsibility(i), sym.responsibility(k)
    block = -psi_i * psi_k * ri * rk.T
    if i == k:
        block += psi_i * (ri * ri.T - sp.eye(sym.d))
    return -block


def check_pointwise_hessian(n, d, formula=hessian_block_formula):
    """sympy's second derivatives of ``-log p_theta(x)`` against ``formula(sym, i, k)`` for all blocks."""
    sym = mixture_symbols(n, d)
    f = -sp.log(sym.density())
    worst = []
    first = None
    grad = [[sp.diff(f, sym.mu[i][a]) for a in range(sym.d)] for i in range(sym.n)]
    for i, k in itertools.product(range(sym.n), repeat=2):
        block = sp.Matrix(sym.d, sym.d, lambda a, b: sym.with_kernels(sp.diff(grad[i][a], sym.mu[k][b])))
        diff = block - formula(sym, i, k)
        if first is None:
            first = block
        worst.extend(diff)
    passed = all(_is_zero(e) for e in worst)
    return SymbolicCheck(
        f"Hessian blocks of -log p_theta, n={n}, d={d}",
        passed,
        {"formula (1,1)": formula(sym, 0, 0), "sympy (1,1)": first},
        f"{sym.n ** 2} blocks of size {sym.d}x{sym.d} compared",
    )


def check_indexed_derivatives(d=1, hessian_formula=None):
    """Gradient and Hessian blocks of ``-log sum_{l=1}^n pi_l exp(-|x - mu_l|^2/2)`` for a
    *symbolic* number of components ``n`` (sympy indexed sums and Kronecker deltas).

    After ``doit()`` every remaining sum must be the density itself (replaced by ``P``);
    otherwise the check fails. ``hessian_formula(psi, r, delta)`` may replace the derived
    block (``psi(j)``, ``r(j, a)``, ``delta`` the Kronecker delta of ``i, k``) to test the
    check itself.
    """
    d = _check_dim(d)
    n = sp.Symbol("n", integer=True, positive=True)
    i, k, l = sp.symbols("i k l", integer=True, positive=True)
    pi = sp.IndexedBase("pi", positive=True)
    mus = [sp.IndexedBase(f"mu{a + 1}", real=True) for a in range(d)]
    xs = sp.symbols(f"x1:{d + 1}", real=True)

    def sq(j):
        return sum((xs[a] - mus[a][j]) ** 2 for a in range(d))

    density = sp.Sum(pi[l] * sp.exp(-sq(l) / 2), (l, 1, n))
    f = -sp.log(density)
    big_p = sp.Symbol("P", positive=True)
    delta = sp.Symbol("delta_ik")
    problems = []

    def clean(expr):
        expr = expr.doit()
        # the indices i, k range over 1..n: keep the branch "i <= n" of sympy's Piecewise
        expr = expr.replace(lambda z: isinstance(z, sp.Piecewise), lambda z: z.args[0][0])
        leftover = [s for s in expr.atoms(sp.Sum) if s != density]
        if leftover:
            problems.append(f"unexpected sums {leftover}")
        return expr.subs(density, big_p).subs(sp.KroneckerDelta(i, k), delta)

    def psi(j):
        return pi[j] * sp.exp(-sq(j) / 2) / big_p

    def r(j, a):
        return xs[a] - mus[a][j]

    if hessian_formula is None:
        def hessian_formula(psi, r, delta, a, b):
            return -(delta * psi(i) * (r(i, a) * r(i, b) - (1 if a == b else 0)) - psi(i) * psi(k) * r(i, a) * r(k, b))

    grad_diffs = [sp.simplify(clean(sp.diff(f, mus[a][i])) - (-psi(i) * r(i, a))) for a in range(d)]
    hess_diffs = []
    shown = None
    for a, b in itertools.product(range(d), repeat=2):
        block = clean(sp.diff(f, mus[a][i], mus[b][k]))
        if shown is None:
            shown = block
        hess_diffs.append(sp.simplify(sp.expand(block - hessian_formula(psi, r, delta, a, b))))
    passed = not problems and all(e == 0 for e in grad_diffs + hess_diffs)
    return SymbolicCheck(
        f"derivatives of -log p_theta for symbolic n, d={d}",
        passed,
        {"sympy d^2/dmu_i dmu_k (first coordinates)": shown, "differences": grad_diffs + hess_diffs},
        "; ".join(problems) if problems else "indexed sums with Kronecker deltas; P = sum_l pi_l exp(-|x-mu_l|^2/2)",
    )



def check_hessian_implementation(instance=None, rule=None, tol=1e-9, hessian=None):
    """:meth:`gmmlit.PopulationKL.hessian` against sympy: the second derivatives in the means
    of the Bregman integrand, differentiated by sympy and integrated on the same rule's
    nodes, at a point on the ravine and one off it. ``hessian(objective, means)`` replaces
    the implementation (a test hands in a Gauss-Newton Hessian to see the check fail).
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
    first = [sp.diff(integrand, c) for c in flat]
    k = len(flat)
    funcs = {(p, q): sp.lambdify((*x, *flat), sp.diff(first[p], flat[q]), "numpy", cse=True)
             for p in range(k) for q in range(p, k)}
    impl_hessian = (lambda m: obj.hessian(m)) if hessian is None else (lambda m: hessian(obj, m))
    gaps = {}
    for label, theta in sample_points(inst, obj).items():
        sym = np.zeros((k, k))
        for (p, q), f in funcs.items():
            sym[p, q] = sym[q, p] = integrate_on_nodes(f, obj, *theta.ravel())
        gaps[label] = float(np.abs(impl_hessian(theta) - sym).max() / np.abs(sym).max())
    return SymbolicCheck(
        f"PopulationKL.hessian against sympy's Hessian of the integrand, n={n}, d={d}",
        all(g <= tol for g in gaps.values()),
        {},
        "; ".join(f"{k}: {v:.1e}" for k, v in gaps.items()) + f" (max relative entry difference, tolerance {tol:g})",
    )
