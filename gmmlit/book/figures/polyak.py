"""Figures 1 and 3 and the measurements of the chapter "The Polyak step and the
alternating method".

* Figure 3 (``compute_figure3`` / ``plot_figure3``): the ravine method on the
  two-parameter example (``d = 1``, ``m = 1``, ``n = 2``, weights ``(0.3, 0.7)``, whose
  ravine is curved): contours of ``L``, the ravine ``M`` and a tube around it, the
  Polyak trial points leaving the tube and the short steps returning.
* Figure 1 (``compute_figure1`` / ``plot_figure1``): loss and distance to ``theta*``
  against the evaluation count for the ravine method, gradient EM and EM on the setting
  of the paper's Figure 1 (``m = 3``, ``n = 20``; ``d = 2`` in the book, ``d = 5`` with
  ``full=True``).
* The Polyak step on the quartic model of the ravine (:mod:`gmmlit.theory.quartic`): factors at
  random directions and along iterated steps with a step multiplier, and the multipliers
  of the induced map on directions.
* The tube: its half-width ``sqrt(2 L_M / lambda_N)``.
* Fixed numbers of short steps: where the linear contraction stops.
"""

from __future__ import annotations

import numpy as np

from ..accuracy import rule_errors
from ...core.geometry import normal_basis, project_to_ravine, tangent_basis
from ...core.instances import figure1_instance
from ...theory.landscape import loss_on_grid, two_parameter_instance, two_parameter_ravine_curve, unit_direction
from ...optim.presets import RAVINE_DEFAULTS
from ...optim.first_order import em, gradient_em
from ...optim.ravine import ravine_method
from ...core.quadrature import ProductRule, TrapezoidRule
from ...core.validation import _as_float_array, check_positive_float, check_positive_int
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

#: Rule of Figure 1 in the book (``d = 2``): trapezoid, step 0.15, radius 8.
FIGURE1_BOOK_RULE = TrapezoidRule(0.15, 8.0)

#: Rule of Figure 1 at full size (``d = 5``): a product rule with trapezoid step 0.2 on the
#: radius-7 disc of the teacher plane and 4 Gauss-Hermite nodes in each of the 3 directions
#: across it (738 240 nodes). The default rule there, ``ProductRule(0.5, 6, 4)``, moves
#: ``theta*`` by 2.8e-5 under one EM step, which stops the EM-based ravine method near
#: ``L = 7e-10`` (distance 0.05); this one moves it by 6e-9 (the step 0.2 sets it; radius 6
#: would add 1e-7 from the truncated tails), at about 9 times the cost per evaluation.
#: Measured once (seed 0, 300 evaluations per method, 22 minutes on a loaded 2-core
#: machine): the ravine method reaches ``L <= 1e-12`` at evaluation 30 and then stays at
#: its EM floor, ``L ~ 1e-14`` at distance 3e-3; gradient EM ends at 5e-4, EM at 2.6e-6.
FIGURE1_FULL_RULE = ProductRule(0.2, 7.0, 4)

#: Evaluations per method in Figure 1: book, full.
FIGURE1_EVALS = (150, 300)


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


def figure1_setting(full=False, seed=0):
    """``(instance, objective)`` of Figure 1: ``m = 3``, ``n = 20``, ``Delta_pi = 0``;
    ``d = 2`` with :data:`FIGURE1_BOOK_RULE` (book), ``d = 5`` with
    :data:`FIGURE1_FULL_RULE` (``full=True``, the paper's size)."""
    inst = figure1_instance(seed=seed, dim=5 if full else 2)
    return inst, inst.objective(FIGURE1_FULL_RULE if full else FIGURE1_BOOK_RULE)


def figure1_runs(instance, objective, means0, max_evals, progress=None):
    """The ravine method (defaults), gradient EM and EM from ``means0``.

    Returns a dict ``{name: {losses, distances, polyak_evals, polyak_accepted}}`` with
    names ``ravine``, ``gradient_em``, ``em``.
    """
    out = {}
    methods = [("ravine", ravine_method), ("gradient_em", gradient_em), ("em", em)]
    for k, (name, method) in enumerate(methods):
        if progress is not None:
            progress(k, len(methods))
        r = method(objective, means0, max_evals=max_evals, minimizer=instance.means_star)
        out[name] = dict(losses=np.array(r.losses), distances=np.array(r.distances),
                         polyak_evals=np.array(r.polyak_evals), polyak_accepted=np.array(r.polyak_accepted))
    if progress is not None:
        progress(len(methods), len(methods))
    return out


def compute_figure1(*, seed=0, full=False, jobs=1, progress=None):
    """Numbers of Figure 1: loss and distance to ``theta*`` against evaluations.

    The teacher and weights are :func:`gmmlit.core.instances.figure1_instance` with ``seed``
    (``d = 2`` in the book, ``d = 5`` with ``full=True``), the start
    ``theta* + 0.3 N(0, I)`` with the same seed. Besides the runs the dictionary holds
    ``em_displacement`` (:func:`em_step_at_minimizer` for the rule used) and ``dim``.
    """
    check_positive_int(seed, "seed", minimum=0)
    inst, objective = figure1_setting(full, seed)
    data = figure1_runs(inst, objective, inst.start(START_SCALE, seed), FIGURE1_EVALS[1 if full else 0], progress)
    data["em_displacement"] = em_step_at_minimizer(objective, inst.means_star)
    data["dim"] = inst.d
    data["multiplier"] = float(RAVINE_DEFAULTS["multiplier"])
    return data


def plot_figure1(data):
    """Draw Figure 1 from :func:`compute_figure1`'s dictionary: (a) the loss, (b) the
    distance to ``theta*``, both on a log scale against the evaluation count, accepted
    Polyak trial points marked."""
    fig, (ax, bx) = new_figure(ncols=2, width=12.0, height=4.0)
    styles = [("ravine", "ravine method (defaults)", "-"), ("gradient_em", "gradient EM", "-"), ("em", "EM", "-")]
    for key, values, axis, label in [("losses", "loss", ax, r"loss $L(\theta_k)$"),
                                     ("distances", "distance", bx, r"distance $|\theta_k-\theta^*|$")]:
        for name, text, ls in styles:
            run = data[name]
            y = run[key]
            axis.semilogy(np.arange(y.size), y, ls, color=COLORS[name], lw=1.4, label=text)
            if name == "ravine":
                p = run["polyak_evals"][run["polyak_accepted"]]
                axis.scatter(p, y[p], label="Polyak iterates", **POLYAK_MARKER)
        axis.set_xlabel("evaluation $k$")
        axis.set_ylabel(label)
    ax.set_title(f"(a) loss, $d={data['dim']}$, $m=3$, $n=20$")
    bx.set_title(r"(b) distance to $\theta^*$")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def rule_accuracy(objective, reference, points):
    """Relative errors ``(loss, grad)`` of ``objective`` against ``reference`` (another
    objective on the same problem) at each point; array ``(k, 2)``."""
    out = []
    for x in points:
        ref = reference.loss_and_grad(x)
        out.append(rule_errors(objective, x, ref))
    return np.array(out)
