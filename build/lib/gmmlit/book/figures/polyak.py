"""Figures 1 and 3 and the measurements of the chapter "The Polyak step and the
alternating method".

* Figure 3 (``compute_figure3`` / ``plot_figure3``): the ravine method on the
  two-parameter example (``d = 1``, ``m = 1``, ``n = 2``, weights ``(0.3, 0.7)``, whose
  ravine is curved): contours of ``L``, the ravine ``M`` and a tube around it, the
  Polyak trial points leaving the tube and the short steps returning.
* Figure 1 (``compute_figure1`` / ``plot_figure1``): loss and distance to ``theta*``
  against the evaluation count for the ravine method, gradient EM and EM on the setting
  of the paper's Figure 1 (``d = 5``, ``m = 3``, ``n = 20``), with the default rule and
  its accuracy measured against a finer one.
* The Polyak step on the quartic model of the ravine (:mod:`gmmlit.theory.quartic`): factors at
  random directions and along iterated steps with a step multiplier, and the multipliers
  of the induced map on directions.
* The tube: its half-width ``sqrt(2 L_M / lambda_N)``.
* Fixed numbers of short steps: where the linear contraction stops.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..accuracy import rule_errors
from ...core.geometry import normal_basis, project_to_ravine, tangent_basis
from ...core.instances import figure1_instance
from ...theory.landscape import loss_on_grid, two_parameter_instance, two_parameter_ravine_curve, unit_direction
from ...optim.presets import PAPER_METHOD, RAVINE_DEFAULTS
from ...optim.first_order import em, gradient_em
from ...optim.ravine import ravine_method
from ...core.quadrature import ProductRule
from ...core.validation import _as_float_array, check_positive_float, check_positive_int
from ...optim.peers import gdpolyak
from ...bench.parallel import map_trials
from .style import COLORS, POLYAK_MARKER, new_figure
from ...core.instances import START_SCALE


#: Student weights of Figure 3: unequal, so that the ravine is curved.
FIGURE3_WEIGHTS = (0.3, 0.7)

#: Start of Figure 3 in the coordinates ``(s, c)`` along the unit tangent ``v`` and the
#: unit normal ``u``: ``theta0 = s v + c u``.
FIGURE3_START = (0.8, 0.25)

#: Options of the ravine method in Figure 3: EM short steps with the adaptive rule and the
#: classical Polyak step (Euclidean, multiplier 1), whose contraction along the ravine the
#: figure shows. Fixed here, so that the figure does not change with the defaults.
FIGURE3_OPTIONS = dict(short="em", short_steps="adaptive", adaptive_ratio=0.5, metric="euclidean",
                       multiplier=1.0, safeguard="off", f_star=0.0, on_plateau="stop")

#: Figure 3 draws the tube only where ``|s| <= 0.9``: farther out its half-width exceeds
#: the radius of curvature of the ravine and the band would fold over.
TUBE_DRAWN_UP_TO = 0.85

#: Reference rule of Figure 1 (``d = 5``): trapezoid step 0.35 on the radius-6 disc of the
#: teacher plane times 6 Gauss-Hermite nodes in each of the 3 directions across it
#: (604 584 nodes, 7 times the default ``ProductRule(0.5, 6, 4)``). The figure runs the
#: default rule; this one measures its accuracy at build time (:func:`figure1_rule_accuracy`).
FIGURE1_REFERENCE_RULE = ProductRule(0.35, 6.0, 6)

#: Evaluations per method in Figure 1: book, full.
FIGURE1_EVALS = (150, 300)

#: Methods of Figure 1, in drawing order: the ravine method (defaults), the paper's method
#: (:data:`gmmlit.optim.presets.PAPER_METHOD`: plain gradient steps of length
#: ``1/lambda_max`` at the start, ``K`` of them from the normal condition number there, then
#: a plain Polyak step with ``f* = 0``), the same scheme as GDPolyak runs it
#: (:func:`gmmlit.optim.peers.gdpolyak` with the fixed :data:`FIGURE1_GD_STEPS`), gradient EM
#: and EM.
FIGURE1_METHODS = ("ravine", "paper", "gdpolyak", "gradient_em", "em")

#: GDPolyak's ``K`` in Figure 1: the fastest of the methods benchmark's sweep on this instance.
FIGURE1_GD_STEPS = 10


# ---------------------------------------------------------------------------- the tube
def tube_half_width(ravine_loss, normal_curvature):
    """``sqrt(2 L_M / lambda_N)``: the normal offset at which the quadratic model
    ``L_M + lambda_N e^2 / 2`` doubles the loss ``L_M`` of the ravine point.

    The tube is the set of points whose loss is at most twice that of the ravine point
    with the same tangent part; its half-width shrinks like ``|v|^2`` towards ``theta*``.
    """
    lm = _as_float_array(ravine_loss, "ravine_loss")
    lam = check_positive_float(normal_curvature, "normal_curvature")
    if np.any(lm < 0):
        raise ValueError("ravine_loss must be >= 0")
    return np.sqrt(2.0 * lm / lam)


def ravine_coordinates(objective, means_star, assignment, history):
    """Tangent coordinate ``s``, normal offset ``e`` from the ravine and the loss ``L_M`` of
    the ravine point, for every point of a history (``n = 2``, ``d = 1`` example).

    ``s = <theta - theta*, v>`` with the unit tangent ``v`` of
    :func:`gmmlit.theory.landscape.unit_direction`; the ravine point ``P_M theta`` has the same
    tangent part (:func:`gmmlit.core.geometry.project_to_ravine`) and ``e = <theta - P_M theta, u>``.

    Returns
    -------
    s, offset, ravine_loss : ndarray (k,)
    """
    h = _as_float_array(history, "history")
    star = objective.check_means(means_star, "means_star")
    if h.ndim != 3 or h.shape[1:] != star.shape:
        raise ValueError(f"history must have shape (k, {star.shape[0]}, {star.shape[1]}), got {h.shape}")
    d = star.shape[1]
    u = unit_direction(normal_basis(objective.weights, assignment, d))
    v = unit_direction(tangent_basis(objective.weights, assignment, d))
    s, e, lm = [], [], []
    for x in h:
        p = project_to_ravine(objective, x, star, assignment)
        s.append(float((x - star).ravel() @ v))
        e.append(float((x - p).ravel() @ u))
        lm.append(objective.loss(p))
    return np.array(s), np.array(e), np.array(lm)


# ---------------------------------------------------------------------------- Figure 3
def compute_figure3(*, seed=0, full=False, jobs=1, progress=None, evals=20, options=None):
    """Numbers of Figure 3: the ravine method on the two-parameter example.

    Parameters
    ----------
    seed : int
        Unused: the start is fixed (:data:`FIGURE3_START`); accepted for the common signature.
    full : bool
        ``True`` draws the contours on a finer grid (241 instead of 121 points per axis).
    jobs : int
        Unused.
    progress : callable or None
    evals : int
        Evaluations of the run.
    options : dict or None
        Options of :func:`gmmlit.optim.ravine.ravine_method`; default :data:`FIGURE3_OPTIONS`.

    Returns
    -------
    dict
        ``mu1``, ``mu2``, ``loss_grid``; ``ravine`` (points ``(k, 2)``), ``ravine_s`` (their
        tangent coordinates) and ``tube_width`` on them; ``normal``, ``tangent`` (unit
        ``u``, ``v``); ``normal_curvature`` (``u^T H u``); the run: ``path`` (``(evals, 2)``),
        ``losses``, ``polyak_evals``, ``polyak_base``, ``s``, ``offset``, ``ravine_loss``,
        ``path_tube_width``.
    """
    check_positive_int(seed, "seed", minimum=0)
    evals = check_positive_int(evals, "evals", minimum=4)
    if progress is not None:
        progress(0, 1)
    inst = two_parameter_instance(FIGURE3_WEIGHTS)
    f = inst.objective()
    star, a = inst.means_star, inst.assignment
    u = unit_direction(normal_basis(inst.weights, a, 1))
    v = unit_direction(tangent_basis(inst.weights, a, 1))
    s0, c0 = FIGURE3_START
    x0 = (s0 * v + c0 * u).reshape(2, 1)
    opts = dict(FIGURE3_OPTIONS if options is None else options)
    r = ravine_method(f, x0, max_evals=evals, minimizer=star, record_means=True, **opts)
    lam = float(u @ f.hessian(star) @ u)
    s, e, lm = ravine_coordinates(f, star, a, r.means_history)
    ss = np.linspace(-0.3, 1.6, 96)
    ravine = two_parameter_ravine_curve(f, star, a, ss)
    ravine_loss = np.array([f.loss(p[:, None]) for p in ravine])
    grid_points = 241 if full else 121
    mu1 = np.linspace(-0.08, 0.92, grid_points)
    mu2 = np.linspace(-0.3, 0.14, grid_points)
    data = dict(
        weights=np.array(inst.weights), normal=u, tangent=v, normal_curvature=lam,
        mu1=mu1, mu2=mu2, loss_grid=loss_on_grid(f, mu1, mu2),
        ravine=ravine, ravine_s=ss, tube_width=tube_half_width(ravine_loss, lam),
        path=r.means_history[:, :, 0], losses=np.array(r.losses),
        polyak_evals=np.array(r.polyak_evals), polyak_base=np.array(r.polyak_base),
        s=s, offset=e, ravine_loss=lm, path_tube_width=tube_half_width(lm, lam),
        multiplier=float(opts.get("multiplier", RAVINE_DEFAULTS["multiplier"])),
    )
    if progress is not None:
        progress(1, 1)
    return data


def _polyak_mask(data):
    mask = np.zeros(data["losses"].size, dtype=bool)
    mask[data["polyak_evals"]] = True
    return mask


def plot_figure3(data):
    """Draw Figure 3 from :func:`compute_figure3`'s dictionary.

    (a) contours of ``L`` with the ravine ``M``, the tube and the first blocks of the
    run: short steps (thin arrows) and Polyak steps (thick purple arrows to the marked
    trial points); (b) the whole run in ravine coordinates: the normal offset ``|e|`` from
    ``M`` against the tangent coordinate ``s`` on log-log axes, with the tube half-width.
    """
    from matplotlib.colors import LogNorm

    fig, (ax, bx) = new_figure(ncols=2, width=13.0, height=4.4, gridspec_kw=dict(width_ratios=[1.5, 1]))
    levels = np.logspace(-5, 0, 11)
    grid = np.clip(data["loss_grid"], levels[0], levels[-1] * (1 - 1e-12))
    cs = ax.contourf(data["mu1"], data["mu2"], grid, levels=levels, norm=LogNorm(levels[0], levels[-1]),
                     cmap="Blues_r", alpha=0.5)
    ax.contour(data["mu1"], data["mu2"], grid, levels=levels, colors="white", linewidths=0.4)
    cbar = fig.colorbar(cs, ax=ax, shrink=0.85)
    cbar.set_label(r"$L(\mu_1,\mu_2)$")
    near = np.abs(data["ravine_s"]) <= TUBE_DRAWN_UP_TO
    rv, w, u = data["ravine"][near], data["tube_width"][near], data["normal"]
    upper, lower = rv + w[:, None] * u[None, :], rv - w[:, None] * u[None, :]
    ax.fill(np.concatenate([upper[:, 0], lower[::-1, 0]]), np.concatenate([upper[:, 1], lower[::-1, 1]]),
            color=COLORS["ravine"], alpha=0.25, lw=0, label=r"tube $L\leq 2L_M$")
    rv = data["ravine"]
    ax.plot(rv[:, 0], rv[:, 1], "-", color=COLORS["ravine"], lw=1.8, label=r"ravine $M$")
    path = data["path"]
    mask = _polyak_mask(data)
    for k in range(1, path.shape[0]):
        poly = mask[k]
        ax.annotate("", xy=path[k], xytext=path[k - 1],
                    arrowprops=dict(arrowstyle="-|>", color=COLORS["polyak"] if poly else COLORS["em"],
                                    lw=2.0 if poly else 1.0, shrinkA=0, shrinkB=0, mutation_scale=12))
    ax.plot(path[~mask, 0], path[~mask, 1], "o", color=COLORS["em"], ms=3.5, label="after short (EM) steps")
    ax.scatter(path[mask, 0], path[mask, 1], label="Polyak trial points", **POLYAK_MARKER)
    ax.plot([path[0, 0]], [path[0, 1]], "o", color=COLORS["teacher"], ms=5, label=r"start $\theta^0$")
    ax.plot([0], [0], "*", color="white", mec=COLORS["teacher"], ms=12, label=r"$\theta^*$")
    ax.set_xlim(data["mu1"][0], data["mu1"][-1])
    ax.set_ylim(data["mu2"][0], data["mu2"][-1])
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(r"$\mu_1$")
    ax.set_ylabel(r"$\mu_2$")
    wts = data["weights"]
    ax.set_title(rf"(a) $d=1$, $n=2$, $\pi=({wts[0]:g},{wts[1]:g})$")
    ax.legend(loc="upper right", fontsize=7.5, framealpha=0.9)

    s, e = np.abs(data["s"]), np.abs(data["offset"])
    ss = np.geomspace(max(s.min() / 2, 1e-6), s.max() * 1.5, 100)
    width_model = data["path_tube_width"] / np.maximum(s, 1e-300) ** 2
    bx.loglog(ss, np.median(width_model) * ss ** 2, "-", color=COLORS["ravine"], lw=1.5,
              label=r"tube half-width $\sqrt{2L_M/\lambda_N}\propto s^2$")
    bx.plot(s, e, ":", color=COLORS["teacher"], lw=0.8)
    bx.plot(s[~mask], e[~mask], "o", color=COLORS["em"], ms=4, label="after short steps")
    bx.scatter(s[mask], e[mask], label="Polyak trial points", **POLYAK_MARKER)
    for k in np.flatnonzero(mask):
        bx.annotate(str(k), (s[k], e[k]), textcoords="offset points", xytext=(4, 3), fontsize=7,
                    color=COLORS["polyak"])
    bx.set_xlabel(r"tangent coordinate $|s|=|\langle\theta-\theta^*,v\rangle|$")
    bx.set_ylabel(r"normal offset from $M$, $|e|$")
    bx.set_title(f"(b) the whole run (multiplier {data['multiplier']:g})")
    bx.legend(loc="lower right", fontsize=7.5)
    return fig


# ---------------------------------------------------------------------------- Figure 1
def em_step_at_minimizer(objective, means_star):
    """``|EM(theta*) - theta*|``: how far one EM step moves the exact minimiser.

    EM's fixed point solves the *naive* stationarity condition ``E[psi_i (x - mu_i)] = 0``
    under the rule, which the rule satisfies at ``theta*`` only up to its integration
    error; the Bregman loss and gradient vanish there exactly. The displacement sets the
    floor below which EM short steps cannot bring the iterates.
    """
    star = objective.check_means(means_star, "means_star")
    return float(np.linalg.norm(objective.evaluate(star).em_means() - star))


def figure1_setting(seed=0):
    """``(instance, objective)`` of Figure 1: :func:`gmmlit.core.instances.figure1_instance`
    (``d = 5``, ``m = 3``, ``n = 20``, ``Delta_pi = 0``) with the default rule."""
    inst = figure1_instance(seed=seed)
    return inst, inst.objective()


def _figure1_run(index, *, seed, max_evals):
    """Module-level worker: method ``FIGURE1_METHODS[index]`` on Figure 1's setting."""
    inst, objective = figure1_setting(seed)
    method = dict(ravine=ravine_method, paper=partial(ravine_method, **PAPER_METHOD), gradient_em=gradient_em, em=em,
                  gdpolyak=partial(gdpolyak, gd_steps=FIGURE1_GD_STEPS))[FIGURE1_METHODS[index]]
    r = method(objective, inst.start(START_SCALE, seed), max_evals=max_evals, minimizer=inst.means_star)
    return dict(losses=np.array(r.losses), distances=np.array(r.distances),
                polyak_evals=np.array(r.polyak_evals), polyak_accepted=np.array(r.polyak_accepted),
                wall_time=float(r.wall_time))


