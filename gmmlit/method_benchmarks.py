"""The methods benchmark: evaluations (and wall time) of every method to reach the loss
tolerances ``1e-6, 1e-8, 1e-10, 1e-12`` on fixed seeded instances.

``python -m gmmlit bench methods [--quick] [--jobs J] [--out DIR]`` calls
:func:`methods_main`. Every run starts at ``theta* + 0.3 N(0, I)`` (seeded) and counts
objective evaluations through the recorder of :mod:`gmmlit.results`, so the counts of
all methods (scipy line-search trials, rejected Polyak trials included) are comparable.

Crossing rule
-------------
For an instance whose weights group exactly (``Delta_pi = 0``, ``L* = 0``) a run reaches
tolerance ``tol`` at the first evaluation with ``L <= tol`` (:func:`first_crossing`).
For a misspecified instance (``Delta_pi > 0``) ``L* > 0`` is unknown in closed form; it
is estimated by a long BFGS run (:func:`reference_floor`) and a run reaches ``tol`` at
the first evaluation with ``L - L* <= tol * max(1, L*)`` (:func:`gap_threshold`): since
``L* < 1`` on every instance here, this is an absolute tolerance on the excess loss.

Rules
-----
The full benchmark uses :func:`gmmlit.quadrature.default_rule`. ``--quick`` uses one seed
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

import csv
from pathlib import Path

import numpy as np

from .instances import figure1_instance, misspecified_instance, triangle_instance
from .methods import RAVINE_DEFAULTS, em, gradient_em, ravine_method
from .parallel import map_trials
from .peers import bfgs, lbfgs, nesterov
from .quadrature import ProductRule, TrapezoidRule
from .results import StopReason
from .validation import check_positive_float, check_positive_int

#: The loss tolerances of the table.
TOLERANCES = (1e-6, 1e-8, 1e-10, 1e-12)

#: Scale of the Gaussian perturbation of ``theta*`` at the start.
START_SCALE = 0.3

#: Every method of the benchmark: name -> (driver, options, kind). ``kind`` selects the
#: budget: "fast" methods get :data:`BUDGETS` ``["fast"]``, "slow" (first order) ones more.
METHODS = {
    "gradient_em": (gradient_em, {}, "slow"),
    "em": (em, {}, "slow"),
    "ravine_gem_K3": (ravine_method, dict(short="gem", short_steps=3, metric="euclidean", multiplier=1.0,
                                          safeguard="off"), "fast"),
    "ravine_em_K3": (ravine_method, dict(short_steps=3), "fast"),
    "ravine_em_K6": (ravine_method, dict(short_steps=6), "fast"),
    "ravine_gem_adaptive": (ravine_method, dict(short="gem"), "fast"),
    "ravine_default": (ravine_method, {}, "fast"),
    "ravine_ratio0.8": (ravine_method, dict(adaptive_ratio=0.8), "fast"),
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


def gap_threshold(tol, l_star):
    """Largest excess loss ``L - L*`` counted as reaching ``tol``: ``tol * max(1, |L*|)``."""
    tol = check_positive_float(tol, "tol", allow_zero=True)
    return tol * max(1.0, abs(float(l_star)))


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
    """One run: returns the :class:`~gmmlit.results.OptimizationResult`.

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


def result_row(result, method, instance_name, seed, l_star=0.0):
    """One row of the table from a run: evaluations and seconds to every tolerance."""
    row = dict(instance=instance_name, seed=seed, method=method)
    for tol in TOLERANCES:
        k = first_crossing(result.losses, gap_threshold(tol, l_star), l_star)
        row[f"evals_{tol:.0e}"] = "-" if k is None else k
    for tol in TOLERANCES:
        k = row[f"evals_{tol:.0e}"]
        row[f"seconds_{tol:.0e}"] = "-" if k == "-" else round(result.wall_time * k / result.n_evals, 4)
    row.update(final_loss=float(result.loss), excess_loss=float(result.loss - l_star), l_star=float(l_star),
               n_evals=int(result.n_evals), wall_time=round(float(result.wall_time), 3),
               stop_reason=str(result.stop_reason))
    return row


