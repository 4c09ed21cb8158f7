"""The result object of every symbolic check, shared validation, and the symbols of a student mixture."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import sympy as sp

from ...core.validation import check_positive_int


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

