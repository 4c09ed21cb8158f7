"""Figures 5 and 6 and the measurements of the chapter "Arbitrary weights: the misspecification floor".

When no grouping of the student weights matches the teacher weights (``Delta_pi > 0``)
the loss cannot reach 0. Near a grouping ``sigma`` its least value is a floor
``L* > 0``; this module measures it (:func:`local_floor`: a trust-region Newton method
with the exact Hessian, polished by Newton steps), compares it with the prediction for well
separated clusters, ``KL(pi* || w)`` (:func:`gmmlit.book.studies.kl_of_cluster_weights`)
and its chi-square approximation (:func:`gmmlit.book.studies.theory_floor`), and runs the
methods of :mod:`gmmlit.optim.first_order` and :mod:`gmmlit.optim.ravine` down to it.

``compute_figure5`` / ``plot_figure5``: both methods (and EM, and the ravine method
with ``f* = L*``) from the same start on two misspecified instances.
``compute_figure6`` / ``plot_figure6``: (a) the ravine method with ``f* = 0`` for several
``Delta_pi``; (b) ``Delta_pi`` along the global phase (gradient EM with weight updates,
:func:`gmmlit.optim.global_phase.global_phase`).

All runs use :data:`FLOOR_RULE`; every floor is the floor of that discretised objective.
"""

from __future__ import annotations

import numpy as np

from ...core.geometry import current_delta_pi, intra_cluster_dispersion
from ...optim.global_phase import global_phase
from ...core.instances import (
    make_instance,
    misspecified_instance,
    proportional_counts,
    random_teacher,
    split_weights,
    triangle_teacher,
)
from ...optim.first_order import em, gradient_em
from ...optim.ravine import ravine_method
from ...core.mixture import Mixture
from ...bench.parallel import map_trials, trial_seeds
from ...core.quadrature import TrapezoidRule
from ...optim.newton import local_floor
from ...optim.presets import POLYAK_ALONE
from ...optim.results import StopReason, first_crossing
from ..accuracy import rule_errors
from ...theory.landscape import fit_power_law
from ..studies import START_SCALE, kl_of_cluster_weights, theory_floor
from ...core.validation import _as_float_array, check_positive_float, check_positive_int
from .style import COLORS, POLYAK_MARKER, new_figure

#: Integration rule of every run in this module: trapezoid, step 0.3, disc of radius 7
#: (1709 nodes per teacher component). On the triangle instances at the starting points
#: its loss and gradient agree with ``TrapezoidRule(0.15, 10)`` to a relative 1.4e-7 and
#: 7e-7; the floor at ``Delta_pi = 0.06`` to a relative 2.6e-7.
FLOOR_RULE = TrapezoidRule(0.3, 7.0)

#: Weight mismatches of Figure 6 and of the floor table (book size; ``full=True`` adds more).
BOOK_DELTAS = (0.0005, 0.002, 0.006, 0.02, 0.06, 0.2)
FULL_DELTAS = (0.0005, 0.001, 0.002, 0.004, 0.006, 0.01, 0.02, 0.04, 0.06, 0.1, 0.2, 0.3)

#: Weight mismatch of the instances of Figure 5.
FIGURE5_DELTA = 0.06

#: Seed of the second teacher of Figure 5 (:func:`gmmlit.core.instances.random_teacher` with
#: ``m = 3``, ``d = 2``): weights 0.33/0.45/0.22, pairwise distances 5.2, 6.9 and 12.1.
GENERAL_TEACHER_SEED = 1

#: Evaluations per run: ``(book, full)``.
FIGURE5_EVALS = (300, 2000)
FIGURE6_EVALS = (300, 1500)

#: Global phase of Figure 6(b): trials and iterations, ``(book, full)``.
GLOBAL_TRIALS = (8, 50)
GLOBAL_ITERS = (60, 200)

#: The paper's statement: ``Delta_pi`` stabilises within about this many iterations.
PAPER_STABILISATION = 15

