"""The shape of the loss near a minimiser: slices, growth rates, the ravine curve.

Everything here measures the discretised objective (:class:`~gmmlit.core.objective.PopulationKL`)
along lines and curves through ``theta*``:

* :func:`loss_along_line` and :func:`loglog_slope` (:func:`fit_power_law`): ``L(theta* + t w)`` and the slope of
  ``log L`` against ``log t`` (2 across the ravine, 4 along it);
* :func:`ravine_normal_offsets`: the ravine point above ``theta* + t v`` (the minimiser
  over normal moves, :func:`gmmlit.core.geometry.project_to_ravine`) and its normal
  coordinates, which measure how the ravine bends away from its tangent space;
* :func:`normal_gradient_along_line`: why it bends, the normal part of
  ``grad L(theta* + t v)`` is ``O(t^2)``;
* :func:`measure_growth`: all of the above on one instance, with the predictions of
  :mod:`gmmlit.theory.quartic` (``Q``, ``Q_M``, the ravine's cluster bias), for the book and the tests;
* :func:`quartic_constants_vs_separation`: measured and predicted quartic constants on the
  line and on the ravine as the teacher means separate;
* the two-parameter example of the paper's Figure 2 (``d = 1``, ``m = 1``, ``n = 2``):
  :func:`two_parameter_instance`, :func:`loss_on_grid`, :func:`two_parameter_ravine_curve`,
  :func:`cubic_ravine_coefficient_1d` and :func:`two_parameter_landscape`.

Directions are flat vectors of length ``n d`` (index ``i d + a``, as in
:meth:`~gmmlit.core.objective.PopulationKL.hessian`); means are ``(n, d)`` arrays.
"""

from __future__ import annotations

import numpy as np

from ..core.geometry import cluster_bias, normal_basis, project_to_ravine, tangent_basis
from ..core.instances import make_instance, triangle_instance
from ..core.mixture import Mixture
from .quartic import QuarticModel, quartic_form, separated_limit
from ..core.validation import _as_float_array, check_positive_float, check_positive_int, check_rng, check_weights

#: Slices of the two-parameter example are sampled at ``t`` in ``[T_MIN, T_MAX]`` by default.
#: Below ``1e-3`` the tangent slice ``L ~ t^4 / 16`` falls under ``1e-13`` and its relative
#: rounding error (about ``1e-16 / t^2``) starts to show.
T_MIN, T_MAX = 1e-3, 1.0


# ---------------------------------------------------------------------------- helpers
def _check_ts(ts, name="ts"):
    t = _as_float_array(ts, name)
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array of step lengths, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be finite")
    return t


def _check_direction(direction, size, name="direction"):
    w = _as_float_array(direction, name).ravel()
    if w.size != size:
        raise ValueError(f"{name} must have n * d = {size} entries (flat, index i*d + a), got {w.size}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be finite")
    return w


def unit_direction(basis, seed=0):
    """A random unit vector in the span of an orthonormal ``basis`` (columns).

    The coefficients are standard normal (seeded), so the direction is uniform on the
    unit sphere of the subspace; its sign is fixed so that its first entry of absolute
    value above ``1e-12`` is positive, which makes one-dimensional subspaces give the
    same vector for every seed.

    Parameters
    ----------
    basis : array_like, shape (N, k)
        Orthonormal columns, e.g. :func:`gmmlit.core.geometry.tangent_basis`.
    seed : int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (N,)
    """
    b = _as_float_array(basis, "basis")
    if b.ndim != 2 or b.shape[1] < 1:
        raise ValueError(f"basis must be a 2-D array with at least one column, got shape {b.shape}")
    rng = check_rng(seed, "seed")
    w = b @ rng.standard_normal(b.shape[1])
    w /= np.linalg.norm(w)
    first = np.flatnonzero(np.abs(w) > 1e-12)[0]
    return w if w[first] > 0 else -w


# ---------------------------------------------------------------------------- slices
def loss_along_line(objective, means_star, direction, ts):
    """``L(theta* + t w)`` for each ``t`` in ``ts``.

    Parameters
    ----------
    objective : PopulationKL
    means_star : array_like, shape (n, d)
    direction : array_like, shape (n d,) or (n, d)
    ts : array_like, shape (k,)

    Returns
    -------
    ndarray, shape (k,)
    """
    star = objective.check_means(means_star, "means_star")
    w = _check_direction(direction, star.size).reshape(star.shape)
    return np.array([objective.loss(star + t * w) for t in _check_ts(ts)])


