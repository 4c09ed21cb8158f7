"""Figure 4 and the measurements of the chapter "Why gradient EM slows down".

The error of student means ``theta`` around the minimiser ``theta*`` splits, cluster by
cluster, into the shift of the weighted cluster centre (the *cluster bias*, the normal
part) and the spread of the students around that centre (the *intra-cluster
dispersion*, the tangent part). With cluster weights ``w_j``, bias ``b_j`` and
dispersion ``D_j`` (:func:`gmmlit.core.geometry.cluster_bias`,
:func:`gmmlit.core.geometry.intra_cluster_dispersion`) the book uses the weighted totals

.. math:: B(\\theta) = \\sum_j w_j |b_j|^2, \\qquad D(\\theta) = \\sum_j w_j D_j ,

which add up to the weighted squared distance ``sum_i pi_i |mu_i - mu*_{sigma(i)}|^2``
(the parallel-axis identity, :func:`weighted_squared_distance`).

Besides Figure 4 (``compute_figure4`` / ``plot_figure4``) the module holds the pieces of
the chapter's other measurements: gradient descent on a model quartic and the bounds of
its sublinear rate, and the fit of ``L_t ~ t^p`` along a run.
"""

from __future__ import annotations

import numpy as np

from ...core.geometry import cluster_bias, cluster_weights, intra_cluster_dispersion, tangent_projector
from ...core.instances import triangle_instance
from ...theory.landscape import loglog_slope
from ...optim.presets import RAVINE_DEFAULTS
from ...optim.first_order import gradient_em
from ...optim.ravine import ravine_method
from ...core.quadrature import TrapezoidRule
from ...theory.quartic import gradient_descent, ravine_quartic_form
from ...core.validation import _as_float_array, check_means, check_positive_float, check_positive_int, check_weights
from .style import COLORS, POLYAK_MARKER, new_figure
from ...core.instances import START_SCALE

#: Integration rule of the book's runs on the running example: a trapezoid rule with
#: step 0.2 on the disc of radius 8 (5017 nodes per teacher component), several times
#: cheaper than the default rule. Its loss and gradient agree with the default rule to a
#: relative 1e-9 at starting points and near ``theta*`` (measured in the chapter), and
#: its EM step at ``theta*`` moves the means by 3e-12 (the naive-form quadrature error that
#: puts a floor under EM short steps, near ``L = 1e-17``).
BOOK_RULE = TrapezoidRule(0.2, 8.0)


#: Evaluations of the two runs of Figure 4: ``(gradient EM, ravine method)``.
BOOK_EVALS = (1500, 100)
FULL_EVALS = (3000, 200)


# ---------------------------------------------------------------------------- error split
def total_bias(teacher, weights, means, assignment):
    """``B = sum_j w_j |b_j|^2``: the weighted squared shift of the cluster centres.

    ``b_j`` from :func:`gmmlit.core.geometry.cluster_bias`, ``w_j`` the cluster weights.
    """
    w = check_weights(weights, "weights")
    b = cluster_bias(teacher, w, means, assignment)
    wj = cluster_weights(w, np.asarray(assignment), teacher.n_components)
    return float(wj @ np.sum(b * b, axis=1))


def total_dispersion(teacher, weights, means, assignment):
    """``D = sum_j w_j D_j = sum_i pi_i |mu_i - c_sigma(i)|^2``: the weighted spread of the
    students around their cluster centres ``c_j`` (:func:`gmmlit.core.geometry.intra_cluster_dispersion`)."""
    w = check_weights(weights, "weights")
    dj = intra_cluster_dispersion(teacher, w, means, assignment)
    wj = cluster_weights(w, np.asarray(assignment), teacher.n_components)
    return float(wj @ dj)


def weighted_squared_distance(weights, means, means_star):
    """``sum_i pi_i |mu_i - mu*_i|^2``, which equals ``B + D`` when ``mu*_i = mu*_{sigma(i)}``."""
    w = check_weights(weights, "weights")
    x = check_means(means, "means", n_rows=w.shape[0])
    s = check_means(means_star, "means_star", n_rows=w.shape[0], dim=x.shape[1])
    return float(w @ np.sum((x - s) ** 2, axis=1))


