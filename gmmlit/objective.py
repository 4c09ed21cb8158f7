"""The population KL objective ``L(means) = KL(p* || p_theta)`` and its derivatives.

Notation: ``s(x) = log p_theta(x) - log p*(x)``, ``psi_i`` the student responsibilities,
``r_i = x - mu_i``. Two algebraically equal forms of the loss are available:

* ``form="bregman"`` (default): ``L = E_{p*}[e^s - 1 - s]``. Equal to the KL because
  ``E_{p*}[e^s] = int p_theta = 1``. The integrand is ``>= 0`` pointwise, so every
  rule with positive weights gives a loss ``>= 0`` which is exactly 0, with zero
  gradient, wherever ``p_theta = p*`` at the nodes. Gradient
  ``E[expm1(s) psi_i r_i]``; Hessian ``E[G G^T] + E[expm1(s) blockdiag(psi_i (r_i r_i^T - I))]``
  with ``G_i = psi_i r_i``.
* ``form="naive"``: ``L = -E_{p*}[s]``, gradient ``-E[psi_i r_i]``, Hessian
  ``E[G G^T] - E[blockdiag(psi_i (r_i r_i^T - I))]``. Discretised, its minimum value
  and minimiser carry the integration error.

Each derivative is the exact derivative of the discretised objective, not a finite
difference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .mixture import Mixture, logsumexp_rows
from .quadrature import IntegrationRule, default_rule
from .validation import check_means, check_positive_int, check_weights

#: Below this ``|s|`` the Bregman integrand ``e^s - 1 - s`` is summed as a Taylor series.
_SERIES_CUTOFF = 1.0
_SERIES_TERMS = 18  # remainder < 1/19! < 1e-17 for |s| <= 1


def bregman_integrand(s):
    """``e^s - 1 - s`` with full relative accuracy, also for tiny ``|s|``.

    For ``|s| <= 1`` it sums ``s^2 (1/2! + s/3! + ... )`` by Horner's rule (18 terms,
    truncation below ``1e-17`` relative); elsewhere ``expm1(s) - s`` has no cancellation.
    """
    s = np.asarray(s, dtype=float)
    small = np.abs(s) <= _SERIES_CUTOFF
    out = np.empty_like(s)
    ss = s[small]
    acc = np.zeros_like(ss)
    # coefficients 1/k! for k = T+1 down to 2
    fact = [1.0]
    for k in range(1, _SERIES_TERMS + 2):
        fact.append(fact[-1] * k)
    for k in range(_SERIES_TERMS + 1, 1, -1):
        acc = acc * ss + 1.0 / fact[k]
    out[small] = acc * ss * ss
    big = ~small
    with np.errstate(over="ignore"):
        out[big] = np.expm1(s[big]) - s[big]
    return out


@dataclass(frozen=True)
class Evaluation:
    """Everything one pass over the nodes computes at ``means``.

    Attributes
    ----------
    loss : float
    grad : ndarray (n, d)
    mass : ndarray (n,)
        ``E_{p*}[psi_i]``.
    moment : ndarray (n, d)
        ``E_{p*}[psi_i x]``.
    """

    loss: float
    grad: np.ndarray
    mass: np.ndarray
    moment: np.ndarray

    def em_means(self):
        """The EM update ``E[psi_i x] / E[psi_i]``."""
        return self.moment / self.mass[:, None]


class PopulationKL:
    """Population KL divergence ``KL(teacher || student)`` as a function of student means.

    Parameters
    ----------
    teacher : Mixture
        The data distribution ``p*``.
    weights : array_like, shape (n,)
        Fixed student weights (positive, summing to 1).
    rule : IntegrationRule or None
        How expectations under the teacher are discretised; ``None`` takes
        :func:`gmmlit.quadrature.default_rule`.
    form : {"bregman", "naive"}
        Which algebraic form of the loss to discretise (see the module docstring).
    chunk_size : int or None
        Nodes processed at once; bounds memory to about ``chunk_size * n * d * 8 * 4``
        bytes. ``None`` picks a chunk of about 32 MB.

    Notes
    -----
    The student covariances are the identity. ``n_evals`` counts passes over the nodes
    (every call of :meth:`loss`, :meth:`grad`, :meth:`loss_and_grad`, :meth:`evaluate`,
    :meth:`em_statistics`); ``counts`` splits them by kind and also counts Hessians.
    """

    def __init__(self, teacher, weights, rule=None, *, form="bregman", chunk_size=None):
        if not isinstance(teacher, Mixture):
            raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
        self.teacher = teacher
        self.weights = check_weights(weights, "weights")
        if rule is None:
            rule = default_rule(teacher)
        if not isinstance(rule, IntegrationRule):
            raise TypeError(
                f"rule must be a gmmlit IntegrationRule (TrapezoidRule, GaussHermiteRule, "
                f"ProductRule, SobolRule) or None, got {type(rule).__name__}"
            )
        if form not in ("bregman", "naive"):
            raise ValueError(f"form must be 'bregman' or 'naive', got {form!r}")
        self.rule = rule
        self.form = form
        z, w = rule.nodes(teacher)
        self._z = np.ascontiguousarray(z, dtype=float)
        self._w = np.ascontiguousarray(w, dtype=float)
        self._zz = np.einsum("kd,kd->k", self._z, self._z)
        n, d = self.n_components, self.dim
        if chunk_size is None:
            chunk_size = max(256, int(32e6 // (8 * max(n, 1) * max(d, 1) * 4)))
        self.chunk_size = check_positive_int(chunk_size, "chunk_size")
        # log p* (up to the shared constant) at the nodes of each teacher component
        k = self._z.shape[0]
        self._lse_star = [
            self._log_mixture(teacher.weights, teacher.means - teacher.means[j], 0, k)
            for j in range(teacher.n_components)
        ]
        self.n_evals = 0
        self.counts = Counter()

    # ------------------------------------------------------------------ basics
    @property
    def n_components(self):
        """Number of student components ``n``."""
        return self.weights.shape[0]

    @property
    def dim(self):
        """Dimension ``d``."""
        return self.teacher.dim

    @property
    def n_nodes(self):
        """Total number of integration nodes (over all teacher components)."""
        return self._z.shape[0] * self.teacher.n_components

    def nodes(self):
        """The discrete measure used for ``E_{p*}``: points ``(N, d)`` and weights ``(N,)``."""
        t = self.teacher
        x = np.concatenate([t.means[j] + self._z for j in range(t.n_components)])
        w = np.concatenate([t.weights[j] * self._w for j in range(t.n_components)])
        return x, w

    def reset_counter(self):
        """Set ``n_evals`` and ``counts`` back to zero."""
        self.n_evals = 0
        self.counts = Counter()

    def check_means(self, means, name="means"):
        """Validate student means: shape ``(n, d)``, finite."""
        return check_means(means, name, n_rows=self.n_components, dim=self.dim)

    def __repr__(self):
        return (
            f"PopulationKL(n={self.n_components}, m={self.teacher.n_components}, d={self.dim}, "
            f"rule={self.rule!r}, form={self.form!r}, nodes={self.n_nodes})"
        )

    # ------------------------------------------------------------------ kernel
    def _exponents(self, log_w, delta, lo, hi):
        """``log w_i - |z - delta_i|^2 / 2`` for nodes ``lo:hi``; shape ``(C, k)``.

        Formed in place as ``z.delta_i + (log w_i - |delta_i|^2/2) - |z|^2/2``: one matrix
        product and two passes over the ``C x k`` array.
        """
        e = self._z[lo:hi] @ delta.T
        e += log_w - 0.5 * np.einsum("kd,kd->k", delta, delta)
        e -= 0.5 * self._zz[lo:hi, None]
        return e

    def _log_mixture(self, weights, delta, lo, hi):
        return logsumexp_rows(self._exponents(np.log(weights), delta, lo, hi))

    def _chunks(self):
        total = self._z.shape[0]
        for lo in range(0, total, self.chunk_size):
            yield lo, min(total, lo + self.chunk_size)

    def _node_terms(self, means):
        """For each teacher component ``j`` and chunk of nodes, yield
        ``(j, delta, lo, hi, w, s, e, total)``: ``delta = means - mu*_j``, the node weights
        ``w = pi*_j w_k``, ``s = log p_theta - log p*`` at the nodes, and the responsibilities
        ``psi = e / total[:, None]`` (left unnormalised so that callers fold the division
        into the weights they multiply by). One ``exp`` over the chunk serves both
        ``log p_theta`` and the responsibilities.
        """
        t = self.teacher
        log_pi = np.log(self.weights)
        for j in range(t.n_components):
            delta = means - t.means[j]
            for lo, hi in self._chunks():
                e = self._exponents(log_pi, delta, lo, hi)
                top = np.max(e, axis=1)
                np.subtract(e, top[:, None], out=e)
                np.exp(e, out=e)
                total = np.sum(e, axis=1)
                s = top + np.log(total) - self._lse_star[j][lo:hi]
                yield j, delta, lo, hi, t.weights[j] * self._w[lo:hi], s, e, total

    def _pass(self, means, *, want_grad=True, want_em=False):
        t = self.teacher
        n, d = means.shape
        loss = 0.0
        grad = np.zeros((n, d))
        mass = np.zeros(n)
        moment = np.zeros((n, d))
        bregman = self.form == "bregman"
        for j, delta, lo, hi, w, s, e, total in self._node_terms(means):
            if bregman:
                loss += float(w @ bregman_integrand(s))
            else:
                loss -= float(w @ s)
            if not (want_grad or want_em):
                continue
            z = self._z[lo:hi]
            if want_grad:
                # c_x psi_xi with psi = e / total, in one pass
                c = w * np.expm1(s) if bregman else -w
                cp = e * (c / total)[:, None]
                grad += cp.T @ z - delta * cp.sum(axis=0)[:, None]
            if want_em:
                wp = e * (w / total)[:, None]
                mj = wp.sum(axis=0)
                mass += mj
                moment += wp.T @ z + mj[:, None] * t.means[j][None, :]
        return loss, grad, mass, moment

    # ------------------------------------------------------------------ public API
    def loss(self, means):
        """``L(means)``."""
        means = self.check_means(means)
        self.n_evals += 1
        self.counts["loss"] += 1
        return self._pass(means, want_grad=False)[0]

    def grad(self, means):
        """``grad L(means)``, shape ``(n, d)``."""
        return self.loss_and_grad(means, _kind="grad")[1]

    def loss_and_grad(self, means, _kind="loss_and_grad"):
        """``(L, grad L)`` from one pass over the nodes."""
        means = self.check_means(means)
        self.n_evals += 1
        self.counts[_kind] += 1
        loss, grad, _, _ = self._pass(means)
        return loss, grad

    def evaluate(self, means):
        """Loss, gradient and the EM statistics from one pass: an :class:`Evaluation`."""
        means = self.check_means(means)
        self.n_evals += 1
        self.counts["evaluate"] += 1
        return Evaluation(*self._pass(means, want_em=True))

    def em_statistics(self, means):
        """``(E[psi_i], E[psi_i x])``, shapes ``(n,)`` and ``(n, d)``: what an EM step needs."""
        ev = self.evaluate(means)
        return ev.mass, ev.moment

    def hessian(self, means):
        """Exact Hessian of the discretised objective, shape ``(n*d, n*d)``.

        Index ``i*d + a`` is coordinate ``a`` of student ``i``. Memory per chunk is
        ``chunk * n * d`` floats; the result is ``(n d)^2``.
        """
        means = self.check_means(means)
        self.counts["hessian"] += 1
        n, d = means.shape
        outer = np.zeros((n * d, n * d))
        blocks = np.zeros((n, d, d))
        diag_mass = np.zeros(n)
        bregman = self.form == "bregman"
        for _, delta, lo, hi, w, s, e, total in self._node_terms(means):
            psi = e / total[:, None]
            r = self._z[lo:hi, None, :] - delta[None, :, :]
            g = (psi[:, :, None] * r).reshape(hi - lo, n * d)
            outer += g.T @ (g * w[:, None])
            c2 = w * np.expm1(s) if bregman else -w
            cp = psi * c2[:, None]
            blocks += np.einsum("ki,kia,kib->iab", cp, r, r)
            diag_mass += cp.sum(axis=0)
        blocks -= diag_mass[:, None, None] * np.eye(d)[None]
        h = outer
        for i in range(n):
            h[i * d:(i + 1) * d, i * d:(i + 1) * d] += blocks[i]
        return 0.5 * (h + h.T)
