"""The local quartic model of the loss along the ravine, evaluated on the rule nodes.

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

Why the Polyak factor is 3/4 along the method's iterates
--------------------------------------------------------
For a homogeneous quartic ``Q`` on ``T`` the Polyak step ``v+ = v - Q / |g|^2 g``
(``g = grad Q(v)``) shrinks ``|v|`` by ``sqrt(1 - 7 Q^2 / (|g|^2 |v|^2))``, which is
``3/4`` exactly when ``g`` is parallel to ``v`` and larger otherwise (Cauchy-Schwarz with
Euler's identity ``<g, v> = 4 Q``). The step is scale-equivariant, so it induces a map on
directions ``u = v / |v|``. Split ``g = 4 q u + g_perp`` with ``q = Q(u)`` and ``g_perp``
the Riemannian gradient of ``q`` on the unit sphere of ``T``. With ``x = g_perp / (4 q)``
and ``rho = |x|``, ``|g|^2 = 16 q^2 (1 + rho^2)`` and exactly

.. math:: v_+ = \\frac{(3 + 4\\rho^2)\\, u - x}{4 (1 + \\rho^2)}, \\qquad
          u_+ = \\frac{(3 + 4\\rho^2) u - x}{|(3 + 4\\rho^2) u - x|}
              = \\frac{u - \\nabla_S q(u) / (12\\, q(u))}{|\\cdot|} + O(\\rho^3),

(the two directions differ by the angle ``atan(rho/3) - atan(rho/(3 + 4 rho^2)) <= 4 rho^3/9``):
a Riemannian **gradient-descent** step on ``q`` over the sphere, with step
``1 / (12 q)``. The directions therefore drift towards local *minimisers* of ``Q`` on
the unit sphere of ``T`` (maximisers are repelling), where ``g`` is parallel to ``v`` and
the factor is exactly ``3/4``; near such a minimiser ``u*`` the misalignment contracts
per step by the multipliers ``1 - lambda_k / (12 q(u*))``, ``lambda_k`` the eigenvalues of
the Riemannian Hessian of ``q`` at ``u*`` (:func:`direction_map_multipliers`).
In words: the step length ``Q / |g|^2`` is matched to the radial part of the gradient;
an off-radial part makes the step shorter and tilts the new point against
``g_perp``, i.e. downhill on the sphere, so the iterate lines up with the flattest
direction of the quartic. This is why the factor measured along the iterates stays near
``3/4`` while at random ravine points it is spread out (``m = 1``, random
``Dirichlet(1)`` weights, ``n <= 6``, ``d <= 2``: from 0.75 to 0.994, median 0.80).

On the ravine of the true loss the quartic is ``Q_M`` (previous section) and the gradient
is its tangent gradient; project -> Polyak -> project iterates follow this direction map
up to ``O(|v|)`` terms (measured on the triangle teacher of side 4 with ``n = 6``: factor
0.7502 and angle 1.5 degrees after 10 steps from one start, 0.7511 and 3.6 degrees after
12 from another; the slowest multiplier there is 0.989, so the last degrees of alignment
take tens of steps).

The alignment is *not* guaranteed: it needs ``|1 - lambda_k / (12 q)| < 1``, i.e. every
``lambda_k < 24 q(u*)``. For ``m = 1, d = 1`` the quartic is
``Q = (v^T D v)^2 / 4`` with ``D`` the compression of ``diag(pi)`` to ``T``, the
multipliers are ``1 - (s_k / s_min - 1) / 3`` (``s_k`` the eigenvalues of ``D`` on ``T``), and
the minimiser is stable iff ``s_max < 7 s_min``. With very unequal weights (e.g. a
student of weight ``0.02`` among weights ``~0.2`` in ``d = 2``) the minimiser is
unstable and the directions settle on another invariant set (a relative equilibrium
under the rotations of ``R^d``) with a constant factor above ``3/4`` (``0.865`` in that
example): still linear, but slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry import check_assignment, cluster_weights, tangent_projector
from ..core.mixture import Mixture
from ..core.objective import Evaluation, PopulationKL
from ..optim.steps import polyak_from_evaluation
from ..core.validation import _as_float_array, check_finite_float, check_means, check_positive_float, check_positive_int, check_rng

#: Cluster weights and teacher weights closer than this count as an exact grouping.
EXACT_GROUPING_TOL = 1e-9

#: Relative tolerance on Euler's identity ``<g, v> = 4 Q`` in :func:`polyak_quartic_factor`.
EULER_TOL = 1e-6


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


# ---------------------------------------------------------------------- Polyak on a quartic
def polyak_quartic_factor(q, grad_q, v):
    """Distance factor ``|v+| / |v| = sqrt(1 - 7 Q^2 / (|grad Q|^2 |v|^2))`` of a Polyak step on a
    homogeneous quartic (target value 0).

    From ``|v+|^2 = |v|^2 - 2 (Q / |g|^2) <g, v> + Q^2 / |g|^2`` and Euler's identity
    ``<g, v> = 4 Q``. Between ``3/4`` (``g`` parallel to ``v``) and 1; nothing here forces
    the lower bound (no clip), so a test of ``>= 3/4`` tests the formula and its inputs.

    Raises
    ------
    ValueError
        If ``q < 0``, ``grad_q`` or ``v`` is zero, or the ratio exceeds the Cauchy-Schwarz
        bound ``7/16`` by more than :data:`EULER_TOL` (then ``q``, ``grad_q``, ``v`` do not
        come from a homogeneous quartic).
    """
    q = check_finite_float(q, "q")
    if q < 0:
        raise ValueError(f"q must be >= 0 (a quartic loss model), got {q}")
    g = np.asarray(grad_q, dtype=float)
    v = np.asarray(v, dtype=float)
    if g.shape != v.shape:
        raise ValueError(f"grad_q and v must have the same shape, got {g.shape} and {v.shape}")
    gg, vv = float(np.sum(g * g)), float(np.sum(v * v))
    if not (np.isfinite(gg) and gg > 0):
        raise ValueError("grad_q must be finite and nonzero")
    if not (np.isfinite(vv) and vv > 0):
        raise ValueError("v must be finite and nonzero")
    ratio = 7.0 * q * q / (gg * vv)
    if ratio > 7.0 / 16.0 * (1.0 + EULER_TOL):
        raise ValueError(
            f"7 q^2 / (|grad_q|^2 |v|^2) = {ratio:.6g} exceeds 7/16: q and grad_q do not satisfy "
            f"Euler's identity <grad_q, v> = 4 q of a homogeneous quartic"
        )
    return float(np.sqrt(1.0 - ratio))


def quartic_polyak_step(q, grad_q, v, multiplier=1.0):
    """The Polyak step ``v - multiplier * q / |g|^2 g`` on a quartic model (target value 0).

    Delegates to :func:`gmmlit.optim.steps.polyak_from_evaluation`, the single implementation of
    the Polyak step; returns the new point.
    """
    v = np.asarray(v, dtype=float)
    g = np.asarray(grad_q, dtype=float)
    ev = Evaluation(loss=float(q), grad=g, mass=np.ones(v.shape[0]), moment=np.zeros_like(v))
    step = polyak_from_evaluation(v, ev, 0.0, "euclidean", multiplier)
    if step.zero_gradient:
        raise ValueError("grad_q is zero: the Polyak step is undefined")
    return step.means


def angle_degrees(a, b):
    """Angle between two arrays seen as vectors, in degrees (0 when parallel)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    c = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