#: ``Delta_pi`` is "stable" from the iteration after which it stays within these
#: distances of its last value (:func:`stabilisation_iteration`).
STABILISATION_TOLERANCES = (1e-2, 1e-3)

#: Relative accuracy asked of the runs with ``f* = L*``: ``L <= L* (1 + FSTAR_TARGET)``.
FSTAR_TARGET = 1e-6

#: Stop reasons in the order of their integer codes in the figure data.
STOP_CODES = tuple(r.value for r in StopReason)


# ---------------------------------------------------------------------------- instances
def general_misspecified_instance(delta_pi, *, n=10, teacher_seed=GENERAL_TEACHER_SEED, split_seed=0, dim=2):
    """A random teacher (``m = 3``) whose cluster weights are off by ``Delta_pi``.

    The teacher is :func:`gmmlit.core.instances.random_teacher` ``(3, dim, seed=teacher_seed)``;
    mass ``delta_pi / 2`` moves from its lightest to its heaviest component, and the
    ``n`` students split these cluster weights (:func:`gmmlit.core.instances.split_weights`),
    so the grouping has ``sum_j |w_j - pi*_j| = delta_pi``.
    """
    delta = check_positive_float(delta_pi, "delta_pi", allow_zero=True)
    teacher = random_teacher(3, dim, seed=teacher_seed)
    shift = np.zeros(3)
    shift[np.argmax(teacher.weights)] += delta / 2
    shift[np.argmin(teacher.weights)] -= delta / 2
    target = teacher.weights + shift
    if np.any(target <= 0):
        raise ValueError(f"delta_pi = {delta} is too large for the lightest teacher weight {teacher.weights.min():.3g}")
    w, a = split_weights(target, proportional_counts(teacher.weights, n), split_seed)
    return make_instance(teacher, w / w.sum(), a, name=f"random teacher {teacher_seed} (Delta_pi={delta:g})")


# ---------------------------------------------------------------------------- the floor
def collapsed_cluster_curvature(objective, means, assignment, cluster):
    """``A_j = E_{p*}[Psi_j(x) ((x - c)(x - c)^T - I)] / w_j`` for a collapsed cluster.

    ``Psi_j = sum_{i in S_j} psi_i`` is the responsibility of cluster ``j``, ``w_j`` its
    weight and ``c`` the common mean of its students, which must coincide. For a move
    ``v`` of these students with ``sum_i pi_i v_i = 0`` the second derivative of the loss
    is ``-sum_i pi_i v_i^T A_j v_i`` (exactly, for the naive form of the objective);
    ``A_j`` is the average of the Hessian of ``p* / p_theta`` over ``N(c, I)``.
    The expectation uses the objective's own nodes (:meth:`PopulationKL.nodes`).
    """
    x = np.array(objective.check_means(means), dtype=float)
    a = np.asarray(assignment)
    if a.shape != (x.shape[0],):
        raise ValueError(f"assignment must have one entry per student ({x.shape[0]}), got shape {a.shape}")
    members = a == cluster
    if not np.any(members):
        raise ValueError(f"cluster {cluster!r} has no students")
    centre = x[members][0]
    if not np.all(x[members] == centre):
        raise ValueError(f"the students of cluster {cluster} do not share one mean: the formula needs a collapsed cluster")
    nodes, node_weights = objective.nodes()
    psi = Mixture(objective.weights, x).responsibilities(nodes)
    mass = node_weights * psi[:, members].sum(axis=1)
    z = nodes - centre
    second = np.einsum("k,ka,kb->ab", mass, z, z) - mass.sum() * np.eye(x.shape[1])
    return second / objective.weights[members].sum()


# ---------------------------------------------------------------------------- run records
def running_minimum(losses):
    """The least loss so far at every evaluation (non-finite losses are skipped)."""
    x = _as_float_array(losses, "losses")
    return np.minimum.accumulate(np.where(np.isfinite(x), x, np.inf))