def _run_task(task_index, tasks):
    """Module-level worker of :func:`map_trials`: runs ``tasks[task_index]``."""
    method, instance_name, seed, quick = tasks[task_index]
    return run_method(method, instance_name, seed, quick)


def reference_floor(instance_name, quick=False, seed=0, max_evals=None):
    """``L*`` of a misspecified instance: the least loss of a long BFGS run (3 times the
    "fast" budget, stopped by BFGS itself when its line search fails)."""
    if max_evals is None:
        max_evals = 3 * BUDGETS[bool(quick)]["fast"]
    result = run_method("bfgs", instance_name, seed, quick, tol=0.0, max_evals=max_evals)
    return float(np.min(result.losses))


def methods_table(quick=False, jobs=1, methods=None, instances=None, seeds=None):
    """Run every method on every instance and seed; returns the rows (dicts)."""
    methods = tuple(METHODS) if methods is None else tuple(methods)
    instances = tuple(INSTANCES) if instances is None else tuple(instances)
    seeds = SEEDS[bool(quick)] if seeds is None else tuple(seeds)
    tasks = [(m, i, s, bool(quick)) for i in instances for s in seeds for m in methods]
    results = map_trials(_run_task, range(len(tasks)), jobs=jobs, tasks=tasks)
    floors = {}
    for name in instances:
        if make_instance(name).delta_pi > 0:
            floors[name] = reference_floor(name, quick)
    rows = []
    for (m, i, s, _), res in zip(tasks, results):
        rows.append(result_row(res, m, i, s, floors.get(i, 0.0)))
    return rows


def headline(rows, peer="lbfgs"):
    """For every (instance, seed, tolerance): the fewest evaluations of a gmmlit method,
    which method, and the evaluations of ``peer``; ``holds`` when the gmmlit count is
    strictly smaller (a tolerance ``peer`` never reaches counts as held if gmmlit does)."""
    out = []
    keys = sorted({(r["instance"], int(r["seed"])) for r in rows})
    for inst, seed in keys:
        group = [r for r in rows if r["instance"] == inst and int(r["seed"]) == seed]
        peer_rows = [r for r in group if r["method"] == peer]
        if not peer_rows:
            continue
        for tol in TOLERANCES:
            col = f"evals_{tol:.0e}"
            ours = [(int(r[col]), r["method"]) for r in group if r["method"] in GMMLIT_METHODS and r[col] != "-"]
            best = min(ours) if ours else (None, "-")
            theirs = peer_rows[0][col]
            theirs = None if theirs == "-" else int(theirs)
            holds = best[0] is not None and (theirs is None or best[0] < theirs)
            out.append(dict(instance=inst, seed=seed, tol=tol, best_method=best[1], best_evals=best[0],
                            peer_evals=theirs, holds=holds))
    return out


