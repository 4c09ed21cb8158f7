"""Integration rules for expectations under the teacher mixture.

Every rule discretises the standard normal distribution ``N(0, I_d)`` by nodes ``z_k``
and positive weights ``w_k`` summing to one. Since the teacher is a mixture of unit
Gaussians,

.. math:: \\mathbb{E}_{p^*}[f] = \\sum_j \\pi^*_j\\, \\mathbb{E}_{z \\sim N(0, I)}[f(\\mu^*_j + z)]
          \\approx \\sum_j \\pi^*_j \\sum_k w_k f(\\mu^*_j + z_k),

so a rule is applied once per teacher component, centred at its mean ("per teacher
component" rules). The rules are fixed by the teacher alone: the discretised objective
is a smooth function of the student means, with exact derivatives.

Available rules
---------------
:class:`TrapezoidRule`
    Tensor trapezoid rule with step ``h`` on the ball of radius ``radius``. For
    integrands analytic in a strip it converges geometrically in ``1/h``
    (Trefethen and Weideman); the default in ``d <= 2``.
:class:`GaussHermiteRule`
    Tensor Gauss-Hermite rule of a given order: exact for polynomials, but it resolves
    the switch of the responsibilities between separated components poorly.
:class:`ProductRule`
    A fine trapezoid rule in the span of the teacher means times a few Gauss-Hermite
    nodes in the orthogonal directions, where the integrand is nearly polynomial near
    the minimiser; the default for ``3 <= d`` when it stays small.
:class:`SobolRule`
    Scrambled Sobol quasi-Monte Carlo points mapped through the normal quantile; the
    default in high dimension.
:class:`MonteCarloRule`
    Seeded standard normal draws with equal weights: the rule whose ``N^{-1/2}`` error a
    sample average has.
:class:`ExplicitRule`
    Given nodes and weights (e.g. a reference rule built elsewhere).

:func:`default_rule` documents the choice made when ``rule=None``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .span import affine_span_basis
from .mixture import Mixture
from .validation import check_positive_float, check_positive_int

#: Largest number of nodes per teacher component a rule may build before it refuses.
MAX_NODES = 4_000_000


def _normal_pdf(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def trapezoid_1d(h, radius):
    """Nodes ``k h`` with ``|k h| <= radius`` and weights ``h phi(k h)``, normalised to sum 1."""
    k = int(np.floor(radius / h))
    z = h * np.arange(-k, k + 1, dtype=float)
    w = h * _normal_pdf(z)
    return z, w / w.sum()


def gauss_hermite_1d(order):
    """Gauss-Hermite nodes and weights for ``N(0, 1)`` (probabilists' Hermite polynomials)."""
    z, w = np.polynomial.hermite_e.hermegauss(order)
    return z, w / w.sum()


def tensor_rule(z1, w1, dim):
    """Tensor product of a 1-D rule with itself ``dim`` times."""
    grids = np.meshgrid(*([z1] * dim), indexing="ij")
    wgrids = np.meshgrid(*([w1] * dim), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    w = np.prod(np.stack([g.ravel() for g in wgrids], axis=1), axis=1)
    return z, w


def _check_size(count, what):
    if count > MAX_NODES:
        raise ValueError(
            f"{what} would need {count:,} nodes per teacher component (more than "
            f"{MAX_NODES:,}); use a larger step h, a lower order, ProductRule or SobolRule"
        )


def teacher_span_basis(teacher, tol=1e-9):
    """Orthonormal bases ``(U_span, U_orth)`` of the span of the differences of the teacher
    means and of its orthogonal complement, each fixed by the subspace alone
    (:func:`gmmlit.core.span.affine_span_basis`): the rules built on them are the same on every
    machine."""
    _, span, orthogonal = affine_span_basis(teacher.means, tol, complement=True)
    return span, orthogonal


class IntegrationRule:
    """Base class: a rule for ``N(0, I_d)`` expectations, built for a given teacher."""

    def nodes(self, teacher):
        """Return ``(z, w)``: offsets ``(K, d)`` and positive weights ``(K,)`` summing to 1."""
        raise NotImplementedError

    def describe(self):
        """A short human-readable description."""
        return repr(self)


@dataclass(frozen=True)
class TrapezoidRule(IntegrationRule):
    """Tensor trapezoid rule with step ``h`` restricted to the ball of radius ``radius``.

    Parameters
    ----------
    h : float in (0, 2]
        Grid step. The error decays like ``exp(-2 pi a / h)`` for integrands analytic in
        a strip of half-width ``a``; the switch of responsibilities between teacher
        components at separation ``D`` has ``a ~ pi / D``.
    radius : float in [3, 40]
        Nodes with ``|z| > radius`` are dropped; the Gaussian mass outside is below
        ``exp(-radius^2 / 2)`` times a polynomial.
    """

    h: float = 0.1
    radius: float = 10.0

    def __post_init__(self):
        check_positive_float(self.h, "h", maximum=2.0)
        r = check_positive_float(self.radius, "radius", maximum=40.0)
        if r < 3.0:
            raise ValueError(f"radius must be >= 3 (the Gaussian mass beyond it is not negligible), got {r}")

    def nodes(self, teacher):
        d = teacher.dim
        z1, w1 = trapezoid_1d(self.h, self.radius)
        approx = z1.size ** d * (np.pi ** (d / 2) / _gamma_half(d) / 2 ** d if d > 1 else 1.0)
        _check_size(int(approx), f"TrapezoidRule(h={self.h}) in d={d}")
        z, w = tensor_rule(z1, w1, d)
        keep = np.einsum("kd,kd->k", z, z) <= self.radius ** 2
        z, w = z[keep], w[keep]
        return z, w / w.sum()


def _gamma_half(d):
    from math import gamma

    return gamma(d / 2 + 1)


@dataclass(frozen=True)
class GaussHermiteRule(IntegrationRule):
    """Tensor Gauss-Hermite rule with ``order`` nodes per dimension (1 <= order <= 200)."""

    order: int = 20

    def __post_init__(self):
        o = check_positive_int(self.order, "order")
        if o > 200:
            raise ValueError(f"order must be <= 200, got {o}")

    def nodes(self, teacher):
        d = teacher.dim
        _check_size(self.order ** d, f"GaussHermiteRule(order={self.order}) in d={d}")
        z1, w1 = gauss_hermite_1d(self.order)
        z, w = tensor_rule(z1, w1, d)
        return z, w / w.sum()


@dataclass(frozen=True)
class ProductRule(IntegrationRule):
    """Trapezoid rule in the span of the teacher means times Gauss-Hermite across it.

    Let ``U_span`` be an orthonormal basis of the span of ``mu*_j - mu*_1`` (dimension
    ``r <= m - 1``) and ``U_orth`` of its complement. Nodes are
    ``U_span a + U_orth b`` with ``a`` from :class:`TrapezoidRule` ``(h, radius)`` in
    ``r`` dimensions and ``b`` from a tensor Gauss-Hermite rule with ``n_orth`` nodes in
    each of the ``d - r`` orthogonal directions. Exact when the student means lie in the
    teacher span and the integrand is a polynomial of degree ``< 2 n_orth`` across it.
    """

    h: float = 0.5
    radius: float = 6.0
    n_orth: int = 4

    def __post_init__(self):
        TrapezoidRule(self.h, self.radius)  # validates h and radius
        o = check_positive_int(self.n_orth, "n_orth")
        if o > 50:
            raise ValueError(f"n_orth must be <= 50, got {o}")

    def nodes(self, teacher):
        u_span, u_orth = teacher_span_basis(teacher)
        r, q = u_span.shape[1], u_orth.shape[1]
        _check_size(self.n_orth ** q, f"ProductRule(n_orth={self.n_orth}) with {q} orthogonal directions")
        if r > 0:
            a, wa = TrapezoidRule(self.h, self.radius).nodes(_Flat(r))
        else:
            a, wa = np.zeros((1, 0)), np.ones(1)
        if q > 0:
            z1, w1 = gauss_hermite_1d(self.n_orth)
            b, wb = tensor_rule(z1, w1, q)
        else:
            b, wb = np.zeros((1, 0)), np.ones(1)
        _check_size(a.shape[0] * b.shape[0], "ProductRule")
        z = (a @ u_span.T)[:, None, :] + (b @ u_orth.T)[None, :, :]
        w = wa[:, None] * wb[None, :]
        z, w = z.reshape(-1, teacher.dim), w.ravel()
        return z, w / w.sum()


@dataclass(frozen=True)
class _Flat:
    """Stand-in teacher giving only a dimension (used to build sub-rules)."""

    dim: int


@dataclass(frozen=True)
class SobolRule(IntegrationRule):
    """Scrambled Sobol points mapped to ``N(0, I)`` by the normal quantile, equal weights.

    ``n_points`` must be a power of two (the balance property of Sobol nets); ``seed``
    fixes the scrambling, so the rule, and every number computed with it, is
    deterministic.
    """

    n_points: int = 2 ** 14
    seed: int = 0

    def __post_init__(self):
        n = check_positive_int(self.n_points, "n_points", minimum=2)
        if n & (n - 1):
            raise ValueError(f"n_points must be a power of two, got {n}")
        _check_size(n, "SobolRule")
        check_positive_int(self.seed, "seed", minimum=0)

    def nodes(self, teacher):
        from scipy.stats import qmc

        u = qmc.Sobol(d=teacher.dim, scramble=True, seed=self.seed).random(self.n_points)
        u = np.clip(u, 1e-16, 1 - 1e-16)
        z = ndtri(u)
        return z, np.full(self.n_points, 1.0 / self.n_points)


@dataclass(frozen=True)
class MonteCarloRule(IntegrationRule):
    """Plain Monte Carlo: ``n_points`` seeded standard normal draws with equal weights.

    Applied per teacher component like every rule, so the discrete measure puts weight
    ``pi*_j / n_points`` on ``mu*_j + z_k``: stratified sampling of ``p*`` with the same
    ``N^{-1/2}`` error as independent sampling.
    """

    n_points: int = 2 ** 12
    seed: int = 0

    def __post_init__(self):
        n = check_positive_int(self.n_points, "n_points", minimum=2)
        if n > MAX_NODES:
            raise ValueError(f"n_points must be <= {MAX_NODES:,}, got {n:,}")
        check_positive_int(self.seed, "seed", minimum=0)

    def nodes(self, teacher):
        z = np.random.default_rng(self.seed).standard_normal((self.n_points, teacher.dim))
        return z, np.full(self.n_points, 1.0 / self.n_points)


@dataclass(frozen=True, eq=False)
class ExplicitRule(IntegrationRule):
    """Given offsets ``z`` (K, d) and positive weights ``w`` (K,), normalised to sum 1."""

    z: np.ndarray
    w: np.ndarray

    def __post_init__(self):
        z = np.asarray(self.z, dtype=float)
        w = np.asarray(self.w, dtype=float)
        if z.ndim != 2 or w.ndim != 1 or z.shape[0] != w.shape[0] or z.shape[0] == 0:
            raise ValueError(f"z must be (K, d) and w (K,) with K >= 1, got shapes {z.shape} and {w.shape}")
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(w)) and np.all(w > 0)):
            raise ValueError("z must be finite and w finite and strictly positive")
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "w", w / w.sum())

    def nodes(self, teacher):
        if teacher.dim != self.z.shape[1]:
            raise ValueError(f"the rule has {self.z.shape[1]}-dimensional nodes but teacher.dim = {teacher.dim}")
        return self.z, self.w

    def __repr__(self):
        return f"ExplicitRule(nodes={self.z.shape[0]}, dim={self.z.shape[1]})"


