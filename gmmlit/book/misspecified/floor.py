"""The misspecification floor: when no grouping of the student weights matches the teacher
weights (``Delta_pi > 0``) the loss cannot reach 0; near a grouping ``sigma`` its least value is
a floor ``L* > 0``.

* predictions for well separated clusters: :func:`kl_of_cluster_weights` (``KL(pi* || w)``)
  and its chi-square approximation :func:`theory_floor`;
* the measured floor: :func:`floor_summary` (:func:`gmmlit.optim.newton.local_floor`: a
  trust-region Newton method with the exact Hessian, polished by Newton steps),
  :func:`misspecification_floor` (L-BFGS) and its scaling :func:`floor_scaling`;
* the curvature of a collapsed cluster, :func:`collapsed_cluster_curvature`;
* what ravine runs told ``f* = 0`` do there, :func:`f_star_zero_runs`.
"""

from __future__ import annotations

import numpy as np

from ...core.geometry import cluster_weights
from ...core.instances import START_SCALE, misspecified_instance
from ...core.mixture import Mixture
from ...core.quadrature import TrapezoidRule
from ...optim.newton import local_floor
from ...optim.peers import lbfgs
from ...optim.presets import PLAIN_POLYAK, POLYAK_ALONE
from ...optim.ravine import ravine_method
from ...optim.ravine_options import NoSafeguard, PolyakRule, RavineOptions, TrialSafeguard
from ...theory.landscape import fit_power_law

#: Integration rule of every run in this module: trapezoid, step 0.3, disc of radius 7
#: (1709 nodes per teacher component). On the triangle instances at the starting points
#: its loss and gradient agree with ``TrapezoidRule(0.15, 10)`` to a relative 1.4e-7 and
#: 7e-7; the floor at ``Delta_pi = 0.06`` to a relative 2.6e-7.
FLOOR_RULE = TrapezoidRule(0.3, 7.0)

#: The weight mismatches of the misspecification study (:func:`misspecification_floor`).
MISSPECIFICATION_DELTAS = (0.005, 0.01, 0.02, 0.05, 0.1)


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
    a ``RavineOptions``; by default the method with ``f_star = 0`` and each
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
            ("f*=0, lookahead", POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0))),
            ("f*=0, safeguard=off", POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0), safeguard=NoSafeguard())),
            ("f*=0, safeguard=trial", POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0),
                                                           safeguard=TrialSafeguard(max_rejections=5))),
            ("plain Polyak, f*=0, lookahead", PLAIN_POLYAK.replace(safeguard=POLYAK_ALONE.safeguard)),
            ("f* adaptive", POLYAK_ALONE),
            ("f*=L*", POLYAK_ALONE.replace(polyak=PolyakRule(target=l_star))),
            ("default (f* adaptive, then L-BFGS)", RavineOptions()),
        ]
    rows = []
    for label, options in variants:
        r = ravine_method(floor["objective"], floor["start"], options, max_evals=max_evals)
        rows.append(dict(
            delta_pi=floor["delta_pi"], variant=label, min_excess=float(r.losses.min()) / l_star - 1.0,
            final_excess=r.loss / l_star - 1.0, stop=r.stop_reason.value, n_evals=r.n_evals,
            polyak=f"{r.n_polyak_accepted}/{r.polyak_evals.size}",
        ))
    return rows
