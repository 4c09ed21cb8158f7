"""The methods benchmark: seconds (and evaluations) of every method to reach the loss
tolerances ``1e-6, 1e-8, 1e-10, 1e-12`` on fixed seeded instances.

``python -m gmmlit bench methods [--quick] [--jobs J] [--backend B] [--out DIR]`` calls
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

Time and Hessians
-----------------
Seconds to a tolerance are measured: every evaluation of a run is time-stamped
(:func:`timed_run`), and ``seconds_<tol>`` is the time from the start of the driver to the
end of the crossing evaluation (Hessians and the methods' own work included). Drivers that
use Hessians (``newton``; ``gdpolyak``, once, for its step ``1/lambda_max``) report their
number in ``extras["hessians"]``, outside ``max_evals``. The benchmark measures what one
Hessian costs in evaluations on each instance, in the same process (:func:`hessian_cost`,
a ratio of times, printed in the header), and reports ``equiv_<tol>``: evaluations plus
the Hessians computed before the crossing at that cost.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from .tables import read_commented_csv, read_typed_csv, write_csv
from ..core.instances import figure1_instance, misspecified_instance, triangle_instance
from ..optim.newton import local_minimum
from ..optim.results import first_crossing
from ..optim.ravine_options import (EMMetricGradientStep, EMStep, FixedShortSteps, GradientStep, LookaheadSafeguard,
                                    PolyakRule, RavineOptions, UntilGradientStalls)
from ..optim.first_order import em, gradient_em
from ..optim.ravine import ravine_method
from .parallel import map_trials
from ..optim.peers import bfgs, gdpolyak, lbfgs, nesterov, newton
from ..core.quadrature import ProductRule, TrapezoidRule
from ..core.validation import check_positive_float, check_positive_int
from ..core.instances import START_SCALE

#: The loss tolerances of the table.
TOLERANCES = (1e-6, 1e-8, 1e-10, 1e-12)


#: GDPolyak's ``K`` (gradient steps per epoch) in the sweep; 100 is the authors' setting.
GDPOLYAK_K = (3, 10, 30, 100)

#: Every method of the benchmark: name -> (driver, options, kind). ``kind`` selects the
#: budget: "fast" methods get :data:`BUDGETS` ``["fast"]``, "slow" (first order) ones more.
METHODS = {
    "gradient_em": (gradient_em, {}, "slow"),
    "em": (em, {}, "slow"),
    "ravine_em_K3": (ravine_method, dict(options=RavineOptions(short_step=EMStep(), short_phase=FixedShortSteps(3))),
                     "fast"),
    "ravine_pgem_K3": (ravine_method, dict(options=RavineOptions(short_phase=FixedShortSteps(3))), "fast"),
    "ravine_pgem_K6": (ravine_method, dict(options=RavineOptions(short_phase=FixedShortSteps(6))), "fast"),
    "ravine_gem_adaptive": (ravine_method, dict(options=RavineOptions(short_step=GradientStep(relaxation_cap=0.8))),
                            "fast"),
    "ravine_em_adaptive": (ravine_method, dict(options=RavineOptions(short_step=EMStep())), "fast"),
    "ravine_ratio0.5": (ravine_method, dict(options=RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=0.5),
                                                                  short_phase=UntilGradientStalls(ratio=0.5))), "fast"),
    "ravine_no_relax": (ravine_method,
                        dict(options=RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=None))), "fast"),
    "ravine_f0": (ravine_method, dict(options=RavineOptions(polyak=PolyakRule(target=0.0))), "fast"),
    "ravine_mr1": (ravine_method, dict(options=RavineOptions(safeguard=LookaheadSafeguard(max_rejections=1))), "fast"),
    "ravine_alone": (ravine_method, dict(options=RavineOptions(hand_over=None)), "fast"),
    "ravine_default": (ravine_method, dict(options=RavineOptions()), "fast"),
    "nesterov": (nesterov, dict(restart="gradient"), "slow"),
    "lbfgs": (lbfgs, {}, "fast"),
    "lbfgs_m50": (lbfgs, dict(memory=50), "fast"),
    "bfgs": (bfgs, {}, "fast"),
    "newton": (newton, {}, "fast"),
    **{f"gdpolyak_K{k}": (gdpolyak, dict(gd_steps=k, step="inverse_lambda_max", f_star=0.0), "slow")
       for k in GDPOLYAK_K},
}

#: Methods of gmmlit (as opposed to the peers) for the headline comparison.
GMMLIT_METHODS = tuple(k for k in METHODS if k.startswith("ravine") or k in ("em", "gradient_em"))

#: The peers: every other method.
PEER_METHODS = tuple(k for k in METHODS if k not in GMMLIT_METHODS)

#: Budgets (evaluations) by kind, full and quick.
BUDGETS = {False: dict(fast=600, slow=1000), True: dict(fast=300, slow=400)}

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


def benchmark_instance(name):
    """The benchmark instance called ``name`` (a key of :data:`INSTANCES`)."""
    if name not in INSTANCES:
        raise ValueError(f"instance must be one of {tuple(INSTANCES)}, got {name!r}")
    factory, kwargs = INSTANCES[name]
    return factory(**kwargs)


def run_method(method, instance_name, seed, quick=False, tol=None, max_evals=None, f_star=None, objective=None):
    """One run: returns the :class:`~gmmlit.optim.results.OptimizationResult`.

    ``tol`` defaults to the smallest of :data:`TOLERANCES` for exact instances and to 0
    (run out the budget) for misspecified ones; ``f_star`` (ravine methods only)
    overrides the Polyak target; ``objective`` (default: the instance's with
    :func:`benchmark_rule`) is the objective the driver sees.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    driver, options, kind = METHODS[method]
    instance = benchmark_instance(instance_name)
    if objective is None:
        objective = instance.objective(benchmark_rule(instance, quick))
    means0 = instance.start(START_SCALE, seed)
    if tol is None:
        tol = min(TOLERANCES) if instance.delta_pi == 0 else 0.0
    if max_evals is None:
        max_evals = BUDGETS[bool(quick)][kind]
    options = dict(options)
    if f_star is not None and driver is ravine_method:
        ravine = options["options"]
        options["options"] = ravine.replace(polyak=dataclasses.replace(ravine.polyak, target=f_star))
    elif f_star is not None:
        options["f_star"] = f_star
    return driver(objective, means0, max_evals=max_evals, tol=tol, **options)