def run_record(result):
    """The numbers of an :class:`~gmmlit.optim.results.OptimizationResult` that the figures use."""
    return dict(
        losses=np.array(result.losses),
        polyak_evals=np.array(result.polyak_evals),
        polyak_accepted=np.array(result.polyak_accepted),
        n_evals=int(result.n_evals),
        stop_code=STOP_CODES.index(result.stop_reason.value),
        final_loss=float(result.loss),
    )


def stop_reason_of(record):
    """The stop reason (a string) of a :func:`run_record`."""
    return STOP_CODES[int(record["stop_code"])]


def evals_to(losses, level):
    """:func:`gmmlit.optim.results.first_crossing` as an integer for the figure's arrays
    (``-1`` if never)."""
    k = first_crossing(_as_float_array(losses, "losses"), level)
    return -1 if k is None else k


#: The ravine-method runs of the chapter: name -> options on top of the defaults
#: (:data:`gmmlit.optim.presets.RAVINE_DEFAULTS`). ``"L*"`` stands for the measured floor.
#: They show the Polyak steps alone: a plateau stops the run (``on_plateau="stop"``,
#: after 5 consecutive rejections) instead of handing over to L-BFGS. Figure 5 adds the
#: default method (:func:`method_runs`).
RAVINE_VARIANTS = {
    "ravine_f0": dict(POLYAK_ALONE, f_star=0.0),
    "ravine_f0_off": dict(POLYAK_ALONE, f_star=0.0, safeguard="off"),
    "ravine_fstar_off": dict(POLYAK_ALONE, f_star="L*", safeguard="off"),
}


def ravine_variant(objective, means0, variant, l_star, max_evals, record_means=False):
    """Run the ravine method in one of :data:`RAVINE_VARIANTS` (``"L*"`` replaced by ``l_star``)."""
    if variant not in RAVINE_VARIANTS:
        raise ValueError(f"variant must be one of {tuple(RAVINE_VARIANTS)}, got {variant!r}")
    options = {k: (l_star if v == "L*" else v) for k, v in RAVINE_VARIANTS[variant].items()}
    return ravine_method(objective, means0, max_evals=max_evals, record_means=record_means, **options)


def method_runs(objective, means0, l_star, max_evals):
    """Gradient EM, EM, the default ravine method and every ravine variant of
    :data:`RAVINE_VARIANTS` from one start.

    Returns a dict of :func:`run_record`, keyed ``gradient_em``, ``em``,
    ``ravine_default`` (:data:`gmmlit.optim.presets.RAVINE_DEFAULTS`: estimated target,
    hand-over to L-BFGS on a plateau) and the variant names.
    """
    runs = dict(
        gradient_em=run_record(gradient_em(objective, means0, max_evals=max_evals)),
        em=run_record(em(objective, means0, max_evals=max_evals)),
        ravine_default=run_record(ravine_method(objective, means0, max_evals=max_evals)),
    )
    for variant in RAVINE_VARIANTS:
        runs[variant] = run_record(ravine_variant(objective, means0, variant, l_star, max_evals))
    return runs


def floor_summary(instance, objective, means0):
    """The measured floor of ``instance`` next to its predictions.

    Returns a dict with ``delta_pi``, ``L_star``, ``kl_weights`` (``KL(pi* || w)``),
    ``chi2_half`` (``sum_j Delta_j^2 / (2 pi*_j)``), ``reference_loss`` (the loss with
    every student on its teacher mean), ``grad_norm``, ``min_eigenvalue``,
    ``tangent_eigenvalues`` (the ``d (n - m)`` smallest Hessian eigenvalues),
    ``normal_eigenvalues`` (the ``d m`` largest) and ``means`` (the polished point).
    """
    fl = local_floor(objective, means0)
    eig = fl["hessian_eigenvalues"]
    k = instance.d * (instance.n - instance.m)
    return dict(
        delta_pi=float(instance.delta_pi),
        L_star=fl["L_star"],
        kl_weights=kl_of_cluster_weights(instance),
        chi2_half=theory_floor(instance),
        reference_loss=float(objective.loss(instance.means_star)),
        grad_norm=fl["grad_norm"],
        min_eigenvalue=float(eig[0]),
        tangent_eigenvalues=eig[:k],
        normal_eigenvalues=eig[k:],
        means=fl["means"],
    )


