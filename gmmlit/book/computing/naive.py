"""The floor an integration rule puts under the naive form of the objective, and the exact
reduction to the affine span of the means (chapter "Computing population quantities").

* the floor of the naive form: :class:`~gmmlit.core.quadrature.MonteCarloRule`,
  :func:`gmmlit.core.instances.two_student_model`, :func:`discrete_minimiser`,
  :func:`predicted_naive_offset`, :func:`naive_minimiser_study`, :func:`loss_floor_along_path`,
  :func:`extreme_tangent_curvatures`, :func:`minimal_ravine_options`, :func:`run_floor_study`;
* the exact reduction to the affine span of the means (basis:
  :func:`gmmlit.core.span.affine_span_basis`): :func:`reduce_to_affine_span`,
  :func:`reduced_loss_and_grad`.
"""

from __future__ import annotations

import numpy as np

from ...core.geometry import distance, normal_projector, tangent_basis, tangent_projector
from ...core.span import affine_span_basis
from ...core.instances import two_student_model
from ...core.mixture import Mixture
from ...core.objective import PopulationKL
from ...core.validation import _as_float_array, check_means, check_positive_float, check_positive_int, check_weights
from ...optim.ravine import ravine_method
from ...optim.ravine_options import EMMetricGradientStep, FixedShortSteps, NoSafeguard, PolyakRule, RavineOptions
from ...theory.landscape import loss_along_line
from .rules import probe_point

#: Loss level below which the runs of :func:`run_floor_study` stop: the loss of the accurate rule is
#: then at the rounding level of its own evaluation.
RUN_LOSS_FLOOR = 1e-28


# ============================================================================ the floor of the naive form


def discrete_minimiser(objective, start, *, gtol=1e-12, max_iter=200):
    """Local minimiser of the discretised objective from ``start``.

    Trust-region Newton with the exact Hessian (:meth:`PopulationKL.hessian`), which also
    follows directions of negative curvature out of a saddle.

    Returns
    -------
    means : ndarray (n, d)
    loss : float
    """
    from scipy.optimize import minimize

    x0 = objective.check_means(start, "start")
    shape = x0.shape
    res = minimize(
        lambda x: objective.loss(x.reshape(shape)),
        x0.ravel(),
        jac=lambda x: objective.grad(x.reshape(shape)).ravel(),
        hess=lambda x: objective.hessian(x.reshape(shape)),
        method="trust-exact",
        options={"gtol": gtol, "maxiter": max_iter},
    )
    return res.x.reshape(shape), float(res.fun)


def predicted_naive_offset(z, w):
    """Predicted distance of the naive discrete minimiser from ``theta*`` in :func:`gmmlit.core.instances.two_student_model`.

    With nodes ``z_k``, weights ``w_k`` (mean ``zbar``, covariance ``S``), the naive
    discrete loss at students ``c +- u`` is, to fourth order,
    ``-c.zbar + |c|^2/2 + u^T (I - S) u / 2 + |u|^4 / 4``: its minimiser has ``c = zbar``
    and ``|u|^2 = lambda = max(0, lambda_max(S - I))``, so the distance is
    ``sqrt(2 |zbar|^2 + 2 lambda)``.

    Returns
    -------
    total, tangent, normal : float
        ``sqrt(2|zbar|^2 + 2 lambda)``, ``sqrt(2 lambda)``, ``sqrt(2) |zbar|``.
    """
    z = _as_float_array(z, "z")
    w = check_weights(np.asarray(w, dtype=float) / np.sum(w), "w")
    zbar = w @ z
    cov = (z - zbar).T @ ((z - zbar) * w[:, None])
    lam = max(0.0, float(np.linalg.eigvalsh(cov - np.eye(z.shape[1]))[-1]))
    normal = float(np.sqrt(2.0) * np.linalg.norm(zbar))
    tangent = float(np.sqrt(2.0 * lam))
    return float(np.hypot(normal, tangent)), tangent, normal


