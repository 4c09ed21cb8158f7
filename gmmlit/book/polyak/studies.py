"""Numerical studies of the methods (chapter "The Polyak step and the alternating method"):
tuning of the ravine method, comparison with the classical and peer methods, the contraction
factor of the Polyak step; :func:`main` adds the floor reached when the weights cannot group
exactly (:mod:`gmmlit.book.misspecified.floor`).

Each study is a function returning plain data (lists of dicts, arrays); :func:`main`
runs them all and prints tables (``python -m gmmlit.book.polyak``; ``--quick`` for a
short version). Everything is seeded: the same call gives the same numbers.

The running instance is :func:`gmmlit.core.instances.triangle_instance` (``d = 2``, ``m = 3``
teacher components on a triangle of side 6 with weights 0.5/0.3/0.2, ``n = 10`` students
whose weights group exactly), started at ``theta* + 0.3 N(0, I)``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ...bench.tables import format_rows
from ...core.instances import START_SCALE, figure1_instance, triangle_instance
from ...core.validation import check_positive_float
from ...optim.first_order import em, gradient_em
from ...optim.peers import bfgs, lbfgs, nesterov
from ...optim.presets import PLAIN_POLYAK
from ...optim.ravine import ravine_method
from ...optim.ravine_options import (EMMetricGradientStep, EMStep, FixedShortSteps, GradientStep, LookaheadSafeguard,
                                     NoSafeguard, PolyakRule, RavineOptions, TrialSafeguard, UntilGradientStalls)
from ..misspecified.floor import MISSPECIFICATION_DELTAS, f_star_zero_runs, floor_scaling, misspecification_floor


#: Loss level of the convergence claims.
TARGET = 1e-12


# ---------------------------------------------------------------------------- helpers
def starts(instance, seeds, scale=START_SCALE):
    """The seeded starting points ``theta* + scale N(0, I)``."""
    return [instance.start(scale, seed) for seed in seeds]


def _summary(evals, budget):
    reached = [e for e in evals if e is not None]
    return dict(
        evals=[e if e is not None else f">{budget}" for e in evals],
        reached=f"{len(reached)}/{len(evals)}",
        median=float(np.median(reached)) if len(reached) == len(evals) else None,
        worst=max(reached) if len(reached) == len(evals) else None,
    )


# ---------------------------------------------------------------------------- tuning
def tuning_configurations(which="triangle"):
    """The ravine configurations of the tuning table, as ``(label, RavineOptions)`` pairs.

    Labels name the short step (``EM``; ``PGEM``: gradient EM in EM's metric;
    ``GEM(step)``: gradient EM), the number ``K`` of short steps (or ``adaptive``), the
    Polyak multiplier (``x3``) and metric, and the safeguard; unnamed options are those
    of the plain configuration (Euclidean metric, multiplier 1, no safeguard).

    ``which="triangle"``: fixed K in {1, 2, 3, 5, 10} and adaptive K with EM short
    steps; PGEM and gradient EM (step 1 and 8) short steps; the Polyak metric;
    multipliers; the adaptive ratio; the safeguards; the defaults. ``which="figure1"``:
    the defaults, the defaults with EM short steps, and three plain variants.
    """
    euclidean = PolyakRule(metric="euclidean", multiplier=1.0, target=0.0)
    # as when the study was made: target 0, no hand-over, 5 rejections, no over-relaxation
    plain = RavineOptions(short_step=EMStep(), polyak=euclidean, safeguard=NoSafeguard(), hand_over=None)
    best = plain.replace(short_phase=UntilGradientStalls(ratio=0.5), polyak=PolyakRule("euclidean", 3.0, 0.0))
    metric_gradient = EMMetricGradientStep(relaxation_cap=None)
    if which == "figure1":
        return [
            ("default (no options)", RavineOptions()),
            ("default, but EM short steps", RavineOptions(short_step=EMStep())),
            ("default, but f*=0", RavineOptions(polyak=PolyakRule(target=0.0))),
            ("PGEM, adaptive K", plain.replace(short_step=metric_gradient)),
            ("PGEM, K=5", plain.replace(short_step=metric_gradient, short_phase=FixedShortSteps(5))),
            ("PGEM, adaptive, x3", best.replace(short_step=metric_gradient)),
        ]
    if which != "triangle":
        raise ValueError(f"which must be 'triangle' or 'figure1', got {which!r}")
    configs = [(f"EM, K={k}", plain.replace(short_phase=FixedShortSteps(k))) for k in (1, 2, 3, 5, 10)]
    configs += [
        ("EM, adaptive K", plain),
        ("PGEM, adaptive K", plain.replace(short_step=metric_gradient)),
        ("GEM(1), K=3", plain.replace(short_step=GradientStep(size=1.0), short_phase=FixedShortSteps(3))),
        ("GEM(1), K=10", plain.replace(short_step=GradientStep(size=1.0), short_phase=FixedShortSteps(10))),
        ("GEM(1), adaptive", plain.replace(short_step=GradientStep(size=1.0))),
        ("GEM(8), K=3", plain.replace(short_step=GradientStep(size=8.0), short_phase=FixedShortSteps(3))),
        ("GEM(8), adaptive", plain.replace(short_step=GradientStep(size=8.0))),
        ("EM, adaptive, em metric", plain.replace(polyak=PolyakRule("em", 1.0, 0.0))),
    ]
    configs += [(f"EM, adaptive, x{m:g}", best.replace(polyak=PolyakRule("euclidean", m, 0.0)))
                for m in (1.5, 2.0, 3.0, 4.0)]
    configs += [
        ("EM, K=5, x3", best.replace(short_phase=FixedShortSteps(5))),
        ("EM, adaptive, x3, em metric", best.replace(polyak=PolyakRule("em", 3.0, 0.0))),
        ("EM, adaptive, x4, em metric", best.replace(polyak=PolyakRule("em", 4.0, 0.0))),
        ("EM, adaptive, x5, em metric", best.replace(polyak=PolyakRule("em", 5.0, 0.0))),
        ("EM, adaptive(0.25), x3", best.replace(short_phase=UntilGradientStalls(ratio=0.25))),
        ("EM, adaptive(0.8), x3", best.replace(short_phase=UntilGradientStalls(ratio=0.8))),
        ("EM, adaptive, x1, safeguard=trial", plain.replace(safeguard=TrialSafeguard(max_rejections=5))),
        ("EM, adaptive, x3, safeguard=trial", best.replace(safeguard=TrialSafeguard(max_rejections=5))),
        ("EM, adaptive, x3, safeguard=lookahead", best.replace(safeguard=LookaheadSafeguard(max_rejections=5))),
        ("default, but EM short steps", RavineOptions(short_step=EMStep())),
        ("default, but adaptive ratio 0.5", RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=0.5),
                                                          short_phase=UntilGradientStalls(ratio=0.5))),
        ("default, but no relaxation", RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=None))),
        ("default, but f*=0", RavineOptions(polyak=PolyakRule(target=0.0))),
        ("default (no options)", RavineOptions()),
    ]
    return configs


def ravine_tuning_table(instance, objective, configs, seeds, *, tol=TARGET, max_evals=400, scale=START_SCALE):
    """Evaluations of :func:`ravine_method` to ``L <= tol`` for each configuration and seed.

    Returns a list of dicts with keys ``label``, ``evals`` (per seed; ``">max_evals"``
    when not reached), ``reached``, ``median`` and ``worst`` (``None`` unless every seed
    reached ``tol``), ``options``.
    """
    x0s = starts(instance, seeds, scale)
    rows = []
    for label, options in configs:
        evals = [
            ravine_method(objective, x0, options, max_evals=max_evals, tol=tol).evals_to(tol) for x0 in x0s
        ]
        rows.append(dict(label=label, options=options, **_summary(evals, max_evals)))
    return rows


# ---------------------------------------------------------------------------- baselines
def method_comparison(instance, objective, seeds, *, tol=TARGET, max_evals=600, classical_evals=5000,
                      classical_level=1e-10, scale=START_SCALE):
    """Each method from the same starts.

    The default ravine method, Nesterov with gradient restart, L-BFGS and BFGS run to
    ``L <= tol`` within ``max_evals``; gradient EM and EM run ``classical_evals``
    evaluations and report whether (and when) they reach ``classical_level`` and their
    final loss. Returns one dict per method and seed.
    """
    rows = []
    for seed, x0 in zip(seeds, starts(instance, seeds, scale)):
        for name, method, budget, level in [
            ("ravine (default)", ravine_method, max_evals, tol),
            ("nesterov", nesterov, max_evals, tol),
            ("lbfgs", lbfgs, max_evals, tol),
            ("bfgs", bfgs, max_evals, tol),
            ("gradient EM", gradient_em, classical_evals, classical_level),
            ("EM", em, classical_evals, classical_level),
        ]:
            r = method(objective, x0, max_evals=budget, tol=level)
            rows.append(dict(method=name, seed=seed, level=level, evals_to_level=r.evals_to(level),
                             n_evals=r.n_evals, final_loss=r.loss, stop=r.stop_reason.value,
                             seconds=r.wall_time))
    return rows


# ---------------------------------------------------------------------------- Polyak factors
def polyak_contraction_factors(result, below=1e-6, over="trial"):
    """Distance factors ``|theta_after - theta*| / |theta_base - theta*|`` of the accepted
    Polyak trials of ``result`` whose base point has loss ``< below``.

    ``over="trial"``: ``theta_after`` is the trial point itself (the long step alone).
    ``over="block"``: ``theta_after`` is the base point of the next trial, so the factor
    includes the short steps that bring the trial back to the ravine (the last trial,
    which has no next base, is left out). Requires recorded distances (run the method
    with ``minimizer=theta*``).
    """
    below = check_positive_float(below, "below")
    if over not in ("trial", "block"):
        raise ValueError(f"over must be 'trial' or 'block', got {over!r}")
    if result.distances is None:
        raise ValueError("result has no distances: run the method with minimizer=theta*")
    d, base, accepted = result.distances, result.polyak_base, result.polyak_accepted
    if over == "trial":
        keep = accepted & (result.losses[base] < below)
        return d[result.polyak_evals[keep]] / d[base[keep]]
    keep = accepted[:-1] & (result.losses[base[:-1]] < below)
    return d[base[1:]][keep] / d[base[:-1]][keep]

def polyak_factor_study(instance, objective, seeds, *, below=1e-6, tol=1e-14, max_evals=400,
                        scale=START_SCALE, options=PLAIN_POLYAK):
    """Contraction factors of accepted Polyak steps along ravine runs.

    By default the runs use the plain Polyak step (:data:`PLAIN_POLYAK`: Euclidean
    metric, multiplier 1) with the default short phase; ``options`` (a ``RavineOptions``)
    replace it.

    Returns
    -------
    dict with ``factors`` (all seeds, concatenated), ``per_seed`` (list of arrays),
    ``cos_angle`` (the cosine between the tangent error and the gradient of the quartic
    implied by each factor on a homogeneous quartic: ``f^2 = 1 - 7 cos^2 / 16``) and
    ``summary`` (min, quartiles, max, fraction in [0.74, 0.77]).
    """
    per_seed = []
    for x0 in starts(instance, seeds, scale):
        r = ravine_method(objective, x0, options, max_evals=max_evals, tol=tol, minimizer=instance.means_star)
        per_seed.append(polyak_contraction_factors(r, below))
    f = np.concatenate(per_seed)
    cos = np.sqrt(np.clip((1.0 - f ** 2) * 16.0 / 7.0, 0.0, 1.0))
    summary = dict(
        count=int(f.size),
        min=float(f.min()), q25=float(np.quantile(f, 0.25)), median=float(np.median(f)),
        q75=float(np.quantile(f, 0.75)), max=float(f.max()),
        in_claim=float(np.mean((f >= 0.74) & (f <= 0.77))),
    )
    return dict(factors=f, per_seed=per_seed, cos_angle=cos, summary=summary, options=options)


# ---------------------------------------------------------------------------- factors along runs
def plain_polyak_factors(instance, objective, seeds, *, max_evals=300, below=1e-6, tol=1e-14, scale=START_SCALE,
                         options=PLAIN_POLYAK.replace(safeguard=NoSafeguard())):
    """Trial and block factors of plain Polyak steps (:data:`gmmlit.optim.presets.PLAIN_POLYAK`:
    Euclidean, multiplier 1; no safeguard) along ravine runs from the seeded starts.

    The runs stop at ``L <= tol`` (as in :func:`gmmlit.book.polyak.studies.polyak_factor_study`), above the
    floor of the integration rule. ``options``: a ``RavineOptions`` (default: the plain
    Polyak step without safeguard). Returns
    a dict with ``trial`` (:func:`gmmlit.book.polyak.studies.polyak_contraction_factors`) and
    ``block`` (the same with ``over="block"``), each concatenated over the seeds.
    """
    trial, block = [], []
    for x0 in starts(instance, seeds, scale):
        r = ravine_method(objective, x0, options, max_evals=max_evals, tol=tol, minimizer=instance.means_star)
        trial.append(polyak_contraction_factors(r, below))
        block.append(polyak_contraction_factors(r, below, over="block"))
    return dict(trial=np.concatenate(trial), block=np.concatenate(block))


# ---------------------------------------------------------------------------- fixed K
def em_normal_contraction(objective, means_star):
    """``rho``: the largest factor by which one EM step shrinks a normal error near ``theta*``.

    The EM map ``theta - D grad L`` (``D = diag(1 / E[psi_i])``, ``E[psi_i] = pi_i`` at
    ``theta*``) has Jacobian ``I - D H`` at ``theta*``; its eigenvalues are ``1`` on the
    tangent space and ``1 - mu`` on the normal directions, ``mu > 0`` the eigenvalues of
    ``D^{1/2} H D^{1/2}`` outside its null space. Returns ``max |1 - mu|``.
    """
    star = objective.check_means(means_star, "means_star")
    h = objective.hessian(star)
    d = star.shape[1]
    root = np.repeat(1.0 / np.sqrt(objective.weights), d)
    mu = np.linalg.eigvalsh(root[:, None] * h * root[None, :])
    normal = mu[mu > 1e-8 * mu.max()]
    return float(np.max(np.abs(1.0 - normal)))


def contraction_breakdown(result, threshold=0.9, skip=3):
    """The first accepted Polyak step (after the first ``skip``) whose distance factor
    exceeds ``threshold``: where the linear contraction stops.

    Returns ``(index, base_distance, base_loss)`` of that step, or ``None`` when every
    accepted step contracted.
    """
    factors = result.distances[result.polyak_evals] / result.distances[result.polyak_base]
    ok = result.polyak_accepted & (np.arange(factors.size) >= skip)
    bad = np.flatnonzero(ok & (factors > threshold))
    if bad.size == 0:
        return None
    k = int(bad[0])
    base = result.polyak_base[k]
    return k, float(result.distances[base]), float(result.losses[base])


def fixed_k_study(instance, objective, means0, short_steps=(2, 3), max_evals=120):
    """Ravine runs with a fixed number ``K`` of EM short steps and the plain Polyak step
    (Euclidean, multiplier 1, no safeguard): where each stops contracting
    (:func:`contraction_breakdown`).

    Returns a dict ``K -> dict(breakdown_distance, breakdown_loss, factors)`` (``None``
    entries when the run contracted to the end), and ``rho``
    (:func:`em_normal_contraction`).
    """
    out = {}
    for k in short_steps:
        options = RavineOptions(short_step=EMStep(), short_phase=FixedShortSteps(k),
                                polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0),
                                safeguard=NoSafeguard(), hand_over=None)
        r = ravine_method(objective, means0, options, max_evals=max_evals, minimizer=instance.means_star)
        b = contraction_breakdown(r)
        out[int(k)] = dict(
            breakdown_distance=None if b is None else b[1],
            breakdown_loss=None if b is None else b[2],
            factors=polyak_contraction_factors(r, below=1.0),
        )
    out["rho"] = em_normal_contraction(objective, instance.means_star)
    return out


# ---------------------------------------------------------------------------- main
def print_table(rows, columns, title):
    """Print ``title`` and the ``columns`` of ``rows`` as a plain-text table
    (:func:`gmmlit.bench.tables.format_rows`)."""
    print(title)
    print(format_rows(rows, columns))


def main(argv=None):
    """Run every study and print the tables (``--quick``: fewer seeds, no figure 1)."""
    parser = argparse.ArgumentParser(prog="python -m gmmlit.book.polyak", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and no figure-1 instance")
    args = parser.parse_args(argv)
    seeds = range(3) if args.quick else range(5)
    t0 = time.perf_counter()

    inst = triangle_instance(n=10, side=6, seed=0)
    obj = inst.objective()
    rows = ravine_tuning_table(inst, obj, tuning_configurations("triangle"), seeds)
    print_table(rows, ["label", "evals", "reached", "median", "worst"],
                       f"Ravine method: evaluations to L <= {TARGET:g} on {inst.name}, start theta* + "
                       f"{START_SCALE} N(0, I), seeds {list(seeds)}, budget 400")
    print()
    if not args.quick:
        fig = figure1_instance()
        fobj = fig.objective()
        rows = ravine_tuning_table(fig, fobj, tuning_configurations("figure1"), seeds, max_evals=300)
        print_table(rows, ["label", "evals", "reached", "median", "worst"],
                           f"Ravine method on {fig.name} (rule {fobj.rule!r}), seeds {list(seeds)}, budget 300")
        print()

    rows = method_comparison(inst, obj, list(seeds)[:3])
    print_table(rows, ["method", "seed", "level", "evals_to_level", "n_evals", "final_loss", "stop",
                              "seconds"], "Methods from the same starts (triangle)")
    print()

    print("Contraction |theta+ - theta*| / |theta - theta*| of accepted plain Polyak steps "
          "(multiplier 1; Euclidean unless said) with L < 1e-6, by short phase:")
    for label, options in [("EM, adaptive K (default short phase)", PLAIN_POLYAK),
                           ("GEM(8), adaptive K", PLAIN_POLYAK.replace(short_step=GradientStep(size=8.0))),
                           ("EM, K=5", PLAIN_POLYAK.replace(short_phase=FixedShortSteps(5))),
                           ("EM, adaptive K, EM metric", PLAIN_POLYAK.replace(polyak=PolyakRule("em", 1.0, 0.0)))]:
        study = polyak_factor_study(inst, obj, seeds, options=options)
        s = study["summary"]
        print(f"  {label}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in s.items())
              + f"; implied cos(v, grad Q) median {np.median(study['cos_angle']):.3f}")
    print()

    floors = [misspecification_floor(delta) for delta in MISSPECIFICATION_DELTAS]
    fit = floor_scaling(floors)
    cols = ["delta_pi", "L_star", "theory", "ratio_to_theory", "kl_weights", "grad_norm", "converged_digits"]
    print_table(floors, cols, "Misspecification floor L* (L-BFGS, 400 evaluations) vs theory "
                                     "sum_j Delta_j^2 / (2 pi*_j)")
    print(f"  fit L* ~ {fit['prefactor']:.3g} Delta_pi^{fit['exponent']:.3f}; theory "
          f"{fit['theory_prefactor']:.3g} Delta_pi^{fit['theory_exponent']:.3f}")
    print()
    rows = [row for floor in floors for row in f_star_zero_runs(floor)]
    print_table(rows, ["delta_pi", "variant", "min_excess", "final_excess", "stop", "n_evals", "polyak"],
                       "Ravine runs with f* = 0 on misspecified weights (excess L / L* - 1; budget 300)")
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")