# ---------------------------------------------------------------------------- Figure 5
def compute_figure5(*, seed=0, full=False, jobs=1, progress=None, max_evals=None):
    """Numbers of Figure 5: every method from one start, on two misspecified instances.

    Panels ``"triangle"`` (:func:`gmmlit.core.instances.misspecified_instance`) and
    ``"random"`` (:func:`general_misspecified_instance`), both with
    ``Delta_pi =`` :data:`FIGURE5_DELTA`, start ``theta_ref + 0.3 N(0, I)`` seeded by
    ``seed``. Each panel holds the floor (:func:`floor_summary`) and the runs
    (:func:`method_runs`) and ``rule_errors``: the relative errors ``(loss, grad)`` of
    :data:`FLOOR_RULE` at the start against ``TrapezoidRule(0.1, 10)``, the default rule in
    ``d = 2``. ``jobs``: workers of :func:`gmmlit.bench.parallel.map_trials` (one panel
    per task); ``max_evals`` overrides :data:`FIGURE5_EVALS` (for tests).
    """
    if max_evals is None:
        max_evals = FIGURE5_EVALS[1] if full else FIGURE5_EVALS[0]
    max_evals = check_positive_int(max_evals, "max_evals")
    data = dict(delta_pi=FIGURE5_DELTA, max_evals=max_evals, seed=seed)
    if progress is not None:
        progress(0, len(FIGURE5_PANELS))
    panels = map_trials(_figure5_panel, range(len(FIGURE5_PANELS)), jobs=jobs, seed=seed, max_evals=max_evals)
    data.update(zip(FIGURE5_PANELS, panels))
    if progress is not None:
        progress(len(FIGURE5_PANELS), len(FIGURE5_PANELS))
    return data


#: The panels of Figure 5, in order.
FIGURE5_PANELS = ("triangle", "random")


def _figure5_panel(index, *, seed, max_evals):
    """Module-level worker of :func:`compute_figure5`: the panel ``FIGURE5_PANELS[index]``."""
    build = dict(triangle=misspecified_instance, random=general_misspecified_instance)[FIGURE5_PANELS[index]]
    inst = build(FIGURE5_DELTA)
    obj = inst.objective(FLOOR_RULE)
    x0 = inst.start(START_SCALE, seed)
    floor = floor_summary(inst, obj, x0)
    reference = inst.objective(TrapezoidRule(0.1, 10.0)).loss_and_grad(x0)
    return dict(floor=floor, runs=method_runs(obj, x0, floor["L_star"], max_evals),
                rule_errors=np.array(rule_errors(obj, x0, reference)),
                teacher_means=inst.teacher.means.copy(), teacher_weights=inst.teacher.weights.copy())


_METHOD_STYLE = dict(
    gradient_em=dict(color=COLORS["gradient_em"], ls="-", label="gradient EM"),
    em=dict(color=COLORS["em"], ls="-", label="EM"),
    ravine_default=dict(color=COLORS["student"], ls="-", label="ravine method (defaults)"),
    ravine_f0=dict(color=COLORS["ravine"], ls=":", label=r"ravine, $f^*=0$, Polyak alone"),
    ravine_f0_off=dict(color=COLORS["ravine"], ls="--", label=r"ravine, $f^*=0$, no safeguard"),
    ravine_fstar_off=dict(color=COLORS["ravine"], ls="-", label=r"ravine, $f^*=L^*$, no safeguard"),
)

#: Markers at the last evaluation of a run that stopped before its budget.
_STOP_MARKERS = {StopReason.NON_FINITE.value: "x", StopReason.REJECTED_STEPS.value: "o"}

#: Upper end of the loss axes; larger values (runs thrown out of the basin) are clipped.
LOSS_AXIS_TOP = 10.0

#: Lower end of the axes of Figure 5.
GAP_AXIS_BOTTOM = 1e-13