def naive_minimiser_study(rule_factory, sizes, seeds, *, dim=2, minimise=True):
    """Distance from ``theta*`` of the naive discrete minimiser of :func:`gmmlit.core.instances.two_student_model`.

    Parameters
    ----------
    rule_factory : callable (n_points, seed) -> IntegrationRule
        E.g. :class:`MonteCarloRule` or :class:`~gmmlit.core.quadrature.SobolRule`.
    sizes : sequence of int
        Numbers of nodes ``N``.
    seeds : sequence of int
    dim : int
    minimise : bool
        If False only the prediction :func:`predicted_naive_offset` is computed (cheap).

    Returns
    -------
    dict of arrays of shape ``(len(sizes), len(seeds))``: ``predicted``,
    ``predicted_tangent``, ``predicted_normal`` and, with ``minimise``, ``distance``,
    ``tangent``, ``normal`` (parts of ``theta_N - theta*`` in ``T`` and ``N``),
    ``min_loss`` (the naive discrete loss there, negative when below ``L(theta*) = 0``),
    ``bregman_loss_at_star``, ``bregman_grad_at_star`` (the Bregman form with the same
    rule at ``theta*``).
    """
    inst = two_student_model(dim)
    pt = tangent_projector(inst.weights, inst.assignment, dim)
    pn = normal_projector(inst.weights, inst.assignment, dim)
    keys = ["predicted", "predicted_tangent", "predicted_normal"]
    if minimise:
        keys += ["distance", "tangent", "normal", "min_loss", "bregman_loss_at_star", "bregman_grad_at_star"]
    out = {k: np.zeros((len(sizes), len(seeds))) for k in keys}
    for a, n_points in enumerate(sizes):
        for b, seed in enumerate(seeds):
            rule = rule_factory(n_points, seed)
            z, w = rule.nodes(inst.teacher)
            out["predicted"][a, b], out["predicted_tangent"][a, b], out["predicted_normal"][a, b] = (
                predicted_naive_offset(z, w)
            )
            if not minimise:
                continue
            naive = inst.objective(rule, form="naive")
            start = inst.means_star + 1e-3 * np.random.default_rng(seed).standard_normal(inst.means_star.shape)
            x, fx = discrete_minimiser(naive, start)
            dx = (x - inst.means_star).ravel()
            out["distance"][a, b] = float(np.linalg.norm(dx))
            out["tangent"][a, b] = float(np.linalg.norm(pt @ dx))
            out["normal"][a, b] = float(np.linalg.norm(pn @ dx))
            out["min_loss"][a, b] = fx
            breg = inst.objective(rule, form="bregman")
            lb, gb = breg.loss_and_grad(inst.means_star)
            out["bregman_loss_at_star"][a, b] = lb
            out["bregman_grad_at_star"][a, b] = float(np.linalg.norm(gb))
    return out


def loss_floor_along_path(instance, objectives, ts, *, kind="tangent", seed=0, direction=None):
    """``L(theta* + t v)`` for each named objective, ``v`` from :func:`probe_point` (or the unit
    vector ``direction`` when given).

    Returns a dict name -> array over ``ts`` (reusing
    :func:`gmmlit.theory.landscape.loss_along_line`).
    """
    if direction is None:
        v = (probe_point(instance, 1.0, kind, seed) - instance.means_star).ravel()
    else:
        v = np.asarray(direction, dtype=float).ravel()
    return {name: loss_along_line(f, instance.means_star, v, ts) for name, f in objectives.items()}


def extreme_tangent_curvatures(objective, instance):
    """The least and largest curvature of ``objective`` along the tangent space at ``theta*``.

    The eigenvalues of ``B^T H B`` (``H`` the Hessian at ``theta*``, ``B`` the tangent basis) and
    their unit eigenvectors ``B u`` as ``(n, d)`` arrays: ``L(theta* + t v) = L(theta*) +
    (lambda / 2) t^2 + O(t^3)`` along them. For the continuum loss both are 0 (the loss is
    quartic along ``T``); a discretised textbook loss has a nonzero ``t^2`` term, negative along
    the first direction whenever ``lambda_min < 0``. The directions are fixed by the objective
    (simple eigenvalues: unique up to sign, and ``t^2`` does not see the sign), not by a draw.

    Returns
    -------
    dict with ``lambda_min``, ``lambda_max``, ``v_min``, ``v_max``.
    """
    star = instance.means_star
    basis = tangent_basis(instance.weights, instance.assignment, instance.d)
    vals, vecs = np.linalg.eigh(basis.T @ objective.hessian(star) @ basis)
    return dict(lambda_min=float(vals[0]), lambda_max=float(vals[-1]),
                v_min=(basis @ vecs[:, 0]).reshape(star.shape), v_max=(basis @ vecs[:, -1]).reshape(star.shape))


