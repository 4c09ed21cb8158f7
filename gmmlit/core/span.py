"""Orthonormal bases of subspaces, fixed by the subspace alone: :func:`canonical_basis` of the
range of a projector, and :func:`affine_span_basis` of the affine span of points (the one span
basis of the package: :func:`gmmlit.core.quadrature.teacher_span_basis` and the reduction of
the chapter on computing use it)."""

from __future__ import annotations

import numpy as np

from .validation import _as_float_array


def canonical_basis(projector, rank):
    """An orthonormal basis of the range of an orthogonal ``projector``, fixed by the range alone.

    The columns ``P e_1, P e_2, ...`` are taken in order and orthonormalised by Gram-Schmidt
    (twice, for orthogonality to rounding); a column is kept when its residual has squared
    norm at least ``1 / (2 d)``. The scan always keeps ``rank`` columns: while fewer are kept,
    the residual projector ``P'`` has trace ``sum_k |P' e_k|^2 >= 1``, so some column has
    ``|P' e_k|^2 >= 1/d``, and a column skipped earlier had then a larger residual still.

    Unlike the eigenvectors or singular vectors of a degenerate eigenvalue (which LAPACK
    returns in an arbitrary rotation that changes with the BLAS kernel), the basis depends on
    the range only, and rounding changes it by rounding only. Every integration rule built on
    it, and every direction drawn as ``basis @ z``, is then the same on every machine.

    Parameters
    ----------
    projector : ndarray (d, d)
        Orthogonal projector onto the subspace.
    rank : int
        Its rank (the dimension of the subspace).

    Returns
    -------
    ndarray (d, rank)
    """
    p = np.asarray(projector, dtype=float)
    d = p.shape[0]
    kept = []
    for k in range(d):
        if len(kept) == rank:
            break
        v = p[:, k].copy()
        for _ in range(2):
            for u in kept:
                v -= (u @ v) * u
        size = float(np.sqrt(v @ v))
        if size * size >= 0.5 / d:
            kept.append(v / size)
    if len(kept) != rank:  # only if `projector` is not a projector of this rank
        raise ValueError(f"projector does not have rank {rank}: found {len(kept)} directions")
    return np.stack(kept, axis=1) if kept else np.zeros((d, 0))


def affine_span_basis(points, tol=1e-10, *, complement=False):
    """Origin and orthonormal basis of the affine span of ``points`` (rows), fixed by the span
    alone (:func:`canonical_basis`).

    The span's dimension is the number of singular values of the differences
    ``points[1:] - points[0]`` above ``tol * max(1, max |difference|)`` (well conditioned); the
    projector onto the span comes from the leading left singular vectors (their span is well
    conditioned, whatever rotation LAPACK returns inside it).

    Parameters
    ----------
    points : array_like, shape (p, d)
    tol : float
        Relative rank tolerance.
    complement : bool
        Also return an orthonormal basis of the span's orthogonal complement.

    Returns
    -------
    origin : ndarray, shape (d,)
        ``points[0]``.
    basis : ndarray, shape (d, k)
        Orthonormal columns spanning the directions of the affine span.
    orthogonal : ndarray, shape (d, d - k)
        Only when ``complement``: orthonormal columns spanning the rest of ``R^d``.
    """
    p = _as_float_array(points, "points")
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"points must be a non-empty 2-D array (rows are points), got shape {p.shape}")
    d = p.shape[1]
    origin = p[0].copy()
    diffs = p[1:] - origin
    if diffs.shape[0] == 0:
        empty = np.zeros((d, 0))
        return (origin, empty, np.eye(d)) if complement else (origin, empty)
    u, sv, _ = np.linalg.svd(diffs.T, full_matrices=False)
    scale = max(1.0, float(np.max(np.abs(diffs))))
    rank = int(np.sum(sv > tol * scale))
    projector = u[:, :rank] @ u[:, :rank].T
    basis = canonical_basis(projector, rank)
    if complement:
        return origin, basis, canonical_basis(np.eye(d) - projector, d - rank)
    return origin, basis