def _mark_stop(ax, record, x, y, color):
    marker = _STOP_MARKERS.get(stop_reason_of(record))
    if marker is not None:
        ax.plot(x, y, marker, color=color, ms=8, mew=2, mfc="none", clip_on=False, zorder=6)


def _plot_gap(ax, record, l_star, style, mark_polyak):
    losses = np.asarray(record["losses"], dtype=float)
    gap = losses - l_star
    k = np.arange(1, losses.size + 1)
    shown = np.where(np.isfinite(gap) & (gap > 0), np.minimum(gap, LOSS_AXIS_TOP), np.nan)
    ax.semilogy(k, shown, lw=1.3, **style)
    if mark_polyak and record["polyak_evals"].size:
        idx = np.asarray(record["polyak_evals"], dtype=int)
        ax.scatter(idx + 1, shown[idx], **POLYAK_MARKER)
    below = np.flatnonzero(np.isfinite(gap) & (gap <= 0))
    if below.size:
        ax.plot(below[0] + 1, GAP_AXIS_BOTTOM, "v", color=style["color"], ms=8, clip_on=False, zorder=6)
    last = np.flatnonzero(np.isfinite(shown))
    if last.size:
        _mark_stop(ax, record, last[-1] + 1, shown[last[-1]], style["color"])


def plot_figure5(data):
    """Figure 5: ``L - L*`` against evaluations, one panel per instance."""
    names = [n for n in ("triangle", "random") if n in data]
    fig, axes = new_figure(ncols=len(names), width=5.6 * len(names), height=4.6)
    axes = np.atleast_1d(axes)
    titles = dict(triangle="(a) triangle teacher (side 6)", random="(b) random teacher (distances 5.2, 6.9, 12.1)")
    for ax, name in zip(axes, names):
        panel = data[name]
        l_star = panel["floor"]["L_star"]
        for method, rec in panel["runs"].items():
            _plot_gap(ax, rec, l_star, _METHOD_STYLE[method], mark_polyak=method.startswith("ravine"))
        ax.axhline(l_star * FSTAR_TARGET, color=COLORS["teacher"], ls=":", lw=1.0, label=r"$10^{-6}L^*$")
        ax.scatter([], [], label="Polyak trial point", **POLYAK_MARKER)
        ax.plot([], [], "x", color=COLORS["teacher"], ms=7, mew=2, label="stop: non-finite")
        ax.plot([], [], "o", color=COLORS["teacher"], ms=7, mew=2, mfc="none", label="stop: rejected steps")
        ax.plot([], [], "v", color=COLORS["teacher"], ms=7, label=r"first loss below $L^*$")
        ax.set_xlabel("objective evaluations")
        ax.set_ylabel(r"$L(\theta_k)-L^*$")
        ax.set_ylim(GAP_AXIS_BOTTOM, LOSS_AXIS_TOP)
        ax.set_title(f"{titles[name]}\n$\\Delta_\\pi={data['delta_pi']:g}$, floor $L^*={l_star:.6g}$")
        ax.legend(fontsize=7, loc="lower left", ncol=2)
    return fig


# ---------------------------------------------------------------------------- Figure 6
def stabilisation_iteration(values, tolerance):
    """First iteration ``t`` after which ``values`` stay within ``tolerance`` of their last
    value: ``max_{s >= t} |v_s - v_end| <= tolerance``."""
    v = _as_float_array(values, "values")
    tolerance = check_positive_float(tolerance, "tolerance", allow_zero=True)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError("values must be a non-empty 1-D array of finite numbers")
    dev = np.abs(v - v[-1])
    tail_max = np.maximum.accumulate(dev[::-1])[::-1]
    return int(np.flatnonzero(tail_max <= tolerance)[0])