def figure1_runs(seed, max_evals, *, jobs=1, progress=None):
    """The ravine method (defaults), gradient EM and EM from the start of Figure 1
    (through :func:`gmmlit.bench.parallel.map_trials`, one method per task).

    Returns a dict ``{name: {losses, distances, polyak_evals, polyak_accepted, wall_time}}``
    with the names of :data:`FIGURE1_METHODS`.
    """
    max_evals = check_positive_int(max_evals, "max_evals")
    if progress is not None:
        progress(0, len(FIGURE1_METHODS))
    runs = map_trials(_figure1_run, range(len(FIGURE1_METHODS)), jobs=jobs, seed=seed, max_evals=max_evals)
    if progress is not None:
        progress(len(FIGURE1_METHODS), len(FIGURE1_METHODS))
    return dict(zip(FIGURE1_METHODS, runs))


def figure1_rule_accuracy(instance, objective, reference_rule=FIGURE1_REFERENCE_RULE, seed=0):
    """Relative errors ``(loss, grad)`` of ``objective`` against ``reference_rule`` at the
    start ``theta* + 0.3 N(0, I)`` and at a point ``1e-2`` from ``theta*``: array ``(2, 2)``."""
    reference = instance.objective(reference_rule)
    points = [instance.start(START_SCALE, seed), instance.start(0.01, seed + 1)]
    return rule_accuracy(objective, reference, points)