def recentred_means(teacher, weights, means, assignment):
    """``mu_i - b_sigma(i)``: every cluster shifted rigidly onto its teacher mean.

    The result has zero cluster bias and the same intra-cluster dispersion as ``means``;
    it lies in ``theta* + T``. Its loss is the part of the loss that the dispersion alone
    accounts for.
    """
    b = cluster_bias(teacher, weights, means, assignment)
    return np.asarray(means, dtype=float) - b[np.asarray(assignment)]


def error_split(instance, history):
    """Cluster bias ``B`` and dispersion ``D`` at every point of a recorded history.

    Parameters
    ----------
    instance : Instance
        Gives the teacher, the weights and the grouping.
    history : array_like (k, n, d)
        Points, e.g. ``OptimizationResult.means_history``.

    Returns
    -------
    bias, dispersion : ndarray (k,)
    """
    h = _as_float_array(history, "history")
    if h.ndim != 3:
        raise ValueError(f"history must have shape (k, n, d), got {h.shape}")
    t, w, a = instance.teacher, instance.weights, instance.assignment
    bias = np.array([total_bias(t, w, x, a) for x in h])
    dispersion = np.array([total_dispersion(t, w, x, a) for x in h])
    return bias, dispersion


def dispersion_loss_fraction(objective, instance, points):
    """``L(recentred) / L`` at each point: the share of the loss left once the cluster bias
    is removed (:func:`recentred_means`). Returns an array of the points' length."""
    out = []
    for x in points:
        loss = objective.loss(x)
        out.append(objective.loss(recentred_means(instance.teacher, instance.weights, x, instance.assignment)) / loss)
    return np.array(out)


# ---------------------------------------------------------------------------- a model quartic
def squared_quadratic_quartic(x, a):
    """``Q(x) = (x^T A x)^2 / 4`` with ``A = diag(a)``, ``a > 0``.

    The form of the quartic along the ravine when ``m = 1`` (``A`` plays the role of
    ``diag(pi)`` compressed to ``T``); its constants are explicit
    (:func:`squared_quadratic_constants`).
    """
    x = np.asarray(x, dtype=float)
    return 0.25 * float(np.sum(a * x * x)) ** 2