def global_phase_trajectories(n_trials, max_iters, *, seed=0, n=10, side=6.0):
    """``Delta_pi`` and active components along gradient EM with weight updates.

    Triangle teacher of the given side, ``n`` students initialised by
    :func:`gmmlit.optim.global_phase.global_phase` (means drawn from the teacher, equal weights),
    one trial per seed of :func:`gmmlit.bench.parallel.trial_seeds`. Runs shorter than
    ``max_iters`` (a non-finite update) are padded with NaN.
    """
    teacher = triangle_teacher(side)
    seeds = trial_seeds(seed, n_trials)
    delta_pi = np.full((len(seeds), max_iters), np.nan)
    n_active = np.zeros((len(seeds), max_iters), dtype=int)
    losses = np.full((len(seeds), max_iters), np.nan)
    for k, s in enumerate(seeds):
        r = global_phase(teacher, n, seed=s, max_iters=max_iters, update="gem", rule=FLOOR_RULE)
        delta_pi[k, :r.n_iters] = r.delta_pi
        n_active[k, :r.n_iters] = r.n_active
        losses[k, :r.n_iters] = r.losses
    return dict(delta_pi=delta_pi, n_active=n_active, losses=losses, seeds=np.array(seeds))


def _best_point_delta_pi(instance, result):
    """``Delta_pi`` of the nearest-teacher grouping at the least-loss point of ``result``."""
    best = int(np.argmin(np.where(np.isfinite(result.losses), result.losses, np.inf)))
    return current_delta_pi(instance.teacher, instance.weights, result.means_history[best])


def _figure6_delta(index, *, deltas, seed, max_evals):
    """Module-level worker of :func:`compute_figure6`: the floor and the ravine runs for
    ``deltas[index]`` (for ``Delta_pi = 0`` the EM move at ``theta*`` and the two
    ``f* = 0`` runs). Returns ``dict(runs, table, em_move)``."""
    delta = deltas[index]
    inst = misspecified_instance(delta)
    obj = inst.objective(FLOOR_RULE)
    x0 = inst.start(START_SCALE, seed)
    if delta == 0.0:
        em_move = float(np.linalg.norm(obj.evaluate(inst.means_star).em_means() - inst.means_star))
        runs = {v: run_record(ravine_variant(obj, x0, v, 0.0, max_evals)) for v in ("ravine_f0", "ravine_f0_off")}
        return dict(runs=runs, table={}, em_move=em_move)
    fl = floor_summary(inst, obj, x0)
    table = {key: fl[key] for key in ("L_star", "kl_weights", "chi2_half", "reference_loss", "grad_norm",
                                      "min_eigenvalue")}
    table.update(max_tangent_eigenvalue=float(fl["tangent_eigenvalues"][-1]),
                 min_normal_eigenvalue=float(fl["normal_eigenvalues"][0]),
                 dispersion=intra_cluster_dispersion(inst.teacher, inst.weights, fl["means"], inst.assignment))
    runs = {}
    for v in RAVINE_VARIANTS:
        result = ravine_variant(obj, x0, v, fl["L_star"], max_evals, record_means=True)
        rec = run_record(result)
        runs[v] = rec
        table[f"{v}_min"] = float(running_minimum(rec["losses"])[-1])
        table[f"{v}_final"] = rec["final_loss"]
        table[f"{v}_stop_code"] = rec["stop_code"]
        table[f"{v}_evals"] = rec["n_evals"]
        table[f"{v}_best_delta_pi"] = _best_point_delta_pi(inst, result)
        table[f"{v}_evals_to_target"] = evals_to(rec["losses"], fl["L_star"] * (1 + FSTAR_TARGET))
    return dict(runs=runs, table=table, em_move=np.nan)


