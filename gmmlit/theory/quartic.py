"""The local quartic model of the loss along the ravine, evaluated on the rule nodes.

The Polyak step on this quartic is :mod:`gmmlit.theory.quartic_polyak`; gradient descent on a
quartic, :mod:`gmmlit.theory.quartic_descent`.

Derivation of the quartic term
------------------------------
Let ``theta*`` be an exact minimiser (``mu_i = mu*_{sigma(i)}``, cluster weights equal
to the teacher weights) and ``v`` a direction. Write ``r_j = x - mu*_j``,
``psi*_j`` for the teacher responsibilities and ``j = sigma(i)``. Since
``phi(r - t v) = phi(r) exp(t v.r - t^2 |v|^2 / 2)``,

.. math::

    R_t(x) = \\frac{p_{\\theta^*+tv}(x)}{p^*(x)}
           = \\sum_j \\psi^*_j(x) \\sum_{i\\in S_j} \\frac{\\pi_i}{\\pi^*_j}
             \\exp\\bigl(t\\, v_i\\cdot r_j - \\tfrac{t^2}{2}|v_i|^2\\bigr).

Expanding the exponential, ``R_t = 1 + t c_1 + t^2 c_2 + O(t^3)`` with

.. math::

    c_1 = \\sum_j \\psi^*_j \\Bigl(\\sum_{i\\in S_j}\\tfrac{\\pi_i}{\\pi^*_j} v_i\\Bigr)\\cdot r_j,
    \\qquad
    c_2 = \\tfrac12 \\sum_j \\psi^*_j \\bigl\\langle A_j/\\pi^*_j,\\; r_j r_j^\\top - I\\bigr\\rangle,
    \\quad A_j = \\sum_{i\\in S_j}\\pi_i v_i v_i^\\top .

(``c_2`` holds for every ``v``: the ``t^2`` coefficient of ``exp(t a - t^2 b / 2)`` is
``(a^2 - b) / 2``.) The tangent space enters through ``c_1``: on
``T = {v : sum_{i in S_j} pi_i v_i = 0 for all j}`` it vanishes identically, so
``R_t - 1 = t^2 c_2 + O(t^3)``. The loss is
``L = E_{p*}[e^s - 1 - s]`` with ``e^s = R_t``, and pointwise
``R - 1 - log R = (R - 1)^2 / 2 + O((R - 1)^3)``, hence

.. math::

    L(\\theta^* + t v) = t^4 Q(v) + O(t^5), \\qquad
    Q(v) = \\tfrac12\\,\\mathbb E_{p^*}[c_2^2]
         = \\tfrac18\\,\\mathbb E_{p^*}\\Bigl[\\Bigl(\\sum_j \\psi^*_j
           \\langle A_j/\\pi^*_j,\\, r_j r_j^\\top - I\\rangle\\Bigr)^2\\Bigr].

The expansion is pointwise in ``x``, so with the Bregman form it holds for the
*discretised* loss with the expectation replaced by the rule: :func:`quartic_form`
evaluates it on the nodes of the objective's rule and is the exact limit of
``L(theta* + t v) / t^4`` of that discretised objective.

Well separated teachers: ``psi*_j psi*_k -> 0`` for ``j != k`` and ``psi*_j^2 -> psi*_j``, so
``Q -> (1/8) sum_j pi*_j E_z[<S_j, z z^T - I>^2] = (1/4) sum_j pi*_j ||S_j||_F^2`` with
``S_j = A_j / pi*_j`` (``E[<S, zz^T - I>^2] = 2 ||S||_F^2`` for symmetric ``S``), i.e.
``sum_j ||A_j||_F^2 / (4 pi*_j)`` (:func:`separated_limit`). For ``m = 1`` it is exact:
``Q = ||sum_i pi_i v_i v_i^T||_F^2 / 4``.

The ravine bends: the quartic term along the ravine
-----------------------------------------------------
``Q`` is the quartic coefficient along the *straight* line ``theta* + t v``. The ravine
point over ``t v`` also moves a little in the normal space: a normal move ``u`` with
cluster-centre shifts ``w_j = sum_{i in S_j} pi_i u_i / pi*_j`` changes ``R`` at first
order by ``l_w(x) = sum_j psi*_j w_j . r_j``. With ``u = t^2 u_2`` the ravine point has
``R - 1 = t^2 (c_2 + l_w) + O(t^3)``, and minimising over ``w``,

.. math::

    Q_M(v) = \\tfrac12 \\min_w \\mathbb E_{p^*}[(c_2 + l_w)^2]
           = Q(v) - \\tfrac12\\, b^\\top F^{-1} b,
    \\quad F = \\mathbb E[\\ell \\ell^\\top],\\ b = \\mathbb E[c_2 \\ell],

``ell_{(j, a)} = psi*_j (r_j)_a`` the teacher's own scores for its means. So
``Q_M <= Q``, with equality when ``c_2`` is orthogonal to the scores: for ``m = 1``
by parity (``c_2`` is even in ``x - mu*``, the scores odd) and asymptotically for well
separated teachers. For ``m >= 2`` and overlapping components the straight-line
``Q`` overestimates the loss along the ravine (for example ``Q_M / Q`` between 0.63 and
0.72, depending on the direction, for two components at distance 2 in ``d = 1``). The optimal ``w`` is the second-order cluster
bias of the ravine point (:func:`ravine_cluster_bias`). By the envelope theorem the
gradient of ``L`` at the ravine point is, to leading order, the tangent part of
``grad Q_M`` (:func:`ravine_quartic_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry import check_assignment, cluster_weights, tangent_projector
from ..core.mixture import Mixture
from ..core.objective import PopulationKL
from ..core.validation import check_means, check_positive_int

#: Cluster weights and teacher weights closer than this count as an exact grouping.
EXACT_GROUPING_TOL = 1e-9


# ---------------------------------------------------------------------- validation
def _check_objective(objective):
    if not isinstance(objective, PopulationKL):
        raise TypeError(f"objective must be a gmmlit PopulationKL, got {type(objective).__name__}")
    return objective


def _check_setting(objective, means_star, assignment, v):
    """Validate ``(objective, means_star, assignment, v)``; return ``(assignment, v)``."""
    objective = _check_objective(objective)
    teacher = objective.teacher
    n, m = objective.n_components, teacher.n_components
    a = check_assignment(assignment, n, m)
    star = objective.check_means(means_star, "means_star")
    if not np.allclose(star, teacher.means[a], rtol=0.0, atol=1e-12 * (1.0 + np.abs(teacher.means).max())):
        raise ValueError("means_star must be the minimiser teacher.means[assignment] (the quartic model lives at theta*)")
    mismatch = np.abs(cluster_weights(objective.weights, a, m) - teacher.weights).max()
    if mismatch > EXACT_GROUPING_TOL:
        raise ValueError(
            f"the student weights do not group exactly onto the teacher weights under assignment "
            f"(largest cluster-weight error {mismatch:.3g}); the quartic model needs Delta_pi = 0"
        )
    v = objective.check_means(v, "v")
    return a, np.asarray(v, dtype=float)


# ---------------------------------------------------------------------- building blocks
def cluster_second_moments(weights, assignment, v, m):
    """``A_j = sum_{i in S_j} pi_i v_i v_i^T`` for ``j = 0..m-1``, shape ``(m, d, d)``.

    Parameters
    ----------
    weights : array_like (n,)
    assignment : array_like of int (n,)
    v : array_like (n, d)
        A direction (typically tangent: ``sum_{i in S_j} pi_i v_i = 0``).
    m : int
        Number of clusters.
    """
    m = check_positive_int(m, "m")
    w = np.asarray(weights, dtype=float)
    v = check_means(v, "v", n_rows=w.shape[0])
    a = check_assignment(assignment, w.shape[0], m)
    out = np.zeros((m, v.shape[1], v.shape[1]))
    np.add.at(out, a, w[:, None, None] * v[:, :, None] * v[:, None, :])
    return out


@dataclass(frozen=True)
class TeacherNodes:
    """The rule's discrete measure for ``E_{p*}`` and the teacher quantities on it.

    Attributes
    ----------
    x : ndarray (N, d)
        Nodes.
    w : ndarray (N,)
        Node weights (summing to 1).
    psi : ndarray (N, m)
        Teacher responsibilities ``psi*_j(x)``.
    r : ndarray (N, m, d)
        Offsets ``x - mu*_j``.
    """

    x: np.ndarray
    w: np.ndarray
    psi: np.ndarray
    r: np.ndarray


def teacher_nodes(objective):
    """:class:`TeacherNodes` of ``objective`` (its rule nodes, teacher responsibilities, offsets)."""
    objective = _check_objective(objective)
    x, w = objective.nodes()
    teacher = objective.teacher
    return TeacherNodes(x, w, teacher.responsibilities(x), x[:, None, :] - teacher.means[None, :, :])


def _centred_quadratics(nodes, s):
    """``<S_j, r_j r_j^T - I>`` at every node and cluster, shape ``(N, m)``."""
    return np.einsum("nja,jab,njb->nj", nodes.r, s, nodes.r) - np.trace(s, axis1=1, axis2=2)[None, :]


def density_ratio_curvature(nodes, teacher_weights, second_moments):
    """``c_2(x) = (1/2) sum_j psi*_j(x) <A_j / pi*_j, r_j r_j^T - I>`` on the nodes, shape ``(N,)``.

    The ``t^2`` coefficient of ``p_{theta* + t v} / p*`` for tangent ``v`` (module docstring).
    """
    s = second_moments / np.asarray(teacher_weights, dtype=float)[:, None, None]
    return 0.5 * np.sum(nodes.psi * _centred_quadratics(nodes, s), axis=1)


def _gradient_from_residual(weights, teacher_weights, assignment, v, nodes, residual):
    """``E[residual * d c_2 / d v_i]``: ``(pi_i / pi*_j) G_j v_i`` with ``G_j = E[residual psi*_j (r_j r_j^T - I)]``."""
    wr = nodes.w * residual
    d = v.shape[1]
    g_mat = np.einsum("n,nj,nja,njb->jab", wr, nodes.psi, nodes.r, nodes.r)
    g_mat -= np.einsum("n,nj->j", wr, nodes.psi)[:, None, None] * np.eye(d)[None]
    ratio = weights / teacher_weights[assignment]
    return ratio[:, None] * np.einsum("iab,ib->ia", g_mat[assignment], v)


def teacher_scores(nodes):
    """Scores of the teacher means ``psi*_j(x) (x - mu*_j)``, flattened to shape ``(N, m d)``."""
    n_nodes = nodes.w.shape[0]
    return (nodes.psi[:, :, None] * nodes.r).reshape(n_nodes, -1)


class QuarticModel:
    """The quartic model at ``theta*`` of one discretised objective, with its nodes cached.

    Parameters
    ----------
    objective : PopulationKL
        Fixes the teacher, the student weights and the rule.
    means_star : array_like (n, d)
        The minimiser ``teacher.means[assignment]``.
    assignment : array_like of int (n,)
        An exact grouping (cluster weights equal to the teacher weights).

    Notes
    -----
    The module-level functions (:func:`quartic_form`, :func:`quartic_gradient`,
    :func:`ravine_quartic_form`, ...) build one and call the method of the same meaning;
    use the class directly to evaluate many directions.
    """

    def __init__(self, objective, means_star, assignment):
        zero = np.zeros((_check_objective(objective).n_components, objective.dim))
        self.assignment, _ = _check_setting(objective, means_star, assignment, zero)
        self.objective = objective
        self.means_star = np.asarray(means_star, dtype=float)
        self.nodes = teacher_nodes(objective)
        self._scores = teacher_scores(self.nodes)
        self._score_fisher = self._scores.T @ (self._scores * self.nodes.w[:, None])
        self._tangent = tangent_projector(objective.weights, self.assignment, objective.dim)

    def _v(self, v):
        return np.asarray(self.objective.check_means(v, "v"), dtype=float)

    def curvature(self, v):
        """``c_2`` on the nodes, shape ``(N,)`` (:func:`density_ratio_curvature`)."""
        teacher = self.objective.teacher
        a = cluster_second_moments(self.objective.weights, self.assignment, self._v(v), teacher.n_components)
        return density_ratio_curvature(self.nodes, teacher.weights, a)

    def form(self, v):
        """``Q(v) = (1/2) E[c_2^2]``."""
        c2 = self.curvature(v)
        return 0.5 * float(self.nodes.w @ (c2 * c2))

    def gradient(self, v):
        """Euclidean gradient of :meth:`form`, shape ``(n, d)``."""
        v = self._v(v)
        return self._residual_gradient(v, self.curvature(v))

    def _residual_gradient(self, v, residual):
        obj = self.objective
        return _gradient_from_residual(obj.weights, obj.teacher.weights, self.assignment, v, self.nodes, residual)

    def _ravine(self, v):
        c2 = self.curvature(v)
        shift = -np.linalg.solve(self._score_fisher, self._scores.T @ (self.nodes.w * c2))
        return c2 + self._scores @ shift, shift

    def ravine_form(self, v):
        """``Q_M(v) = (1/2) min_w E[(c_2 + l_w)^2]``."""
        residual, _ = self._ravine(v)
        return 0.5 * float(self.nodes.w @ (residual * residual))

    def ravine_gradient(self, v):
        """Tangent gradient of :meth:`ravine_form` (envelope theorem), shape ``(n, d)``."""
        v = self._v(v)
        residual, _ = self._ravine(v)
        g = self._residual_gradient(v, residual)
        return (self._tangent @ g.ravel()).reshape(g.shape)

    def ravine_cluster_bias(self, v):
        """Optimal centre shifts ``w*``, shape ``(m, d)``."""
        _, shift = self._ravine(v)
        return shift.reshape(self.objective.teacher.n_components, self.objective.dim)


def quartic_form(objective, means_star, assignment, v):
    """``Q(v) = (1/8) E_{p*}[(sum_j psi*_j <A_j / pi*_j, r_j r_j^T - I>)^2]`` on the rule nodes.

    The limit of ``L(theta* + t v) / t^4`` as ``t -> 0`` for tangent ``v`` (see the
    module docstring for the derivation); defined by the same formula for any ``v``.

    Parameters
    ----------
    objective : PopulationKL
        Fixes the teacher, the student weights and the rule.
    means_star : array_like (n, d)
        The minimiser ``teacher.means[assignment]``.
    assignment : array_like of int (n,)
        An exact grouping (cluster weights equal to the teacher weights).
    v : array_like (n, d)

    Returns
    -------
    float
    """
    return QuarticModel(objective, means_star, assignment).form(v)


def quartic_gradient(objective, means_star, assignment, v):
    """Euclidean gradient of :func:`quartic_form` in ``v`` (all of ``R^{n x d}``), shape ``(n, d)``.

    ``grad_{v_i} Q = E[c_2 d c_2 / d v_i] = (pi_i / pi*_j) G_j v_i`` with
    ``G_j = E[c_2 psi*_j (r_j r_j^T - I)]`` and ``j = sigma(i)``. Apply
    :func:`gmmlit.core.geometry.tangent_projector` for the gradient within ``T``.
    """
    return QuarticModel(objective, means_star, assignment).gradient(v)


def ravine_quartic_form(objective, means_star, assignment, v):
    """``Q_M(v) = (1/2) min_w E[(c_2 + l_w)^2] <= Q(v)``: the quartic coefficient along the ravine.

    The limit of ``L(P_M(theta* + t v)) / t^4`` with ``P_M`` the projection to the ravine
    (:func:`gmmlit.core.geometry.project_to_ravine`), for tangent ``v``. Equal to
    :func:`quartic_form` for ``m = 1`` (up to the rule's symmetry) and for well separated
    teachers; see the module docstring.
    """
    return QuarticModel(objective, means_star, assignment).ravine_form(v)


def ravine_quartic_gradient(objective, means_star, assignment, v):
    """Tangent gradient of :func:`ravine_quartic_form`, shape ``(n, d)``.

    By the envelope theorem (the optimal centre shift is stationary) it is
    ``P_T E[rho d c_2 / d v_i]`` with ``rho = c_2 + l_{w*}``: the leading term of
    ``grad L`` at the ravine point over ``theta* + v``.
    """
    return QuarticModel(objective, means_star, assignment).ravine_gradient(v)


def ravine_cluster_bias(objective, means_star, assignment, v):
    """Optimal cluster-centre shifts ``w*`` (shape ``(m, d)``): the ravine point over
    ``theta* + t v`` has cluster bias ``t^2 w* + o(t^2)`` (:func:`gmmlit.core.geometry.cluster_bias`)."""
    return QuarticModel(objective, means_star, assignment).ravine_cluster_bias(v)


def separated_limit(teacher, weights, assignment, v):
    """``sum_j ||A_j||_F^2 / (4 pi*_j)``: the limit of ``Q(v)`` for well separated teachers.

    Equal to ``(1/4) sum_j pi*_j ||S_j||_F^2`` with ``S_j = A_j / pi*_j``; exact for ``m = 1``.
    """
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    a = cluster_second_moments(weights, assignment, v, teacher.n_components)
    return float(np.sum(a * a, axis=(1, 2)) @ (1.0 / (4.0 * teacher.weights)))


def separated_limit_gradient(teacher, weights, assignment, v):
    """Gradient of :func:`separated_limit` in ``v``: ``pi_i A_j v_i / pi*_j`` for ``i in S_j``, shape ``(n, d)``.

    From ``d ||A_j||_F^2 / d v_i = 4 pi_i A_j v_i``. For ``m = 1`` it is the exact gradient of
    ``Q``; apply :func:`gmmlit.core.geometry.tangent_projector` for the gradient within ``T``.
    """
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    a = cluster_second_moments(weights, assignment, v, teacher.n_components)
    assignment = np.asarray(assignment)
    ratio = np.asarray(weights, dtype=float) / teacher.weights[assignment]
    return ratio[:, None] * np.einsum("iab,ib->ia", a[assignment], np.asarray(v, dtype=float))


def one_component_model(weights, dim):
    """The exact quartic of a one-component teacher on ``T``, for iterating on directions.

    Returns ``(form, gradient, projector)``: ``form(v) = ||sum_i pi_i v_i v_i^T||_F^2 / 4``
    (:func:`separated_limit`, exact for ``m = 1``), ``gradient(v)`` its gradient projected
    onto ``T`` (:func:`separated_limit_gradient`), and the projector onto ``T``. No
    integration rule is involved.
    """
    w = np.asarray(weights, dtype=float)
    dim = check_positive_int(dim, "dim")
    assignment = np.zeros(w.shape[0], dtype=int)
    teacher = Mixture(np.array([1.0]), np.zeros((1, dim)))
    projector = tangent_projector(w, assignment, dim)

    def form(v):
        return separated_limit(teacher, w, assignment, v)

    def gradient(v):
        g = separated_limit_gradient(teacher, w, assignment, v)
        return (projector @ g.ravel()).reshape(g.shape)

    return form, gradient, projector


def fisher_information(objective, means):
    """``E_{p*}[g g^T]`` on the rule nodes, ``g_i(x) = psi_i(x) (x - mu_i)``; shape ``(n d, n d)``.

    Index ``i*d + a`` as in :meth:`PopulationKL.hessian`. At ``theta*`` it equals the
    Hessian of the population loss (``E_{p*}[grad^2 p_theta / p_theta] = 0`` there).
    """
    objective = _check_objective(objective)
    means = objective.check_means(means)
    x, w = objective.nodes()
    psi = Mixture(objective.weights, means).responsibilities(x)
    g = (psi[:, :, None] * (x[:, None, :] - means[None, :, :])).reshape(x.shape[0], -1)
    return g.T @ (g * w[:, None])
