"""How accurate, and how costly, the discretised population quantities are.

The functions here measure the integration rules of :mod:`gmmlit.core.quadrature` as used by
:class:`~gmmlit.core.objective.PopulationKL`, for the chapter "Computing population
quantities", the accuracy tests and the cost benchmark:

* error against a reference: :func:`relative_error`, :func:`rule_errors`,
  :func:`probe_point`, :func:`sliced_product_reference` (a product rule too large to
  build at once, evaluated slice by slice), :func:`rule_error_table`,
  :func:`format_error_table`;
* cost: the timings of :func:`rule_error_table` (with :func:`gmmlit.bench.kernel.best_time`
  and the baseline :func:`gmmlit.bench.kernel.floor_time`);
* trapezoid against Gauss-Hermite in one dimension: :func:`two_teacher_problem`,
  :func:`quadrature_convergence_1d`;
* the Bregman integrand ``e^s - 1 - s`` for small ``s``: :func:`bregman_evaluation_errors`;
* the floor a rule puts under the naive form: :class:`~gmmlit.core.quadrature.MonteCarloRule`,
  :func:`two_student_model`, :func:`discrete_minimiser`, :func:`predicted_naive_offset`,
  :func:`naive_minimiser_study`, :func:`loss_floor_along_path`, :func:`minimal_ravine_options`,
  :func:`run_floor_study`;
* the exact reduction to the affine span of the means: :func:`affine_span_basis`,
  :func:`reduce_to_affine_span`, :func:`reduced_loss_and_grad`.

The independent reference values themselves are in :mod:`gmmlit.core.reference`.
"""

from __future__ import annotations

import numpy as np

from ..bench.tables import best_time
from ..core.geometry import distance, normal_projector, tangent_basis, tangent_projector
from ..core.instances import make_instance
from ..theory.landscape import loss_along_line, unit_direction
from ..core.mixture import Mixture
from ..core.objective import PopulationKL, bregman_integrand
from ..core.quadrature import (
    ExplicitRule,
    GaussHermiteRule,
    ProductRule,
    TrapezoidRule,
    teacher_span_basis,
)
from ..core.reference import reference_1d
from ..optim.ravine import ravine_method
from ..core.validation import (
    _as_float_array,
    check_means,
    check_positive_float,
    check_positive_int,
    check_weights,
)

#: Loss level below which the runs of :func:`run_floor_study` stop: the loss of the accurate rule is
#: then at the rounding level of its own evaluation.
RUN_LOSS_FLOOR = 1e-28


# ============================================================================ errors
def relative_error(value, reference):
    """``|value - reference| / |reference|`` (Euclidean norms for arrays).

    Returns ``0`` when both are zero and ``inf`` when only the reference is.
    """
    a = np.asarray(value, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"value and reference must have the same shape, got {a.shape} and {b.shape}")
    num, den = float(np.linalg.norm(a - b)), float(np.linalg.norm(b))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den


def rule_errors(objective, means, reference):
    """Relative errors ``(loss, grad)`` of ``objective`` at ``means`` against ``reference = (loss, grad)``."""
    loss, grad = objective.loss_and_grad(means)
    return relative_error(loss, reference[0]), relative_error(grad, reference[1])


def probe_point(instance, dist, kind="random", seed=0):
    """``theta* + dist * v`` with ``v`` a seeded random unit direction.

    ``kind="random"``: uniform on the sphere of ``R^{n d}`` (mostly normal, so the loss
    grows like ``dist^2``); ``kind="tangent"``: uniform on the sphere of the tangent space
    ``T`` (the loss grows like ``dist^4``).
    """
    dist = check_positive_float(dist, "dist", allow_zero=True)
    star = instance.means_star
    if kind == "random":
        basis = np.eye(star.size)
    elif kind == "tangent":
        basis = tangent_basis(instance.weights, instance.assignment, instance.d)
    else:
        raise ValueError(f"kind must be 'random' or 'tangent', got {kind!r}")
    return star + dist * unit_direction(basis, seed).reshape(star.shape)