def compute_figure6(*, seed=0, full=False, jobs=1, progress=None, deltas=None, max_evals=None, n_trials=None,
                    max_iters=None):
    """Numbers of Figure 6 and of the floor table.

    For ``Delta_pi`` in ``{0} + BOOK_DELTAS`` (``FULL_DELTAS`` with ``full=True``) on
    :func:`gmmlit.core.instances.misspecified_instance`, from the start seeded by ``seed``:
    the floor (:func:`floor_summary`, for ``Delta_pi > 0``) and the runs of the ravine
    variants :data:`RAVINE_VARIANTS` (the ``f* = L*`` variant only for ``Delta_pi > 0``).
    Then the fit ``L* ~ c Delta_pi^p`` and the global phase trajectories of panel (b).
    ``jobs``: workers of :func:`gmmlit.bench.parallel.map_trials` (one ``Delta_pi`` per
    task; the numbers do not depend on it). ``deltas``, ``max_evals``, ``n_trials`` and ``max_iters`` override
    the sizes (:data:`BOOK_DELTAS`, :data:`FIGURE6_EVALS`, :data:`GLOBAL_TRIALS`,
    :data:`GLOBAL_ITERS`; for tests).

    ``floors`` holds one entry per ``Delta_pi > 0``: the :func:`floor_summary` numbers;
    for each variant ``v`` its least loss (``v_min``), last loss (``v_final``), stop
    reason (``v_stop_code``, an index into :data:`STOP_CODES`), evaluations
    (``v_evals``), ``v_best_delta_pi`` (``Delta_pi`` of the nearest-teacher grouping at
    its least-loss point: below ``Delta_pi`` when the run jumped to another grouping) and
    ``v_evals_to_target`` (evaluations until ``L <= L* (1 + FSTAR_TARGET)``, ``-1`` if
    never); ``dispersion`` (the intra-cluster dispersion of each cluster at the floor,
    shape ``(len(deltas), m)``). ``runs[variant][delta]`` are the :func:`run_record`.
    ``em_move_at_theta_star`` is ``|EM(theta*) - theta*|`` for ``Delta_pi = 0`` under
    :data:`FLOOR_RULE`: the rule's EM floor.
    """
    size = 1 if full else 0
    deltas = (FULL_DELTAS if full else BOOK_DELTAS) if deltas is None else tuple(deltas)
    if len(deltas) < 2 or any(check_positive_float(d, "deltas[k]", maximum=0.5) <= 0 for d in deltas):
        raise ValueError(f"deltas must hold at least two positive weight mismatches, got {deltas!r}")
    max_evals = check_positive_int(FIGURE6_EVALS[size] if max_evals is None else max_evals, "max_evals")
    n_trials = check_positive_int(GLOBAL_TRIALS[size] if n_trials is None else n_trials, "n_trials")
    max_iters = check_positive_int(GLOBAL_ITERS[size] if max_iters is None else max_iters, "max_iters")
    total = len(deltas) + 2
    keys = ("L_star", "kl_weights", "chi2_half", "reference_loss", "grad_norm", "min_eigenvalue")
    table = {k: [] for k in keys}
    table.update(max_tangent_eigenvalue=[], min_normal_eigenvalue=[], dispersion=[])
    for v in RAVINE_VARIANTS:
        for field in ("min", "final", "stop_code", "evals", "best_delta_pi", "evals_to_target"):
            table[f"{v}_{field}"] = []
    runs = {v: {} for v in RAVINE_VARIANTS}
    em_move = np.nan
    if progress is not None:
        progress(0, total)
    settings = (0.0, *deltas)
    parts = map_trials(_figure6_delta, range(len(settings)), jobs=jobs, deltas=settings, seed=seed,
                       max_evals=max_evals)
    for delta, part in zip(settings, parts):
        for v, rec in part["runs"].items():
            runs[v]["0" if delta == 0.0 else f"{delta:g}"] = rec
        if delta == 0.0:
            em_move = part["em_move"]
            continue
        for key, value in part["table"].items():
            table[key].append(value)
    floors = {k: np.array(v) for k, v in table.items()}
    floors["delta_pi"] = np.array(deltas, dtype=float)
    p, c = fit_power_law(floors["delta_pi"], floors["L_star"])
    if progress is not None:
        progress(total - 1, total)
    phase = global_phase_trajectories(n_trials, max_iters, seed=seed)
    for tol in STABILISATION_TOLERANCES:
        phase[f"stabilisation_{tol:g}"] = np.array([stabilisation_iteration(v[np.isfinite(v)], tol)
                                                    for v in phase["delta_pi"]])
    if progress is not None:
        progress(total, total)
    return dict(deltas=floors["delta_pi"], floors=floors, fit=dict(exponent=p, prefactor=c), runs=runs,
                global_phase=phase, max_evals=max_evals, seed=seed, em_move_at_theta_star=em_move,
                n_trials=n_trials)


