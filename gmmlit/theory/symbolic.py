"""Symbolic derivations (sympy) behind the local theory, each packaged as a check.

Every ``check_*`` function derives or verifies one formula with sympy and returns a
:class:`SymbolicCheck`: ``passed`` plus the symbolic expressions involved (derived
formula, sympy's own result, their difference), so that a chapter can display them
with :meth:`SymbolicCheck.to_markdown`. Candidate formulas are arguments where that makes
sense, so that a test can hand in a wrong formula and see the check fail.

Contents
--------
* Pointwise derivatives of ``-log p_theta(x)`` in the means, for explicit ``n`` and
  ``d in {1, 2}`` and for a symbolic number of components ``n`` (indexed sums):
  :func:`check_pointwise_gradient`, :func:`check_pointwise_hessian`,
  :func:`check_indexed_derivatives`.
* Exact Gaussian integrals (:func:`gaussian_expectation`, :func:`wick_moment`: Isserlis'
  theorem) and, for a one-component teacher, the Hessian at ``theta*`` (equal to the
  Fisher information, ``u^T H u = |sum_i pi_i u_i|^2``, null space ``T``):
  :func:`check_m1_hessian_is_fisher`.
* The Taylor expansion of the population loss for ``m = 1`` to fifth order, with
  symbolic weights: :func:`m1_loss_coefficients`, :func:`check_m1_quartic_expansion`
  (explicit coordinates in ``d = 1, 2``, or any dimension through the Gram matrix of the
  directions) and :func:`check_m1_quadratic_growth`.
* For any ``m``, the pointwise expansion of ``p_theta / p*`` and of the Bregman
  integrand that gives the quartic form ``Q``: :func:`check_density_ratio_identity`,
  :func:`check_density_ratio_expansion`; its well separated limit:
  :func:`check_separated_limit`.
* The Polyak step on a homogeneous quartic: :func:`check_polyak_quartic_step`.
* Gradient descent on ``a x^4``: :func:`check_gd_quartic_asymptotics`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from html import escape

import sympy as sp

from ..core.validation import check_positive_float, check_positive_int


# ---------------------------------------------------------------------- result object
@dataclass(frozen=True)
class SymbolicCheck:
    """Outcome of a symbolic check.

    Attributes
    ----------
    name : str
        What was checked.
    passed : bool
    expressions : dict
        Label -> sympy expression (or a list of them), for display.
    detail : str
        One line with what was compared and the measured numbers, if any.
    """

    name: str
    passed: bool
    expressions: dict = field(default_factory=dict)
    detail: str = ""

    def to_markdown(self):
        """Markdown: a status line, then one display-math line per expression."""
        lines = [f"**{escape(self.name)}**: {'passed' if self.passed else 'FAILED'}. {escape(self.detail)}".rstrip()]
        for label, expr in self.expressions.items():
            if isinstance(expr, (list, tuple)):
                body = r",\quad ".join(sp.latex(e) for e in expr)
            else:
                body = sp.latex(expr)
            lines.append(f"- {escape(label)}: $\\displaystyle {body}$")
        return "\n".join(lines)

    def __bool__(self):
        return bool(self.passed)


def _is_zero(expr):
    """True when ``expr`` simplifies to 0 (rational functions first, then ``simplify``)."""
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    e = sp.cancel(sp.together(expr))
    if e == 0:
        return True
    return sp.simplify(e) == 0


def _check_dim(d):
    d = check_positive_int(d, "d")
    if d > 3:
        raise ValueError(f"d must be 1, 2 or 3 for the explicit symbolic checks, got {d}")
    return d


def _check_n(n, minimum=1, maximum=4):
    n = check_positive_int(n, "n", minimum=minimum)
    if n > maximum:
        raise ValueError(f"n must be <= {maximum} for the explicit symbolic checks (expression swell), got {n}")
    return n


# ---------------------------------------------------------------------- the mixture, symbolically
@dataclass(frozen=True)
class MixtureSymbols:
    """Symbols of a student mixture: point ``x`` (d,), means ``mu`` (n x d), weights ``pi`` (n,),
    and positive stand-ins ``E_i`` for the kernels ``exp(-|x - mu_i|^2 / 2)``."""

    x: tuple
    mu: tuple
    pi: tuple
    kernels: tuple

    @property
    def n(self):
        return len(self.pi)

    @property
    def d(self):
        return len(self.x)

    def offset(self, i):
        """``x - mu_i`` as a column matrix."""
        return sp.Matrix([self.x[a] - self.mu[i][a] for a in range(self.d)])

    def kernel(self, i):
        """``exp(-|x - mu_i|^2 / 2)``."""
        r = self.offset(i)
        return sp.exp(-(r.T * r)[0, 0] / 2)

    def density(self):
        """``sum_i pi_i exp(-|x - mu_i|^2 / 2)`` (the factor ``(2 pi)^{-d/2}`` does not depend on the means)."""
        return sum(self.pi[i] * self.kernel(i) for i in range(self.n))

    def responsibility(self, i):
        """``psi_i = pi_i E_i / sum_k pi_k E_k`` written with the stand-ins ``E_k``."""
        return self.pi[i] * self.kernels[i] / sum(self.pi[k] * self.kernels[k] for k in range(self.n))

    def with_kernels(self, expr):
        """Replace every kernel ``exp(-|x - mu_i|^2/2)`` by its stand-in ``E_i``.

        Exponentials are matched by their expanded exponent (up to a rational factor), so
        that sympy's rewriting of ``(x - mu)^2`` as ``(mu - x)^2`` or of ``E_i^2`` as one
        exponential does not hide a kernel.
        """
        exponents = [sp.expand(self.kernel(i).args[0]) for i in range(self.n)]
        cache = {}

        def swap(e):
            if e not in cache:
                arg = sp.expand(e.args[0])
                cache[e] = e
                for i, k in enumerate(exponents):
                    ratio = arg / k if arg == k else sp.cancel(arg / k)
                    if ratio.is_Rational:  # exp(c k_i) = E_i^c, e.g. products of kernels merged by sympy
                        cache[e] = self.kernels[i] ** ratio
                        break
            return cache[e]

        return expr.replace(lambda e: isinstance(e, sp.exp), swap)


def mixture_symbols(n, d):
    """:class:`MixtureSymbols` for ``n`` components in dimension ``d``."""
    n, d = _check_n(n), _check_dim(d)
    x = tuple(sp.symbols(f"x1:{d + 1}", real=True))
    mu = tuple(tuple(sp.symbols(f"mu{i + 1}_1:{d + 1}", real=True)) for i in range(n))
    pi = tuple(sp.symbols(f"pi1:{n + 1}", positive=True))
    kernels = tuple(sp.symbols(f"E1:{n + 1}", positive=True))
    return MixtureSymbols(x, mu, pi, kernels)


def gradient_formula(sym, i):
    """Derived gradient of ``-log p_theta(x)`` in ``mu_i``: ``-psi_i (x - mu_i)`` (column)."""
    return -sym.responsibility(i) * sym.offset(i)


def hessian_block_formula(sym, i, k):
    """Derived block ``d^2(-log p) / (d mu_i d mu_k)``:
    ``-[delta_ik psi_i ((x - mu_i)(x - mu_i)^T - I) - psi_i psi_k (x - mu_i)(x - mu_k)^T]``."""
    ri, rk = sym.offset(i), sym.offset(k)
    psi_i, psi_k = sym.responsibility(i), sym.responsibility(k)
    block = -psi_i * psi_k * ri * rk.T
    if i == k:
        block += psi_i * (ri * ri.T - sp.eye(sym.d))
    return -block


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


# ---------------------------------------------------------------------- exact Gaussian integrals
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


# ---------------------------------------------------------------------- truncated series in t
# Series are elements of a sympy polynomial ring whose first generator is t: exact
# rational arithmetic, much faster than expression trees for the expansions below.
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


# ---------------------------------------------------------------------- m = 1
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


# ---------------------------------------------------------------------- any m: the quartic form
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


def check_separated_limit(d=2):
    """``E_z[<S, z z^T - I>^2] = 2 ||S||_F^2`` for symmetric ``S`` (exact Gaussian integral), hence
    ``Q -> (1/8) sum_j pi*_j 2 ||S_j||_F^2 = (1/4) sum_j pi*_j ||S_j||_F^2 = sum_j ||A_j||_F^2 / (4 pi*_j)``
    when the cross products ``psi*_j psi*_k`` (``j != k``) vanish and ``psi*_j^2 -> psi*_j``."""
    d = _check_dim(d)
    z = sp.symbols(f"z1:{d + 1}", real=True)
    s = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"S{min(a, b) + 1}{max(a, b) + 1}", real=True))
    zz = sp.Matrix(z) * sp.Matrix(z).T - sp.eye(d)
    inner = sum(s.multiply_elementwise(zz))
    second_moment = gaussian_expectation(inner ** 2, z)
    frob = sum(e ** 2 for e in s)
    pstar = sp.Symbol("pistar", positive=True)
    a = s * pstar  # A_j = pi*_j S_j
    two_forms = pstar * frob / 4 - sum(e ** 2 for e in a) / (4 * pstar)
    passed = _is_zero(second_moment - 2 * frob) and _is_zero(two_forms)
    return SymbolicCheck(
        f"well separated limit of Q, d={d}",
        passed,
        {"E<S, zz^T - I>^2": sp.factor(second_moment), "2||S||_F^2": 2 * frob},
        "(1/4) pi*_j ||S_j||^2 = ||A_j||^2 / (4 pi*_j): the two written forms agree",
    )


# ---------------------------------------------------------------------- Polyak on a quartic
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


# ---------------------------------------------------------------------- GD on a quartic
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
    from .quartic import gradient_descent_on_quartic

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


__all__ = [
    "SymbolicCheck",
    "MixtureSymbols",
    "mixture_symbols",
    "gradient_formula",
    "hessian_block_formula",
    "check_pointwise_gradient",
    "check_pointwise_hessian",
    "check_indexed_derivatives",
    "wick_moment",
    "gaussian_expectation",
    "free_directions",
    "simplex_weights",
    "M1Series",
    "m1_loss_coefficients",
    "m1_quartic_closed_form",
    "check_m1_quartic_expansion",
    "check_m1_quadratic_growth",
    "check_m1_hessian_is_fisher",
    "check_density_ratio_identity",
    "check_density_ratio_expansion",
    "check_separated_limit",
    "check_polyak_quartic_step",
    "gd_quartic_increment_series",
    "check_gd_quartic_asymptotics",
]
