"""The methods benchmark: evaluations (and wall time) of every method to reach the loss
tolerances ``1e-6, 1e-8, 1e-10, 1e-12`` on fixed seeded instances.

``python -m gmmlit bench methods [--quick] [--jobs J] [--out DIR]`` calls
:func:`methods_main`. Every run starts at ``theta* + 0.3 N(0, I)`` (seeded) and counts
objective evaluations through the recorder of :mod:`gmmlit.optim.results`, so the counts of
all methods (scipy line-search trials, rejected Polyak trials included) are comparable.

Crossing rule
-------------
For an instance whose weights group exactly (``Delta_pi = 0``, ``L* = 0``) a run reaches
tolerance ``tol`` at the first evaluation with ``L <= tol`` (:func:`first_crossing`).
With misspecified weights (``Delta_pi > 0``) the floor is not one number: the student
components of an over-weighted cluster spread out, and they can do so in several
arrangements, each a strict local minimum, whose values differ by about ``2e-5``
(relative) on the misspecified triangle. A local method converges to one of them, so a
run is measured against the local minimum *of its own basin*: the point reached by
Newton's method with the exact Hessian from the run's last point
(:func:`gmmlit.optim.newton.local_minimum`). The run reaches ``tol`` at the first evaluation with
``L - L_loc <= tol * L_loc`` (:func:`gap_threshold`: relative, as the tolerances on
``L <= L* (1 + tol)``). The table also records the least of all these local minima
over the runs of the instance (``l_star``, the best known floor) and every run's
``final_loss - l_star``.

Rules
-----
The full benchmark uses :func:`gmmlit.core.quadrature.default_rule`. ``--quick`` uses one seed
instead of three, smaller budgets, and cheaper rules (:func:`benchmark_rule`):
``TrapezoidRule(0.2, 8)`` in ``d = 2`` (about 15 times cheaper than the default
``h = 0.1, radius = 10``; relative loss error ``5e-10`` at a starting point of the
side-6 triangle) and ``ProductRule(0.5, 5, 3)`` in ``d = 5`` (about 2.5 times cheaper
than the default ``ProductRule(0.5, 6, 4)``; relative loss error ``7e-4`` against
``ProductRule(0.35, 6, 6)`` at a starting point, the default's being ``6e-5``). The loss
in the Bregman form is exactly zero at ``theta*`` for every rule, so the convergence
behaviour (not the accuracy of ``L`` itself) is what both versions measure.

Wall times to a tolerance are the run's wall time times the fraction of its evaluations
spent before the crossing (evaluations dominate the cost).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tables import read_commented_csv, write_csv
from ..core.instances import figure1_instance, misspecified_instance, triangle_instance
from ..optim.newton import local_minimum
from ..optim.presets import RAVINE_DEFAULTS
from ..optim.first_order import em, gradient_em
from ..optim.ravine import ravine_method
from .parallel import map_trials
from ..optim.peers import bfgs, lbfgs, nesterov
from ..core.quadrature import ProductRule, TrapezoidRule
from ..core.validation import check_positive_float
from ..core.instances import START_SCALE

#: The loss tolerances of the table.
TOLERANCES = (1e-6, 1e-8, 1e-10, 1e-12)


#: Every method of the benchmark: name -> (driver, options, kind). ``kind`` selects the
#: budget: "fast" methods get :data:`BUDGETS` ``["fast"]``, "slow" (first order) ones more.
METHODS = {
    "gradient_em": (gradient_em, {}, "slow"),
    "em": (em, {}, "slow"),
    "ravine_gem_K3": (ravine_method, dict(short="gem", short_steps=3, metric="euclidean", multiplier=1.0,
                                          safeguard="off", f_star=0.0, relaxation="off", on_plateau="stop"),
                      "fast"),
    "ravine_em_K3": (ravine_method, dict(short="em", short_steps=3), "fast"),
    "ravine_pgem_K3": (ravine_method, dict(short_steps=3), "fast"),
    "ravine_pgem_K6": (ravine_method, dict(short_steps=6), "fast"),
    "ravine_gem_adaptive": (ravine_method, dict(short="gem"), "fast"),
    "ravine_em_adaptive": (ravine_method, dict(short="em"), "fast"),
    "ravine_ratio0.5": (ravine_method, dict(adaptive_ratio=0.5), "fast"),
    "ravine_no_relax": (ravine_method, dict(relaxation="off"), "fast"),
    "ravine_f0": (ravine_method, dict(f_star=0.0), "fast"),
    "ravine_mr1": (ravine_method, dict(max_rejections=1), "fast"),
    "ravine_alone": (ravine_method, dict(on_plateau="stop"), "fast"),
    "ravine_default": (ravine_method, {}, "fast"),
    "nesterov": (nesterov, dict(restart="gradient"), "slow"),
    "lbfgs": (lbfgs, {}, "fast"),
    "lbfgs_m50": (lbfgs, dict(memory=50), "fast"),
    "bfgs": (bfgs, {}, "fast"),
}

#: Methods of gmmlit (as opposed to the peers) for the headline comparison.
GMMLIT_METHODS = tuple(k for k in METHODS if k.startswith("ravine") or k in ("em", "gradient_em"))

#: Budgets (evaluations) by kind, full and quick.
BUDGETS = {False: dict(fast=600, slow=3000), True: dict(fast=300, slow=400)}

#: The instances: name -> (factory, keyword arguments).
INSTANCES = {
    "figure1": (figure1_instance, {}),
    "triangle_side3": (triangle_instance, dict(side=3.0)),
    "triangle_side6": (triangle_instance, dict(side=6.0)),
    "triangle_side10": (triangle_instance, dict(side=10.0)),
    "misspecified_0.02": (misspecified_instance, dict(delta_pi=0.02)),
}

#: Seeds of the starting points, full and quick.
SEEDS = {False: (0, 1, 2), True: (0,)}


# ---------------------------------------------------------------------------- helpers
def first_crossing(losses, level, floor=0.0):
    """Evaluations until the first ``loss - floor <= level`` (1-based count), ``None`` if never.

    Parameters
    ----------
    losses : array_like (k,)
        Loss of every evaluation, in order.
    level : float >= 0
    floor : float
        ``L*``, subtracted from every loss (0 when the weights group exactly).
    """
    level = check_positive_float(level, "level", allow_zero=True)
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1:
        raise ValueError(f"losses must be one-dimensional, got shape {losses.shape}")
    hit = np.flatnonzero(losses - float(floor) <= level)
    return int(hit[0]) + 1 if hit.size else None


def gap_threshold(tol, floor):
    """Largest excess loss ``L - floor`` counted as reaching ``tol``: ``tol * floor``
    (relative) when the floor is positive, ``tol`` (absolute) when it is 0."""
    tol = check_positive_float(tol, "tol", allow_zero=True)
    floor = check_positive_float(floor, "floor", allow_zero=True)
    return tol * floor if floor > 0.0 else tol


def benchmark_rule(instance, quick):
    """Integration rule of a run: the default (``None``) or, with ``quick``, a cheaper one."""
    if not quick:
        return None
    return TrapezoidRule(0.2, 8.0) if instance.d <= 2 else ProductRule(0.5, 5, 3)


def make_instance(name):
    """The benchmark instance called ``name`` (a key of :data:`INSTANCES`)."""
    if name not in INSTANCES:
        raise ValueError(f"instance must be one of {tuple(INSTANCES)}, got {name!r}")
    factory, kwargs = INSTANCES[name]
    return factory(**kwargs)


def run_method(method, instance_name, seed, quick=False, tol=None, max_evals=None, f_star=None):
    """One run: returns the :class:`~gmmlit.optim.results.OptimizationResult`.

    ``tol`` defaults to the smallest of :data:`TOLERANCES` for exact instances and to 0
    (run out the budget) for misspecified ones; ``f_star`` (ravine methods only)
    overrides the Polyak target.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    driver, options, kind = METHODS[method]
    instance = make_instance(instance_name)
    objective = instance.objective(benchmark_rule(instance, quick))
    means0 = instance.start(START_SCALE, seed)
    if tol is None:
        tol = min(TOLERANCES) if instance.delta_pi == 0 else 0.0
    if max_evals is None:
        max_evals = BUDGETS[bool(quick)][kind]
    options = dict(options)
    if f_star is not None:
        options["f_star"] = f_star
    return driver(objective, means0, max_evals=max_evals, tol=tol, **options)