def squared_quadratic_gradient(x, a):
    """``grad Q(x) = (x^T A x) A x`` for :func:`squared_quadratic_quartic`."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(a * x * x)) * (a * x)


def squared_quadratic_constants(a):
    """``(lam, G, H)`` with ``lam |x|^4 <= Q(x)``, ``|grad Q(x)| <= G |x|^3`` and
    ``||grad^2 Q(x)|| <= H |x|^2`` for ``Q = (x^T A x)^2 / 4``, ``A = diag(a)``.

    ``lam = a_min^2 / 4``, ``G = a_max^2``, ``H = 3 a_max^2`` (the Hessian is
    ``2 A x x^T A + (x^T A x) A``).
    """
    a = _as_float_array(a, "a")
    if a.ndim != 1 or a.size < 1 or np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError("a must be a 1-D array of positive finite numbers (the diagonal of A)")
    return float(a.min() ** 2 / 4), float(a.max() ** 2), float(3 * a.max() ** 2)


def quartic_gd_step_limit(lam, grad_const, hess_const, radius):
    """Largest step for which :func:`quartic_gd_bounds` holds from ``|x_0| <= radius``:
    ``min(8 lam / (G^2 r^2), 1 / (H r^2), 1 / (2 G r^2))``."""
    r2 = check_positive_float(radius, "radius") ** 2
    return min(8 * lam / (grad_const ** 2 * r2), 1 / (hess_const * r2), 1 / (2 * grad_const * r2))


def quartic_gd_bounds(lam, grad_const, step, loss0, radius0, ts):
    """Lower and upper bounds on ``Q(x_t)`` for gradient descent on a homogeneous quartic.

    For a step below :func:`quartic_gd_step_limit` (proved in the chapter):

    .. math:: \\lambda\\,(|x_0|^{-2} + 6\\eta G t)^{-2} \\le Q(x_t) \\le (Q(x_0)^{-1/2} + 4\\eta\\sqrt\\lambda\\, t)^{-2}.

    Returns ``(lower, upper)``, arrays of the shape of ``ts``.
    """
    t = _as_float_array(ts, "ts")
    lower = lam * (radius0 ** -2 + 6 * step * grad_const * t) ** -2
    upper = (loss0 ** -0.5 + 4 * step * np.sqrt(lam) * t) ** -2
    return lower, upper


def quartic_gd_experiment(a, x0, n_steps, step=None):
    """Gradient descent on ``Q = (x^T diag(a) x)^2 / 4`` against the bounds of the chapter.

    Parameters
    ----------
    a : array_like (k,)
        Positive diagonal of ``A``.
    x0 : array_like (k,)
        Start (nonzero).
    n_steps : int
    step : float or None
        Default: :func:`quartic_gd_step_limit` at ``|x0|`` (the largest step the proof covers).

    Returns
    -------
    dict
        ``ts`` (0..n_steps), ``losses``, ``distances`` (``|x_t|``), ``lower``, ``upper``
        (:func:`quartic_gd_bounds`), ``step``, ``loss_exponent`` and ``distance_exponent``
        (log-log slopes over the last decade of steps).
    """
    a = _as_float_array(a, "a")
    lam, g_const, h_const = squared_quadratic_constants(a)
    x0 = _as_float_array(x0, "x0")
    if x0.shape != a.shape or not np.any(x0):
        raise ValueError(f"x0 must be a nonzero array of shape {a.shape}")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=20)
    r0 = float(np.linalg.norm(x0))
    limit = quartic_gd_step_limit(lam, g_const, h_const, r0)
    step = limit if step is None else check_positive_float(step, "step")
    xs = gradient_descent(lambda x: squared_quadratic_gradient(x, a), x0, step, n_steps)
    losses = np.array([squared_quadratic_quartic(x, a) for x in xs])
    dist = np.linalg.norm(xs, axis=1)
    ts = np.arange(n_steps + 1, dtype=float)
    lower, upper = quartic_gd_bounds(lam, g_const, step, losses[0], r0, ts)
    tail = ts >= n_steps / 10
    return dict(ts=ts, losses=losses, distances=dist, lower=lower, upper=upper, step=step, step_limit=limit,
                loss_exponent=loglog_slope(ts[tail], losses[tail]),
                distance_exponent=loglog_slope(ts[tail], dist[tail]))


# ---------------------------------------------------------------------------- rates along a run
def sublinear_fit(losses, start, stop):
    """Fit ``L_t`` on the steps ``t = start .. stop - 1`` (``losses[t]`` is the loss after ``t`` steps).

    Returns a dict with ``exponent`` (least-squares slope of ``log L`` against ``log t``),
    ``a``, ``b`` (least-squares line ``L_t^{-1/2} = a + b t``, the exact form of the
    radial quartic model), ``residual`` (largest relative deviation from that line) and
    ``local_exponent`` (``-2 b t / (a + b t)`` at ``t = stop - 1``, the slope of the fitted
    model, which tends to ``-2``).
    """
    losses = _as_float_array(losses, "losses")
    start = check_positive_int(start, "start")
    stop = check_positive_int(stop, "stop", minimum=start + 2)
    if stop > losses.size:
        raise ValueError(f"stop must be <= len(losses) = {losses.size}, got {stop}")
    ts = np.arange(start, stop, dtype=float)
    vals = losses[start:stop]
    inv = vals ** -0.5
    b, a = np.polyfit(ts, inv, 1)
    fitted = a + b * ts
    return dict(
        exponent=loglog_slope(ts, vals),
        a=float(a), b=float(b),
        residual=float(np.max(np.abs(inv - fitted) / fitted)),
        local_exponent=float(-2 * b * ts[-1] / (a + b * ts[-1])),
    )


def ravine_rate_prediction(objective, instance, means, step=1.0):
    """``8 step sqrt(Q_M(u))``: the slope of ``L_t^{-1/2}`` against ``t`` that gradient
    descent with ``step`` on the ravine quartic ``Q_M`` has when its iterate points along
    the unit tangent direction ``u`` of ``means - theta*`` and stays aligned with it
    (the radial model ``q(x) = Q_M(u) x^4``, for which ``L_t^{-1/2} = 8 step sqrt(q) t + ...``).

    ``Q_M`` is :func:`gmmlit.theory.quartic.ravine_quartic_form`.
    """
    step = check_positive_float(step, "step")
    x = objective.check_means(means)
    p = tangent_projector(instance.weights, instance.assignment, instance.d)
    v = (p @ (x - instance.means_star).ravel()).reshape(x.shape)
    u = v / np.linalg.norm(v)
    return 8.0 * step * np.sqrt(ravine_quartic_form(objective, instance.means_star, instance.assignment, u))


def polyak_split_ratios(run):
    """For every accepted Polyak trial of a ravine run from :func:`figure4_runs`:
    ``D(trial) / D(base)``, ``B(trial) / B(base)`` and ``B(trial) / D(trial)``.

    Returns a dict of three arrays (keys ``dispersion``, ``bias``, ``bias_over_dispersion``).
    """
    acc = np.asarray(run["polyak_accepted"], dtype=bool)
    pe, pb = np.asarray(run["polyak_evals"])[acc], np.asarray(run["polyak_base"])[acc]
    d, b = np.asarray(run["dispersion"]), np.asarray(run["bias"])
    return dict(dispersion=d[pe] / d[pb], bias=b[pe] / b[pb], bias_over_dispersion=b[pe] / d[pe])


# ---------------------------------------------------------------------------- Figure 4
def figure4_runs(instance, objective, means0, gem_evals, ravine_evals, n_fraction=12):
    """Gradient EM (step 1) and the ravine method (defaults) from ``means0``, split into
    cluster bias and dispersion.

    Returns
    -------
    dict
        ``gradient_em`` and ``ravine``: each a dict of arrays ``losses``, ``distances``,
        ``bias``, ``dispersion``, ``weighted_sq_distance``, ``means_final``; the ravine one also
        ``polyak_evals``, ``polyak_base``, ``polyak_accepted``. ``gradient_em`` also has
        ``fraction_evals`` and ``fraction`` (:func:`dispersion_loss_fraction` at
        ``n_fraction`` log-spaced evaluations); ``ravine`` has ``fraction`` at its Polyak
        base points.
    """
    n_fraction = check_positive_int(n_fraction, "n_fraction", minimum=2)
    out = {}
    for name, method, budget in [("gradient_em", gradient_em, gem_evals), ("ravine", ravine_method, ravine_evals)]:
        r = method(objective, means0, max_evals=budget, minimizer=instance.means_star, record_means=True)
        bias, disp = error_split(instance, r.means_history)
        run = dict(
            losses=np.array(r.losses), distances=np.array(r.distances), bias=bias, dispersion=disp,
            weighted_sq_distance=np.array([weighted_squared_distance(instance.weights, x, instance.means_star)
                                           for x in r.means_history]),
            means_final=np.array(r.means),
        )
        if name == "ravine":
            run.update(polyak_evals=np.array(r.polyak_evals), polyak_base=np.array(r.polyak_base),
                       polyak_accepted=np.array(r.polyak_accepted))
            run["fraction"] = dispersion_loss_fraction(objective, instance, r.means_history[r.polyak_base])
        else:
            idx = np.unique(np.round(np.geomspace(1, r.n_evals - 1, n_fraction)).astype(int))
            run["fraction_evals"] = idx
            run["fraction"] = dispersion_loss_fraction(objective, instance, r.means_history[idx])
        out[name] = run
    return out


def compute_figure4(*, seed=0, full=False, jobs=1, progress=None):
    """Numbers of Figure 4: bias and dispersion along gradient EM and the ravine method.

    The running example (:func:`gmmlit.core.instances.triangle_instance`, ``Delta_pi = 0``),
    started at ``theta* + 0.3 N(0, I)`` with ``seed``; rule :data:`BOOK_RULE`
    (``full=True``: the default rule and longer runs, :data:`FULL_EVALS`).

    Parameters
    ----------
    seed : int
        Seed of the starting point.
    full : bool
    jobs : int
        Unused (two sequential runs); accepted for the common signature.
    progress : callable or None
        ``progress(done, total)`` before and after the runs.
    """
    check_positive_int(seed, "seed", minimum=0)
    inst = triangle_instance()
    objective = inst.objective(None if full else BOOK_RULE)
    gem_evals, ravine_evals = FULL_EVALS if full else BOOK_EVALS
    if progress is not None:
        progress(0, 1)
    data = figure4_runs(inst, objective, inst.start(START_SCALE, seed), gem_evals, ravine_evals)
    if progress is not None:
        progress(1, 1)
    data["seed"] = seed
    data["ravine_multiplier"] = float(RAVINE_DEFAULTS["multiplier"])
    return data


def plot_figure4(data):
    """Draw Figure 4 from :func:`compute_figure4`'s dictionary.

    (a) gradient EM on log-log axes: dispersion, bias and loss against the evaluation
    count; (b) the ravine method on a log scale against the evaluation count, Polyak
    trial points marked; (c) the share of the loss carried by the dispersion alone.
    """
    fig, (ax, bx, cx) = new_figure(ncols=3, width=13.5, height=4.0, gridspec_kw=dict(width_ratios=[1.1, 1.1, 0.8]))
    g, r = data["gradient_em"], data["ravine"]
    k = np.arange(1, g["losses"].size + 1)
    ax.loglog(k, g["dispersion"], "-", color=COLORS["tangent"], lw=2.0, label="dispersion $D$")
    ax.loglog(k, g["bias"], "-", color=COLORS["normal"], lw=2.0, label="cluster bias $B$")
    ax.loglog(k, g["losses"], "--", color=COLORS["gradient_em"], lw=1.2, label="loss $L$")
    ax.set_xlabel("evaluation (= iteration + 1)")
    ax.set_ylabel("value")
    ax.set_title("(a) gradient EM")
    ax.legend(loc="lower left", fontsize=8)

    k = np.arange(r["losses"].size)
    bx.semilogy(k, r["dispersion"], "-", color=COLORS["tangent"], lw=1.6, label="dispersion $D$")
    bx.semilogy(k, r["bias"], "-", color=COLORS["normal"], lw=1.2, label="cluster bias $B$")
    bx.semilogy(k, r["losses"], "--", color=COLORS["ravine"], lw=1.0, label="loss $L$")
    p = r["polyak_evals"]
    bx.scatter(p, r["dispersion"][p], label="Polyak trial points", **POLYAK_MARKER)
    bx.scatter(p, r["bias"][p], **POLYAK_MARKER)
    bx.set_xlabel("evaluation")
    bx.set_title(f"(b) ravine method (defaults, multiplier {data['ravine_multiplier']:g})")
    bx.legend(loc="lower left", fontsize=8)

    cx.semilogx(g["fraction_evals"] + 1, g["fraction"], "o-", color=COLORS["gradient_em"], ms=4, label="gradient EM")
    cx.semilogx(r["polyak_base"] + 1, r["fraction"], "s", color=COLORS["ravine"], ms=4, alpha=0.8,
                label="ravine method, before each Polyak step")
    cx.axhline(1.0, ls="--", color=COLORS["teacher"], lw=1.0)
    cx.set_ylim(0.0, 1.2)
    cx.set_xlabel("evaluation")
    cx.set_ylabel(r"$L(\mathrm{recentred})\,/\,L$")
    cx.set_title("(c) share of the loss due to dispersion")
    cx.legend(loc="lower right", fontsize=8)
    return fig
