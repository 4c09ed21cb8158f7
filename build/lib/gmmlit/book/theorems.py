"""Numerical checks of the two theorems of the chapter "The two theorems".

* :func:`normal_spectrum`, :func:`paper_resolution`: the ``d m`` normal eigenvalues of a
  Hessian, and the step ``1 / lambda_max`` and number of short steps
  ``K = ceil(kappa ln(1 / rho))`` computed from them with numpy (independently of
  :func:`gmmlit.optim.methods.start_curvature`, which ``ravine_method`` uses).
* :func:`quartic_sphere_minimum`: the least value ``q`` of the ravine quartic ``Q_M`` on
  the unit sphere of ``T`` (a numerical estimate: the least of several local minima).
* :func:`accuracy_level`: the level ``delta^2 = lambda_1 rho / (c_* q)`` down to which the
  local-linear theorem guarantees the contraction.
* :func:`block_diagnostics`: along a run of the paper's method, at every Polyak base point,
  the tangent size ``|v|``, the normal residual ``|e|`` from the ravine, its normalised size
  ``eps = lambda_1 |e| / (4 q |v|^3)``, the angle between ``grad Q_M(v)`` and ``v``, the
  theorem's per-block bound and the measured block factor.
* :func:`ravine_expansion_errors`: how far the loss and gradient at ravine points are from
  the quartic model (the step of the proof that is not carried out in full).
* :func:`short_step_normal_factors`: the per-step contraction of the normal residual by
  gradient steps, against ``max_k |1 - eta lambda_k|``.
* :func:`exactly_grouped_objective`, :func:`threshold_terms`: the objective with the
  weights rescaled to group exactly, and the terms of the misspecification inequality.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ..core.geometry import cluster_weights, normal_basis, project_to_ravine, tangent_basis, tangent_projector
from ..core.objective import PopulationKL
from ..core.quadrature import TrapezoidRule
from ..core.validation import check_positive_float, check_positive_int
from ..optim.methods import ravine_method
from ..theory.quartic import QuarticModel, angle_degrees

#: Rule of the chapter's runs: the trapezoid rule with step 0.3 on the disc of radius 7
#: (as ``FLOOR_RULE`` of the misspecification chapter), 5127 nodes per teacher component.
THEOREM_RULE = TrapezoidRule(0.3, 7.0)

#: ``eps`` of the tube of the local-linear theorem: a base point ``m(v) + B e`` is in the tube
#: when ``lambda_1 |e| <= eps * 4 q |v|^3``.
TUBE_EPS = 0.25

#: ``c_*`` of :func:`accuracy_level`: ``(16 / (3 e)) (3/4)^3``: one third of the tube's budget for the
#: amplified residual after a block, and the factor ``e`` that bounds ``(rho_s + C |v|)^K / rho_s^K``.
ACCURACY_CONSTANT = 9.0 / (4.0 * np.e)


# ---------------------------------------------------------------------------- spectra and the paper's K
def normal_spectrum(hessian, n_normal):
    """The ``n_normal`` largest eigenvalues of a symmetric matrix, in decreasing order.

    Raises
    ------
    ValueError
        If the smallest of them is not positive (not a start inside the basin).
    """
    n_normal = check_positive_int(n_normal, "n_normal")
    lam = np.sort(np.linalg.eigvalsh(np.asarray(hessian, dtype=float)))[::-1][:n_normal]
    if lam.size < n_normal or not lam[-1] > 0.0:
        raise ValueError(f"the {n_normal} largest eigenvalues must be positive, got {lam}")
    return lam


def paper_resolution(objective, means0, normal_reduction):
    """``(eta, K, kappa)`` from the Hessian at ``means0``, computed here with numpy.

    ``eta = 1 / lambda_max``, ``kappa = lambda_1 / lambda_{d m}`` and
    ``K = ceil(kappa ln(1 / normal_reduction))``, the rule the local-linear theorem asks for.
    """
    normal_reduction = check_positive_float(normal_reduction, "normal_reduction", maximum=1.0)
    d, m = objective.dim, objective.teacher.n_components
    lam = normal_spectrum(objective.hessian(means0), d * m)
    kappa = float(lam[0] / lam[-1])
    return 1.0 / float(lam[0]), int(np.ceil(kappa * np.log(1.0 / normal_reduction))), kappa


def short_step_factor(normal_eigenvalues, step):
    """``max_k |1 - step lambda_k|``: contraction of the normal error by one gradient step."""
    lam = np.asarray(normal_eigenvalues, dtype=float)
    return float(np.max(np.abs(1.0 - check_positive_float(step, "step") * lam)))


def accuracy_level(lambda_1, q, normal_reduction, constant=ACCURACY_CONSTANT):
    """``delta^2 = lambda_1 rho / (c_* q)``: the theorem guarantees the contraction while ``|v|^2 >= delta^2``."""
    return float(lambda_1) * float(normal_reduction) / (float(constant) * float(q))


def polyak_factor_bound(cos_alpha, eps):
    """``sqrt(1 - (8c - c^2) cos^2(alpha) / 16)`` with ``c = 1 / (1 + eps^2)``.

    The factor of a Polyak step with multiplier ``c`` on a homogeneous quartic
    ({prf:ref}`thm-polyak-quartic`); ``c = 1 / (1 + eps^2)`` is the least relative step length
    when the normal residual is ``eps`` times the tangent gradient.
    """
    c = 1.0 / (1.0 + float(eps) ** 2)
    return float(np.sqrt(1.0 - (8.0 * c - c * c) * float(cos_alpha) ** 2 / 16.0))


# ---------------------------------------------------------------------------- the quartic on the sphere
def quartic_sphere_minimum(objective, means_star, assignment, n_starts=4, seed=0):
    """Least value of ``Q_M`` on the unit sphere of ``T`` (BFGS on ``Q_M(Bc) / |c|^4`` from
    ``n_starts`` random starts; the least local minimum found, an upper estimate of ``q``).

    Returns
    -------
    dict with ``q``, ``values`` (every local minimum found) and ``direction`` (its unit vector).
    """
    model = QuarticModel(objective, means_star, assignment)
    basis = tangent_basis(objective.weights, model.assignment, objective.dim)
    shape = np.shape(means_star)

    def value_and_gradient(c):
        size = np.linalg.norm(c)
        v = (basis @ c).reshape(shape)
        q = model.ravine_form(v)
        g = basis.T @ model.ravine_gradient(v).ravel()
        return q / size ** 4, g / size ** 4 - 4.0 * q * c / size ** 6

    rng = np.random.default_rng(seed)
    runs = [minimize(value_and_gradient, rng.standard_normal(basis.shape[1]), jac=True, method="BFGS")
            for _ in range(check_positive_int(n_starts, "n_starts"))]
    best = min(runs, key=lambda r: r.fun)
    direction = (basis @ (best.x / np.linalg.norm(best.x))).reshape(shape)
    return dict(q=float(best.fun), values=np.array([r.fun for r in runs]), direction=direction)


# ---------------------------------------------------------------------------- along a run
def ravine_coordinates(objective, means, means_star, assignment):
    """``(v, e)``: tangent part ``P_T(theta - theta*)`` and normal residual from the ravine point with that tangent part."""
    n, d = np.shape(means_star)
    v = tangent_projector(objective.weights, assignment, d) @ (np.asarray(means) - means_star).ravel()
    ravine = project_to_ravine(objective, means, means_star, assignment)
    e = normal_basis(objective.weights, assignment, d).T @ (np.asarray(means) - ravine).ravel()
    return v.reshape(n, d), e


def block_diagnostics(objective, result, means_star, assignment, lambda_1, q, max_blocks=None):
    """At every Polyak base point of ``result`` (which must have ``means_history``):

    ``v`` (tangent size ``|v|``), ``e`` (normal residual ``|e|``), ``eps``
    (``lambda_1 |e| / (4 q |v|^3)``), ``angle`` (degrees between ``grad Q_M(v)`` and ``v``),
    ``bound`` (:func:`polyak_factor_bound` of that angle and ``max(eps, 0)``), ``factor``
    (``|v_{k+1}| / |v_k|``, NaN for the last base point) and ``loss``.
    """
    if result.means_history is None:
        raise ValueError("result must be recorded with record_means=True")
    model = QuarticModel(objective, means_star, assignment)
    bases = np.asarray(result.polyak_base)[: max_blocks]
    rows = {k: [] for k in ("v", "e", "eps", "angle", "bound", "loss")}
    for b in bases:
        v, e = ravine_coordinates(objective, result.means_history[b], means_star, assignment)
        size, residual = float(np.linalg.norm(v)), float(np.linalg.norm(e))
        g = model.ravine_gradient(v)
        cos_alpha = float(np.sum(g * v)) / (np.linalg.norm(g) * size)
        eps = lambda_1 * residual / (4.0 * q * size ** 3)
        for key, value in (("v", size), ("e", residual), ("eps", eps), ("angle", angle_degrees(g, v)),
                           ("bound", polyak_factor_bound(cos_alpha, eps)), ("loss", result.losses[b])):
            rows[key].append(value)
    out = {k: np.array(x) for k, x in rows.items()}
    out["factor"] = np.append(out["v"][1:] / out["v"][:-1], np.nan)
    return out


def paper_run(objective, means0, means_star, *, max_evals=400, record_means=True, **overrides):
    """A run of the paper's method (:data:`gmmlit.PAPER_METHOD`, with ``overrides``)."""
    from ..optim.presets import PAPER_METHOD

    options = dict(PAPER_METHOD, **overrides)
    return ravine_method(objective, means0, max_evals=max_evals, minimizer=means_star, record_means=record_means,
                         **options)


