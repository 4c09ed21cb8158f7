"""Figure 7 and the measurements of the chapter "Global phase and pruning".

Each trial draws a random teacher (``m = 3`` components, :func:`gmmlit.core.instances.random_teacher`)
and runs the global phase from a random start (:func:`gmmlit.optim.global_phase.global_phase`:
gradient EM on the means, EM updates ``pi_i <- E[psi_i]`` of the weights, pruning of
components whose weight falls under a threshold). Figure 7 is the histogram, over trials,
of the number of components still active at the end, one histogram for each ``d`` in
``{2, 5, 10}`` (:func:`plot_figure7`); :func:`plot_pruning` draws the counts over the
iterations.

Trials run through :func:`gmmlit.bench.parallel.map_trials` with the seeds of
:func:`gmmlit.bench.parallel.trial_seeds`; every trial builds its own generators from its seed,
so ``jobs=2`` gives the same numbers as ``jobs=1``.

Integration rules (:func:`counting_rule`) are cheap in the book: the count of surviving
components is a coarse outcome of the run, and the chapter checks how much it depends on
the rule; :func:`counting_rule_accuracy` measures each rule against a finer one at the
start of a trial.
"""

from __future__ import annotations

import numpy as np

from ...core.geometry import nearest_assignment
from ...optim.global_phase import global_phase
from ...core.instances import random_teacher
from ...core.mixture import Mixture
from ...core.objective import PopulationKL
from ...bench.parallel import map_trials, trial_seeds
from ...core.quadrature import SobolRule, TrapezoidRule
from ...core.validation import check_positive_int
from .style import COLORS, new_figure

#: Dimensions of Figure 7.
DIMENSIONS = (2, 5, 10)

#: Teacher components and initial student components of every trial.
TEACHER_COMPONENTS = 3
STUDENT_COMPONENTS = 20

#: Iterations of the global phase (one objective evaluation each).
GLOBAL_ITERS = 200

#: Components whose weight falls under this value are pruned (the default of
#: :func:`gmmlit.optim.global_phase.global_phase`).
PRUNE_THRESHOLD = 1e-3

#: Trials per dimension: ``(book, full)``.
TRIALS = (50, 100)

#: Trials are sent to the workers in batches of this size (progress is reported per batch).
BATCH = 8


def counting_rule(dim, full=False):
    """The integration rule of a trial in dimension ``dim``.

    Book (``full=False``): ``TrapezoidRule(h=0.5, radius=6)`` for ``d <= 2`` (about 450
    nodes per teacher component), ``SobolRule(2**10)`` otherwise. ``full=True``:
    ``TrapezoidRule(0.3, 7)`` and ``SobolRule(2**12)``.
    """
    dim = check_positive_int(dim, "dim")
    if dim <= 2:
        return TrapezoidRule(0.3, 7.0) if full else TrapezoidRule(0.5, 6.0)
    return SobolRule(2 ** 12 if full else 2 ** 10, 0)


def reference_counting_rule(dim):
    """The finer rule :func:`counting_rule_accuracy` compares with: ``TrapezoidRule(0.1, 10)``
    for ``d <= 2`` (the default rule there), ``SobolRule(2**16)`` otherwise."""
    dim = check_positive_int(dim, "dim")
    return TrapezoidRule(0.1, 10.0) if dim <= 2 else SobolRule(2 ** 16, 0)


def counting_rule_accuracy(trial_seed, dim, full=False, n=STUDENT_COMPONENTS, m=TEACHER_COMPONENTS):
    """Relative errors ``(loss, grad)`` of :func:`counting_rule` against
    :func:`reference_counting_rule` at the start of the trial ``trial_seed`` (its teacher,
    its initial means, equal weights ``1/n``)."""
    teacher_seed, start_seed = trial_problem_seeds(trial_seed)
    teacher = random_teacher(m, dim, seed=teacher_seed)
    start = global_phase(teacher, n, seed=start_seed, max_iters=1, prune_threshold=PRUNE_THRESHOLD,
                         update="gem", rule=counting_rule(dim, full))
    weights = np.full(n, 1.0 / n)
    out = []
    cheap = PopulationKL(teacher, weights, counting_rule(dim, full)).loss_and_grad(start.means0)
    fine = PopulationKL(teacher, weights, reference_counting_rule(dim)).loss_and_grad(start.means0)
    out.append(abs(cheap[0] - fine[0]) / abs(fine[0]))
    out.append(float(np.linalg.norm(cheap[1] - fine[1]) / np.linalg.norm(fine[1])))
    return np.array(out)


def trial_problem_seeds(trial_seed):
    """Two independent integer seeds (teacher, start) derived from one trial seed."""
    trial_seed = check_positive_int(trial_seed, "trial_seed", minimum=0)
    teacher_seed, start_seed = np.random.SeedSequence(trial_seed).generate_state(2, dtype=np.uint32)
    return int(teacher_seed), int(start_seed)