class RunClock:
    """Time stamps of a run: ``evals[k]`` is the time (seconds from :attr:`start`) at the end
    of evaluation ``k``, ``hessian_at[j]`` the number of evaluations done when Hessian ``j``
    was requested. :meth:`attach` wraps an objective's ``evaluate`` and ``hessian``."""

    def __init__(self):
        self.start = time.perf_counter()
        self.evals, self.hessian_at = [], []

    def attach(self, objective):
        evaluate, hessian = objective.evaluate, objective.hessian

        def timed_evaluate(means):
            ev = evaluate(means)
            self.evals.append(time.perf_counter() - self.start)
            return ev

        def counted_hessian(means):
            self.hessian_at.append(len(self.evals))
            return hessian(means)

        objective.evaluate, objective.hessian = timed_evaluate, counted_hessian
        return objective

    def seconds_to(self, k):
        """Seconds until the end of evaluation ``k`` (1-based count), ``"-"`` for ``None``."""
        return "-" if k is None else round(float(self.evals[k - 1]), 4)

    def hessians_before(self, k):
        """Hessians requested before evaluation ``k`` (1-based) ended."""
        return int(np.sum(np.asarray(self.hessian_at) < k))


def timed_run(method, instance_name, seed, quick=False):
    """:func:`run_method` with every evaluation time-stamped: ``(result, clock)``
    (:class:`RunClock`, started just before the driver)."""
    instance = benchmark_instance(instance_name)
    objective = instance.objective(benchmark_rule(instance, quick))
    clock = RunClock()
    result = run_method(method, instance_name, seed, quick, objective=clock.attach(objective))
    return result, clock


def hessian_cost(objective, means, repeats=3):
    """What one exact Hessian costs in evaluations at ``means``: the ratio of the least of
    ``repeats`` timings of ``objective.hessian`` to that of ``objective.evaluate``.

    Returns
    -------
    dict
        ``eval_seconds``, ``hessian_seconds`` and ``ratio``.
    """
    repeats = check_positive_int(repeats, "repeats")

    def best_time(call):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call(means)
            times.append(time.perf_counter() - t0)
        return min(times)

    te, th = best_time(objective.evaluate), best_time(objective.hessian)
    return dict(eval_seconds=te, hessian_seconds=th, ratio=th / te)