def _orthogonal_slices(teacher, h, radius, n_orth):
    """Slices ``(z, w_span, w_orth)`` of ``ProductRule(h, radius, n_orth)``: one per
    Gauss-Hermite node across the teacher span.

    ``ProductRule(h, radius, 1)`` is the span trapezoid rule alone (one Gauss-Hermite node,
    at 0, across), and each slice shifts it by ``U_orth b_l`` for a node ``b_l`` of the
    tensor Gauss-Hermite rule in the ``q`` directions across.
    """
    span_z, span_w = ProductRule(h, radius, 1).nodes(teacher)
    u_orth = teacher_span_basis(teacher)[1]
    q = u_orth.shape[1]
    if q == 0:
        yield span_z, span_w, 1.0
        return
    b, wb = GaussHermiteRule(n_orth).nodes(Mixture(np.ones(1), np.zeros((1, q))))
    for bl, wl in zip(b, wb):
        yield span_z + (u_orth @ bl)[None, :], span_w, wl


def sliced_product_reference(teacher, weights, means, h=0.15, radius=9.0, n_orth=14):
    """Loss and gradient with ``ProductRule(h, radius, n_orth)``, too large to build at once.

    The discretised loss and gradient are linear in the weights of the rule, so the rule
    is split into its slices across the teacher span (one per tensor Gauss-Hermite node
    ``b_l`` with weight ``w_l``), each evaluated with its own
    :class:`~gmmlit.core.objective.PopulationKL`, and the results summed with weights ``w_l``.
    Memory stays that of one slice; the cost is that of the whole rule.

    Returns
    -------
    loss : float
    grad : ndarray (n, d)
    """
    w = check_weights(weights, "weights")
    mu = check_means(means, "means", n_rows=w.shape[0], dim=teacher.dim)
    loss, grad = 0.0, np.zeros(mu.shape)
    for z, wa, wl in _orthogonal_slices(teacher, h, radius, n_orth):
        f = PopulationKL(teacher, w, ExplicitRule(z, wa))
        l_slice, g_slice = f.loss_and_grad(mu)
        loss += wl * l_slice
        grad += wl * g_slice
    return loss, grad


# ============================================================================ cost
def rule_error_table(instance, rules, points, references, *, repeats=3, baseline=None):
    """Error and cost of each rule on an instance.

    Parameters
    ----------
    instance : Instance
    rules : sequence of IntegrationRule
    points : dict name -> means
    references : dict name -> (loss, grad)
    repeats : int
        Timing repeats (:func:`gmmlit.bench.kernel.best_time`: the smallest time is kept).
    baseline : float or None
        Seconds of a baseline timed in the same run, e.g. the unavoidable work of a pass
        over ``2^18`` nodes (:func:`gmmlit.bench.kernel.floor_time`); when given, each row
        also has ``ratio = seconds / baseline``.

    Returns
    -------
    list of dict
        One row per rule: ``rule``, ``nodes``, ``loss_err`` and ``grad_err`` (largest
        relative error over the points), ``loss_err[name]``, ``grad_err[name]`` per
        point, ``seconds`` per loss-and-gradient evaluation, and ``ratio``.
    """
    rows = []
    for rule in rules:
        f = instance.objective(rule)
        row = {"rule": rule.describe(), "nodes": f.n_nodes}
        for name, x in points.items():
            row[f"loss_err[{name}]"], row[f"grad_err[{name}]"] = rule_errors(f, x, references[name])
        row["loss_err"] = max(row[f"loss_err[{k}]"] for k in points)
        row["grad_err"] = max(row[f"grad_err[{k}]"] for k in points)
        x0 = next(iter(points.values()))
        row["seconds"] = best_time(lambda: f.loss_and_grad(x0), repeats)
        if baseline is not None:
            row["ratio"] = row["seconds"] / baseline
        rows.append(row)
    return rows


