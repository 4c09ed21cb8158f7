"""Minimisers, the weight condition, and the local geometry at a minimiser.

An *assignment* ``sigma`` maps each of the ``n`` students onto one of the ``m``
teacher components, onto (every teacher gets at least one student). It groups the
students into clusters ``S_j = sigma^{-1}(j)`` with cluster weights
``w_j = sum_{i in S_j} pi_i``. The weight mismatch of an assignment is

.. math:: \\Delta_\\pi(\\sigma) = \\sum_j |w_j - \\pi^*_j| ,

the l1 distance between cluster weights and teacher weights (twice the total variation
between the two weight vectors). When some assignment has ``Delta_pi = 0`` the point
``mu_i = mu*_{sigma(i)}`` reproduces the teacher exactly, so ``L = 0 = min L``.
"""

from __future__ import annotations

import itertools

import numpy as np

from .mixture import Mixture
from .validation import check_means, check_positive_float, check_weights

#: Two weight sums closer than this are treated as equal when grouping weights.
GROUPING_TOL = 1e-9

#: Largest ``m ** n`` for which :func:`best_assignment` enumerates all assignments.
_EXHAUSTIVE_LIMIT = 2_000_000


def _check_teacher(teacher):
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    return teacher


def check_assignment(assignment, n, m, name="assignment"):
    """Return an integer array of length ``n`` with values in ``0..m-1``, every value used."""
    a = np.asarray(assignment)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n} (one teacher index per student), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(int)
        else:
            raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    if np.any(a < 0) or np.any(a >= m):
        raise ValueError(f"{name} must take values in 0..{m - 1}")
    missing = sorted(set(range(m)) - set(a.tolist()))
    if missing:
        raise ValueError(f"{name} must give every teacher component a student; components {missing} have none")
    return a.astype(int)


def cluster_weights(weights, assignment, m):
    """``w_j = sum_{i in S_j} pi_i`` for ``j = 0..m-1``."""
    return np.bincount(assignment, weights=weights, minlength=m)


def weight_mismatch(teacher_weights, weights, assignment):
    """``Delta_pi = sum_j |w_j - pi*_j|`` of an assignment."""
    m = len(teacher_weights)
    return float(np.sum(np.abs(cluster_weights(weights, assignment, m) - teacher_weights)))


def best_assignment(teacher, weights):
    """The assignment of students to teacher components with the smallest ``Delta_pi``.

    Works for arbitrary weights. Exhaustive over the ``m^n`` onto maps when that is at
    most two million; otherwise a greedy largest-first placement followed by
    single-student moves and pairwise swaps until no move lowers ``Delta_pi`` (then the
    optimum is not guaranteed).

    Returns
    -------
    assignment : ndarray of int, shape (n,)
    delta_pi : float
    """
    teacher = _check_teacher(teacher)
    w = check_weights(weights, "weights")
    pi_star = teacher.weights
    m, n = teacher.n_components, w.shape[0]
    if n < m:
        raise ValueError(f"weights has {n} entries; at least m = {m} students are needed, one per teacher component")
    if m ** n <= _EXHAUSTIVE_LIMIT:
        return _exhaustive(pi_star, w)
    return _local_search(pi_star, w)


def _exhaustive(pi_star, w):
    m, n = len(pi_star), len(w)
    codes = np.array(list(itertools.product(range(m), repeat=n)), dtype=np.int8)
    onto = np.ones(len(codes), dtype=bool)
    for j in range(m):
        onto &= np.any(codes == j, axis=1)
    codes = codes[onto]
    sums = np.stack([(codes == j) @ w for j in range(m)], axis=1)
    mismatch = np.abs(sums - pi_star[None, :]).sum(axis=1)
    k = int(np.argmin(mismatch))
    return codes[k].astype(int), float(mismatch[k])