def fit_power_law(x, y):
    """Least-squares fit of ``log y = log c + p log x``; returns ``(p, c)``.

    The exponent ``p`` and constant ``c`` of a power law ``y ~ c x^p``. Raises
    ``ValueError`` when a value is not positive (its logarithm does not exist), when the
    shapes differ or when there are fewer than two points.
    """
    x = _as_float_array(x, "x")
    y = _as_float_array(y, "y")
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"x and y must be 1-D of the same shape, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError("a power-law fit needs at least two points")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to take logarithms")
    p, logc = np.polyfit(np.log(x), np.log(y), 1)
    return float(p), float(np.exp(logc))


def loglog_slope(ts, values):
    """Least-squares slope of ``log values`` against ``log ts``: the exponent of
    :func:`fit_power_law`."""
    return fit_power_law(ts, values)[0]


def normal_gradient_along_line(objective, means_star, assignment, direction, ts):
    """Normal coordinates ``B^T grad L(theta* + t v)``, shape ``(k, m d)``.

    ``B`` is the orthonormal basis of the normal space
    (:func:`gmmlit.core.geometry.normal_basis`). For a tangent ``v`` these are ``O(t^2)``:
    the Hessian kills ``v``, so the first term of the Taylor series of the gradient is
    ``(t^2 / 2) D^3 L(theta*)[v, v]``.
    """
    star = objective.check_means(means_star, "means_star")
    n, d = star.shape
    v = _check_direction(direction, star.size).reshape(n, d)
    basis = normal_basis(objective.weights, assignment, d)
    return np.array([basis.T @ objective.grad(star + t * v).ravel() for t in _check_ts(ts)])


def ravine_normal_offsets(objective, means_star, assignment, direction, ts):
    """The ravine points above ``theta* + t v`` and their normal coordinates.

    For each ``t``, :func:`gmmlit.core.geometry.project_to_ravine` minimises ``L`` over
    normal moves from ``theta* + t v``; the normal coordinates ``c(t) = B^T (theta_M - theta*)``
    say how far the ravine ``M`` has bent away from its tangent space ``T``.

    Returns
    -------
    points : ndarray, shape (k, n, d)
    offsets : ndarray, shape (k, m d)
    """
    star = objective.check_means(means_star, "means_star")
    n, d = star.shape
    v = _check_direction(direction, star.size).reshape(n, d)
    basis = normal_basis(objective.weights, assignment, d)
    points = np.array([project_to_ravine(objective, star + t * v, star, assignment) for t in _check_ts(ts)])
    offsets = (points - star).reshape(len(points), -1) @ basis
    return points, offsets