def breakdown_index(factors, threshold=0.9):
    """First block whose factor exceeds ``threshold`` (the contraction has stopped); ``None`` if none."""
    f = np.asarray(factors, dtype=float)
    hits = np.flatnonzero(np.nan_to_num(f, nan=0.0) > threshold)
    return int(hits[0]) if hits.size else None


# ---------------------------------------------------------------------------- unproved steps, measured
def ravine_expansion_errors(objective, means_star, assignment, direction, ts):
    """Relative errors of the quartic model at the ravine points over ``theta* + t v``.

    Returns ``(loss_error, gradient_error)`` arrays over ``ts``:
    ``|L(m(tv)) / (t^4 Q_M(v)) - 1|`` and ``|grad L(m(tv)) - t^3 grad_T Q_M(v)| / (t^3 |grad_T Q_M(v)|)``.
    The proof uses that both are ``O(t)``.
    """
    model = QuarticModel(objective, means_star, assignment)
    v = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    qv, gv = model.ravine_form(v), model.ravine_gradient(v)
    loss_err, grad_err = [], []
    for t in np.asarray(ts, dtype=float):
        point = project_to_ravine(objective, means_star + t * v, means_star, assignment)
        loss, grad = objective.loss_and_grad(point)
        loss_err.append(abs(loss / (t ** 4 * qv) - 1.0))
        grad_err.append(float(np.linalg.norm(grad - t ** 3 * gv) / (t ** 3 * np.linalg.norm(gv))))
    return np.array(loss_err), np.array(grad_err)