def result_row(result, method, instance_name, seed, l_local=0.0, l_star=0.0):
    """One row of the table from a run: evaluations and seconds to every tolerance.

    ``l_local`` is the floor the run is measured against (its own local minimum, 0 for
    an exact instance), ``l_star`` the best known floor of the instance.
    """
    row = dict(instance=instance_name, seed=seed, method=method)
    for tol in TOLERANCES:
        k = first_crossing(result.losses, gap_threshold(tol, l_local), l_local)
        row[f"evals_{tol:.0e}"] = "-" if k is None else k
    for tol in TOLERANCES:
        k = row[f"evals_{tol:.0e}"]
        row[f"seconds_{tol:.0e}"] = "-" if k == "-" else round(result.wall_time * k / result.n_evals, 4)
    row.update(final_loss=float(result.loss), excess_loss=float(result.loss - l_local), l_local=float(l_local),
               l_star=float(l_star), gap_to_best=float(result.loss - l_star),
               n_evals=int(result.n_evals), wall_time=round(float(result.wall_time), 3),
               stop_reason=str(result.stop_reason), switch_eval=result.extras.get("switch_eval", "-"))
    return row


def _run_task(task_index, tasks):
    """Module-level worker of :func:`map_trials`: runs ``tasks[task_index]``; returns the
    result and its floor (:func:`run_floor`)."""
    method, instance_name, seed, quick = tasks[task_index]
    result = run_method(method, instance_name, seed, quick)
    return result, run_floor(result, instance_name, quick)