def min_separation(means):
    """Smallest distance between two rows of ``means``."""
    x = np.asarray(means, dtype=float)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    d2[np.diag_indices_from(d2)] = np.inf
    return float(np.sqrt(d2.min()))


def embedded_teacher(teacher, dim):
    """The same mixture in ``dim >= teacher.dim`` dimensions (means padded with zeros)."""
    dim = check_positive_int(dim, "dim", minimum=teacher.dim)
    means = np.zeros((teacher.n_components, dim))
    means[:, :teacher.dim] = teacher.means
    return Mixture(teacher.weights, means)


def active_components_trial(trial_seed, *, dim, n=STUDENT_COMPONENTS, m=TEACHER_COMPONENTS, max_iters=GLOBAL_ITERS,
                            prune_threshold=PRUNE_THRESHOLD, full=False, rule=None, teacher_dim=None):
    """One trial of Figure 7: a random teacher, a random start, the global phase.

    Parameters
    ----------
    trial_seed : int >= 0
        Seeds the teacher and the start (:func:`trial_problem_seeds`).
    dim, n, m : int
        Dimension, initial student components, teacher components.
    max_iters : int
        Iterations of the global phase.
    prune_threshold : float
        Pruning threshold on the weights.
    full : bool
        Selects the rule of :func:`counting_rule` (when ``rule`` is None).
    rule : IntegrationRule or None
        Overrides :func:`counting_rule`.
    teacher_dim : int or None
        Draw the teacher in ``teacher_dim <= dim`` dimensions and embed it
        (:func:`embedded_teacher`): the same teacher geometry in a larger space.

    Returns
    -------
    dict
        ``n_active`` (per iteration, padded with the last value if the run stopped
        early), ``delta_pi`` (likewise), ``final_loss``, ``separation`` (least distance
        between teacher means), ``start_delta_pi`` and ``start_covered`` (1 when every
        teacher mean is the nearest one of some initial student mean).
    """
    teacher_seed, start_seed = trial_problem_seeds(trial_seed)
    if teacher_dim is None:
        teacher = random_teacher(m, dim, seed=teacher_seed)
    else:
        teacher = embedded_teacher(random_teacher(m, teacher_dim, seed=teacher_seed), dim)
    rule = counting_rule(dim, full) if rule is None else rule
    r = global_phase(teacher, n, seed=start_seed, max_iters=max_iters, prune_threshold=prune_threshold,
                     update="gem", rule=rule)
    pad = max_iters - r.n_iters
    return dict(
        n_active=np.pad(np.asarray(r.n_active), (0, pad), mode="edge"),
        delta_pi=np.pad(np.asarray(r.delta_pi), (0, pad), mode="edge"),
        final_loss=float(r.losses[-1]),
        separation=min_separation(teacher.means),
        start_delta_pi=float(r.delta_pi[0]),
        start_covered=int(np.unique(nearest_assignment(teacher, r.means0)).size == m),
    )


def active_component_sweep(dim, seeds, *, jobs=1, progress=None, done=0, total=None, **trial_options):
    """:func:`active_components_trial` for every seed, stacked into arrays.

    Trials go to :func:`gmmlit.bench.parallel.map_trials` in batches of :data:`BATCH`;
    ``progress(done + k, total)`` is called after each batch.
    """
    seeds = list(seeds)
    results = []
    for lo in range(0, len(seeds), BATCH):
        results += map_trials(active_components_trial, seeds[lo:lo + BATCH], jobs=jobs, dim=dim, **trial_options)
        if progress is not None:
            progress(done + len(results), total if total is not None else len(seeds))
    return {key: np.stack([np.asarray(r[key]) for r in results]) for key in results[0]}


def count_histogram(counts, n):
    """``h[k]`` = number of trials with ``k`` active components, ``k = 0..n``."""
    c = np.asarray(counts, dtype=int)
    return np.bincount(c, minlength=n + 1)[: n + 1]