def compute_figure1(*, seed=0, full=False, jobs=1, progress=None, max_evals=None):
    """Numbers of Figure 1: loss and distance to ``theta*`` against evaluations.

    The teacher and weights are :func:`gmmlit.core.instances.figure1_instance` with ``seed``
    (``d = 5``, ``m = 3``, ``n = 20``), the start ``theta* + 0.3 N(0, I)`` with the same
    seed, the default rule; :data:`FIGURE1_EVALS` evaluations per method (``full``: the
    second), or ``max_evals``. Besides the runs the dictionary holds ``rule_errors``
    (:func:`figure1_rule_accuracy`, rows: start, near ``theta*``; columns: loss, gradient),
    ``rule_nodes``, ``reference_nodes``, ``em_displacement`` (:func:`em_step_at_minimizer`)
    and the setting ``d``, ``m``, ``n``.
    """
    check_positive_int(seed, "seed", minimum=0)
    evals = FIGURE1_EVALS[1 if full else 0] if max_evals is None else max_evals
    inst, objective = figure1_setting(seed)
    data = figure1_runs(seed, evals, jobs=jobs, progress=progress)
    data["rule_errors"] = figure1_rule_accuracy(inst, objective, seed=seed)
    data["rule_nodes"] = int(objective.n_nodes)
    data["reference_nodes"] = int(inst.objective(FIGURE1_REFERENCE_RULE).n_nodes)
    data["em_displacement"] = em_step_at_minimizer(objective, inst.means_star)
    data.update(d=inst.d, m=inst.m, n=inst.n, dim=inst.d, multiplier=float(RAVINE_DEFAULTS["multiplier"]))
    return data


