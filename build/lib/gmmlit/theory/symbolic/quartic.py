"""The local expansion of the loss: for ``m = 1`` to fifth order with symbolic weights; for any
``m`` the density ratio and the Bregman integrand behind the quartic form ``Q``, its well
separated limit, and the implementation's ``Q`` (:class:`gmmlit.theory.quartic.QuarticModel`)
against sympy's ``t^4`` coefficient."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ...core.validation import check_positive_int
from .base import SymbolicCheck, _check_dim, _check_n, _is_zero, mixture_symbols
from .gaussian import _exp_series, _expect, _is_zero_poly, _log1p_series, _t_coefficient, _truncate, gaussian_expectation
from .gradient import gradient_formula
from .hessian import hessian_block_formula


def free_directions(n, d, name="u"):
    """Unconstrained symbolic directions (n x d)."""
    return [[sp.Symbol(f"{name}{i + 1}_{a + 1}", real=True) for a in range(d)] for i in range(n)]


def simplex_weights(n):
    """Symbolic weights ``pi_1..pi_{n-1}`` and ``pi_n = 1 - sum of the others``."""
    free = list(sp.symbols(f"pi1:{n}", positive=True))
    return free + [1 - sum(free)]


@dataclass(frozen=True)
class M1Series:
    """Taylor coefficients of ``L(theta* + t v)`` for a one-component teacher.

    Attributes
    ----------
    coefficients : list
        ``c_0..c_order`` as polynomial-ring elements in the weights and the direction
        parameters.
    weights : list
        ``pi_1..pi_n`` (``pi_n = 1 - sum of the others``).
    gram : list of lists
        ``G_il = v_i . v_l``.
    directions : list or None
        Coordinates ``v_i`` (ring elements) when built in explicit coordinates.
    """

    coefficients: list
    weights: list
    gram: list
    directions: list | None


def m1_loss_coefficients(n, d=None, tangent=True, order=5):
    """Taylor coefficients of ``L(theta* + t v)`` for the teacher ``N(mu*, I)``, exactly.

    ``p_theta / p* = sum_i pi_i exp(t a_i - t^2 |v_i|^2 / 2)`` with ``a_i = v_i . z`` jointly
    Gaussian with covariance ``G_il = v_i . v_l``; ``L = -E[log(p_theta / p*)]`` (equal to
    the Bregman form since ``E[p_theta / p*] = 1``). ``exp`` and ``log`` are expanded in
    ``t`` and the expectation is exact (:func:`wick_moment`), with the Gram entries as
    plain symbols; the directions are substituted at the end.

    Directions: explicit coordinates ``v_i in R^d`` when ``d`` is given, otherwise a
    symbolic Gram matrix (any dimension). With ``tangent=True`` they are parametrised
    polynomially over ``T``: ``v_i = w_i - sum_k pi_k w_k`` (every tangent ``v`` is of this
    form, with ``w = v``), i.e. ``G = C M C^T`` with ``C = I - 1 pi^T`` and ``M_il = w_i . w_l``.
    """
    n = _check_n(n, minimum=2)
    order = check_positive_int(order, "order")
    if d is not None:
        d = _check_dim(d)
    pairs = [(i, l) for i in range(n) for l in range(i, n)]
    names = ["t"] + [f"a{i + 1}" for i in range(n)] + [f"pi{i + 1}" for i in range(n - 1)]
    names += [f"g{i + 1}{l + 1}" for i, l in pairs]
    if d is None:
        names += [f"M{i + 1}{l + 1}" for i, l in pairs]
    else:
        names += [f"w{i + 1}_{c + 1}" for i in range(n) for c in range(d)]
    ring, *gens = sp.ring(names, sp.QQ)
    t, a = gens[0], gens[1:n + 1]
    free_pi = gens[n + 1:2 * n]
    weights = list(free_pi) + [ring.one - sum(free_pi, ring.zero)]
    g_gens = gens[2 * n:2 * n + len(pairs)]
    params = gens[2 * n + len(pairs):]

    def symmetric(values):
        out = [[None] * n for _ in range(n)]
        for (i, l), value in zip(pairs, values):
            out[i][l] = out[l][i] = value
        return out

    plain = symmetric(g_gens)
    directions = None
    if d is None:
        base = symmetric(params)
    else:
        w = [[params[i * d + c] for c in range(d)] for i in range(n)]
        if tangent:
            mean = [sum((weights[k] * w[k][c] for k in range(n)), ring.zero) for c in range(d)]
            w = [[w[i][c] - mean[c] for c in range(d)] for i in range(n)]
        directions = w
        base = [[sum((w[i][c] * w[l][c] for c in range(d)), ring.zero) for l in range(n)] for i in range(n)]
    if d is None and tangent:
        # G = C M C^T, C = I - 1 pi^T: rows and columns of M centred with the weights
        col = [sum((weights[k] * base[k][l] for k in range(n)), ring.zero) for l in range(n)]
        both = sum((weights[k] * col[k] for k in range(n)), ring.zero)
        gram = [[base[i][l] - col[l] - col[i] + both for l in range(n)] for i in range(n)]
    else:
        gram = base
    ratio_minus_one = sum(
        (weights[i] * _exp_series(t * a[i] - t ** 2 * plain[i][i] * sp.Rational(1, 2), order) for i in range(n)),
        ring.zero,
    ) - ring.one
    log_ratio = _log1p_series(_truncate(ratio_minus_one, order), order)
    positions = list(range(1, n + 1))
    substitution = [(g_gens[k], gram[i][l]) for k, (i, l) in enumerate(pairs)]
    coefficients = [(-_expect(_t_coefficient(log_ratio, k), positions, plain)).compose(substitution) for k in range(order + 1)]
    return M1Series(coefficients, weights, gram, directions)


def m1_quartic_closed_form(weights, gram):
    """``(1/4) sum_{i,l} pi_i pi_l G_il^2 = (1/4) ||sum_i pi_i v_i v_i^T||_F^2`` (trace identity)."""
    n = len(weights)
    return sum((weights[i] * weights[l] * gram[i][l] ** 2 for i in range(n) for l in range(n)), 0 * weights[0]) * sp.Rational(1, 4)


_PI = sp.IndexedBase("pi")


_I, _L = sp.symbols("i l", integer=True)


def check_m1_quartic_expansion(n, d=None, quartic=m1_quartic_closed_form, order=5):
    """``L(theta* + t v) = t^4 (1/4)||sum_i pi_i v_i v_i^T||_F^2 + O(t^6)`` for tangent ``v``, ``m = 1``.

    Symbolic weights; explicit coordinates in dimension ``d`` (``d = None``: any dimension,
    through the Gram matrix). The coefficients of ``t^0..t^3`` and ``t^5`` must vanish (odd
    orders by parity, ``t^2`` by tangency) and ``t^4`` must equal ``quartic(weights, gram)``.
    In coordinates, ``sum_{i,l} pi_i pi_l (v_i . v_l)^2 = ||sum_i pi_i v_i v_i^T||_F^2`` is
    checked as well.
    """
    series = m1_loss_coefficients(n, d, tangent=True, order=order)
    target = quartic(series.weights, series.gram)
    diffs = [c - (target if k == 4 else 0 * c) for k, c in enumerate(series.coefficients)]
    passed = all(_is_zero_poly(e) for e in diffs)
    if series.directions is not None:
        v = series.directions
        dd = len(v[0])
        a_mat = [[sum((series.weights[i] * v[i][p] * v[i][q] for i in range(n)), 0 * v[0][0]) for q in range(dd)] for p in range(dd)]
        frob = sum((a_mat[p][q] ** 2 for p in range(dd) for q in range(dd)), 0 * v[0][0]) * sp.Rational(1, 4)
        passed = passed and _is_zero_poly(frob - target)
    where = f"d={d}" if d is not None else "any d (Gram matrix)"
    closed = sp.Rational(1, 4) * sp.Sum(_PI[_I] * _PI[_L] * sp.Function("G")(_I, _L) ** 2, (_I, 1, n), (_L, 1, n))
    expressions = {"closed form of the t^4 coefficient": closed}
    derived = series.coefficients[4]
    if len(derived.terms()) <= 60:  # small enough to be worth displaying (n = 2)
        expressions["t^4 coefficient derived by sympy"] = sp.factor(derived.as_expr())
    expressions["coefficients of t^0..t^5 minus the closed form"] = [e.as_expr() for e in diffs]
    return SymbolicCheck(
        f"m=1 loss along T to order t^{order}, n={n}, {where}",
        passed,
        expressions,
        "exact Gaussian integrals, symbolic weights pi_n = 1 - sum of the others; tangent "
        "directions v_i = w_i - sum_k pi_k w_k; G_il = v_i.v_l",
    )


def check_m1_quadratic_growth(n, d):
    """For any direction ``u`` (``m = 1``): ``L(theta* + t u) = (t^2 / 2) |sum_i pi_i u_i|^2 + O(t^3)``."""
    series = m1_loss_coefficients(n, d, tangent=False, order=2)
    u, pis = series.directions, series.weights
    bias = [sum((pis[i] * u[i][c] for i in range(n)), 0 * pis[0]) for c in range(len(u[0]))]
    target = sum((b ** 2 for b in bias), 0 * pis[0]) * sp.Rational(1, 2)
    diffs = [series.coefficients[0], series.coefficients[1], series.coefficients[2] - target]
    return SymbolicCheck(
        f"m=1 quadratic growth, n={n}, d={d}",
        all(_is_zero_poly(e) for e in diffs),
        {"t^2 coefficient": series.coefficients[2].as_expr(), "(1/2)|sum_i pi_i u_i|^2": target.as_expr()},
        "u unconstrained: the t^2 coefficient is (1/2) u^T H u",
    )


def check_m1_hessian_is_fisher(n, d):
    """For ``m = 1`` at ``theta*``: ``E_{p*}[grad^2(-log p_theta)] = E_{p*}[g g^T] = (pi pi^T) (x) I``.

    Exact Gaussian integrals with symbolic weights. Also checks ``u^T H u = |sum_i pi_i u_i|^2``
    and that the null space of ``H`` is ``T`` (dimension ``d (n - 1)``, every null vector
    satisfies ``sum_i pi_i u_i = 0``).
    """
    n, d = _check_n(n, minimum=2, maximum=3), _check_dim(d)
    sym = mixture_symbols(n, d)
    pis = simplex_weights(n)
    at_star = {sym.pi[i]: pis[i] for i in range(n)}
    at_star.update({sym.mu[i][a]: 0 for i in range(n) for a in range(d)})  # mu* = 0 (translation)
    z = sym.x
    kernel = sp.Symbol("K", positive=True)  # all kernels coincide at theta*: exp(-|z|^2/2)
    same = {e: kernel for e in sym.kernels}
    idx = [(i, a) for i in range(n) for a in range(d)]

    def at(expr):
        return sp.cancel(sp.together(expr.subs(same).subs(at_star)))

    grad = [at(gradient_formula(sym, i)[a]) for i, a in idx]
    hess = sp.Matrix(len(idx), len(idx), lambda p, q: at(hessian_block_formula(sym, idx[p][0], idx[q][0])[idx[p][1], idx[q][1]]))
    h_pop = hess.applyfunc(lambda e: gaussian_expectation(e, z))
    fisher = sp.Matrix(len(idx), len(idx), lambda p, q: gaussian_expectation(grad[p] * grad[q], z))
    expected = sp.Matrix(n, n, lambda i, k: pis[i] * pis[k])
    expected = sp.Matrix(len(idx), len(idx), lambda p, q: expected[idx[p][0], idx[q][0]] * (1 if idx[p][1] == idx[q][1] else 0))
    u = sp.Matrix([c for row in free_directions(n, d) for c in row])
    quad = sp.expand((u.T * h_pop * u)[0, 0])
    bias = sum(sp.expand(sum(pis[i] * u[i * d + a] for i in range(n))) ** 2 for a in range(d))
    null = h_pop.nullspace()
    null_in_t = all(
        _is_zero(sum(pis[i] * vec[i * d + a] for i in range(n))) for vec in null for a in range(d)
    )
    passed = (
        all(_is_zero(e) for e in (h_pop - fisher))
        and all(_is_zero(e) for e in (h_pop - expected))
        and _is_zero(quad - bias)
        and len(null) == d * (n - 1)
        and null_in_t
    )
    return SymbolicCheck(
        f"m=1 Hessian at theta* = Fisher information, n={n}, d={d}",
        passed,
        {"H": h_pop, "u^T H u": sp.factor(quad)},
        f"null space dimension {len(null)} (expected d(n-1) = {d * (n - 1)}), all null vectors in T: {null_in_t}",
    )


def check_density_ratio_identity():
    """``p_{theta*+tv}/p* = sum_j psi*_j sum_{i in S_j} (pi_i/pi*_j) exp(t v_i.r_j - t^2|v_i|^2/2)``,
    with explicit densities (``d = 1``, two clusters of sizes 2 and 1)."""
    t, x = sp.symbols("t x", real=True)
    m1, m2 = sp.symbols("m1 m2", real=True)
    q1, q2, q3 = sp.symbols("q1 q2 q3", positive=True)
    w1, w2, w3 = sp.symbols("w1 w2 w3", real=True)

    def phi(z):
        return sp.exp(-z ** 2 / 2)

    def shift(w, r):
        return sp.exp(t * w * r - t ** 2 * w ** 2 / 2)

    p_theta = q1 * phi(x - m1 - t * w1) + q2 * phi(x - m1 - t * w2) + q3 * phi(x - m2 - t * w3)
    p_star = (q1 + q2) * phi(x - m1) + q3 * phi(x - m2)
    psi1, psi2 = (q1 + q2) * phi(x - m1) / p_star, q3 * phi(x - m2) / p_star
    rhs = psi1 * (q1 * shift(w1, x - m1) + q2 * shift(w2, x - m1)) / (q1 + q2) + psi2 * shift(w3, x - m2)
    residual = sp.simplify(sp.powsimp(sp.expand(sp.together(p_theta / p_star - rhs)), combine="exp"))
    return SymbolicCheck(
        "density ratio in teacher responsibilities",
        residual == 0,
        {"p_theta / p*": p_theta / p_star, "residual": residual},
        "phi(r - t v) = phi(r) exp(t v.r - t^2 |v|^2 / 2)",
    )


def check_density_ratio_expansion(cluster_sizes=(2, 1), d=1, order=4):
    """Pointwise expansion behind ``Q`` for ``m = len(cluster_sizes)`` clusters, any ``x``.

    Free symbols for the teacher responsibilities ``Psi_j`` (summing to 1), the offsets
    ``r_j = x - mu*_j`` and the within-cluster weights ``rho_i = pi_i / pi*_j`` (summing to 1
    per cluster); tangent directions ``v_i = w_i - sum_{k in S_j} rho_k w_k``. With
    ``R = sum_j Psi_j sum_{i in S_j} rho_i exp(t v_i.r_j - t^2|v_i|^2/2)`` (see
    :func:`check_density_ratio_identity`):

    * ``R - 1 = t^2 c_2 + O(t^3)``, ``c_2 = (1/2) sum_j Psi_j <A_j/pi*_j, r_j r_j^T - I>``;
    * the Bregman integrand ``R - 1 - log R = t^4 c_2^2 / 2 + O(t^5)``.

    Integrating the second gives ``Q(v) = (1/2) E[c_2^2]`` (:func:`gmmlit.theory.quartic.quartic_form`).
    """
    d = _check_dim(d)
    sizes = [check_positive_int(c, "cluster_sizes[j]") for c in cluster_sizes]
    if sum(sizes) > 6:
        raise ValueError(f"at most 6 students in total for the symbolic check, got {sum(sizes)}")
    m = len(sizes)
    students = [(j, i) for j, size in enumerate(sizes) for i in range(size)]
    names = ["t"] + [f"Psi{j + 1}" for j in range(m - 1)]
    names += [f"b{j + 1}_{i + 1}" for j, i in students] + [f"q{j + 1}_{i + 1}" for j, i in students]
    names += [f"r{j + 1}_{c + 1}" for j in range(m) for c in range(d)]
    names += [f"rho{j + 1}_{i + 1}" for j, size in enumerate(sizes) for i in range(size - 1)]
    names += [f"w{j + 1}_{i + 1}_{c + 1}" for j, i in students for c in range(d)]
    ring, *gens = sp.ring(names, sp.QQ)
    it = iter(gens)
    t = next(it)
    free_psi = [next(it) for _ in range(m - 1)]
    psis = free_psi + [ring.one - sum(free_psi, ring.zero)]
    # b_i stands for v_i . r_j and q_i for |v_i|^2 during the expansion; substituted at the end
    b = {key: next(it) for key in students}
    q = {key: next(it) for key in students}
    offsets = [[next(it) for _ in range(d)] for _ in range(m)]
    rhos = []
    for size in sizes:
        free = [next(it) for _ in range(size - 1)]
        rhos.append(free + [ring.one - sum(free, ring.zero)])
    half = sp.Rational(1, 2)
    ratio_minus_one = ring.zero
    c2 = ring.zero
    substitution = []
    for j, size in enumerate(sizes):
        w = [[next(it) for _ in range(d)] for _ in range(size)]
        mean = [sum((rhos[j][k] * w[k][c] for k in range(size)), ring.zero) for c in range(d)]
        v = [[w[i][c] - mean[c] for c in range(d)] for i in range(size)]
        for i in range(size):
            ratio_minus_one += psis[j] * rhos[j][i] * (_exp_series(t * b[(j, i)] - t ** 2 * q[(j, i)] * half, order) - ring.one)
            vr = sum((v[i][c] * offsets[j][c] for c in range(d)), ring.zero)
            vv = sum((v[i][c] ** 2 for c in range(d)), ring.zero)
            substitution += [(b[(j, i)], vr), (q[(j, i)], vv)]
            # <rho_i v_i v_i^T, r r^T - I> = rho_i ((v_i.r)^2 - |v_i|^2)
            c2 += psis[j] * rhos[j][i] * (vr ** 2 - vv) * half
    ratio_minus_one = _truncate(ratio_minus_one, order)
    bregman = _truncate(ratio_minus_one - _log1p_series(ratio_minus_one, order), order)

    def coefficient(p, k):
        return _t_coefficient(p, k).compose(substitution)

    diffs_r = [coefficient(ratio_minus_one, 0), coefficient(ratio_minus_one, 1), coefficient(ratio_minus_one, 2) - c2]
    diffs_b = [coefficient(bregman, k) for k in range(4)] + [coefficient(bregman, 4) - c2 ** 2 * half]
    passed = all(_is_zero_poly(e) for e in diffs_r + diffs_b)
    j_index = sp.Symbol("j", integer=True, positive=True)
    psi_star = sp.IndexedBase(r"\psi^*")
    pairing = sp.Symbol(r"\left\langle S_j,\, r_j r_j^{\top} - I \right\rangle")
    return SymbolicCheck(
        f"density ratio and Bregman integrand along T, clusters {tuple(sizes)}, d={d}",
        passed,
        {"c_2": sp.Rational(1, 2) * sp.Sum(psi_star[j_index] * pairing, (j_index, 1, m))},
        "R - 1 = t^2 c_2 + O(t^3) and e^s - 1 - s = t^4 c_2^2/2 + O(t^5) pointwise",
    )


def check_separated_limit(d=2, seed=0, tol=1e-12):
    """``E_z[<S, z z^T - I>^2] = 2 ||S||_F^2`` for symmetric ``S`` (exact Gaussian integral), hence
    ``Q -> (1/8) sum_j pi*_j 2 ||S_j||_F^2 = (1/4) sum_j pi*_j ||S_j||_F^2`` when the cross
    products ``psi*_j psi*_k`` (``j != k``) vanish and ``psi*_j^2 -> psi*_j``.

    The implementation is then evaluated against this symbolic limit, at random tangent
    directions of an instance with three teacher components: :func:`gmmlit.theory.quartic.separated_limit`
    (written as ``sum_j ||A_j||_F^2 / (4 pi*_j)`` with ``A_j`` from
    :func:`~gmmlit.theory.quartic.cluster_second_moments`) against
    ``(1/8) sum_j pi*_j E<S_j, zz^T - I>^2`` with sympy's expectation and ``S_j`` built here;
    and, for one component (where the limit is exact), :meth:`~gmmlit.theory.quartic.QuarticModel.form`
    with a Gauss-Hermite rule exact for its degree-4 integrand against the same value.
    Relative differences at most ``tol``.
    """
    import numpy as np

    from ...core.geometry import tangent_projector
    from ...core.instances import make_instance, split_weights, triangle_instance
    from ...core.mixture import Mixture
    from ...core.quadrature import GaussHermiteRule
    from ..quartic import QuarticModel, separated_limit

    d = _check_dim(d)
    z = sp.symbols(f"z1:{d + 1}", real=True)
    s = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"S{min(a, b) + 1}{max(a, b) + 1}", real=True))
    zz = sp.Matrix(z) * sp.Matrix(z).T - sp.eye(d)
    inner = sum(s.multiply_elementwise(zz))
    second_moment = gaussian_expectation(inner ** 2, z)
    frob = sum(e ** 2 for e in s)
    moment = sp.lambdify(sorted(s.free_symbols, key=str), second_moment, "numpy")
    names = sorted(s.free_symbols, key=str)

    def symbolic_limit(teacher_weights, weights, assignment, v):
        total = 0.0
        for j, pstar in enumerate(teacher_weights):
            members = np.flatnonzero(assignment == j)
            s_j = np.einsum("i,ia,ib->ab", weights[members] / pstar, v[members], v[members])
            values = {str(k): s_j[int(str(k)[1]) - 1, int(str(k)[2]) - 1] for k in names}
            total += pstar * moment(*[values[str(k)] for k in names]) / 8
        return total

    rng = np.random.default_rng(seed)
    tri = triangle_instance(n=6, side=4.0, seed=0) if d == 2 else None
    w1, a1 = split_weights([1.0], [3], seed=2)
    one = make_instance(Mixture(np.array([1.0]), np.zeros((1, d))), w1, a1)
    worst_formula, worst_q = 0.0, 0.0
    for inst in [i for i in (tri, one) if i is not None]:
        n = inst.weights.shape[0]
        proj = tangent_projector(inst.weights, inst.assignment, d)
        model = QuarticModel(inst.objective(GaussHermiteRule(4)), inst.means_star, inst.assignment) if inst.m == 1 else None
        for _ in range(3):
            v = (proj @ rng.standard_normal(n * d)).reshape(n, d)
            sym = symbolic_limit(inst.teacher.weights, inst.weights, inst.assignment, v)
            impl = separated_limit(inst.teacher, inst.weights, inst.assignment, v)
            worst_formula = max(worst_formula, abs(impl - sym) / sym)
            if model is not None:
                worst_q = max(worst_q, abs(model.form(v) - sym) / sym)
    passed = _is_zero(second_moment - 2 * frob) and worst_formula <= tol and worst_q <= tol
    return SymbolicCheck(
        f"well separated limit of Q, d={d}",
        passed,
        {"E<S, zz^T - I>^2": sp.factor(second_moment), "2||S||_F^2": 2 * frob},
        f"separated_limit against the symbolic limit: {worst_formula:.1e}; m=1 QuarticModel.form "
        f"(Gauss-Hermite 4) against it: {worst_q:.1e} (relative, tolerance {tol:g})",
    )


def check_quartic_implementation(instance=None, rule=None, tol=1e-9, n_directions=2, seed=0):
    """The implementation's quartic form (:meth:`gmmlit.theory.quartic.QuarticModel.form`)
    against sympy: the ``t^4`` coefficient of the Bregman integrand at ``theta* + t v``
    (``(1/24) d^4/dt^4`` at ``t = 0``, by sympy, for tangent ``v``), integrated on the same
    rule's nodes. Also checks that the ``t^1..t^3`` coefficients integrate to 0 along ``T``.
    """
    from ...core.geometry import tangent_projector
    from ...core.quadrature import TrapezoidRule
    from ..quartic import QuarticModel
    from ._instance import bregman_integrand_expression, default_instance, integrate_on_nodes

    inst = default_instance() if instance is None else instance
    obj = inst.objective(TrapezoidRule(0.3, 7.0) if rule is None else rule)
    model = QuarticModel(obj, inst.means_star, inst.assignment)
    n, d = inst.means_star.shape
    x = sp.symbols(f"x1:{d + 1}", real=True)
    t = sp.Symbol("t", real=True)
    vs = [[sp.Symbol(f"v{i + 1}_{a + 1}", real=True) for a in range(d)] for i in range(n)]
    flat = [c for row in vs for c in row]
    mu = [[sp.nsimplify(float(inst.means_star[i, a])) + t * vs[i][a] for a in range(d)] for i in range(n)]
    integrand = bregman_integrand_expression(inst.teacher.weights, inst.teacher.means, inst.weights, x, mu)
    coefficients, derivative = [], integrand
    for k in range(1, 5):
        derivative = sp.diff(derivative, t)
        coefficients.append(sp.lambdify((*x, *flat), derivative.subs(t, 0) / math.factorial(k), "numpy", cse=True))
    proj = tangent_projector(inst.weights, inst.assignment, d)
    rng = np.random.default_rng(seed)
    worst_q, worst_low = 0.0, 0.0
    for _ in range(n_directions):
        v = (proj @ rng.standard_normal(n * d)).reshape(n, d)
        v /= np.linalg.norm(v)
        sym = [integrate_on_nodes(f, obj, *v.ravel()) for f in coefficients]
        q = model.form(v)
        worst_q = max(worst_q, abs(q - sym[3]) / abs(sym[3]))
        worst_low = max(worst_low, max(abs(c) for c in sym[:3]) / abs(sym[3]))
    return SymbolicCheck(
        f"QuarticModel.form against sympy's t^4 coefficient of the integrand, n={n}, d={d}",
        worst_q <= tol and worst_low <= tol,
        {},
        f"relative difference {worst_q:.1e}; t^1..t^3 coefficients / t^4 coefficient {worst_low:.1e} "
        f"({n_directions} tangent directions, tolerance {tol:g})",
    )