def measure_growth(instance, ts=None, *, seed=0, rule=None, ravine_ts=None):
    """Growth of the loss across and along the ravine of one instance, with the predictions.

    Draws a random unit normal direction ``u`` and a random unit tangent direction
    ``v`` (seeded, :func:`unit_direction`) and measures ``L(theta* + t u)``,
    ``L(theta* + t v)``, the normal gradient along ``theta* + t v``, the ravine
    points above ``theta* + t v``, their cluster biases and the loss on them. The
    predictions come from :mod:`gmmlit.theory.quartic` (``Q``, ``Q_M``, the second-order
    cluster bias of the ravine) and from the Hessian (``u^T H u``).

    Parameters
    ----------
    instance : Instance
        With ``delta_pi == 0`` (``theta*`` is the minimiser).
    ts : array_like or None
        Step lengths; default ``logspace(-3, -1, 9)``.
    seed : int
    rule : IntegrationRule or None
    ravine_ts : array_like or None
        Step lengths for the (costlier) ravine projections; default ``ts``.

    Returns
    -------
    dict
        Directions ``normal``, ``tangent`` (flat, ``(n d,)``); ``hessian`` at ``theta*``;
        on ``ts``: ``loss_normal``, ``loss_tangent``, ``normal_gradient`` (normal
        coordinates ``B^T grad L(theta* + t v)``, ``(k, m d)``); on ``ravine_ts``:
        ``loss_ravine``, ``offsets`` (normal coordinates of the ravine points, ``(k, m d)``),
        ``biases`` (their cluster biases, ``(k, m, d)``); predictions ``half_uHu``
        (``u^T H u / 2``), ``quartic_Q`` (``Q(v)``), ``quartic_QM`` (``Q_M(v)``),
        ``bias_coefficient`` (``lim cluster bias / t^2``, ``(m, d)``); fitted log-log
        slopes ``slope_normal``, ``slope_tangent``, ``slope_ravine``,
        ``slope_normal_gradient``, ``slope_offset``.
    """
    if instance.delta_pi > 1e-12:
        raise ValueError(f"instance must have delta_pi = 0 (theta* a minimiser), got {instance.delta_pi:.3g}")
    ts = np.logspace(-3, -1, 9) if ts is None else _check_ts(ts)
    ravine_ts = ts if ravine_ts is None else _check_ts(ravine_ts, "ravine_ts")
    objective = instance.objective(rule)
    star, a, d = instance.means_star, instance.assignment, instance.d
    rng = check_rng(seed, "seed")
    u = unit_direction(normal_basis(instance.weights, a, d), rng)
    v = unit_direction(tangent_basis(instance.weights, a, d), rng)
    hess = objective.hessian(star)
    loss_n = loss_along_line(objective, star, u, ts)
    loss_t = loss_along_line(objective, star, v, ts)
    grad_n = normal_gradient_along_line(objective, star, a, v, ts)
    points, offsets = ravine_normal_offsets(objective, star, a, v, ravine_ts)
    loss_m = np.array([objective.loss(p) for p in points])
    biases = np.array([cluster_bias(instance.teacher, instance.weights, p, a) for p in points])
    off_norm = np.linalg.norm(offsets, axis=1)
    model = QuarticModel(objective, star, a)
    v_means = v.reshape(star.shape)
    return dict(
        ts=ts, ravine_ts=ravine_ts, normal=u, tangent=v, hessian=hess,
        loss_normal=loss_n, loss_tangent=loss_t, loss_ravine=loss_m,
        normal_gradient=grad_n, offsets=offsets, biases=biases,
        half_uHu=0.5 * float(u @ hess @ u),
        quartic_Q=model.form(v_means),
        quartic_QM=model.ravine_form(v_means),
        bias_coefficient=model.ravine_cluster_bias(v_means),
        slope_normal=loglog_slope(ts, loss_n),
        slope_tangent=loglog_slope(ts, loss_t),
        slope_ravine=loglog_slope(ravine_ts, loss_m),
        slope_normal_gradient=loglog_slope(ts, np.linalg.norm(grad_n, axis=1)),
        slope_offset=loglog_slope(ravine_ts, off_norm) if np.all(off_norm > 0) else float("nan"),
    )


def quartic_constants_vs_separation(sides, *, n=6, seed=0, t=1e-3, rule=None):
    """Quartic constants along the tangent line and along the ravine, triangle teachers.

    For each side length, the running example :func:`gmmlit.core.instances.triangle_instance`
    ``(n, side, seed)`` and the same unit tangent direction ``v`` (it depends on the
    weights and the grouping only, not on the side). Measured: ``q_line`` and
    ``q_ravine``, ``L / t^4`` on ``theta* + t v`` and on the ravine point above it,
    extrapolated to ``t -> 0`` from ``t`` and ``2 t`` (Richardson: ``2 f(t) - f(2t)``
    cancels the ``t^5`` term). Predicted (:mod:`gmmlit.theory.quartic`): ``q_formula`` (``Q(v)``),
    ``q_ravine_formula`` (``Q_M(v)``) and ``q_separated`` (the well separated limit).

    Returns
    -------
    dict
        ``sides`` and the five arrays above (one entry per side), ``tangent`` (the
        direction, flat) and ``instances`` (list of Instance).
    """
    sides = _check_ts(sides, "sides")
    t = check_positive_float(t, "t", maximum=0.05)
    ts = np.array([t, 2 * t])
    keys = ("q_line", "q_ravine", "q_formula", "q_ravine_formula", "q_separated")
    out = {key: [] for key in keys}
    out["instances"] = []
    v = None
    for side in sides:
        inst = triangle_instance(n=n, side=float(side), seed=seed)
        if v is None:
            v = unit_direction(tangent_basis(inst.weights, inst.assignment, inst.d), seed)
        f = inst.objective(rule)
        star, a = inst.means_star, inst.assignment
        line = loss_along_line(f, star, v, ts) / ts ** 4
        points, _ = ravine_normal_offsets(f, star, a, v, ts)
        on_ravine = np.array([f.loss(p) for p in points]) / ts ** 4
        model = QuarticModel(f, star, a)
        vm = v.reshape(star.shape)
        out["q_line"].append(2 * line[0] - line[1])
        out["q_ravine"].append(2 * on_ravine[0] - on_ravine[1])
        out["q_formula"].append(model.form(vm))
        out["q_ravine_formula"].append(model.ravine_form(vm))
        out["q_separated"].append(separated_limit(inst.teacher, inst.weights, a, vm))
        out["instances"].append(inst)
    for key in keys:
        out[key] = np.array(out[key])
    out["sides"] = sides
    out["tangent"] = v
    return out


