"""The random-start benchmark: how often each method reaches the global minimum from
ordinary starts, and at what cost.

``python -m gmmlit bench starts [--quick] [--jobs J] [--out DIR]`` calls :func:`starts_main`.
Every run starts at ``c + 3 N(0, I)`` (``c`` the teacher's centroid, one seeded draw per
start; the seeds come from :func:`gmmlit.bench.parallel.trial_seeds`) on instances whose
weights group exactly, so that the global minimum is ``L* = 0``; a run *succeeds* when it
reaches ``L <= 1e-8``. For every run the table records the evaluations (and seconds) until
the first ``L <= tol`` for ``tol = 1e-6 .. 1e-12``, the final loss and the stop reason.

Methods (:data:`METHODS`): the default ravine method, EM, gradient EM, L-BFGS, all with the
same budget of evaluations, and the global phase (EM on means and weights, no pruning,
:data:`GLOBAL_ITERS` iterations, each counted as one evaluation; from its own documented
initialisation, ``n`` points drawn from the teacher with the start's seed) followed by the
default ravine method on the fixed weights for the rest of the budget.

Rules: cheap ones (:func:`starts_rule`) in both versions, so that the full run (50 starts
on each of three instances) takes minutes; the loss in the Bregman form is exactly 0 at
``theta*`` for every rule, so success is measured the same way. ``--quick`` uses fewer
starts and a smaller budget.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core.instances import figure1_instance, make_instance, proportional_counts, random_teacher, split_weights
from ..core.validation import check_rng
from ..optim.first_order import em, gradient_em
from ..optim.global_phase import global_phase
from ..optim.peers import lbfgs
from ..optim.ravine import ravine_method
from ..optim.results import StopReason
from .tables import read_typed_csv, write_csv
from ..core.quadrature import ProductRule, TrapezoidRule
from .methods import TOLERANCES, first_crossing
from .parallel import map_trials, trial_seeds

#: Loss below which a run counts as having found the global minimum (``L* = 0``).
SUCCESS_LEVEL = 1e-8

#: Standard deviation of the starts around the teacher's centroid.
START_SPREAD = 3.0

#: Iterations of the global phase before the ravine method.
GLOBAL_ITERS = 30

#: Starts per instance and budget (evaluations), full and quick.
N_STARTS = {False: 50, True: 6}
BUDGET = {False: 200, True: 150}

#: Seed of the sweep (the starts' seeds are derived from it).
SWEEP_SEED = 2026


def two_cluster_instance():
    """``d = 2``, ``m = 2``, ``n = 4``, student weights ``0.3/0.3 | 0.25/0.15`` on teacher
    weights ``0.6/0.4`` (means drawn by :func:`gmmlit.core.instances.random_teacher`)."""
    teacher = random_teacher(2, 2, seed=0, weights=(0.6, 0.4))
    return make_instance(teacher, np.array([0.3, 0.3, 0.25, 0.15]), np.array([0, 0, 1, 1]), name="d2_m2_n4")


def three_cluster_instance():
    """``d = 3``, ``m = 3``, ``n = 7``: random teacher, weights split exactly."""
    teacher = random_teacher(3, 3, seed=1)
    w, a = split_weights(teacher.weights, proportional_counts(teacher.weights, 7), 1)
    return make_instance(teacher, w, a, name="d3_m3_n7")


#: The instances: name -> factory. ``figure1`` is the setting of the paper's Figure 1
#: (``d = 5``, ``m = 3``, ``n = 20``) with its grouping known by construction.
INSTANCES = {
    "d2_m2_n4": two_cluster_instance,
    "d3_m3_n7": three_cluster_instance,
    "figure1": figure1_instance,
}


def starts_rule(instance):
    """``TrapezoidRule(0.3, 8)`` in ``d <= 2``, ``ProductRule(0.7, 5, 3)`` above (half the
    nodes of the quick methods benchmark's ``ProductRule(0.5, 5, 3)``; from
    ``theta* + 0.3 N(0, I)`` on Figure 1's instance the default ravine method reaches
    ``1e-12`` in the same 25 evaluations with both)."""
    return TrapezoidRule(0.3, 8.0) if instance.d <= 2 else ProductRule(0.7, 5.0, 3)


def random_start(instance, seed, spread=START_SPREAD):
    """``c + spread * N(0, I)``, ``c`` the teacher's centroid, from a seeded generator."""
    rng = check_rng(seed, "seed")
    centroid = instance.teacher.weights @ instance.teacher.means
    return centroid + spread * rng.standard_normal(instance.means_star.shape)