@dataclass(frozen=True)
class QuarticPolyakTrace:
    """Iterates of Polyak steps on a quartic model (directions renormalised each step).

    Attributes
    ----------
    factors : ndarray (K,)
        ``|v+| / |v|`` of each step.
    angles : ndarray (K,)
        Angle in degrees between ``grad Q(v)`` and ``v`` before each step.
    sphere_values : ndarray (K,)
        ``Q(v / |v|)`` before each step.
    direction : ndarray (n, d)
        Final unit direction.
    """

    factors: np.ndarray
    angles: np.ndarray
    sphere_values: np.ndarray
    direction: np.ndarray


def quartic_polyak_iterates(form, gradient, v0, n_steps, projector=None, multiplier=1.0):
    """Iterate the Polyak step (multiplier ``c``) on a homogeneous quartic model,
    renormalising the direction (the step is scale-equivariant).

    Parameters
    ----------
    form, gradient : callable
        ``v -> Q(v)`` and ``v -> grad Q(v)`` (the gradient within ``T`` for a model of the
        ravine: the loss gradient at a ravine point is tangent).
    v0 : array_like (n, d)
        Start (nonzero).
    n_steps : int
    projector : ndarray (n d, n d) or None
        Projector re-applied after each step (to ``T``), so that rounding errors in the
        normal space, which renormalisation would amplify by ``4/3`` per step, stay at
        rounding level.
    multiplier : float > 0
        The step multiplier ``c`` of :func:`quartic_polyak_step` (``1``: the plain step).

    Returns
    -------
    QuarticPolyakTrace
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    v = check_means(v0, "v0")
    v = np.array(v, dtype=float)
    if not np.any(v):
        raise ValueError("v0 must be nonzero")
    v /= np.linalg.norm(v)
    factors, angles, values = [], [], []
    for _ in range(n_steps):
        q, g = form(v), np.asarray(gradient(v))
        values.append(q)
        angles.append(angle_degrees(g, v))
        new = quartic_polyak_step(q, g, v, multiplier)
        if projector is not None:
            new = (projector @ new.ravel()).reshape(new.shape)
        factors.append(float(np.linalg.norm(new)))
        v = new / np.linalg.norm(new)
    return QuarticPolyakTrace(np.array(factors), np.array(angles), np.array(values), v)


def direction_map_multipliers(form, gradient, direction, basis, step=1e-4):
    """Multipliers ``1 - lambda_k / (12 q)`` of the linearised Polyak direction map at a
    critical direction ``u`` of ``Q`` on the unit sphere of ``span(basis)``.

    ``lambda_k`` are the eigenvalues of the Riemannian Hessian
    ``P (grad^2 Q(u) - 4 q I) P`` (``P`` the projector onto ``u^perp`` in the span,
    ``q = Q(u)``), with ``grad^2 Q`` from central differences of ``gradient`` (``step``).
    The direction ``u`` is a stable fixed point of the map when all multipliers lie in
    ``(-1, 1)``; the multiplier 1 belongs to directions along which ``Q`` is constant (the
    rotations of ``R^d``). Returns the multipliers in increasing order.
    """
    step = check_positive_float(step, "step")
    u = np.asarray(direction, dtype=float)
    shape = u.shape
    b = np.asarray(basis, dtype=float)
    c0 = b.T @ u.ravel()
    c0 = c0 / np.linalg.norm(c0)
    k = b.shape[1]
    hess = np.zeros((k, k))
    for col in range(k):
        e = np.zeros(k)
        e[col] = step
        gp = b.T @ np.asarray(gradient((b @ (c0 + e)).reshape(shape))).ravel()
        gm = b.T @ np.asarray(gradient((b @ (c0 - e)).reshape(shape))).ravel()
        hess[:, col] = (gp - gm) / (2 * step)
    hess = 0.5 * (hess + hess.T)
    q = float(form((b @ c0).reshape(shape)))
    # orthonormal basis of the tangent space of the sphere at c0 (the complement of c0)
    sphere_tangent = np.linalg.svd(np.eye(k) - np.outer(c0, c0))[0][:, : k - 1]
    riem = sphere_tangent.T @ (hess - 4.0 * q * np.eye(k)) @ sphere_tangent
    return np.sort(1.0 - np.linalg.eigvalsh(riem) / (12.0 * q))


def ravine_gradient_tolerance(distance, relative=1e-10):
    """A tolerance on the normal gradient for :func:`gmmlit.core.geometry.project_to_ravine` at
    distance ``distance`` from ``theta*``: ``relative * distance^3``.

    Along the ravine the gradient is ``O(distance^3)`` (``4 Q`` times ``distance^3``), so an
    absolute tolerance either stops Newton before the normal gradient is small compared
    with it (close to ``theta*``) or can never be met (then every call runs the maximal
    number of Newton steps); scaling with ``distance^3`` keeps the normal gradient a fixed
    small fraction of the tangent one.
    """
    distance = check_positive_float(distance, "distance")
    relative = check_positive_float(relative, "relative")
    return relative * distance ** 3


# ---------------------------------------------------------------------- gradient descent on a quartic
def gradient_descent(gradient, x0, step, n_steps):
    """Iterates ``x_{t+1} = x_t - step * gradient(x_t)``, shape ``(n_steps + 1, *x0.shape)``."""
    step = check_positive_float(step, "step")
    n_steps = check_positive_int(n_steps, "n_steps")
    x = np.array(x0, dtype=float)
    out = np.empty((n_steps + 1,) + x.shape)
    out[0] = x
    for t in range(n_steps):
        x = x - step * gradient(x)
        out[t + 1] = x
    return out


def gradient_descent_on_quartic(a, step, x0, n_steps):
    """Iterates of ``x_{t+1} = x_t - 4 a step x_t^3`` (:func:`gradient_descent` on ``q(x) = a x^4``).

    Returns an array of shape ``(n_steps + 1,)`` starting with ``x0``. Asymptotically
    ``x_t ~ 1 / sqrt(8 a step t)`` and ``q(x_t) ~ 1 / (64 a step^2 t^2)`` (derived in
    :func:`gmmlit.theory.symbolic.check_gd_quartic_asymptotics`).
    """
    a = check_positive_float(a, "a")
    step = check_positive_float(step, "step")
    x0 = check_finite_float(x0, "x0")
    if 4.0 * a * step * x0 * x0 >= 1.0:
        raise ValueError("4 a step x0^2 must be < 1 (otherwise the iteration overshoots and need not converge)")
    return gradient_descent(lambda x: 4.0 * a * x ** 3, x0, step, n_steps)


# ---------------------------------------------------------------------------- one Polyak step on the quartic, with a multiplier
def random_direction_factors(form, gradient, basis, shape, n_directions, seed=0, multiplier=1.0):
    """Distance factors ``|v+| / |v|`` of one Polyak step on a quartic model from random unit
    directions of ``span(basis)``.

    Parameters
    ----------
    form, gradient : callable
        ``v -> Q(v)`` and ``v -> grad Q(v)`` for ``v`` of shape ``shape``.
    basis : array_like (N, k)
        Orthonormal columns (flat vectors of length ``N = prod(shape)``), e.g. of ``T``.
    shape : tuple
        Shape of a direction, ``(n, d)``.
    n_directions : int
    seed : int
    multiplier : float
        ``1``: :func:`polyak_quartic_factor`; otherwise the factor of
        :func:`quartic_polyak_step` computed directly.
    """
    n_directions = check_positive_int(n_directions, "n_directions")
    multiplier = check_positive_float(multiplier, "multiplier")
    b = _as_float_array(basis, "basis")
    rng = check_rng(seed, "seed")
    out = []
    for _ in range(n_directions):
        c = rng.standard_normal(b.shape[1])
        v = (b @ (c / np.linalg.norm(c))).reshape(shape)
        q, g = form(v), np.asarray(gradient(v)).reshape(shape)
        if multiplier == 1.0:
            out.append(polyak_quartic_factor(q, g, v))
        else:
            out.append(float(np.linalg.norm(quartic_polyak_step(q, g, v, multiplier))))
    return np.array(out)


def polyak_multiplier_identity(n_vars=3):
    """sympy: ``|v - c Q g / |g|^2|^2 - (|v|^2 - (8c - c^2) Q^2 / |g|^2)`` with Euler's
    identity ``Q = <g, v> / 4`` imposed, simplified; it is ``0`` for every ``c``.

    ``v`` and ``g`` are symbolic vectors with ``n_vars`` entries; ``c`` is the step
    multiplier. (The case ``c = 1`` is :func:`gmmlit.theory.symbolic.check_polyak_quartic_step`.)
    """
    import sympy as sp

    k = check_positive_int(n_vars, "n_vars", minimum=2)
    v = sp.Matrix(sp.symbols(f"v1:{k + 1}", real=True))
    g = sp.Matrix(sp.symbols(f"g1:{k + 1}", real=True))
    c = sp.Symbol("c", positive=True)
    gg, vv, gv = (g.T * g)[0, 0], (v.T * v)[0, 0], (g.T * v)[0, 0]
    q = gv / 4
    v_plus = v - c * q / gg * g
    return sp.simplify((v_plus.T * v_plus)[0, 0] - vv + (8 * c - c ** 2) * q ** 2 / gg)


def factor_squared_with_multiplier(cos_angle, multiplier):
    """``|v+|^2 / |v|^2 = 1 - (8c - c^2) cos^2 / 16`` for a Polyak step with multiplier ``c``
    on a homogeneous quartic, ``cos`` the cosine between ``grad Q(v)`` and ``v``.

    From ``|v+|^2 = |v|^2 - (8c - c^2) Q^2 / |g|^2`` and ``Q = |g| |v| cos / 4`` (Euler).
    """
    c = check_positive_float(multiplier, "multiplier")
    cos = _as_float_array(cos_angle, "cos_angle")
    return 1.0 - (8 * c - c * c) * cos * cos / 16.0


def direction_map_step(q, multiplier=1.0):
    """Step ``c / (4 q (4 - c))`` of the Riemannian gradient step on ``Q`` over the unit
    sphere that one Polyak step with multiplier ``c < 4`` induces on directions
    (``1 / (12 q)`` for ``c = 1``, as in :func:`quartic_polyak_iterates`)."""
    q = check_positive_float(q, "q")
    c = check_positive_float(multiplier, "multiplier")
    if c >= 4:
        raise ValueError(f"multiplier must be < 4 (at 4 the radial part is removed entirely), got {c}")
    return c / (4.0 * q * (4.0 - c))


def rescale_direction_multipliers(multipliers, multiplier):
    """Multipliers of the linearised direction map for step multiplier ``c``, from those for
    ``c = 1`` (:func:`direction_map_multipliers`): ``1 - 3 c (1 - mu) / (4 - c)``.

    The eigenvalues ``lambda_k`` of the Riemannian Hessian enter as
    ``1 - step * lambda_k`` with the step of :func:`direction_map_step`.
    """
    mu = _as_float_array(multipliers, "multipliers")
    c = check_positive_float(multiplier, "multiplier")
    if c >= 4:
        raise ValueError(f"multiplier must be < 4, got {c}")
    return 1.0 - 3.0 * c * (1.0 - mu) / (4.0 - c)