def methods_table(quick=False, jobs=1, methods=None, instances=None, seeds=None):
    """Run every method on every instance and seed; returns the rows (dicts)."""
    methods = tuple(METHODS) if methods is None else tuple(methods)
    instances = tuple(INSTANCES) if instances is None else tuple(instances)
    seeds = SEEDS[bool(quick)] if seeds is None else tuple(seeds)
    tasks = [(m, i, s, bool(quick)) for i in instances for s in seeds for m in methods]
    outcomes = map_trials(_run_task, range(len(tasks)), jobs=jobs, tasks=tasks)
    results = [r for r, _ in outcomes]
    local = [l_loc for _, l_loc in outcomes]
    best = {}
    for (_, i, _, _), l_loc in zip(tasks, local):
        best[i] = min(best.get(i, np.inf), l_loc)
    return [result_row(res, m, i, s, l_loc, best[i]) for (m, i, s, _), res, l_loc in zip(tasks, results, local)]


def run_floor(result, instance_name, quick=False):
    """The floor a run is measured against: 0 for an exact instance, else the loss of
    :func:`gmmlit.optim.newton.local_minimum` from the run's last point (never above the run's least loss)."""
    instance = make_instance(instance_name)
    if instance.delta_pi == 0:
        return 0.0
    objective = instance.objective(benchmark_rule(instance, quick))
    return min(local_minimum(objective, result.means)["loss"], float(np.min(result.losses)))



def headline(rows, peer="lbfgs", default="ravine_default"):
    """For every (instance, seed, tolerance): the fewest evaluations of a gmmlit method,
    which method, the evaluations of ``default`` and of ``peer``; ``holds`` when the best
    gmmlit count is strictly smaller than the peer's, ``default_holds`` the same for the
    default (a tolerance ``peer`` never reaches counts as held if the other does)."""
    out = []
    keys = sorted({(r["instance"], int(r["seed"])) for r in rows})

    def beats(ours, theirs):
        return ours is not None and (theirs is None or ours < theirs)

    for inst, seed in keys:
        group = [r for r in rows if r["instance"] == inst and int(r["seed"]) == seed]
        peer_rows = [r for r in group if r["method"] == peer]
        if not peer_rows:
            continue
        default_rows = [r for r in group if r["method"] == default]
        for tol in TOLERANCES:
            col = f"evals_{tol:.0e}"
            ours = [(int(r[col]), r["method"]) for r in group if r["method"] in GMMLIT_METHODS and r[col] != "-"]
            best = min(ours) if ours else (None, "-")
            theirs = peer_rows[0][col]
            theirs = None if theirs == "-" else int(theirs)
            mine = default_rows[0][col] if default_rows else "-"
            mine = None if mine == "-" else int(mine)
            out.append(dict(instance=inst, seed=seed, tol=tol, best_method=best[1], best_evals=best[0],
                            default_evals=mine, peer_evals=theirs, holds=beats(best[0], theirs),
                            default_holds=beats(mine, theirs)))
    return out