def instance_hessian_costs(instances, quick=False):
    """:func:`hessian_cost` at the first start of every instance (its benchmark rule)."""
    out = {}
    for name in instances:
        instance = benchmark_instance(name)
        objective = instance.objective(benchmark_rule(instance, quick))
        out[name] = hessian_cost(objective, instance.start(START_SCALE, 0))
    return out


def result_row(result, method, instance_name, seed, l_local=0.0, l_star=0.0, clock=None, hessian_ratio=None):
    """One row of the table from a run: seconds, evaluations and evaluation-equivalents to
    every tolerance.

    ``l_local`` is the floor the run is measured against (its own local minimum, 0 for
    an exact instance), ``l_star`` the best known floor of the instance. ``clock``
    (:class:`RunClock`) gives the measured seconds; without it they are the run's wall
    time times the share of its evaluations before the crossing. ``hessian_ratio`` (one
    Hessian in evaluations, :func:`hessian_cost`) gives ``equiv_<tol>``; without it
    Hessians are counted as one evaluation each.
    """
    row = dict(instance=instance_name, seed=seed, method=method)
    crossings = [first_crossing(result.losses, gap_threshold(tol, l_local), l_local) for tol in TOLERANCES]
    for tol, k in zip(TOLERANCES, crossings):
        if clock is not None:
            row[f"seconds_{tol:.0e}"] = clock.seconds_to(k)
        else:
            row[f"seconds_{tol:.0e}"] = "-" if k is None else round(result.wall_time * k / result.n_evals, 4)
    for tol, k in zip(TOLERANCES, crossings):
        row[f"evals_{tol:.0e}"] = "-" if k is None else k
    ratio = 1.0 if hessian_ratio is None else float(hessian_ratio)
    for tol, k in zip(TOLERANCES, crossings):
        h = 0 if clock is None else clock.hessians_before(k) if k is not None else 0
        row[f"equiv_{tol:.0e}"] = "-" if k is None else round(k + ratio * h, 1)
    row.update(final_loss=float(result.loss), excess_loss=float(result.loss - l_local), l_local=float(l_local),
               l_star=float(l_star), gap_to_best=float(result.loss - l_star),
               n_evals=int(result.n_evals), hessians=int(result.extras.get("hessians", 0)),
               wall_time=round(float(result.wall_time), 3),
               stop_reason=str(result.stop_reason), switch_eval=result.extras.get("switch_eval", "-"))
    return row


def _run_task(task_index, tasks):
    """Module-level worker of :func:`map_trials`: runs ``tasks[task_index]``; returns the
    result, its floor (:func:`run_floor`) and its clock."""
    method, instance_name, seed, quick = tasks[task_index]
    result, clock = timed_run(method, instance_name, seed, quick)
    return result, run_floor(result, instance_name, quick), clock


def methods_table(quick=False, jobs=1, methods=None, instances=None, seeds=None, backend=None, costs=None,
                  progress=None):
    """Run every method on every instance and seed; returns the rows (dicts).

    ``costs`` (instance -> :func:`hessian_cost` dict; measured here when ``None``) sets
    the price of a Hessian in ``equiv_<tol>``; ``backend`` goes to
    :func:`gmmlit.bench.parallel.map_trials`.
    """
    methods = tuple(METHODS) if methods is None else tuple(methods)
    instances = tuple(INSTANCES) if instances is None else tuple(instances)
    seeds = SEEDS[bool(quick)] if seeds is None else tuple(seeds)
    if costs is None:
        costs = instance_hessian_costs(instances, quick)
    tasks = [(m, i, s, bool(quick)) for i in instances for s in seeds for m in methods]
    outcomes = map_trials(_run_task, range(len(tasks)), jobs=jobs, backend=backend, progress=progress, tasks=tasks)
    best = {}
    for (_, i, _, _), (_, l_loc, _) in zip(tasks, outcomes):
        if l_loc is not None:
            best[i] = min(best.get(i, np.inf), l_loc)
    return [result_row(res, m, i, s, best[i] if l_loc is None else l_loc, best[i], clock, costs[i]["ratio"])
            for (m, i, s, _), (res, l_loc, clock) in zip(tasks, outcomes)]


