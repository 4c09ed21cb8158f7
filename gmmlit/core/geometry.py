"""Minimisers, the weight condition, and the local geometry at a minimiser.

A student's *assignment* ``sigma`` groups the ``n`` students into clusters ``S_j`` around the
``m`` teacher components, with cluster weights ``w_j`` and weight mismatch
``Delta_pi = sum_j |w_j - pi*_j|`` (:mod:`gmmlit.core.assignment`, where the grouping search
:func:`best_assignment` lives; its names are re-exported here). When some assignment has
``Delta_pi = 0`` the point ``mu_i = mu*_{sigma(i)}`` reproduces the teacher exactly, so
``L = 0 = min L``.
"""

from __future__ import annotations

import numpy as np

from .assignment import (  # noqa: F401  (re-exported: the geometry's public names)
    ASSIGNMENT_TIME_LIMIT,
    EXACT_MAX_STUDENTS,
    GROUPING_TOL,
    AssignmentResult,
    _check_teacher,
    best_assignment,
    check_assignment,
    cluster_weights,
    weight_mismatch,
)
from .mixture import Mixture
from .types import ArrayLike, FloatArray, IntArray, Objective
from .validation import check_means, check_positive_float, check_weights


def minimizer(teacher: Mixture, weights: ArrayLike, *, tol: float = GROUPING_TOL) -> tuple[FloatArray, IntArray]:
    """The global minimiser ``theta*`` of the population KL when the weights group exactly.

    Returns
    -------
    means_star : ndarray, shape (n, d)
        ``mu_i = mu*_{sigma(i)}``.
    assignment : ndarray of int, shape (n,)

    The grouping is :func:`best_assignment`'s, so every exact grouping (``Delta_pi <= tol``
    with the default ``tol = GROUPING_TOL``) is found for ``n <= EXACT_MAX_STUDENTS``.
    A teacher with duplicated components (equal means) is merged first, with a
    :class:`~gmmlit.core.warning_types.DuplicateComponentsWarning`: students may then group
    to the *summed* weight of the copies, and the assignment points at the first copy.

    Raises
    ------
    ValueError
        If no assignment has ``Delta_pi <= tol``; the message reports the best
        achievable ``Delta_pi``. Use :func:`best_assignment` for arbitrary weights.
    """
    tol = check_positive_float(tol, "tol", allow_zero=True)
    result = best_assignment(teacher, weights)
    a, dpi = result
    if dpi > tol:
        proof = ("so L* > 0 and the minimiser is not theta* = teacher means" if result.certified
                 else f"(not proved optimal: the proved lower bound is {result.lower_bound:.3g})")
        raise ValueError(
            f"the student weights cannot be grouped to match the teacher weights: the best "
            f"achievable weight mismatch is Delta_pi = {dpi:.3g} > {tol:g}, {proof}; use "
            f"best_assignment() for arbitrary weights"
        )
    return teacher.means[a].copy(), a