# ---------------------------------------------------------------------------- CSV
def write_methods_csv(rows, path, command=""):
    """Write the rows as CSV with a first comment line ``# command: ...``."""
    return write_csv(rows, path, [f"command: {command}"])


def read_methods_csv(path):
    """Read a table written by :func:`write_methods_csv`: ``(rows, command)``; counts
    become ``int``, ``"-"`` stays ``"-"``, losses and times ``float``."""
    raw_rows, comments = read_commented_csv(path)
    rows = []
    for raw in raw_rows:
        row = {}
        for k, v in raw.items():
            if k in ("instance", "method", "stop_reason") or v == "-":
                row[k] = v
            elif k.startswith("evals_") or k in ("seed", "n_evals", "switch_eval"):
                row[k] = int(v)
            else:
                row[k] = float(v)
        rows.append(row)
    return rows, comments.get("command", "")


def format_methods_table(rows, what="evals"):
    """A plain-text table: evaluations (``what="evals"``) or seconds (``what="seconds"``) to
    every tolerance, then final loss, excess over the floor, wall time and stop reason."""
    if what not in ("evals", "seconds"):
        raise ValueError(f"what must be 'evals' or 'seconds', got {what!r}")
    cols = ["instance", "seed", "method"] + [f"{what}_{t:.0e}" for t in TOLERANCES] + \
           ["final_loss", "excess_loss", "wall_time", "stop_reason"]
    widths = [18, 4, 20] + [10] * len(TOLERANCES) + [11, 11, 9, 14]
    lines = [" ".join(f"{c:>{w}}" for c, w in zip(cols, widths))]
    for r in rows:
        cells = []
        for c, w in zip(cols, widths):
            v = r[c]
            plain = c == "wall_time" or c.startswith("seconds_")
            cells.append(f"{v:>{w}.3e}" if isinstance(v, float) and not plain else f"{str(v):>{w}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- entry
def methods_main(quick=False, jobs=1, out=None):
    """Run the methods benchmark, print the table and the headline comparison with L-BFGS;
    with ``out``, write ``out/methods.csv``."""
    rows = methods_table(quick=quick, jobs=jobs)
    print(f"Methods: evaluations to L <= tol (misspecified: L - L_loc <= tol L_loc, L_loc the "
          f"local minimum of the run's basin); "
          f"{'quick' if quick else 'full'} version; RAVINE_DEFAULTS = {RAVINE_DEFAULTS}")
    print(format_methods_table(rows))
    print("\nSeconds to each tolerance (the run's wall time times the share of its evaluations before the crossing)")
    print(format_methods_table(rows, "seconds"))
    print("\nHeadline: best gmmlit method, and the default, vs scipy L-BFGS (evaluations)")
    for h in headline(rows):
        print(f"{h['instance']:>18} seed {h['seed']} tol {h['tol']:.0e}: {h['best_method']:>20} "
              f"{str(h['best_evals']):>5} vs {str(h['peer_evals']):>5}  {'holds' if h['holds'] else 'FAILS'};"
              f"  default {str(h['default_evals']):>5}  {'holds' if h['default_holds'] else 'FAILS'}")
    if out is not None:
        cmd = f"python -m gmmlit bench methods{' --quick' if quick else ''} --jobs {jobs} --out {out}"
        print("wrote", write_methods_csv(rows, Path(out) / "methods.csv", cmd))
    return rows
