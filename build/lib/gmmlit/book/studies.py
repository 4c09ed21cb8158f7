"""Numerical studies of the methods: tuning of the ravine method, comparison with the
classical and peer methods, the contraction factor of the Polyak step, and the floor
reached when the weights cannot group exactly.

Each study is a function returning plain data (lists of dicts, arrays); :func:`main`
runs them all and prints tables (``python -m gmmlit.book.studies``; ``--quick`` for a short
version). Everything is seeded: the same call gives the same numbers.

The running instance is :func:`gmmlit.core.instances.triangle_instance` (``d = 2``, ``m = 3``
teacher components on a triangle of side 6 with weights 0.5/0.3/0.2, ``n = 10`` students
whose weights group exactly), started at ``theta* + 0.3 N(0, I)``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..core.geometry import cluster_weights
from ..core.instances import figure1_instance, misspecified_instance, triangle_instance
from ..optim.first_order import em, gradient_em
from ..optim.ravine import ravine_method
from ..optim.peers import bfgs, lbfgs, nesterov
from ..optim.presets import PLAIN_POLYAK, POLYAK_ALONE
from ..core.validation import check_positive_float
from ..theory.landscape import fit_power_law
from ..core.instances import START_SCALE


#: Loss level of the convergence claims.
TARGET = 1e-12

#: The weight mismatches of the misspecification study.
MISSPECIFICATION_DELTAS = (0.005, 0.01, 0.02, 0.05, 0.1)


# ---------------------------------------------------------------------------- helpers
def starts(instance, seeds, scale=START_SCALE):
    """The seeded starting points ``theta* + scale N(0, I)``."""
    return [instance.start(scale, seed) for seed in seeds]


def format_table(rows, columns, title=None):
    """Render ``rows`` (dicts) as a fixed-width text table with the given columns."""

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}" if (v == 0 or 1e-3 <= abs(v) < 1e4) else f"{v:.2e}"
        if isinstance(v, (list, tuple)):
            return " ".join(cell(u) for u in v)
        return str(v)

    text = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[k]) for t in text)) if text else len(c) for k, c in enumerate(columns)]
    lines = [] if title is None else [title]
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(t.ljust(w) for t, w in zip(row, widths)) for row in text]
    return "\n".join(lines)


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
    """The ravine configurations of the tuning table, as ``(label, options)`` pairs.

    Labels name the short step (``EM``; ``PGEM``: gradient EM in EM's metric;
    ``GEM(step)``: gradient EM), the number ``K`` of short steps (or ``adaptive``), the
    Polyak multiplier (``x3``) and metric, and the safeguard; unnamed options are those
    of the plain configuration (Euclidean metric, multiplier 1, no safeguard).

    ``which="triangle"``: fixed K in {1, 2, 3, 5, 10} and adaptive K with EM short
    steps; PGEM and gradient EM (step 1 and 8) short steps; the Polyak metric;
    multipliers; the adaptive ratio; the safeguards; the defaults. ``which="figure1"``:
    the defaults, the defaults with EM short steps, and three plain variants.
    """
    fixed = dict(f_star=0.0, on_plateau="stop", max_rejections=5, relaxation="off")  # as when the study was made
    plain = dict(fixed, short="em", metric="euclidean", multiplier=1.0, safeguard="off")
    best = dict(fixed, short="em", short_steps="adaptive", adaptive_ratio=0.5, metric="euclidean", multiplier=3.0,
                safeguard="off")
    if which == "figure1":
        return [
            ("default (no options)", {}),
            ("default, but EM short steps", dict(short="em")),
            ("default, but f*=0", dict(f_star=0.0)),
            ("PGEM, adaptive K", dict(plain, short="pgem", short_steps="adaptive")),
            ("PGEM, K=5", dict(plain, short="pgem", short_steps=5)),
            ("PGEM, adaptive, x3", dict(best, short="pgem")),
        ]
    if which != "triangle":
        raise ValueError(f"which must be 'triangle' or 'figure1', got {which!r}")
    configs = [(f"EM, K={k}", dict(plain, short_steps=k)) for k in (1, 2, 3, 5, 10)]
    configs += [
        ("EM, adaptive K", dict(plain, short_steps="adaptive")),
        ("PGEM, adaptive K", dict(plain, short="pgem", short_steps="adaptive")),
        ("GEM(1), K=3", dict(plain, short="gem", step=1.0, short_steps=3)),
        ("GEM(1), K=10", dict(plain, short="gem", step=1.0, short_steps=10)),
        ("GEM(1), adaptive", dict(plain, short="gem", step=1.0, short_steps="adaptive")),
        ("GEM(8), K=3", dict(plain, short="gem", step=8.0, short_steps=3)),
        ("GEM(8), adaptive", dict(plain, short="gem", step=8.0, short_steps="adaptive")),
        ("EM, adaptive, em metric", dict(plain, short_steps="adaptive", metric="em")),
    ]
    configs += [(f"EM, adaptive, x{m:g}", dict(best, multiplier=m)) for m in (1.5, 2.0, 3.0, 4.0)]
    configs += [
        ("EM, K=5, x3", dict(best, short_steps=5)),
        ("EM, adaptive, x3, em metric", dict(best, metric="em")),
        ("EM, adaptive, x4, em metric", dict(best, metric="em", multiplier=4.0)),
        ("EM, adaptive, x5, em metric", dict(best, metric="em", multiplier=5.0)),
        ("EM, adaptive(0.25), x3", dict(best, adaptive_ratio=0.25)),
        ("EM, adaptive(0.8), x3", dict(best, adaptive_ratio=0.8)),
        ("EM, adaptive, x1, safeguard=trial", dict(plain, short_steps="adaptive", safeguard="trial")),
        ("EM, adaptive, x3, safeguard=trial", dict(best, safeguard="trial")),
        ("EM, adaptive, x3, safeguard=lookahead", dict(best, safeguard="lookahead")),
        ("default, but EM short steps", dict(short="em")),
        ("default, but adaptive ratio 0.5", dict(adaptive_ratio=0.5)),
        ("default, but no relaxation", dict(relaxation="off")),
        ("default, but f*=0", dict(f_star=0.0)),
        ("default (no options)", {}),
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
            ravine_method(objective, x0, max_evals=max_evals, tol=tol, **options).evals_to(tol) for x0 in x0s
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
                        scale=START_SCALE, **options):
    """Contraction factors of accepted Polyak steps along ravine runs.

    By default the runs use the plain Polyak step (:data:`PLAIN_POLYAK`: Euclidean
    metric, multiplier 1) with the default short phase; ``options`` override.

    Returns
    -------
    dict with ``factors`` (all seeds, concatenated), ``per_seed`` (list of arrays),
    ``cos_angle`` (the cosine between the tangent error and the gradient of the quartic
    implied by each factor on a homogeneous quartic: ``f^2 = 1 - 7 cos^2 / 16``) and
    ``summary`` (min, quartiles, max, fraction in [0.74, 0.77]).
    """
    opts = dict(PLAIN_POLYAK, **options)
    per_seed = []
    for x0 in starts(instance, seeds, scale):
        r = ravine_method(objective, x0, max_evals=max_evals, tol=tol, minimizer=instance.means_star, **opts)
        per_seed.append(polyak_contraction_factors(r, below))
    f = np.concatenate(per_seed)
    cos = np.sqrt(np.clip((1.0 - f ** 2) * 16.0 / 7.0, 0.0, 1.0))
    summary = dict(
        count=int(f.size),
        min=float(f.min()), q25=float(np.quantile(f, 0.25)), median=float(np.median(f)),
        q75=float(np.quantile(f, 0.75)), max=float(f.max()),
        in_claim=float(np.mean((f >= 0.74) & (f <= 0.77))),
    )
    return dict(factors=f, per_seed=per_seed, cos_angle=cos, summary=summary, options=opts)


# ---------------------------------------------------------------------------- factors along runs
def plain_polyak_factors(instance, objective, seeds, *, max_evals=300, below=1e-6, tol=1e-14, scale=START_SCALE,
                         **options):
    """Trial and block factors of plain Polyak steps (:data:`gmmlit.optim.presets.PLAIN_POLYAK`:
    Euclidean, multiplier 1; no safeguard) along ravine runs from the seeded starts.

    The runs stop at ``L <= tol`` (as in :func:`gmmlit.book.studies.polyak_factor_study`), above the
    floor of the integration rule. ``options`` override the other settings (default: the
    defaults of the method). Returns
    a dict with ``trial`` (:func:`gmmlit.book.studies.polyak_contraction_factors`) and
    ``block`` (the same with ``over="block"``), each concatenated over the seeds.
    """
    opts = dict(PLAIN_POLYAK, safeguard="off", **options)
    trial, block = [], []
    for x0 in starts(instance, seeds, scale):
        r = ravine_method(objective, x0, max_evals=max_evals, tol=tol, minimizer=instance.means_star, **opts)
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
        r = ravine_method(objective, means0, max_evals=max_evals, minimizer=instance.means_star, short="em",
                          short_steps=k, metric="euclidean", multiplier=1.0, safeguard="off", f_star=0.0,
                          on_plateau="stop")
        b = contraction_breakdown(r)
        out[int(k)] = dict(
            breakdown_distance=None if b is None else b[1],
            breakdown_loss=None if b is None else b[2],
            factors=polyak_contraction_factors(r, below=1.0),
        )
    out["rho"] = em_normal_contraction(objective, instance.means_star)
    return out


# ---------------------------------------------------------------------------- floors
def theory_floor(instance):
    """``sum_j (w_j - pi*_j)^2 / (2 pi*_j)``: the floor predicted for well separated clusters
    (the chi-square approximation of the KL between teacher and cluster weights)."""
    t = instance.teacher
    w = cluster_weights(instance.weights, instance.assignment, t.n_components)
    return float(np.sum((w - t.weights) ** 2 / (2.0 * t.weights)))


def kl_of_cluster_weights(instance):
    """``sum_j pi*_j log(pi*_j / w_j)``: the floor if the clusters did not overlap at all."""
    t = instance.teacher
    w = cluster_weights(instance.weights, instance.assignment, t.n_components)
    return float(np.sum(t.weights * np.log(t.weights / w)))


def misspecification_floor(delta_pi, *, seed=0, evals=400, scale=START_SCALE):
    """The floor ``L* = min L`` of :func:`gmmlit.core.instances.misspecified_instance`.

    ``L*`` is the least loss of an L-BFGS run of ``evals`` evaluations from
    ``theta_ref + scale N(0, I)`` (scipy's own stopping tests off); ``theta_ref`` puts
    every student on its cluster's teacher mean.

    Returns
    -------
    dict with ``delta_pi``, ``L_star``, ``theory`` (:func:`theory_floor`), ``kl_weights``
    (:func:`kl_of_cluster_weights`), ``ratio_to_theory``, ``grad_norm`` (least gradient
    norm of the run), ``converged_digits`` (``-log10`` of the relative improvement of
    the last half of the run: how many digits of ``L*`` are settled), and the instance,
    objective, start and L-BFGS result under ``instance``, ``objective``, ``start``, ``run``.
    """
    inst = misspecified_instance(delta_pi)
    obj = inst.objective()
    x0 = inst.start(scale, seed)
    run = lbfgs(obj, x0, max_evals=evals)
    l_star = run.loss
    half = run.best_loss_after(max(1, run.n_evals // 2))
    return dict(
        delta_pi=inst.delta_pi, L_star=l_star, theory=theory_floor(inst), kl_weights=kl_of_cluster_weights(inst),
        ratio_to_theory=l_star / theory_floor(inst), grad_norm=float(run.grad_norms.min()),
        converged_digits=float(-np.log10(max((half - l_star) / l_star, 1e-16))),
        instance=inst, objective=obj, start=x0, run=run,
    )


def floor_scaling(rows):
    """Exponent and prefactor of ``L* ~ c Delta_pi^p`` (and of the theory floor) by least
    squares in log-log over the rows of :func:`misspecification_floor`."""
    p, c = fit_power_law([r["delta_pi"] for r in rows], [r["L_star"] for r in rows])
    pt, ct = fit_power_law([r["delta_pi"] for r in rows], [r["theory"] for r in rows])
    return dict(exponent=p, prefactor=c, theory_exponent=pt, theory_prefactor=ct)


def f_star_zero_runs(floor, *, max_evals=300, variants=None):
    """What ravine runs with ``f_star = 0`` do on a misspecified instance.

    ``floor`` is a row of :func:`misspecification_floor`. Each variant (a label and
    options of :func:`ravine_method`; by default the method with ``f_star = 0`` and each
    safeguard, the plain Polyak step with ``f_star = 0``, the default method (whose
    target is estimated, ``f_star="adaptive"``) and the default method told the true
    ``f_star = L*``) runs
    ``max_evals`` evaluations from the same start. Returns one dict per variant: the
    least and the final loss as relative excess ``L / L* - 1``, the stop reason, the
    evaluations made, accepted/total Polyak trials.
    """
    l_star = floor["L_star"]
    if variants is None:
        variants = [
            ("f*=0, lookahead", dict(POLYAK_ALONE, f_star=0.0)),
            ("f*=0, safeguard=off", dict(POLYAK_ALONE, f_star=0.0, safeguard="off")),
            ("f*=0, safeguard=trial", dict(POLYAK_ALONE, f_star=0.0, safeguard="trial")),
            ("plain Polyak, f*=0, lookahead", dict(POLYAK_ALONE, **PLAIN_POLYAK, f_star=0.0)),
            ("f* adaptive", dict(POLYAK_ALONE)),
            ("f*=L*", dict(POLYAK_ALONE, f_star=l_star)),
            ("default (f* adaptive, then L-BFGS)", {}),
        ]
    rows = []
    for label, options in variants:
        r = ravine_method(floor["objective"], floor["start"], max_evals=max_evals, **options)
        rows.append(dict(
            delta_pi=floor["delta_pi"], variant=label, min_excess=float(r.losses.min()) / l_star - 1.0,
            final_excess=r.loss / l_star - 1.0, stop=r.stop_reason.value, n_evals=r.n_evals,
            polyak=f"{r.n_polyak_accepted}/{r.polyak_evals.size}",
        ))
    return rows


# ---------------------------------------------------------------------------- main
def main(argv=None):
    """Run every study and print the tables (``--quick``: fewer seeds, no figure 1)."""
    parser = argparse.ArgumentParser(prog="python -m gmmlit.book.studies", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and no figure-1 instance")
    args = parser.parse_args(argv)
    seeds = range(3) if args.quick else range(5)
    t0 = time.perf_counter()

    inst = triangle_instance(n=10, side=6, seed=0)
    obj = inst.objective()
    rows = ravine_tuning_table(inst, obj, tuning_configurations("triangle"), seeds)
    print(format_table(rows, ["label", "evals", "reached", "median", "worst"],
                       f"Ravine method: evaluations to L <= {TARGET:g} on {inst.name}, start theta* + "
                       f"{START_SCALE} N(0, I), seeds {list(seeds)}, budget 400"))
    print()
    if not args.quick:
        fig = figure1_instance()
        fobj = fig.objective()
        rows = ravine_tuning_table(fig, fobj, tuning_configurations("figure1"), seeds, max_evals=300)
        print(format_table(rows, ["label", "evals", "reached", "median", "worst"],
                           f"Ravine method on {fig.name} (rule {fobj.rule!r}), seeds {list(seeds)}, budget 300"))
        print()

    rows = method_comparison(inst, obj, list(seeds)[:3])
    print(format_table(rows, ["method", "seed", "level", "evals_to_level", "n_evals", "final_loss", "stop",
                              "seconds"], "Methods from the same starts (triangle)"))
    print()

    print("Contraction |theta+ - theta*| / |theta - theta*| of accepted plain Polyak steps "
          "(multiplier 1; Euclidean unless said) with L < 1e-6, by short phase:")
    for label, options in [("EM, adaptive K (default short phase)", {}),
                           ("GEM(8), adaptive K", dict(short="gem", step=8.0)),
                           ("EM, K=5", dict(short_steps=5)),
                           ("EM, adaptive K, EM metric", dict(metric="em"))]:
        study = polyak_factor_study(inst, obj, seeds, **options)
        s = study["summary"]
        print(f"  {label}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in s.items())
              + f"; implied cos(v, grad Q) median {np.median(study['cos_angle']):.3f}")
    print()

    floors = [misspecification_floor(delta) for delta in MISSPECIFICATION_DELTAS]
    fit = floor_scaling(floors)
    cols = ["delta_pi", "L_star", "theory", "ratio_to_theory", "kl_weights", "grad_norm", "converged_digits"]
    print(format_table(floors, cols, "Misspecification floor L* (L-BFGS, 400 evaluations) vs theory "
                                     "sum_j Delta_j^2 / (2 pi*_j)"))
    print(f"  fit L* ~ {fit['prefactor']:.3g} Delta_pi^{fit['exponent']:.3f}; theory "
          f"{fit['theory_prefactor']:.3g} Delta_pi^{fit['theory_exponent']:.3f}")
    print()
    rows = [row for floor in floors for row in f_star_zero_runs(floor)]
    print(format_table(rows, ["delta_pi", "variant", "min_excess", "final_excess", "stop", "n_evals", "polyak"],
                       "Ravine runs with f* = 0 on misspecified weights (excess L / L* - 1; budget 300)"))
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