# ---------------------------------------------------------------------------- the two-parameter example
def two_parameter_instance(weights=(0.5, 0.5)):
    """The example of Figure 2: teacher ``N(0, 1)`` (``d = 1``, ``m = 1``), two students.

    Parameters
    ----------
    weights : array_like, shape (2,)
        Student weights ``(pi_1, pi_2)``, positive, summing to 1. Any other length is
        also accepted (``n`` students, all in the one cluster).

    Returns
    -------
    Instance
        ``theta* = (0, 0)``, both students assigned to the teacher, ``delta_pi = 0``.
    """
    w = check_weights(weights, "weights")
    if w.shape[0] < 2:
        raise ValueError(f"weights must have at least two entries (overparameterized), got {w.shape[0]}")
    teacher = Mixture(np.array([1.0]), np.zeros((1, 1)))
    label = ", ".join(f"{x:g}" for x in w)
    return make_instance(teacher, w, np.zeros(w.shape[0], dtype=int), name=f"two-parameter(pi=({label}))")


def loss_on_grid(objective, mu1, mu2):
    """``L`` at every ``(mu_1, mu_2)`` of a grid, for ``d = 1``, ``n = 2``.

    Returns
    -------
    ndarray, shape (len(mu2), len(mu1))
        Row ``k`` holds ``mu_2 = mu2[k]`` (the layout of ``matplotlib.contour``).
    """
    if objective.n_components != 2 or objective.dim != 1:
        raise ValueError(
            f"objective must have n = 2 students in d = 1, got n = {objective.n_components}, d = {objective.dim}"
        )
    x = _check_ts(mu1, "mu1")
    y = _check_ts(mu2, "mu2")
    out = np.empty((y.size, x.size))
    for k, b in enumerate(y):
        for i, a in enumerate(x):
            out[k, i] = objective.loss(np.array([[a], [b]]))
    return out


def cubic_ravine_coefficient_1d(weights, tangent, normal):
    """Leading coefficient of the ravine's normal offset for ``m = 1``, ``d = 1``.

    With ``theta* = 0``, a tangent direction ``v`` (``sum_i pi_i v_i = 0``) and a normal
    direction ``u``, the ravine point above ``t v`` is ``t v + c(t) u`` with
    ``c(t) = kappa t^3 + O(t^5)``, ``kappa = -M_2 P / b^2``, ``M_2 = sum_i pi_i v_i^2``,
    ``P = sum_i pi_i u_i v_i``, ``b = sum_i pi_i u_i`` (derived in the chapter "The
    ravine"). ``kappa = 0`` for equal weights: the ravine is then the straight line ``T``.
    """
    w = check_weights(weights, "weights")
    v = _check_direction(tangent, w.size, "tangent")
    u = _check_direction(normal, w.size, "normal")
    b = float(w @ u)
    if abs(b) < 1e-12:
        raise ValueError("normal must have a nonzero weighted sum sum_i pi_i u_i (it must not be tangent)")
    return -float(w @ v ** 2) * float(w @ (u * v)) / b ** 2