def format_error_table(rows, points):
    """Rows of :func:`rule_error_table` as a fixed-width text table.

    Columns: rule, nodes, the largest relative errors of loss and gradient, the errors at
    each point (``points``: the names used in the table), seconds per evaluation and,
    when present, the ratio to the baseline.
    """
    points = list(points)
    head = f"{'rule':44s}{'nodes':>9s}{'loss':>9s}{'grad':>9s}"
    head += "".join(f"{(p[:6] + ' l'):>10s}{(p[:6] + ' g'):>10s}" for p in points)
    head += f"{'s/eval':>9s}{'ratio':>7s}"
    lines = [head]
    for r in rows:
        line = f"{r['rule']:44s}{r['nodes']:9d}{r['loss_err']:9.1e}{r['grad_err']:9.1e}"
        line += "".join(f"{r[f'loss_err[{p}]']:10.1e}{r[f'grad_err[{p}]']:10.1e}" for p in points)
        line += f"{r['seconds']:9.3f}" + (f"{r['ratio']:7.2f}" if "ratio" in r else f"{'-':>7s}")
        lines.append(line)
    return "\n".join(lines)


def error_table(rows, points, caption=None):
    """Rows of :func:`rule_error_table` as an HTML table (:func:`gmmlit.book.tables.html_table`),
    with the columns of :func:`format_error_table` but the largest errors (the larger of the
    points): the relative errors at each point (``L`` loss, ``g`` gradient), seconds per
    evaluation and the ratio to the baseline."""
    from .tables import html_table

    points = list(points)
    columns = {"rule": "rule", "nodes": "nodes"}
    for p in points:
        columns[f"loss_err[{p}]"] = f"{p[:6]} L"
        columns[f"grad_err[{p}]"] = f"{p[:6]} g"
    columns["seconds"] = "s/eval"
    columns["ratio"] = "ratio"
    formats = {key: ".1e" for key in columns if key.startswith(("loss_err", "grad_err"))}
    formats.update(seconds=".3f", ratio=".2f")
    return html_table([{**r, "ratio": r.get("ratio", "-")} for r in rows], columns, caption=caption,
                      formats=formats, collapsible=False)


# ============================================================================ trapezoid vs Gauss-Hermite
def two_teacher_problem(separation, teacher_weights=(0.6, 0.4), counts=(2, 2), seed=0):
    """A ``d = 1`` instance: teacher means ``0`` and ``separation``, students split per cluster."""
    from ..core.instances import split_weights

    separation = check_positive_float(separation, "separation")
    teacher = Mixture(np.asarray(teacher_weights, dtype=float), np.array([[0.0], [separation]]))
    w, a = split_weights(teacher.weights, list(counts), seed=seed)
    return make_instance(teacher, w, a, name=f"two teachers (separation {separation:g})")