def nearest_assignment(teacher: Mixture, means: ArrayLike) -> IntArray:
    """Hard assignment of each student mean to its nearest teacher mean (may not be onto)."""
    teacher = _check_teacher(teacher)
    means = check_means(means, "means", dim=teacher.dim)
    d2 = ((means[:, None, :] - teacher.means[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def current_delta_pi(teacher: Mixture, weights: ArrayLike, means: ArrayLike) -> float:
    """``Delta_pi`` of the current state: students hard-assigned to the nearest teacher mean."""
    a = nearest_assignment(teacher, means)
    w = check_weights(weights, "weights")
    return weight_mismatch(teacher.weights, w, a)


def distance(means: ArrayLike, means_star: ArrayLike) -> float:
    """Euclidean (Frobenius) distance ``|theta - theta*|``."""
    return float(np.linalg.norm(np.asarray(means) - np.asarray(means_star)))


def cluster_bias(teacher: Mixture, weights: ArrayLike, means: ArrayLike, assignment: ArrayLike) -> float:
    """Weighted cluster centres minus teacher means, shape ``(m, d)``.

    ``b_j = sum_{i in S_j} pi_i mu_i / w_j - mu*_j``: the normal-space ("across the
    ravine") part of the error.
    """
    m = teacher.n_components
    w = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    wj = cluster_weights(w, assignment, m)
    centre = np.zeros((m, means.shape[1]))
    np.add.at(centre, assignment, w[:, None] * means)
    return centre / wj[:, None] - teacher.means


def intra_cluster_dispersion(teacher: Mixture, weights: ArrayLike, means: ArrayLike, assignment: ArrayLike) -> float:
    """Weighted spread inside each cluster, shape ``(m,)``.

    ``D_j = sum_{i in S_j} (pi_i / w_j) |mu_i - c_j|^2`` with ``c_j`` the weighted
    cluster centre: the tangent ("along the ravine") part of the error.
    """
    m = teacher.n_components
    w = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    wj = cluster_weights(w, assignment, m)
    centre = cluster_bias(teacher, w, means, assignment) + teacher.means
    sq = ((means - centre[assignment]) ** 2).sum(axis=1)
    return np.bincount(assignment, weights=w * sq, minlength=m) / wj


def normal_basis(weights, assignment, dim):
    """Orthonormal basis of the normal space ``N = T^perp`` at ``theta*``, shape ``(n d, m d)``.

    ``N`` is spanned, for each cluster ``j`` and coordinate ``a``, by the vector with
    entries ``pi_i e_a`` on the students ``i in S_j``: moving a cluster's weighted centre.
    """
    w = np.asarray(weights, dtype=float)
    a = np.asarray(assignment)
    n, m = w.shape[0], int(a.max()) + 1
    cols = []
    for j in range(m):
        v = np.where(a == j, w, 0.0)
        v = v / np.linalg.norm(v)
        for k in range(dim):
            e = np.zeros((n, dim))
            e[:, k] = v
            cols.append(e.ravel())
    return np.stack(cols, axis=1)


def normal_projector(weights: ArrayLike, assignment: ArrayLike, dim: int) -> FloatArray:
    """Orthogonal projector onto the normal space ``N``, shape ``(n d, n d)``."""
    b = normal_basis(weights, assignment, dim)
    return b @ b.T


def tangent_projector(weights: ArrayLike, assignment: ArrayLike, dim: int) -> FloatArray:
    """Orthogonal projector onto ``T = {v : sum_{i in S_j} pi_i v_i = 0 for all j}``."""
    w = np.asarray(weights)
    return np.eye(w.shape[0] * dim) - normal_projector(weights, assignment, dim)


def tangent_basis(weights: ArrayLike, assignment: ArrayLike, dim: int) -> FloatArray:
    """Orthonormal basis of ``T``, shape ``(n d, (n - m) d)``, fixed by ``T`` alone.

    Built in closed form, cluster by cluster: for the students ``S_j`` with weights ``w``,
    the Householder reflection ``I - 2 u u^T`` that maps ``e_1`` to ``w / |w|`` has as its
    other columns an orthonormal basis of ``w^perp``, and each such column, times each
    coordinate vector of ``R^d``, is a tangent direction. The columns are ordered by
    cluster, student and coordinate. No eigensolver is involved: an eigenbasis of the
    projector (eigenvalue 1 of multiplicity ``(n - m) d``) would come out in a rotation that
    changes with the BLAS kernel, and every direction drawn as ``basis @ z`` with it.
    """
    w = np.asarray(weights, dtype=float)
    a = np.asarray(assignment)
    n = w.shape[0]
    cols = []
    for j in range(int(a.max()) + 1):
        members = np.flatnonzero(a == j)
        if members.size < 2:
            continue
        unit = w[members] / np.linalg.norm(w[members])
        u = unit.copy()
        u[0] -= 1.0                     # u = w/|w| - e_1, nonzero since w has >= 2 positive entries
        u /= np.linalg.norm(u)
        reflection = np.eye(members.size) - 2.0 * np.outer(u, u)
        for c in range(1, members.size):
            for k in range(dim):
                e = np.zeros((n, dim))
                e[members, k] = reflection[:, c]
                cols.append(e.ravel())
    return np.stack(cols, axis=1) if cols else np.zeros((n * dim, 0))


def project_to_ravine(objective: Objective, means: ArrayLike, means_star: ArrayLike, assignment: ArrayLike, *,
                      tol: float | None = None, max_iter: int = 50) -> FloatArray:
    """The ravine point with the same tangent part as ``means``.

    Minimises ``L(theta* + v + u)`` over normal vectors ``u`` for the fixed tangent
    part ``v = P_T (theta - theta*)``. The normal space has dimension ``m d``; the
    minimisation is Newton's method on the reduced Hessian ``B^T H B`` with the exact
    Hessian of the discretised objective, which converges quadratically because ``L``
    grows quadratically across the ravine.

    Parameters
    ----------
    tol : float or None
        Stop once the normal part of the gradient is at most ``tol``. ``None`` stops
        once it is at most ``1e-13`` times the whole gradient, or when a Newton step no
        longer halves it (rounding level reached).
    max_iter : int
        Cap on Newton steps.

    Returns
    -------
    ndarray (n, d): the ravine point.
    """
    means = objective.check_means(means)
    star = objective.check_means(means_star, "means_star")
    if tol is not None:
        tol = check_positive_float(tol, "tol", allow_zero=True)
    n, d = means.shape
    basis = normal_basis(objective.weights, assignment, d)
    x = means.ravel() - star.ravel()
    v = x - basis @ (basis.T @ x)
    c = basis.T @ x
    previous = np.inf
    for _ in range(max_iter):
        theta = (star.ravel() + v + basis @ c).reshape(n, d)
        g = objective.grad(theta).ravel()
        gn = basis.T @ g
        size = np.linalg.norm(gn)
        target = tol if tol is not None else 1e-13 * np.linalg.norm(g)
        if size <= target or (tol is None and size > 0.5 * previous):
            break
        previous = size
        hn = basis.T @ objective.hessian(theta) @ basis
        c = c - np.linalg.solve(hn, gn)
    return (star.ravel() + v + basis @ c).reshape(n, d)