def run_floor(result, instance_name, quick=False):
    """The floor a run is measured against: 0 for an exact instance, else the loss of
    :func:`gmmlit.optim.newton.local_minimum` from the run's last point (lowered to the run's least loss when
    they differ by rounding only, a relative ``1e-9``).

    ``None`` when that point is not near a strict local minimum (a run thrown out of
    every basin: its Newton polish ends with a large gradient or a flat or negative
    curvature), or when the run had been lower than that minimum before (it passed
    through a better basin and left it). :func:`methods_table` measures such runs
    against the best floor found by the other runs of the instance."""
    instance = benchmark_instance(instance_name)
    if instance.delta_pi == 0:
        return 0.0
    objective = instance.objective(benchmark_rule(instance, quick))
    local = local_minimum(objective, result.means)
    strict = (np.isfinite(local["loss"]) and local["min_eigenvalue"] > 0.0
              and local["grad_norm"] <= 1e-8 * max(1.0, abs(local["loss"])))
    least = float(np.min(result.losses))
    if not strict or least < local["loss"] * (1.0 - 1e-9):
        return None
    return min(local["loss"], least)


def _value(row, col):
    """A crossing cell as a number, ``None`` for ``"-"``."""
    v = row[col]
    return None if v == "-" else float(v)


def headline(rows, peer="lbfgs", default="ravine_default", what="seconds"):
    """For every (instance, seed, tolerance): the best gmmlit method and its value, the
    value of ``default`` and of the peer, in ``what`` (``"seconds"``, ``"evals"`` or
    ``"equiv"``) to the tolerance.

    ``peer`` is a method name, or ``None`` for the best of :data:`PEER_METHODS` on that
    (instance, seed, tolerance). ``holds`` when the best gmmlit value is strictly smaller
    than the peer's, ``default_holds`` the same for the default (a tolerance the peer
    never reaches counts as held if the other does); ``ratio`` is default / peer.
    """
    if what not in ("seconds", "evals", "equiv"):
        raise ValueError(f"what must be 'seconds', 'evals' or 'equiv', got {what!r}")
    out = []
    keys = sorted({(r["instance"], int(r["seed"])) for r in rows})

    def beats(ours, theirs):
        return ours is not None and (theirs is None or ours < theirs)

    def least(candidates, col):
        found = [(_value(r, col), r["method"]) for r in candidates if r[col] != "-"]
        return min(found) if found else (None, "-")

    for inst, seed in keys:
        group = [r for r in rows if r["instance"] == inst and int(r["seed"]) == seed]
        peers = [r for r in group if (r["method"] == peer if peer is not None else r["method"] in PEER_METHODS)]
        if not peers:
            continue
        default_rows = [r for r in group if r["method"] == default]
        for tol in TOLERANCES:
            col = f"{what}_{tol:.0e}"
            best = least([r for r in group if r["method"] in GMMLIT_METHODS], col)
            theirs = least(peers, col)
            mine = _value(default_rows[0], col) if default_rows else None
            out.append(dict(instance=inst, seed=seed, tol=tol, best_method=best[1], best=best[0],
                            default=mine, peer_method=theirs[1], peer=theirs[0], holds=beats(best[0], theirs[0]),
                            default_holds=beats(mine, theirs[0]),
                            ratio=None if mine is None or not theirs[0] else mine / theirs[0]))
    return out


def median_over_seeds(rows, instance, method, col):
    """Median of ``col`` over the starts of ``(instance, method)``; ``None`` if a start
    never reached it (or there is no such run)."""
    values = [_value(r, col) for r in rows if r["instance"] == instance and r["method"] == method]
    if not values or any(v is None for v in values):
        return None
    return float(np.median(values))


def time_ratios(rows, tol=1e-12, default="ravine_default", peers=None):
    """Per instance: median seconds to ``tol`` of ``default`` and of every peer, the best
    peer and the ratio default / best peer (``None`` entries where a median is missing)."""
    peers = PEER_METHODS if peers is None else tuple(peers)
    col = f"seconds_{tol:.0e}"
    out = []
    for inst in dict.fromkeys(r["instance"] for r in rows):
        ours = median_over_seeds(rows, inst, default, col)
        theirs = {p: median_over_seeds(rows, inst, p, col) for p in peers}
        reached = {p: v for p, v in theirs.items() if v is not None}
        best = min(reached, key=reached.get) if reached else None
        out.append(dict(instance=inst, default=ours, best_peer=best, peer=reached.get(best),
                        peers=theirs, ratio=None if ours is None or best is None else ours / reached[best]))
    return out


# ---------------------------------------------------------------------------- CSV
def write_methods_csv(rows, path, command="", costs=None):
    """Write the rows as CSV with a first comment line ``# command: ...`` and, with
    ``costs`` (instance -> :func:`hessian_cost` dict), a line ``# hessian_cost: name=ratio, ...``."""
    comments = [f"command: {command}"]
    if costs:
        comments.append("hessian_cost: " + ", ".join(f"{k}={c['ratio']:.2f}" for k, c in costs.items()))
    return write_csv(rows, path, comments)