def compute_figure7(*, seed=0, full=False, jobs=1, progress=None, n_trials=None, max_iters=GLOBAL_ITERS):
    """Numbers of Figure 7: active components after the global phase, per dimension.

    Parameters
    ----------
    seed : int
        Seeds the trials (:func:`gmmlit.bench.parallel.trial_seeds`); the same trial seeds are
        used in every dimension.
    full : bool
        :data:`TRIALS` ``[1]`` trials per dimension and the finer rules of :func:`counting_rule`.
    jobs : int
        Workers of :func:`gmmlit.bench.parallel.map_trials`.
    progress : callable or None
        ``progress(done, total)`` after every batch of trials.
    n_trials : int or None
        Overrides the number of trials (for tests).
    max_iters : int
        Iterations of the global phase.

    Returns
    -------
    dict
        Per dimension ``"d2"``, ``"d5"``, ``"d10"``: the arrays of
        :func:`active_components_trial` stacked over trials, ``counts`` (active
        components at the end), ``histogram`` (:func:`count_histogram`) and
        ``rule_errors`` (:func:`counting_rule_accuracy` at the first trial). Also
        ``dims``, ``m``, ``n``, ``prune_threshold``, ``max_iters``, ``n_trials`` and the
        setting ``d`` (the dimensions), ``trials``.
    """
    n_trials = (TRIALS[1] if full else TRIALS[0]) if n_trials is None else check_positive_int(n_trials, "n_trials")
    max_iters = check_positive_int(max_iters, "max_iters")
    seeds = trial_seeds(seed, n_trials)
    total = n_trials * len(DIMENSIONS)
    data = dict(dims=np.array(DIMENSIONS), m=TEACHER_COMPONENTS, n=STUDENT_COMPONENTS,
                prune_threshold=PRUNE_THRESHOLD, max_iters=max_iters, seed=seed, n_trials=n_trials,
                d=np.array(DIMENSIONS), trials=n_trials)
    if progress is not None:
        progress(0, total)
    for k, dim in enumerate(DIMENSIONS):
        sweep = active_component_sweep(dim, seeds, jobs=jobs, progress=progress, done=k * n_trials, total=total,
                                       full=full, max_iters=max_iters)
        sweep["counts"] = sweep["n_active"][:, -1]
        sweep["histogram"] = count_histogram(sweep["counts"], STUDENT_COMPONENTS)
        sweep["rule_errors"] = counting_rule_accuracy(seeds[0], dim, full)
        data[f"d{dim}"] = sweep
    return data


#: Largest count drawn as its own bar in Figure 7; larger counts share the last bar ("13+"
#: in the paper).
HISTOGRAM_TOP = 13


def plot_figure7(data):
    """Figure 7: one histogram per dimension of the number of components active at the end
    of the global phase (counts above :data:`HISTOGRAM_TOP` pooled in the last bar), the
    teacher's ``m`` marked."""
    dims = [int(d) for d in data["dims"]]
    fig, axes = new_figure(ncols=len(dims), width=4.0 * len(dims), height=3.6, sharey=True)
    axes = np.atleast_1d(axes)
    colors = [COLORS["student"], COLORS["em"], COLORS["ravine"]]
    n, m = int(data["n"]), int(data["m"])
    top = min(HISTOGRAM_TOP, n)
    ks = np.arange(m - 1, top + 1)
    for ax, d, c in zip(axes, dims, colors):
        h = np.asarray(data[f"d{d}"]["histogram"])
        bars = np.concatenate([h[m - 1:top], [h[top:].sum()]])
        ax.bar(ks, bars, width=0.8, color=c)
        ax.axvline(m + 0.5, color=COLORS["teacher"], ls="--", lw=1.0)
        ax.annotate("$> m$", xy=(m + 0.7, 1.0), xycoords=("data", "axes fraction"), fontsize=8, va="bottom")
        ax.set_xticks(ks[1::2] if ks.size > 8 else ks)
        labels = [str(k) if k < top else f"{top}+" for k in (ks[1::2] if ks.size > 8 else ks)]
        ax.set_xticklabels(labels)
        ax.set_xlabel("active components")
        ax.set_title(f"$d={d}$")
    axes[0].set_ylabel(f"trials (of {int(data['n_trials'])})")
    return fig


def plot_pruning(data):
    """The mean number of active components (and its quartiles) over the iterations of the
    global phase, one line per dimension, on a logarithmic iteration axis."""
    fig, bx = new_figure(width=6.0, height=3.6)
    dims = [int(d) for d in data["dims"]]
    colors = [COLORS["student"], COLORS["em"], COLORS["ravine"]]
    m = int(data["m"])
    for d, c in zip(dims, colors):
        act = np.asarray(data[f"d{d}"]["n_active"], dtype=float)
        it = np.arange(1, act.shape[1] + 1)
        lo, hi_q = np.quantile(act, [0.25, 0.75], axis=0)
        bx.fill_between(it, lo, hi_q, color=c, alpha=0.2, lw=0)
        bx.plot(it, act.mean(axis=0), color=c, lw=1.8, label=f"$d={d}$: mean, quartiles")
    bx.axhline(m, color=COLORS["teacher"], ls="--", lw=1.0)
    bx.set_xscale("log")
    bx.set_xlim(1, act.shape[1])
    bx.set_xlabel("iteration of the global phase (1 = start)")
    bx.set_ylabel("active components")
    bx.legend(fontsize=8)
    return fig
