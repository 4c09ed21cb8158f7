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

from .mixture import merged_teacher
from .types import ArrayLike, FloatArray
from .quadrature import IntegrationRule, default_rule
from .validation import check_means, check_positive_int, check_weights

#: Masses ``E[psi_i]`` below this are recomputed in the log domain by
#: :meth:`PopulationKL.evaluate` (above it, every node that contributes to ``E[psi_i x]`` in
#: double precision is a normal number, and ``moment / mass`` is accurate).
VANISHING_MASS = 1e-250

#: Below this ``|s|`` the Bregman integrand ``e^s - 1 - s`` is summed as a Taylor series.
_SERIES_CUTOFF = 1.0
_SERIES_TERMS = 18  # remainder < 1/19! < 1e-17 for |s| <= 1


def _factorials(count):
    out = [1.0]
    for k in range(1, count):
        out.append(out[-1] * k)
    return out


_FACTORIALS = _factorials(_SERIES_TERMS + 3)


def series_terms(s_max):
    """Number ``T`` of Taylor terms ``s^2 (1/2! + s/3! + ... + s^(T-1)/(T+1)!)`` for which
    the remainder is below ``1e-17`` relative for every ``|s| <= s_max <= 1``: the least
    ``T`` with ``2 s_max^T / (T + 2)! < 1e-17`` (18 at ``s_max = 1``, 3 at ``1e-6``)."""
    s_max = float(s_max)
    for t in range(1, _SERIES_TERMS + 1):
        if 2.0 * s_max ** t / _FACTORIALS[t + 2] < 1e-17:
            return t
    return _SERIES_TERMS


def bregman_integrand(s: ArrayLike) -> FloatArray:
    """``e^s - 1 - s`` with full relative accuracy, also for tiny ``|s|``.

    For ``|s| <= 1`` it sums ``s^2 (1/2! + s/3! + ... )`` by Horner's rule, with as many
    terms as the largest such ``|s|`` needs for a truncation below ``1e-17`` relative
    (:func:`series_terms`: at most 18, three near a minimiser where ``|s|`` is tiny);
    elsewhere ``expm1(s) - s`` has no cancellation.
    """
    s = np.asarray(s, dtype=float)
    a = np.abs(s)
    small = a <= _SERIES_CUTOFF
    all_small = bool(np.all(small))
    ss = s if all_small else s[small]
    out = np.empty_like(s)
    if ss.size:
        terms = series_terms(np.max(np.abs(ss)))
        acc = np.full_like(ss, 1.0 / _FACTORIALS[terms + 1])
        for k in range(terms, 1, -1):
            acc *= ss
            acc += 1.0 / _FACTORIALS[k]
        acc *= ss
        acc *= ss
        if all_small:
            return acc
        out[small] = acc
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
    #: ``log E[psi_i]``, exact also where ``mass`` underflows; ``None`` unless some mass
    #: is below :data:`VANISHING_MASS` (see :meth:`PopulationKL.log_em_statistics`).
    log_mass: np.ndarray | None = None
    #: ``E[psi_i x] / E[psi_i]`` from the log domain for every row; ``None`` unless some
    #: mass is below :data:`VANISHING_MASS`.
    log_em_means: np.ndarray | None = None

    @property
    def vanishing(self):
        """Rows whose mass is below :data:`VANISHING_MASS` (their ``moment / mass`` is not
        accurate, or ``0 / 0``)."""
        return np.asarray(self.mass) < VANISHING_MASS

    def em_means(self):
        """The EM update ``E[psi_i x] / E[psi_i]`` (from the log domain when a mass vanished)."""
        if self.log_em_means is not None:
            return self.log_em_means
        return self.moment / self.mass[:, None]