def plot_figure1(data):
    """Draw Figure 1 from :func:`compute_figure1`'s dictionary: (a) the loss, (b) the
    distance to ``theta*``, both on a log scale against the evaluation count, accepted
    Polyak trial points marked."""
    fig, (ax, bx) = new_figure(ncols=2, width=12.0, height=4.0)
    styles = [("ravine", "ravine method (defaults)", "-", COLORS["ravine"]),
              ("paper", "the paper's method (PAPER_METHOD)", "-.", COLORS["student"]),
              ("gdpolyak", rf"GDPolyak, $K={FIGURE1_GD_STEPS}$, $\eta=1/\lambda_{{\max}}$", "--", COLORS["polyak"]),
              ("gradient_em", "gradient EM", "-", COLORS["gradient_em"]), ("em", "EM", "-", COLORS["em"])]
    styles = [st for st in styles if st[0] in data]
    for key, values, axis, label in [("losses", "loss", ax, r"loss $L(\theta_k)$"),
                                     ("distances", "distance", bx, r"distance $|\theta_k-\theta^*|$")]:
        for name, text, ls, color in styles:
            run = data[name]
            y = run[key]
            axis.semilogy(np.arange(y.size), y, ls, color=color, lw=1.4, label=text)
            if name == "ravine":
                p = run["polyak_evals"][run["polyak_accepted"]]
                axis.scatter(p, y[p], label="Polyak iterates", **POLYAK_MARKER)
        axis.set_xlabel("evaluation $k$")
        axis.set_ylabel(label)
    ax.set_title(f"(a) loss, $d={int(data['d'])}$, $m={int(data['m'])}$, $n={int(data['n'])}$")
    bx.set_title(r"(b) distance to $\theta^*$")
    bx.legend(loc="lower right", fontsize=8)  # the lower right of (b) is empty once the ravine run levels off
    return fig


def rule_accuracy(objective, reference, points):
    """Relative errors ``(loss, grad)`` of ``objective`` against ``reference`` (another
    objective on the same problem) at each point; array ``(k, 2)``."""
    out = []
    for x in points:
        ref = reference.loss_and_grad(x)
        out.append(rule_errors(objective, x, ref))
    return np.array(out)