def read_hessian_costs(path):
    """The Hessian costs (instance -> evaluations) stored by :func:`write_methods_csv`
    (empty when the table has none)."""
    _, comments = read_commented_csv(path)
    text = comments.get("hessian_cost", "").strip()
    return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(",") if item.strip())}


def read_methods_csv(path):
    """Read a table written by :func:`write_methods_csv`: ``(rows, command)``; counts
    become ``int``, ``"-"`` stays ``"-"``, losses and times ``float``."""
    rows, comments = read_typed_csv(path, integers=("seed", "n_evals", "switch_eval", "hessians"))
    return rows, comments.get("command", "")


def format_methods_table(rows, what="seconds"):
    """A plain-text table: seconds (``what="seconds"``), evaluations (``"evals"``) or
    evaluation-equivalents (``"equiv"``) to every tolerance, then final loss, excess over
    the floor, Hessians, wall time and stop reason."""
    if what not in ("evals", "seconds", "equiv"):
        raise ValueError(f"what must be 'seconds', 'evals' or 'equiv', got {what!r}")
    cols = ["instance", "seed", "method"] + [f"{what}_{t:.0e}" for t in TOLERANCES] + \
           ["final_loss", "excess_loss", "hessians", "wall_time", "stop_reason"]
    widths = [18, 4, 20] + [10] * len(TOLERANCES) + [11, 11, 8, 9, 14]
    lines = [" ".join(f"{c:>{w}}" for c, w in zip(cols, widths))]
    for r in rows:
        cells = []
        for c, w in zip(cols, widths):
            v = r.get(c, "-")
            plain = c == "wall_time" or c.startswith(("seconds_", "equiv_"))
            cells.append(f"{v:>{w}.3e}" if isinstance(v, float) and not plain else f"{str(v):>{w}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- entry
def methods_main(quick=False, jobs=1, out=None, backend=None, progress=False):
    """Run the methods benchmark, print the tables (seconds first), the Hessian costs, the
    headline comparison and the time ratios; with ``out``, write ``out/methods.csv``."""
    instances = tuple(INSTANCES)
    costs = instance_hessian_costs(instances, quick)
    rows = methods_table(quick=quick, jobs=jobs, backend=backend, costs=costs, progress="methods" if progress else None)
    print(f"Methods: seconds to L <= tol (misspecified: L - L_loc <= tol L_loc, L_loc the "
          f"local minimum of the run's basin); {'quick' if quick else 'full'} version, jobs {jobs}; "
          f"default ravine method {RavineOptions()}")
    print("One exact Hessian, measured in this process at the first start: " + "; ".join(
        f"{k} {c['hessian_seconds'] * 1e3:.0f} ms = {c['ratio']:.1f} evaluations ({c['eval_seconds'] * 1e3:.1f} ms)"
        for k, c in costs.items()))
    print(format_methods_table(rows, "seconds"))
    print("\nEvaluations to each tolerance (Hessians not counted)")
    print(format_methods_table(rows, "evals"))
    print("\nEvaluation-equivalents to each tolerance (each Hessian at its measured cost)")
    print(format_methods_table(rows, "equiv"))
    print("\nHeadline: best gmmlit method, and the default, vs the best peer (seconds)")
    for h in headline(rows, peer=None):
        print(f"{h['instance']:>18} seed {h['seed']} tol {h['tol']:.0e}: {h['best_method']:>20} "
              f"{str(h['best']):>8} vs {h['peer_method']:>14} {str(h['peer']):>8}  "
              f"{'holds' if h['holds'] else 'FAILS'};  default {str(h['default']):>8}  "
              f"{'holds' if h['default_holds'] else 'FAILS'}")
    print("\nMedian seconds to 1e-12 (exact instances): ravine_default / best peer")
    for t in time_ratios(rows):
        if t["default"] is not None and t["ratio"] is not None:
            print(f"{t['instance']:>18}: {t['default']:.3f} s vs {t['best_peer']} {t['peer']:.3f} s: ratio {t['ratio']:.3f}")
    if out is not None:
        cmd = f"python -m gmmlit bench methods{' --quick' if quick else ''} --jobs {jobs} --out {out}"
        print("wrote", write_methods_csv(rows, Path(out) / "methods.csv", cmd, costs))
    return rows