def default_rule(teacher: Mixture) -> IntegrationRule:
    """The rule used when ``rule=None``: accuracy and cost measured in the chapter
    "Computing population quantities" and by ``benchmarks/kernel_cost.py``.

    Relative errors below are of loss and gradient, against independent references,
    near the minimiser (distance 1e-2 to 1e-1), at typical starting points
    ``theta* + 0.3 N(0, I)`` and at distance 1.

    * ``d <= 2``: ``TrapezoidRule(h=0.1, radius=10)`` (201 nodes per teacher component in
      ``d = 1``, 31 409 in ``d = 2``). Relative error ``<= 1e-10`` for ``m <= 3`` teacher
      components at separations up to 10 (tests/test_accuracy.py). The step is set by the
      switch of the teacher responsibilities, analytic only in a strip of half-width
      ``pi / D`` at separation ``D``: ``h = 0.15`` gives ``1e-7`` at ``D = 10``. One
      exception is a floor of double precision: along the tangent space at distance
      ``1e-2`` the gradient is only ``~1e-8`` while its absolute rounding error is
      ``~1e-17``, about ``1e-9`` relative for every step.
    * ``d >= 3`` with a teacher span of dimension ``r <= 2`` (``m <= 3``), ``q = d - r``
      directions across it: a :class:`ProductRule`, the first of these two whose size
      ``(span trapezoid nodes) * n_orth^q`` fits:

      - ``ProductRule(0.3, 7, 7)`` if at most 40 000 nodes per teacher component
        (``d = 3``): errors about ``1e-7`` (loss) and ``2e-5`` (gradient at a ravine point);
      - ``ProductRule(0.5, 6, 4)`` if at most 120 000 (``d = 4`` to ``6`` for ``m = 3``).
        For ``d = 5, m = 3, n = 20`` (``figure1_instance``, 84 672 nodes): relative errors
        ``<= 7e-5`` (loss) and ``<= 1.2e-3`` (gradient, worst at a ravine point, where the
        gradient is ``O(t^3)`` and small), 0.02-0.04 s per loss and gradient, 0.7 times the
        unavoidable work of a pass over ``2^18`` nodes
        (``gmmlit.bench.kernel.floor_time(2**18, 20, 5)``). Finer choices there:
        ``ProductRule(0.35, 6, 6)`` (604 584 nodes, loss ``<= 5e-6``, gradient
        ``<= 1.1e-4``, 0.13-0.26 s, 5 floors) and ``ProductRule(0.25, 7, 6)`` (1.6 million
        nodes, loss ``<= 5.4e-6``, gradient ``<= 3.1e-5``, 0.4-0.8 s, 14 floors). Three
        Gauss-Hermite nodes across, as in ``ProductRule(0.15, 10, 3)`` (1.1 million nodes,
        11 floors), leave a 2% gradient error at starting points: they do not resolve
        students spread out of the teacher span. Timings with one BLAS thread on a shared
        2-core machine (two runs); with OpenBLAS's default threading there, the thin
        matrix products of the kernel ran 4 to 7 times slower.
    * otherwise ``SobolRule(2**14)``: scrambled QMC, relative errors about ``1e-3`` on the
      loss and worse on the gradient near the ravine; its Bregman form is still exactly
      minimised at ``theta*``.
    """
    d = teacher.dim
    if d <= 2:
        return TrapezoidRule(0.1, 10.0)
    r = teacher_span_basis(teacher)[0].shape[1]
    if r <= 2:
        q = d - r
        for rule, budget in ((ProductRule(0.3, 7.0, 7), 40_000), (ProductRule(0.5, 6.0, 4), 120_000)):
            span_nodes = TrapezoidRule(rule.h, rule.radius).nodes(_Flat(r))[0].shape[0] if r > 0 else 1
            if span_nodes * rule.n_orth ** q <= budget:
                return rule
    return SobolRule(2 ** 14, 0)