def minimal_ravine_options(short_steps=2, step=1.0):
    """The options of :func:`gmmlit.optim.ravine.ravine_method` for the minimal
    ravine method of the chapter on computing: ``short_steps`` preconditioned gradient
    steps ``mu_i - step * grad_i L / E[psi_i]`` (:class:`EMMetricGradientStep`, no over-relaxation),
    then one plain Polyak step with ``f* = 0`` (Euclidean, multiplier 1), no safeguard.

    The short step is in the continuum exactly the EM step, but built on the gradient of
    the discretised objective, so that its fixed points are the stationary points of that
    objective (``theta*`` for the Bregman form), whereas EM from the discretised
    statistics has the stationary points of the textbook form.
    """
    return RavineOptions(short_step=EMMetricGradientStep(size=check_positive_float(step, "step"), relaxation_cap=None),
                         short_phase=FixedShortSteps(check_positive_int(short_steps, "short_steps")),
                         polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0), safeguard=NoSafeguard(),
                         hand_over=None)


def run_floor_study(instance, driving, judge, start, *, blocks=40, short_steps=2, step=1.0):
    """Run the minimal ravine method (:func:`minimal_ravine_options`) for ``blocks`` blocks
    with each driving objective; judge every iterate with ``judge``.

    A run stops early when its own loss is at or below :data:`RUN_LOSS_FLOOR`, which for
    the textbook form includes a negative loss (the method then takes it for the minimum).

    Parameters
    ----------
    instance : Instance
    driving : dict name -> PopulationKL
        The objectives the runs see (e.g. a coarse rule in the naive and Bregman forms).
    judge : PopulationKL
        An accurate objective giving the loss actually reached.

    Returns
    -------
    dict name -> dict with ``loss`` (judged), ``own_loss`` (the driving objective's),
    ``distance`` (to ``theta*``), ``polyak`` (bool) arrays over the iterates, and
    ``stop_reason``.
    """
    blocks = check_positive_int(blocks, "blocks")
    options = minimal_ravine_options(short_steps, step)
    out = {}
    for name, f in driving.items():
        r = ravine_method(f, start, options, max_evals=1 + blocks * (short_steps + 1), tol=RUN_LOSS_FLOOR,
                          record_means=True)
        polyak = np.zeros(r.n_evals, dtype=bool)
        polyak[r.polyak_evals] = True
        out[name] = {
            "loss": np.array([judge.loss(x) for x in r.means_history]),
            "own_loss": r.losses.copy(),
            "distance": np.array([distance(x, instance.means_star) for x in r.means_history]),
            "polyak": polyak,
            "stop_reason": r.stop_reason.value,
        }
    return out


# ============================================================================ reduction to the span of the means
def reduce_to_affine_span(teacher, means):
    """The same problem in coordinates of the affine span ``V`` of all teacher and student means.

    Returns
    -------
    reduced_teacher : Mixture
        Teacher with means ``U^T (mu*_j - o)`` in ``k = dim V`` dimensions.
    reduced_means : ndarray (n, k)
    origin : ndarray (d,)
    basis : ndarray (d, k)
        Orthonormal columns ``U``.
    """
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    mu = check_means(means, "means", dim=teacher.dim)
    origin, basis = affine_span_basis(np.vstack([teacher.means, mu]))
    if basis.shape[1] == 0:  # every mean coincides: any one direction carries the problem
        basis = np.eye(teacher.dim)[:, :1]
    reduced_teacher = Mixture(teacher.weights, (teacher.means - origin) @ basis)
    return reduced_teacher, (mu - origin) @ basis, origin, basis


def reduced_loss_and_grad(teacher, weights, means, rule=None):
    """Loss and gradient computed in the affine span of the means, gradient mapped back to ``R^d``.

    Exact by the reduction proposition: only the ``k <= n + m - 1`` span directions
    carry the integrand, the gradient has no component across the span. ``rule`` is a
    rule for the ``k``-dimensional problem (default: its default rule).
    """
    rt, rm, _, basis = reduce_to_affine_span(teacher, means)
    loss, grad = PopulationKL(rt, weights, rule).loss_and_grad(rm)
    return loss, grad @ basis.T