def short_step_normal_factors(objective, means_star, assignment, direction, t, offset, step, n_steps, seed=0):
    """Per-step factors ``|e_{k+1}| / |e_k|`` of the normal residual under gradient steps of size
    ``step``, from the ravine point over ``theta* + t v`` moved by ``offset`` along a random
    normal direction."""
    n, d = np.shape(means_star)
    basis = normal_basis(objective.weights, assignment, d)
    v = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    u = basis @ np.random.default_rng(seed).standard_normal(basis.shape[1])
    x = project_to_ravine(objective, means_star + t * v, means_star, assignment) + offset * (u / np.linalg.norm(u)).reshape(n, d)
    sizes = []
    for _ in range(check_positive_int(n_steps, "n_steps") + 1):
        sizes.append(np.linalg.norm(ravine_coordinates(objective, x, means_star, assignment)[1]))
        x = x - step * objective.grad(x)
    sizes = np.array(sizes)
    return sizes[1:] / sizes[:-1]


# ---------------------------------------------------------------------------- the misspecification threshold
def exactly_grouped_weights(weights, teacher_weights, assignment):
    """``pi~_i = pi_i pi*_j / w_j``: the weights rescaled inside each cluster so that they group exactly."""
    w = np.asarray(weights, dtype=float)
    tw = np.asarray(teacher_weights, dtype=float)
    cw = cluster_weights(w, assignment, tw.shape[0])
    return w * tw[assignment] / cw[assignment]


def exactly_grouped_objective(instance, rule=THEOREM_RULE):
    """The objective ``L_0`` of ``instance`` with :func:`exactly_grouped_weights` (same teacher and rule)."""
    w0 = exactly_grouped_weights(instance.weights, instance.teacher.weights, instance.assignment)
    return PopulationKL(instance.teacher, w0, rule)


def threshold_constants(instance):
    """``(kl, ell)``: ``KL(pi* || w)`` of the cluster weights and ``max_j |log(w_j / pi*_j)|``."""
    tw = np.asarray(instance.teacher.weights, dtype=float)
    cw = cluster_weights(instance.weights, instance.assignment, tw.shape[0])
    return float(np.sum(tw * np.log(tw / cw))), float(np.max(np.abs(np.log(cw / tw))))


