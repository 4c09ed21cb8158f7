"""How accurate, and how costly, the discretised population quantities are: the rules of
:mod:`gmmlit.core.quadrature` as used by :class:`~gmmlit.core.objective.PopulationKL`, for the
chapter "Computing population quantities", the accuracy tests and the cost benchmark.

* error against a reference: :func:`relative_error`, :func:`rule_errors`,
  :func:`probe_point`, :func:`sliced_product_reference` (a product rule too large to
  build at once, evaluated slice by slice), :func:`rule_error_table`, :func:`error_table`
  (as text: :func:`gmmlit.bench.tables.format_rows` with :func:`error_table_columns`);
* cost: the timings of :func:`rule_error_table` (with :func:`gmmlit.bench.tables.best_time`
  and the baseline :func:`gmmlit.bench.kernel.floor_time`);
* trapezoid against Gauss-Hermite in one dimension: :func:`gmmlit.core.instances.two_teacher_problem`,
  :func:`quadrature_convergence_1d`;
* the Bregman integrand ``e^s - 1 - s`` for small ``s``: :func:`bregman_evaluation_errors`.

The independent reference values themselves are in :mod:`gmmlit.core.reference`.
"""

from __future__ import annotations

import numpy as np

from ...bench.tables import best_time
from ...core.geometry import tangent_basis
from ...core.instances import two_teacher_problem
from ...core.mixture import Mixture
from ...core.objective import PopulationKL, bregman_integrand
from ...core.quadrature import ExplicitRule, GaussHermiteRule, ProductRule, TrapezoidRule, teacher_span_basis
from ...core.reference import reference_1d
from ...core.validation import _as_float_array, check_means, check_positive_float, check_positive_int, check_weights
from ...theory.landscape import unit_direction


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


def error_table_columns(points):
    """The columns of :func:`rule_error_table`'s rows, in table order: rule, nodes, the largest
    relative errors of loss and gradient, the errors at each point (``points``: the names used
    in the table), seconds per evaluation and the ratio to the baseline."""
    per_point = [f"{kind}_err[{p}]" for p in points for kind in ("loss", "grad")]
    return ["rule", "nodes", "loss_err", "grad_err", *per_point, "seconds", "ratio"]


def error_table(rows, points, caption=None):
    """Rows of :func:`rule_error_table` as an HTML table (:func:`gmmlit.book.tables.html_table`):
    the relative errors at each point (``L`` loss, ``g`` gradient), seconds per evaluation and
    the ratio to the baseline."""
    from ..tables import html_table

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


def quadrature_convergence_1d(separations, steps, orders, *, dist=0.1, seed=0, radius=10.0):
    """Relative error of trapezoid and Gauss-Hermite rules against the mpmath reference.

    For each separation ``D`` the instance is :func:`gmmlit.core.instances.two_teacher_problem` ``(D)`` at the
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