def quadrature_convergence_1d(separations, steps, orders, *, dist=0.1, seed=0, radius=10.0):
    """Relative error of trapezoid and Gauss-Hermite rules against the mpmath reference.

    For each separation ``D`` the instance is :func:`two_teacher_problem` ``(D)`` at the
    point :func:`probe_point` ``(dist, "random", seed)``. The error of a rule is the
    larger of the relative errors of loss and gradient.

    Returns
    -------
    dict separation -> dict with ``trapezoid_nodes``, ``trapezoid_error``,
    ``gauss_hermite_nodes``, ``gauss_hermite_error`` (arrays; nodes per teacher component)
    """
    out = {}
    for sep in separations:
        inst = two_teacher_problem(sep)
        x = probe_point(inst, dist, "random", seed)
        ref = reference_1d(inst.teacher, inst.weights, x)
        res = {"trapezoid_nodes": [], "trapezoid_error": [], "gauss_hermite_nodes": [], "gauss_hermite_error": []}
        for h in steps:
            f = inst.objective(TrapezoidRule(h, radius))
            res["trapezoid_nodes"].append(f.n_nodes // inst.m)
            res["trapezoid_error"].append(max(rule_errors(f, x, ref)))
        for order in orders:
            f = inst.objective(GaussHermiteRule(order))
            res["gauss_hermite_nodes"].append(order)
            res["gauss_hermite_error"].append(max(rule_errors(f, x, ref)))
        out[sep] = {k: np.asarray(v) for k, v in res.items()}
    return out


# ============================================================================ e^s - 1 - s
def bregman_evaluation_errors(s_values, dps=40):
    """Relative error of three ways to evaluate ``e^s - 1 - s`` in double precision.

    Returns a dict of arrays: ``s``, ``exact`` (mpmath at ``dps`` digits), and the
    relative errors of ``exp(s) - 1 - s`` (``"exp"``), ``expm1(s) - s`` (``"expm1"``)
    and :func:`gmmlit.core.objective.bregman_integrand` (``"series"``).
    """
    import mpmath as mp

    s = _as_float_array(s_values, "s_values").ravel()
    with mp.workdps(check_positive_int(dps, "dps", minimum=20)):
        exact = np.array([float(mp.expm1(mp.mpf(v)) - mp.mpf(v)) for v in s])
    with np.errstate(all="ignore"):
        candidates = {
            "exp": np.exp(s) - 1.0 - s,
            "expm1": np.expm1(s) - s,
            "series": bregman_integrand(s),
        }
    out = {"s": s, "exact": exact}
    for name, v in candidates.items():
        out[name] = np.abs(v - exact) / np.abs(exact)
    return out


# ============================================================================ the floor of the naive form
def two_student_model(dim=2):
    """Teacher ``N(0, I_dim)``; two students with weights ``1/2`` (``theta* = 0``).

    The simplest overparameterized problem: ``T = {v_1 = -v_2}`` has dimension ``dim``
    and ``L(theta* + (u, -u)) = |u|^4 / 4 + O(|u|^6)``.
    """
    dim = check_positive_int(dim, "dim")
    teacher = Mixture(np.ones(1), np.zeros((1, dim)))
    return make_instance(teacher, np.array([0.5, 0.5]), np.array([0, 0]), name=f"two students (d={dim})")


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
    """Predicted distance of the naive discrete minimiser from ``theta*`` in :func:`two_student_model`.

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
    """Distance from ``theta*`` of the naive discrete minimiser of :func:`two_student_model`.

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


def loss_floor_along_path(instance, objectives, ts, *, kind="tangent", seed=0):
    """``L(theta* + t v)`` for each named objective, ``v`` from :func:`probe_point`.

    Returns a dict name -> array over ``ts`` (reusing
    :func:`gmmlit.theory.landscape.loss_along_line`).
    """
    v = (probe_point(instance, 1.0, kind, seed) - instance.means_star).ravel()
    return {name: loss_along_line(f, instance.means_star, v, ts) for name, f in objectives.items()}


def minimal_ravine_options(short_steps=2, step=1.0):
    """Keyword arguments of :func:`gmmlit.optim.ravine.ravine_method` for the minimal
    ravine method of the chapter on computing: ``short_steps`` preconditioned gradient
    steps ``mu_i - step * grad_i L / E[psi_i]`` (``short="pgem"``, no over-relaxation),
    then one plain Polyak step with ``f* = 0`` (Euclidean, multiplier 1), no safeguard.

    The short step is in the continuum exactly the EM step, but built on the gradient of
    the discretised objective, so that its fixed points are the stationary points of that
    objective (``theta*`` for the Bregman form), whereas EM from the discretised
    statistics has the stationary points of the textbook form.
    """
    return dict(short="pgem", step=check_positive_float(step, "step"),
                short_steps=check_positive_int(short_steps, "short_steps"), relaxation="off",
                metric="euclidean", multiplier=1.0, safeguard="off", f_star=0.0, on_plateau="stop")


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
        r = ravine_method(f, start, max_evals=1 + blocks * (short_steps + 1), tol=RUN_LOSS_FLOOR,
                          record_means=True, **options)
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
def affine_span_basis(points, tol=1e-10):
    """Origin and orthonormal basis ``(d, k)`` of the affine span of ``points`` (rows)."""
    p = _as_float_array(points, "points")
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"points must be a non-empty 2-D array (rows are points), got shape {p.shape}")
    origin = p[0].copy()
    diffs = p[1:] - origin
    if diffs.shape[0] == 0:
        return origin, np.zeros((p.shape[1], 0))
    u, sv, _ = np.linalg.svd(diffs.T, full_matrices=False)
    scale = max(1.0, float(np.max(np.abs(diffs))))
    return origin, u[:, : int(np.sum(sv > tol * scale))]


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