def global_then_ravine(instance, objective, seed, *, max_evals, tol=0.0, iters=GLOBAL_ITERS):
    """:func:`gmmlit.optim.global_phase.global_phase` (EM on means and weights from its own
    seeded initialisation, no pruning) for ``iters`` iterations, then the default
    :func:`gmmlit.optim.ravine.ravine_method` on ``objective`` (the fixed weights) from the
    means it reached, for the remaining ``max_evals - iters`` evaluations."""
    gp = global_phase(instance.teacher, instance.n, seed=seed, max_iters=iters, prune_threshold=0.0,
                      rule=objective.rule)
    return ravine_method(objective, gp.means, max_evals=max_evals - iters, tol=tol)


def run_start(method, instance_name, seed, quick=False):
    """One run: ``(losses, n_evals, wall_time, final_loss, stop_reason)`` with the
    evaluations of the global phase counted (their losses are not on the same weights
    and are recorded as ``inf``, never a crossing)."""
    instance = INSTANCES[instance_name]()
    objective = instance.objective(starts_rule(instance))
    means0 = random_start(instance, seed)
    budget = BUDGET[bool(quick)]
    tol = min(TOLERANCES)
    start = time.perf_counter()
    with np.errstate(over="ignore", under="ignore"):
        if method == "global_then_ravine":
            r = global_then_ravine(instance, objective, seed, max_evals=budget, tol=tol)
            losses = np.concatenate([np.full(GLOBAL_ITERS, np.inf), r.losses])
        else:
            r = METHODS[method](objective, means0, max_evals=budget, tol=tol)
            losses = np.asarray(r.losses)
    return losses, losses.size, time.perf_counter() - start, float(r.loss), str(r.stop_reason)


#: The methods: name -> driver (``global_then_ravine`` is handled by :func:`run_start`).
METHODS = {
    "ravine_default": ravine_method,
    "em": em,
    "gradient_em": gradient_em,
    "lbfgs": lbfgs,
    "global_then_ravine": None,
}


def run_row(method, instance_name, start_index, seed, quick=False):
    """One row of the table (a dict)."""
    losses, n_evals, seconds, final, reason = run_start(method, instance_name, seed, quick)
    row = dict(instance=instance_name, start=start_index, seed=seed, method=method)
    for tol in TOLERANCES:
        k = first_crossing(losses, tol)
        row[f"evals_{tol:.0e}"] = "-" if k is None else k
    for tol in TOLERANCES:
        k = row[f"evals_{tol:.0e}"]
        row[f"seconds_{tol:.0e}"] = "-" if k == "-" else round(seconds * k / n_evals, 4)
    row.update(final_loss=final, success=int(final <= SUCCESS_LEVEL or row[f"evals_{SUCCESS_LEVEL:.0e}"] != "-"),
               n_evals=int(n_evals), wall_time=round(seconds, 3), stop_reason=reason)
    return row


def _task(index, tasks):
    return run_row(*tasks[index])


def starts_table(quick=False, jobs=1, instances=None, methods=None, backend=None, progress=None):
    """Every method from every start of every instance; the rows in a fixed order
    (``backend``, ``progress``: as in :func:`gmmlit.bench.parallel.map_trials`)."""
    instances = tuple(INSTANCES) if instances is None else tuple(instances)
    methods = tuple(METHODS) if methods is None else tuple(methods)
    seeds = trial_seeds(SWEEP_SEED, N_STARTS[bool(quick)])
    tasks = [(m, i, k, s, bool(quick)) for i in instances for k, s in enumerate(seeds) for m in methods]
    return map_trials(_task, range(len(tasks)), jobs=jobs, backend=backend, progress=progress, tasks=tasks)


