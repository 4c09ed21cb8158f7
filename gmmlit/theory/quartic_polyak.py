"""The Polyak step on the quartic model of the ravine (:mod:`gmmlit.theory.quartic`): its
contraction factor, its iterates, the map it induces on directions, and the same with a step
multiplier.

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

from ..core.objective import Evaluation
from ..core.validation import _as_float_array, check_finite_float, check_means, check_positive_float, check_positive_int, check_rng
from ..optim.steps import polyak_from_evaluation

#: Relative tolerance on Euler's identity ``<g, v> = 4 Q`` in :func:`polyak_quartic_factor`.
EULER_TOL = 1e-6


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