def threshold_bound(loss_0, kl, ell):
    """``KL + L_0 + sqrt(2 L_0) ell``: the bound of the misspecification theorem on ``L`` given ``L_0``."""
    loss_0 = np.maximum(np.asarray(loss_0, dtype=float), 0.0)
    return kl + loss_0 + np.sqrt(2.0 * loss_0) * ell


# ---------------------------------------------------------------------------- the two studies of the chapter
def rate_study(objective, means0, means_star, assignment, lambda_1, normal_eigenvalues, q, configs, *,
               max_evals=300):
    """Runs of the paper's method with explicit ``(step multiplier, K)`` and their block diagnostics.

    Parameters
    ----------
    configs : sequence of (label, step_multiplier, K)
        The short step is ``step_multiplier / lambda_max(H(means0))`` (the paper's rule has 1).

    Returns
    -------
    list of dict, one per configuration: ``label``, ``step``, ``K``, ``rho``
    (``max_k |1 - step lambda_k|^K`` over the normal eigenvalues at ``theta*``), ``delta2``
    (:func:`accuracy_level`), ``diagnostics`` (:func:`block_diagnostics`), ``covered`` (blocks with
    ``|v|^2 >= delta2`` and ``eps <= TUBE_EPS`` up to the first that is not), ``excess`` (largest
    ``(factor - bound) / |v|`` over the covered blocks), ``breakdown`` (:func:`breakdown_index`),
    ``least_loss``, ``result``.
    """
    eta0, _, _ = paper_resolution(objective, means0, 0.5)
    rows = []
    for label, multiplier, k in configs:
        step = multiplier * eta0
        result = paper_run(objective, means0, means_star, max_evals=max_evals, step=step, short_steps=int(k))
        diag = block_diagnostics(objective, result, means_star, assignment, lambda_1, q)
        rho = short_step_factor(normal_eigenvalues, step) ** int(k)
        delta2 = accuracy_level(lambda_1, q, rho) if rho < 1.0 else np.inf
        inside = (diag["v"] ** 2 >= delta2) & (diag["eps"] <= TUBE_EPS) & np.isfinite(diag["factor"])
        n_cov = int(np.argmin(inside)) if not inside.all() else int(inside.size)
        cov = slice(0, n_cov)
        excess = float(np.max((diag["factor"][cov] - diag["bound"][cov]) / diag["v"][cov])) if n_cov else np.nan
        rows.append(dict(label=label, step=step, K=int(k), rho=rho, delta2=delta2, diagnostics=diag, covered=n_cov,
                         excess=excess, breakdown=breakdown_index(diag["factor"]),
                         least_loss=float(np.nanmin(result.losses)), result=result))
    return rows


def threshold_study(deltas, *, rule=THEOREM_RULE, max_evals=200, seed=0, scale=0.3):
    """The misspecification threshold on :func:`gmmlit.misspecified_instance` for each ``Delta_pi``.

    For each: the floor ``L*`` (least loss of an L-BFGS run from the seeded start), ``KL(pi*||w)``,
    ``ell``, ``tau = L(theta_ref)``, a run of the paper's method (``f* = 0``) from the same
    start, ``L_0`` (:func:`exactly_grouped_objective`) at its iterates, and the largest
    ``L - threshold_bound(L_0)`` over them (``<= 0`` by the theorem, up to the rule's error).
    """
    from ..core.instances import misspecified_instance
    from ..optim.peers import lbfgs

    rows = []
    for delta in deltas:
        inst = misspecified_instance(delta)
        obj = inst.objective(rule)
        x0 = inst.start(scale, seed)
        floor = float(np.nanmin(lbfgs(obj, x0, max_evals=max_evals).losses))
        kl, ell = threshold_constants(inst)
        run = paper_run(obj, x0, inst.means_star, max_evals=max_evals)
        obj0 = exactly_grouped_objective(inst, rule)
        finite = np.isfinite(run.losses)
        loss_0 = np.array([obj0.loss(m) if ok else np.inf for m, ok in zip(run.means_history, finite)])
        margin = run.losses[finite] - threshold_bound(loss_0[finite], kl, ell)
        best = int(np.nanargmin(run.losses))
        rows.append(dict(delta_pi=float(delta), L_star=floor, kl=kl, ell=ell, tau=float(obj.loss(inst.means_star)),
                         least=float(run.losses[best]), best_eval=best, final=float(run.losses[-1]),
                         least_loss_0=float(np.min(loss_0[finite])), loss_0_at_best=float(loss_0[best]),
                         margin=float(np.max(margin)), n_evals=run.n_evals, K=run.options["short_steps"],
                         losses=run.losses, bases=np.asarray(run.polyak_base)))
    return rows