def summary(rows):
    """Per (instance, method): starts, successes, non-finite and diverged stops, runs ending worse than
    EM from the same start (by more than 5% and 1e-12), and the medians of evaluations and
    seconds to every tolerance over the runs that reach it."""
    em_loss = {(r["instance"], int(r["start"])): float(r["final_loss"]) for r in rows if r["method"] == "em"}
    out = []
    keys = list(dict.fromkeys((r["instance"], r["method"]) for r in rows))
    for inst, method in keys:
        group = [r for r in rows if r["instance"] == inst and r["method"] == method]
        s = dict(instance=inst, method=method, starts=len(group), successes=sum(int(r["success"]) for r in group),
                 non_finite=sum(r["stop_reason"] == StopReason.NON_FINITE.value for r in group),
                 diverged=sum(r["stop_reason"] == StopReason.DIVERGED.value for r in group),
                 worse_than_em=sum(float(r["final_loss"]) > 1.05 * em_loss[(inst, int(r["start"]))] + 1e-12
                                   for r in group if (inst, int(r["start"])) in em_loss))
        for what in ("evals", "seconds"):
            for tol in TOLERANCES:
                vals = [float(r[f"{what}_{tol:.0e}"]) for r in group if r[f"{what}_{tol:.0e}"] != "-"]
                s[f"median_{what}_{tol:.0e}"] = "-" if not vals else round(float(np.median(vals)), 4)
        out.append(s)
    return out


def format_summary(stats):
    """A plain-text table of :func:`summary`."""
    cols = ["instance", "method", "starts", "successes", "non_finite", "worse_than_em"] + \
           [f"median_evals_{t:.0e}" for t in TOLERANCES] + [f"median_seconds_{t:.0e}" for t in TOLERANCES]
    heads = ["instance", "method", "starts", "success", "nonfin", "<EM"] + \
            [f"ev{t:.0e}" for t in TOLERANCES] + [f"s{t:.0e}" for t in TOLERANCES]
    widths = [10, 19, 6, 7, 6, 4] + [8] * len(TOLERANCES) + [8] * len(TOLERANCES)
    lines = [" ".join(f"{h:>{w}}" for h, w in zip(heads, widths))]
    for s in stats:
        lines.append(" ".join(f"{str(s[c]):>{w}}" for c, w in zip(cols, widths)))
    return "\n".join(lines)


def write_starts_csv(rows, path, command=""):
    """Write the rows with a first comment line ``# command: ...``."""
    return write_csv(rows, path, [f"command: {command}"])


def read_starts_csv(path):
    """Read a table written by :func:`write_starts_csv`: ``(rows, command)``, counts as
    ``int``, ``"-"`` kept, losses and seconds as ``float``."""
    rows, comments = read_typed_csv(path, integers=("start", "seed", "n_evals", "success"))
    return rows, comments.get("command", "")


def starts_main(quick=False, jobs=1, out=None, backend=None, progress=False):
    """Run the benchmark, print the summary; with ``out``, write ``out/starts.csv``."""
    rows = starts_table(quick=quick, jobs=jobs, backend=backend, progress="starts" if progress else None)
    print(f"Random starts c + {START_SPREAD:g} N(0, I): success = L <= {SUCCESS_LEVEL:.0e} (global minimum 0); "
          f"{'quick' if quick else 'full'} version, {N_STARTS[bool(quick)]} starts per instance, "
          f"budget {BUDGET[bool(quick)]} evaluations; medians over the runs reaching each tolerance")
    print(format_summary(summary(rows)))
    if out is not None:
        cmd = f"python -m gmmlit bench starts{' --quick' if quick else ''} --jobs {jobs} --out {out}"
        print("wrote", write_starts_csv(rows, Path(out) / "starts.csv", cmd))
    return rows