def _local_search(pi_star, w):
    m, n = len(pi_star), len(w)
    order = np.argsort(-w)
    a = np.empty(n, dtype=int)
    # give each teacher component its largest available student first, then fill greedily
    sums = np.zeros(m)
    for rank, i in enumerate(order):
        j = rank if rank < m else int(np.argmax(pi_star - sums))
        a[i] = j
        sums[j] += w[i]

    def cost(sums):
        return float(np.abs(sums - pi_star).sum())

    improved = True
    while improved:
        improved = False
        best = cost(sums)
        for i in range(n):
            src = a[i]
            if np.sum(a == src) == 1:
                continue
            for dst in range(m):
                if dst == src:
                    continue
                sums[src] -= w[i]
                sums[dst] += w[i]
                c = cost(sums)
                if c < best - 1e-15:
                    a[i], best, improved = dst, c, True
                    src = dst
                else:
                    sums[src] += w[i]
                    sums[dst] -= w[i]
        for i in range(n):
            for k in range(i + 1, n):
                if a[i] == a[k]:
                    continue
                ji, jk = a[i], a[k]
                sums[ji] += w[k] - w[i]
                sums[jk] += w[i] - w[k]
                c = cost(sums)
                if c < best - 1e-15:
                    a[i], a[k], best, improved = jk, ji, c, True
                else:
                    sums[ji] -= w[k] - w[i]
                    sums[jk] -= w[i] - w[k]
    return a, cost(sums)


def minimizer(teacher, weights, *, tol=GROUPING_TOL):
    """The global minimiser ``theta*`` of the population KL when the weights group exactly.

    Returns
    -------
    means_star : ndarray, shape (n, d)
        ``mu_i = mu*_{sigma(i)}``.
    assignment : ndarray of int, shape (n,)

    Raises
    ------
    ValueError
        If no assignment has ``Delta_pi <= tol``; the message reports the best
        achievable ``Delta_pi``. Use :func:`best_assignment` for arbitrary weights.
    """
    a, dpi = best_assignment(teacher, weights)
    if dpi > tol:
        raise ValueError(
            f"the student weights cannot be grouped to match the teacher weights: the best "
            f"achievable weight mismatch is Delta_pi = {dpi:.3g} > {tol:g}, so L* > 0 and the "
            f"minimiser is not theta* = teacher means; use best_assignment() for arbitrary weights"
        )
    return teacher.means[a].copy(), a


def nearest_assignment(teacher, means):
    """Hard assignment of each student mean to its nearest teacher mean (may not be onto)."""
    teacher = _check_teacher(teacher)
    means = check_means(means, "means", dim=teacher.dim)
    d2 = ((means[:, None, :] - teacher.means[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def current_delta_pi(teacher, weights, means):
    """``Delta_pi`` of the current state: students hard-assigned to the nearest teacher mean."""
    a = nearest_assignment(teacher, means)
    w = check_weights(weights, "weights")
    return weight_mismatch(teacher.weights, w, a)


def distance(means, means_star):
    """Euclidean (Frobenius) distance ``|theta - theta*|``."""
    return float(np.linalg.norm(np.asarray(means) - np.asarray(means_star)))


def cluster_bias(teacher, weights, means, assignment):
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


def intra_cluster_dispersion(teacher, weights, means, assignment):
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


def normal_projector(weights, assignment, dim):
    """Orthogonal projector onto the normal space ``N``, shape ``(n d, n d)``."""
    b = normal_basis(weights, assignment, dim)
    return b @ b.T


def tangent_projector(weights, assignment, dim):
    """Orthogonal projector onto ``T = {v : sum_{i in S_j} pi_i v_i = 0 for all j}``."""
    w = np.asarray(weights)
    return np.eye(w.shape[0] * dim) - normal_projector(weights, assignment, dim)


def tangent_basis(weights, assignment, dim):
    """Orthonormal basis of ``T``, shape ``(n d, (n - m) d)``."""
    p = tangent_projector(weights, assignment, dim)
    vals, vecs = np.linalg.eigh(p)
    return vecs[:, vals > 0.5]


def project_to_ravine(objective, means, means_star, assignment, *, tol=None, max_iter=50):
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