def _delta_colors(n):
    import matplotlib

    return matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, n))


def plot_figure6(data):
    """Figure 6: (a) least loss so far of the ravine method with ``f* = 0`` for several
    ``Delta_pi`` (solid: defaults; dashed: no safeguard), floors dotted; (b) ``Delta_pi``
    along gradient EM with weight updates."""
    fig, (ax, bx) = new_figure(ncols=2, width=11.5, height=4.6)
    labels = list(data["runs"]["ravine_f0"])
    colors = _delta_colors(len(labels))
    l_stars = dict(zip([f"{d:g}" for d in data["deltas"]], data["floors"]["L_star"]))
    for label, color in zip(labels, colors):
        for variant, ls, lw in (("ravine_f0", "-", 1.8), ("ravine_f0_off", "--", 1.1)):
            rec = data["runs"][variant][label]
            losses = np.asarray(rec["losses"], dtype=float)
            best = running_minimum(losses)
            k = np.arange(1, losses.size + 1)
            ax.semilogy(k, best, color=color, lw=lw, ls=ls,
                        label=f"$\\Delta_\\pi={label}$" if variant == "ravine_f0" else None)
            idx = np.asarray(rec["polyak_evals"], dtype=int)
            if variant == "ravine_f0":
                ax.scatter(idx + 1, best[idx], s=14, marker="|", color=COLORS["polyak"], linewidths=0.9, zorder=4)
            _mark_stop(ax, rec, losses.size, best[-1], color)
        if label in l_stars:
            ax.axhline(l_stars[label], color=color, ls=":", lw=1.0)
    ax.plot([], [], "-", color=COLORS["teacher"], lw=1.8, label="defaults")
    ax.plot([], [], "--", color=COLORS["teacher"], lw=1.1, label="no safeguard")
    ax.plot([], [], ":", color=COLORS["teacher"], lw=1.0, label=r"floor $L^*$")
    ax.scatter([], [], s=30, marker="|", color=COLORS["polyak"], label="Polyak trial (defaults)")
    ax.plot([], [], "x", color=COLORS["teacher"], ms=7, mew=2, label="stop: non-finite")
    ax.plot([], [], "o", color=COLORS["teacher"], ms=7, mew=2, mfc="none", label="stop: rejected steps")
    ax.set_ylim(1e-14, 1e0)
    ax.set_xscale("log")
    ax.set_xlabel("objective evaluations (logarithmic)")
    ax.set_ylabel("least loss so far")
    ax.set_title(r"(a) ravine method with $f^*=0$, triangle teacher")
    ax.legend(fontsize=7, loc="lower left", ncol=2)

    phase = data["global_phase"]
    dp = np.asarray(phase["delta_pi"], dtype=float)
    it = np.arange(dp.shape[1])
    for row in dp:
        bx.semilogy(it, np.maximum(row, 1e-5), color=COLORS["student"], lw=0.8, alpha=0.5)
    bx.semilogy(it, np.nanmedian(dp, axis=0), color=COLORS["teacher"], lw=2.0, label="median over starts")
    bx.axvline(PAPER_STABILISATION, color=COLORS["polyak"], ls=":", lw=1.2, label=f"iteration {PAPER_STABILISATION}")
    bx.set_ylim(1e-5, 1.0)
    bx.set_xlabel("iteration of gradient EM with weight updates")
    bx.set_ylabel(r"$\Delta_\pi$ (students at the nearest teacher mean)")
    bx.set_title(f"(b) global phase: {dp.shape[0]} random starts, $n=10$")
    bx.legend(fontsize=8, loc="upper right")
    return fig