class WeightedNodeObjective:
    """The kernel shared by every objective of the package: a weighted point set, seen
    from one or more centres, and the isotropic unit-variance student with fixed weights.

    The points are ``c_j + z_k`` for every centre ``c_j`` (weight ``a_j``) and node
    ``z_k`` (weight ``w_k``), so the discrete measure is ``sum_j sum_k a_j w_k
    delta_{c_j + z_k}``. With ``s(x) = log p_theta(x) - r_j(x)`` (``r_j`` a reference log
    density stored at the nodes of centre ``j``), the loss is ``sum a_j w_k
    (e^s - 1 - s)`` (``form="bregman"``) or ``-sum a_j w_k s`` (``form="naive"``).

    * :class:`PopulationKL`: the centres are the teacher means, the nodes and weights are
      those of an integration rule for ``N(0, I)``, ``r = log p*``.
    * :class:`gmmlit.core.sample.SampleNLL`: one centre (the data mean), the nodes are
      the centred data with weights ``1/N``, ``r = (d/2) log(2 pi)`` (so ``s = log
      p_theta``), naive form. The population KL in its naive form is therefore the
      sample objective over the rule's weighted points, plus the constant
      ``E[log p*]``.

    Subclasses call :meth:`_set_nodes` and then set ``_centers`` ``(J, d)``,
    ``_center_weights`` ``(J,)``, ``_log_ref`` (``J`` arrays of one value per node) and
    ``form``. ``n_evals`` counts passes over the nodes (every call of :meth:`loss`,
    :meth:`grad`, :meth:`loss_and_grad`, :meth:`evaluate`, :meth:`em_statistics`);
    ``counts`` splits them by kind and also counts Hessians.
    """

    def _set_nodes(self, z, w, chunk_size):
        """Store the nodes ``z`` ``(K, d)`` with weights ``w`` ``(K,)`` and their chunks."""
        self._z = np.ascontiguousarray(z, dtype=float)
        self._w = np.ascontiguousarray(w, dtype=float)
        self._zz = np.einsum("kd,kd->k", self._z, self._z)
        n, d = self.n_components, self.dim
        if chunk_size is None:
            chunk_size = max(256, int(32e6 // (8 * max(n, 1) * max(d, 1) * 4)))
        self.chunk_size = check_positive_int(chunk_size, "chunk_size")
        # each chunk of nodes, transposed, with a row of ones: shape (d + 1, C). The kernel
        # works on (students x nodes) arrays, whose reductions over the students run along
        # long contiguous rows (numpy reduces a short contiguous axis about 10 times slower)
        self._z1t = [
            np.ascontiguousarray(np.vstack([self._z[lo:hi].T, np.ones((1, hi - lo))])) for lo, hi in self._chunks()
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
        return self._z.shape[1]

    def reset_counter(self):
        """Set ``n_evals`` and ``counts`` back to zero."""
        self.n_evals = 0
        self.counts = Counter()

    def check_means(self, means, name="means"):
        """Validate student means: shape ``(n, d)``, finite."""
        return check_means(means, name, n_rows=self.n_components, dim=self.dim)

    # ------------------------------------------------------------------ kernel
    def _shifted_exponents(self, log_w, delta, chunk):
        """``log w_i - |z - delta_i|^2 / 2 + |z|^2 / 2`` at the nodes of chunk ``chunk``;
        shape ``(k, C)`` (components x nodes).

        That is ``delta_i.z + (log w_i - |delta_i|^2/2)``: one matrix product with the
        chunk's nodes, a row of ones appended. The per-node term ``-|z|^2/2`` is left out:
        it is the same for every component, so it cancels in the log-sum-exp's shift and
        in the responsibilities, and is added back once per node.
        """
        coef = np.empty((delta.shape[0], delta.shape[1] + 1))
        coef[:, :-1] = delta
        coef[:, -1] = log_w - 0.5 * np.einsum("kd,kd->k", delta, delta)
        return coef @ self._z1t[chunk]

    def _normalised_exponentials(self, log_w, delta, chunk, lo, hi):
        """``(e, total, log_mix)``: ``e = exp(exponents - their max over components)``,
        shape ``(k, C)``, ``total`` its column sums and ``log_mix`` the log of the mixture
        density at the nodes (up to the shared constant), all from one ``exp``."""
        e = self._shifted_exponents(log_w, delta, chunk)
        top = np.max(e, axis=0)
        np.subtract(e, top[None, :], out=e)
        np.exp(e, out=e)
        total = np.ones(e.shape[0]) @ e
        return e, total, (top - 0.5 * self._zz[lo:hi]) + np.log(total)

    def _log_mixture(self, weights, delta):
        """``log sum_i w_i N(z; delta_i, I)`` (up to the shared constant) at every node."""
        log_w = np.log(weights)
        return np.concatenate([self._normalised_exponentials(log_w, delta, c, lo, hi)[2]
                               for c, (lo, hi) in enumerate(self._chunks())])

    def _chunks(self):
        total = self._z.shape[0]
        for lo in range(0, total, self.chunk_size):
            yield lo, min(total, lo + self.chunk_size)

    def _node_terms(self, means):
        """For each centre ``j`` and chunk of nodes, yield
        ``(j, delta, c, lo, hi, w, s, e, total)``: ``delta = means - c_j``, the chunk's
        index ``c`` and node range, the node weights ``w = a_j w_k``,
        ``s = log p_theta - r_j`` at the nodes, and the responsibilities
        ``psi = e / total[None, :]``, shape ``(n, C)`` (left unnormalised so that callers
        fold the division into the weights they multiply by). One ``exp`` over the chunk
        serves both ``log p_theta`` and the responsibilities.
        """
        log_pi = np.log(self.weights)
        for j, center in enumerate(self._centers):
            delta = means - center
            for c, (lo, hi) in enumerate(self._chunks()):
                e, total, log_mix = self._normalised_exponentials(log_pi, delta, c, lo, hi)
                s = log_mix - self._log_ref[j][lo:hi]
                yield j, delta, c, lo, hi, self._center_weights[j] * self._w[lo:hi], s, e, total

    def _pass(self, means, *, want_grad=True, want_em=False):
        n, d = means.shape
        loss = 0.0
        grad = np.zeros((n, d))
        mass = np.zeros(n)
        moment = np.zeros((n, d))
        bregman = self.form == "bregman"
        for j, delta, c, lo, hi, w, s, e, total in self._node_terms(means):
            if bregman:
                loss += float(w @ bregman_integrand(s))
            else:
                loss -= float(w @ s)
            if not (want_grad or want_em):
                continue
            # grad_i = sum_x c_x psi_ix (z_x - delta_i) and the EM sums sum_x w_x psi_ix (z_x, 1),
            # with psi = e / total: one product of e with the chunk's nodes (and ones), each
            # node scaled by its coefficient over total
            z1t = self._z1t[c]
            rows = (d + 1) * (int(want_grad) + int(want_em))
            scaled = np.empty((rows, hi - lo))
            if want_grad:
                coeff = w * np.expm1(s) if bregman else -w
                np.multiply(z1t, coeff / total, out=scaled[:d + 1])
            if want_em:
                np.multiply(z1t, w / total, out=scaled[rows - (d + 1):])
            sums = e @ scaled.T
            if want_grad:
                grad += sums[:, :d] - delta * sums[:, d:d + 1]
            if want_em:
                off = rows - (d + 1)
                mj = sums[:, off + d]
                mass += mj
                moment += sums[:, off:off + d] + mj[:, None] * self._centers[j][None, :]
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
        """Loss, gradient and the EM statistics from one pass: an :class:`Evaluation`.

        When some mass ``E[psi_i]`` is below :data:`VANISHING_MASS` (students far from
        every node: their responsibilities underflow), the EM statistics of every student
        are also computed in the log domain (:meth:`log_em_statistics`, a second pass
        within the same evaluation) and stored in ``log_mass`` and ``log_em_means``.
        """
        means = self.check_means(means)
        self.n_evals += 1
        self.counts["evaluate"] += 1
        ev = Evaluation(*self._pass(means, want_em=True))
        if np.any(ev.vanishing):
            self.counts["log_em"] += 1
            ev = Evaluation(ev.loss, ev.grad, ev.mass, ev.moment, *self._log_em_pass(means))
        return ev

    def log_em_statistics(self, means):
        """``(log E[psi_i], E[psi_i x] / E[psi_i])`` computed in the log domain, exact also
        when ``E[psi_i]`` underflows (a student far from every node). Shapes ``(n,)`` and
        ``(n, d)``. One pass over the nodes."""
        means = self.check_means(means)
        self.n_evals += 1
        self.counts["log_em"] += 1
        return self._log_em_pass(means)

    def _log_em_pass(self, means):
        """Streaming log-sum-exp over the nodes of ``log w_x + log psi_ix`` (log mass) and
        the matching weighted mean of the nodes (the EM means)."""
        n, d = means.shape
        log_pi = np.log(self.weights)
        top = np.full(n, -np.inf)
        acc = np.zeros(n)
        first = np.zeros((n, d))
        for j, delta, c, lo, hi, w, s, _, _ in self._node_terms(means):
            # log psi_ix = exponent_ix - log sum_k exp(exponent_kx), and the latter is
            # log p_theta + |z|^2/2 = s + r_j + |z|^2/2 at the node (r_j the reference)
            log_psi = self._shifted_exponents(log_pi, delta, c) - (s + self._log_ref[j][lo:hi]
                                                                   + 0.5 * self._zz[lo:hi])[None, :]
            terms = log_psi + np.log(w)[None, :]
            new_top = np.maximum(top, terms.max(axis=1))
            scale = np.exp(top - new_top)
            e = np.exp(terms - new_top[:, None])
            acc = acc * scale + e.sum(axis=1)
            first = first * scale[:, None] + e @ self._z[lo:hi] + e.sum(axis=1)[:, None] * self._centers[j][None, :]
            top = new_top
        return top + np.log(acc), first / acc[:, None]

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
        for _, delta, _, lo, hi, w, s, e, total in self._node_terms(means):
            psi = (e / total[None, :]).T
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


class PopulationKL(WeightedNodeObjective):
    """Population KL divergence ``KL(teacher || student)`` as a function of student means.

    Parameters
    ----------
    teacher : Mixture
        The data distribution ``p*``.
    weights : array_like, shape (n,)
        Fixed student weights (positive, summing to 1).
    rule : IntegrationRule or None
        How expectations under the teacher are discretised; ``None`` takes
        :func:`gmmlit.core.quadrature.default_rule`.
    form : {"bregman", "naive"}
        Which algebraic form of the loss to discretise (see the module docstring).
    chunk_size : int or None
        Nodes processed at once; bounds memory to about ``chunk_size * n * d * 8 * 4``
        bytes. ``None`` picks a chunk of about 32 MB.

    Notes
    -----
    The student covariances are the identity. A teacher with duplicated components (equal
    means) is merged into one component per distinct mean (same density), with a
    :class:`~gmmlit.core.warning_types.DuplicateComponentsWarning`. The kernel
    (:class:`WeightedNodeObjective`) sees the rule's nodes from every teacher mean, with the teacher weights as the
    centres' weights and ``log p*`` as the reference. ``n_evals`` counts passes over the
    nodes (every call of :meth:`loss`, :meth:`grad`, :meth:`loss_and_grad`,
    :meth:`evaluate`, :meth:`em_statistics`); ``counts`` splits them by kind and also
    counts Hessians.
    """

    def __init__(self, teacher, weights, rule=None, *, form="bregman", chunk_size=None):
        teacher, _ = merged_teacher(teacher)  # duplicated components: merged, with a warning
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
        self._set_nodes(z, w, chunk_size)
        self._centers = teacher.means
        self._center_weights = teacher.weights
        # log p* (up to the shared constant) at the nodes of each teacher component
        self._log_ref = [
            self._log_mixture(teacher.weights, teacher.means - teacher.means[j]) for j in range(teacher.n_components)
        ]

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

    def __repr__(self):
        return (
            f"PopulationKL(n={self.n_components}, m={self.teacher.n_components}, d={self.dim}, "
            f"rule={self.rule!r}, form={self.form!r}, nodes={self.n_nodes})"
        )