# ---------------------------------------------------------------------------- CSV
def write_methods_csv(rows, path, command=""):
    """Write the rows as CSV with a first comment line ``# command: ...``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        fh.write(f"# command: {command}\n")
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_methods_csv(path):
    """Read a table written by :func:`write_methods_csv`: ``(rows, command)``; counts
    become ``int``, ``"-"`` stays ``"-"``, losses and times ``float``."""
    path = Path(path)
    command = ""
    with open(path, newline="") as fh:
        lines = fh.read().splitlines()
    body = []
    for line in lines:
        if line.startswith("# command:"):
            command = line[len("# command:"):].strip()
        elif not line.startswith("#"):
            body.append(line)
    rows = []
    for raw in csv.DictReader(body):
        row = {}
        for k, v in raw.items():
            if k in ("instance", "method", "stop_reason") or v == "-":
                row[k] = v
            elif k.startswith("evals_") or k in ("seed", "n_evals"):
                row[k] = int(v)
            else:
                row[k] = float(v)
        rows.append(row)
    return rows, command


def format_methods_table(rows):
    """A plain-text table: evaluations to every tolerance, final loss, wall time."""
    cols = ["instance", "seed", "method"] + [f"evals_{t:.0e}" for t in TOLERANCES] + \
           ["final_loss", "excess_loss", "wall_time", "stop_reason"]
    widths = [18, 4, 20] + [10] * len(TOLERANCES) + [11, 11, 9, 14]
    lines = [" ".join(f"{c:>{w}}" for c, w in zip(cols, widths))]
    for r in rows:
        cells = []
        for c, w in zip(cols, widths):
            v = r[c]
            cells.append(f"{v:>{w}.3e}" if isinstance(v, float) and c != "wall_time" else f"{str(v):>{w}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- f_star
def f_star_restarts(instance_name="misspecified_0.02", *, quick=True, seed=0, rounds=12, evals_per_round=25,
                    fraction=0.5):
    """Ravine method on a misspecified instance without knowing ``L*``: successive
    estimates of ``f*`` bracketed between a lower bound and the best loss so far.

    Round 0 runs the default ravine method with ``f_star = 0`` (a lower bound: KL >= 0);
    the look-ahead safeguard stops it at a plateau above ``L*``. Round ``r >= 1`` restarts
    from the best point so far with ``f_star = lower + fraction (L_best - lower)``. A round
    that ends on consecutive rejected Polyak steps (:attr:`StopReason.REJECTED_STEPS`) is
    read as "the target was below ``L*``" (the steps overshoot) and raises ``lower`` to its
    target. This reading is a heuristic: rejections also happen with ``f_star = L*``.

    Returns
    -------
    list of dict
        Per round: ``f_star``, ``lower``, best loss so far, evaluations so far, stop reason.
    """
    rounds = check_positive_int(rounds, "rounds")
    evals_per_round = check_positive_int(evals_per_round, "evals_per_round")
    fraction = check_positive_float(fraction, "fraction", maximum=1.0)
    instance = make_instance(instance_name)
    objective = instance.objective(benchmark_rule(instance, quick))
    means = instance.start(START_SCALE, seed)
    lower, best_loss, total, out = 0.0, np.inf, 0, []
    for r in range(rounds):
        f_star = 0.0 if r == 0 else lower + fraction * (best_loss - lower)
        res = ravine_method(objective, means, max_evals=evals_per_round, tol=0.0, f_star=f_star)
        total += res.n_evals
        if res.loss < best_loss:  # res.means is an evaluated point with loss res.loss
            best_loss, means = float(res.loss), np.array(res.means, dtype=float)
        if r > 0 and res.stop_reason == StopReason.REJECTED_STEPS:
            lower = f_star
        out.append(dict(round=r, f_star=f_star, lower=lower, best_loss=best_loss, evals=total,
                        stop=str(res.stop_reason)))
    return out


# ---------------------------------------------------------------------------- entry
def methods_main(quick=False, jobs=1, out=None):
    """Run the methods benchmark, print the table and the headline comparison with L-BFGS;
    with ``out``, write ``out/methods.csv``."""
    rows = methods_table(quick=quick, jobs=jobs)
    print(f"Methods: evaluations to L <= tol (misspecified: L - L* <= tol max(1, L*)); "
          f"{'quick' if quick else 'full'} version; RAVINE_DEFAULTS = {RAVINE_DEFAULTS}")
    print(format_methods_table(rows))
    print("\nHeadline: best gmmlit method vs scipy L-BFGS (evaluations)")
    for h in headline(rows):
        print(f"{h['instance']:>18} seed {h['seed']} tol {h['tol']:.0e}: {h['best_method']:>20} "
              f"{str(h['best_evals']):>5} vs {str(h['peer_evals']):>5}  {'holds' if h['holds'] else 'FAILS'}")
    if out is not None:
        cmd = f"python -m gmmlit bench methods{' --quick' if quick else ''} --jobs {jobs} --out {out}"
        print("wrote", write_methods_csv(rows, Path(out) / "methods.csv", cmd))
    return rows