def two_parameter_ravine_curve(objective, means_star, assignment, ss):
    """Ravine points ``(mu_1, mu_2)`` above ``s v`` for tangent coordinates ``ss``.

    ``v`` is the unit tangent direction of :func:`unit_direction` (first entry
    positive). Returns an array ``(k, 2)``.
    """
    star = objective.check_means(means_star, "means_star")
    if star.shape != (2, 1):
        raise ValueError(f"means_star must have shape (2, 1) (two students in d = 1), got {star.shape}")
    v = unit_direction(tangent_basis(objective.weights, assignment, 1))
    points, _ = ravine_normal_offsets(objective, star, assignment, v, ss)
    return points[:, :, 0]


def two_parameter_landscape(weights=(0.5, 0.5), *, half_width=1.5, grid_points=121, ts=None,
                            ravine_points=41, rule=None):
    """All the numbers of Figure 2 for the given student weights.

    Parameters
    ----------
    weights : array_like, shape (2,)
    half_width : float
        The contour panel covers ``[-half_width, half_width]^2``.
    grid_points : int
        Grid points per axis of the contour panel.
    ts : array_like or None
        Step lengths of the slices; default ``logspace(log10(T_MIN), log10(T_MAX), 25)``.
    ravine_points : int
        Points on the drawn ravine curve.
    rule : IntegrationRule or None
        Default :func:`gmmlit.core.quadrature.default_rule` (a trapezoid rule, 201 nodes in d = 1).

    Returns
    -------
    dict of arrays and floats
        ``weights``; ``mu1``, ``mu2``, ``loss_grid``; ``ravine`` (``(k, 2)`` ravine
        points) and ``tangent_line`` (``(2, 2)`` end points of ``T``); ``normal`` and
        ``tangent`` (unit directions ``u``, ``v``); ``ts``, ``loss_normal``,
        ``loss_tangent``, ``loss_ravine``; ``half_uHu`` (``u^T H u / 2``), ``quartic_Q``
        (``Q(v)``, :func:`gmmlit.theory.quartic.quartic_form`), ``slope_normal``,
        ``slope_tangent`` (fitted on ``t <= 0.1``); ``cubic_coefficient``
        (:func:`cubic_ravine_coefficient_1d`) and ``ravine_offsets`` (measured normal
        coordinates on ``ts``).
    """
    half_width = check_positive_float(half_width, "half_width", maximum=10.0)
    grid_points = check_positive_int(grid_points, "grid_points", minimum=3)
    ravine_points = check_positive_int(ravine_points, "ravine_points", minimum=2)
    ts = np.logspace(np.log10(T_MIN), np.log10(T_MAX), 25) if ts is None else _check_ts(ts)
    inst = two_parameter_instance(weights)
    if inst.n != 2:
        raise ValueError(f"weights must have exactly two entries for the two-parameter example, got {inst.n}")
    f = inst.objective(rule)
    star, a = inst.means_star, inst.assignment
    u = unit_direction(normal_basis(inst.weights, a, 1))
    v = unit_direction(tangent_basis(inst.weights, a, 1))
    grid = np.linspace(-half_width, half_width, grid_points)
    # tangent coordinates s whose line point s v stays inside the square
    s_max = half_width / np.max(np.abs(v))
    ss = np.linspace(-s_max, s_max, ravine_points)
    ravine = two_parameter_ravine_curve(f, star, a, ss)
    hess = f.hessian(star)
    loss_n = loss_along_line(f, star, u, ts)
    loss_t = loss_along_line(f, star, v, ts)
    points, offsets = ravine_normal_offsets(f, star, a, v, ts)
    loss_m = np.array([f.loss(p) for p in points])
    small = ts <= 0.1
    return dict(
        weights=np.array(inst.weights),
        mu1=grid, mu2=grid, loss_grid=loss_on_grid(f, grid, grid),
        ravine=ravine, tangent_line=np.array([-s_max * v, s_max * v]),
        normal=u, tangent=v,
        ts=ts, loss_normal=loss_n, loss_tangent=loss_t, loss_ravine=loss_m,
        half_uHu=0.5 * float(u @ hess @ u),
        quartic_Q=quartic_form(f, star, a, v.reshape(star.shape)),
        slope_normal=loglog_slope(ts[small], loss_n[small]),
        slope_tangent=loglog_slope(ts[small], loss_t[small]),
        cubic_coefficient=cubic_ravine_coefficient_1d(inst.weights, v, u),
        ravine_offsets=offsets[:, 0],
    )
