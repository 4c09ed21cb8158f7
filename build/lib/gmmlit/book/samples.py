"""Measurements of the chapter "From population to samples".

* :func:`displacement_study`: the minimiser of the sample NLL of the two-student model
  (teacher ``N(0, I_d)``, two students with weights 1/2, ``theta* = 0``) against the
  sample size ``N``: its distance from ``theta*`` along the tangent space and across it,
  the fourth-order prediction :func:`gmmlit.book.accuracy.predicted_naive_offset`, and
  the Hessian's eigenvalues there.
* :func:`reference_minimiser`: a minimiser of a :class:`~gmmlit.SampleNLL` verified by
  Newton's method with the exact Hessian (gradient at rounding level, Hessian positive
  definite).
* :func:`convergence_study`: evaluations and seconds of gradient EM, EM, L-BFGS and the
  ravine method to reach the verified minimum.
* :func:`iris_study`: the iris data (bundled with scikit-learn), standardised, fitted by
  the methods of the package and by scikit-learn's ``GaussianMixture``.

Every function is seeded and deterministic except for the seconds it reports.
"""

from __future__ import annotations

import time

import numpy as np

from ..core.geometry import normal_projector, tangent_projector
from ..core.instances import make_instance
from ..core.mixture import Mixture
from ..core.sample import SampleNLL
from ..core.validation import check_positive_int
from ..optim.methods import em, gradient_em, ravine_method
from ..optim.peers import lbfgs
from .accuracy import discrete_minimiser, predicted_naive_offset, two_student_model

#: Budget of gradient EM in :func:`convergence_study`: it is the slowest method on samples, and
#: its runs dominate the cost of the study; a run that stops there is reported as not reaching
#: the tolerance (its ratios are lower bounds).
GRADIENT_EM_BUDGET = 150

#: The drivers compared on samples, in table order: name -> (driver, options overriding the
#: study's ``max_evals``/``tol``).
METHODS = {
    "gradient EM": (gradient_em, {"max_evals": GRADIENT_EM_BUDGET}),
    "EM": (em, {}),
    "L-BFGS": (lbfgs, {}),
    "ravine (default)": (ravine_method, {}),
}

#: Name of the ravine method given the verified minimum as its target (``offset = L_N*``).
ORACLE = "ravine (target L_N*)"


def draw_sample(teacher, size, seed):
    """``size`` points of ``teacher`` from the seeded generator ``seed``: ``(N, d)``."""
    return teacher.sample(check_positive_int(size, "size"), np.random.default_rng(seed))[0]


def predicted_geometry(x):
    """The fourth-order model of the sample minimiser of the two-student model on data
    ``x`` ``(N, d)``.

    With ``lambda_1 >= ... >= lambda_d`` the eigenvalues of ``S - I`` (``S`` the sample
    covariance) and students at ``c +- u``, the model
    ``-c.xbar + |c|^2/2 + u^T (I - S) u / 2 + |u|^4 / 4`` has its minimiser at ``c = xbar``
    and ``|u|^2 = max(0, lambda_1)`` (:func:`gmmlit.book.accuracy.predicted_naive_offset`).
    Its Hessian along ``T``, per unit length of ``theta`` (``theta = (c + u, c - u)``, so
    half the Hessian in ``u``), has the eigenvalues ``lambda_1`` and
    ``(lambda_1 - lambda_j) / 2`` (``j >= 2``) when ``lambda_1 > 0``, and ``-lambda_j / 2``
    otherwise.

    Returns
    -------
    dict with ``tangent``, ``normal`` (distances along and across ``T``), ``spread``
    (``lambda_1``) and ``eig_min`` (the least of the eigenvalues above).
    """
    n, dim = x.shape
    total, tangent, normal = predicted_naive_offset(x, np.full(n, 1.0 / n))
    xc = x - x.mean(axis=0)
    lam = np.linalg.eigvalsh(xc.T @ xc / n - np.eye(dim))[::-1]
    if lam[0] > 0:
        curv = np.concatenate([[lam[0]], 0.5 * (lam[0] - lam[1:])])
    else:
        curv = -0.5 * lam
    return dict(tangent=tangent, normal=normal, spread=float(lam[0]), eig_min=float(curv.min()))


def predicted_study(sizes, seeds, *, dim=2):
    """:func:`predicted_geometry` of the samples of :func:`displacement_study` (no
    minimisation: cheap for many seeds). Arrays of shape ``(len(sizes), len(seeds))``."""
    inst = two_student_model(dim)
    out = {k: np.zeros((len(sizes), len(seeds))) for k in ("tangent", "normal", "spread", "eig_min")}
    for a, size in enumerate(sizes):
        for b, seed in enumerate(seeds):
            for k, v in predicted_geometry(draw_sample(inst.teacher, size, seed)).items():
                out[k][a, b] = v
    return out


def displacement_study(sizes, seeds, *, dim=2):
    """The sample minimiser of the two-student model against ``N``, found by
    trust-region Newton with the exact Hessian from near ``theta*``.

    Returns
    -------
    dict of arrays of shape ``(len(sizes), len(seeds))``: ``tangent``, ``normal`` (norms
    of the parts of ``theta_N - theta*`` in ``T`` and across it), ``eig_min``,
    ``eig_max`` (of the Hessian at the minimiser), ``grad`` (max gradient entry there),
    and the predictions of :func:`predicted_geometry` for the same samples, prefixed
    ``predicted_`` (``spread`` unprefixed).
    """
    inst = two_student_model(dim)
    pt = tangent_projector(inst.weights, inst.assignment, dim)
    pn = normal_projector(inst.weights, inst.assignment, dim)
    keys = ["tangent", "normal", "eig_min", "eig_max", "grad", "spread", "predicted_tangent", "predicted_normal",
            "predicted_eig_min"]
    out = {k: np.full((len(sizes), len(seeds)), np.nan) for k in keys}
    for a, size in enumerate(sizes):
        for b, seed in enumerate(seeds):
            x = draw_sample(inst.teacher, size, seed)
            f = SampleNLL(x, inst.weights)
            start = inst.means_star + 1e-3 * np.random.default_rng(seed).standard_normal(inst.means_star.shape)
            m, _ = discrete_minimiser(f, start)
            dx = (m - inst.means_star).ravel()
            out["tangent"][a, b] = np.linalg.norm(pt @ dx)
            out["normal"][a, b] = np.linalg.norm(pn @ dx)
            eig = np.linalg.eigvalsh(f.hessian(m))
            out["eig_min"][a, b], out["eig_max"][a, b] = eig[0], eig[-1]
            out["grad"][a, b] = np.abs(f.grad(m)).max()
            pred = predicted_geometry(x)
            out["spread"][a, b] = pred["spread"]
            for k in ("tangent", "normal", "eig_min"):
                out["predicted_" + k][a, b] = pred[k]
    return out


def median_slope(sizes, values, mask=None, n_boot=1000, seed=0):
    """Least-squares slope of ``log median`` against ``log N``, the median at each size
    taken over the seeds selected by ``mask`` (rows: sizes, columns: seeds; sizes with no
    selected seed are left out), and a 90% bootstrap interval over the seeds (columns
    resampled with replacement).

    Returns
    -------
    slope, low, high : float
    """
    values = np.asarray(values, dtype=float)
    mask = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    logn = np.log(np.asarray(sizes, dtype=float))

    def slope(cols):
        rows = [a for a in range(values.shape[0]) if mask[a, cols].any()]
        if len(rows) < 2:
            return None
        med = [np.median(values[a, cols][mask[a, cols]]) for a in rows]
        return float(np.polyfit(logn[rows], np.log(med), 1)[0])

    rng = np.random.default_rng(seed)
    boots = [slope(rng.integers(0, values.shape[1], values.shape[1])) for _ in range(n_boot)]
    lo, hi = np.quantile([b for b in boots if b is not None], [0.05, 0.95])
    return slope(np.arange(values.shape[1])), float(lo), float(hi)


def collapse_fraction(size, seeds, dim):
    """Fraction of ``seeds`` whose sample of ``N(0, I_dim)`` (size ``size``, drawn as in
    :func:`displacement_study`) has ``lambda_max(S - I) <= 0``: the samples on which the
    two students of the sample minimiser coincide."""
    inst = two_student_model(dim)
    count = 0
    for seed in seeds:
        x = draw_sample(inst.teacher, size, seed)
        xc = x - x.mean(axis=0)
        count += np.linalg.eigvalsh(xc.T @ xc / size - np.eye(dim))[-1] <= 0.0
    return count / len(seeds)


def reference_minimiser(objective, candidates, *, gtol=1e-11):
    """The best of ``candidates`` (means arrays), polished by trust-region Newton with
    the exact Hessian, and its certificate.

    Returns
    -------
    means : ndarray (n, d)
    loss : float
    grad_max : float
        Largest gradient entry at ``means``.
    eig_min : float
        Least Hessian eigenvalue there (> 0: a strict local minimum).
    """
    losses = [objective.loss(c) for c in candidates]
    best = candidates[int(np.argmin(losses))]
    means, loss = discrete_minimiser(objective, best, gtol=gtol)
    return means, loss, float(np.abs(objective.grad(means)).max()), float(np.linalg.eigvalsh(objective.hessian(means))[0])


def sample_instance():
    """Teacher ``0.5 N((-2, 0), I) + 0.5 N((2, 0), I)``; three students, the left
    component split in two (weights ``0.25, 0.25, 0.5``): the smallest overparameterized
    mixture with a cluster of two students and one alone."""
    teacher = Mixture(np.array([0.5, 0.5]), np.array([[-2.0, 0.0], [2.0, 0.0]]))
    return make_instance(teacher, np.array([0.25, 0.25, 0.5]), np.array([0, 0, 1]), name="two clusters, three students")


def time_run(driver, objective, means0, **options):
    """``(result, seconds)`` of one run."""
    t0 = time.perf_counter()
    res = driver(objective, means0, **options)
    return res, time.perf_counter() - t0


def first_trial_overshoot(result, l_star):
    """For a ravine-method run on a :class:`SampleNLL` without offset: the ratio
    ``(L - 0) / (L - L_N*)`` at the base of its first Polyak trial, by which the step
    towards the target 0 is longer than the step towards ``L_N*`` (``nan`` without trials)."""
    bases = getattr(result, "polyak_base", ())
    if result.method != "ravine_method" or len(bases) == 0:
        return float("nan")
    base_loss = float(result.losses[bases[0]])
    return base_loss / (base_loss - l_star)


def convergence_study(sizes, *, seed=0, start_scale=0.5, gap=1e-9, max_evals=2000):
    """Evaluations and seconds of every method of :data:`METHODS` (and of the ravine
    method with the target ``L_N*``, :data:`ORACLE`) to reach ``L_N <= L_N* + gap``
    (within ``max_evals`` evaluations, :data:`GRADIENT_EM_BUDGET` for gradient EM).

    ``L_N*`` is the verified minimum (:func:`reference_minimiser`) from the final point
    of a pilot L-BFGS run (``distance`` says whether every run ends at that minimiser). A run that does not reach it within ``max_evals`` records
    its final gap.

    Returns
    -------
    list of dict
        One row per (``N``, method): ``N``, ``method``, ``evals``, ``seconds``,
        ``reached``, ``gap`` (final ``L - L_N*``), ``distance`` (final distance to the
        verified minimiser), ``stop``, ``overshoot`` (:func:`first_trial_overshoot`),
        ``accepted`` (Polyak steps), ``handover`` (the evaluation at which the ravine
        method handed over to L-BFGS, ``None`` if it did not), plus ``L_star``,
        ``grad_max`` and ``eig_min`` of the certificate.
    """
    inst = sample_instance()
    rows = []
    for size in sizes:
        x = draw_sample(inst.teacher, size, seed)
        f = SampleNLL(x, inst.weights)
        x0 = inst.start(start_scale, seed=seed)
        m_star, l_star, gmax, eig_min = reference_minimiser(f, [lbfgs(f, x0, max_evals=max_evals).means])
        runs = dict(METHODS)
        runs[ORACLE] = (ravine_method, {})
        for name, (driver, options) in runs.items():
            g = SampleNLL(x, inst.weights, offset=l_star) if name == ORACLE else f
            tol = gap if name == ORACLE else l_star + gap
            res, seconds = time_run(driver, g, x0, **dict(dict(max_evals=max_evals, tol=tol), **options))
            final = res.loss + g.offset - l_star
            rows.append(dict(N=size, method=name, evals=res.n_evals, seconds=seconds, reached=bool(final <= gap),
                             gap=final, distance=float(np.linalg.norm(res.means - m_star)), stop=str(res.stop_reason),
                             L_star=l_star, grad_max=gmax, eig_min=eig_min, overshoot=first_trial_overshoot(res, l_star),
                             accepted=res.n_polyak_accepted, handover=res.extras.get("switch_eval")))
    return rows


def load_iris_standardised():
    """The iris measurements (150 x 4, bundled with scikit-learn), each column centred
    and scaled to unit variance."""
    from sklearn.datasets import load_iris

    x = load_iris().data.astype(float)
    return (x - x.mean(axis=0)) / x.std(axis=0)


def data_start(data, n, seed):
    """``n`` distinct rows of ``data`` drawn with the seeded generator: a start for the means."""
    rng = np.random.default_rng(seed)
    return np.array(data[rng.choice(data.shape[0], size=n, replace=False)])


def iris_study(n=6, seeds=(0, 1, 2), max_evals=600, gap=1e-9):
    """The iris data fitted by an ``n``-component unit-variance student with equal
    weights, and by scikit-learn's ``GaussianMixture`` from the same starts.

    For each seed: EM, L-BFGS and the ravine method (default, and with the target
    ``L_N*`` of the minimum reached by a pilot L-BFGS run, verified by Newton) on :class:`SampleNLL`; then
    ``GaussianMixture(n, covariance_type=..., means_init=start)`` for ``"spherical"``
    and ``"full"`` (which also learn weights and variances). Rows give the average
    log-likelihood reached, the seconds, and the evaluations (iterations for
    scikit-learn); the package's methods stop at ``L_N* + gap`` and scikit-learn at its
    own tolerance ``1e-10`` on the change of the average log-likelihood. For
    scikit-learn, ``restricted_loglik`` is the average log-likelihood of the package's
    model (equal weights, unit variances) at the means scikit-learn found.
    """
    from sklearn.mixture import GaussianMixture

    x = load_iris_standardised()
    weights = np.full(n, 1.0 / n)
    f = SampleNLL(x, weights)
    rows = []
    for seed in seeds:
        x0 = data_start(x, n, seed)
        m_star, l_star, gmax, eig_min = reference_minimiser(f, [lbfgs(f, x0, max_evals=max_evals).means])
        runs = {"EM": (em, f, l_star + gap), "L-BFGS": (lbfgs, f, l_star + gap),
                "ravine (default)": (ravine_method, f, l_star + gap),
                ORACLE: (ravine_method, SampleNLL(x, weights, offset=l_star), gap)}
        for name, (driver, g, tol) in runs.items():
            res, seconds = time_run(driver, g, x0, max_evals=max_evals, tol=tol)
            rows.append(dict(seed=seed, method=name, loglik=-(res.loss + g.offset), seconds=seconds,
                             evals=res.n_evals, stop=str(res.stop_reason), L_star=l_star, grad_max=gmax,
                             eig_min=eig_min, restricted_loglik=-(res.loss + g.offset)))
        for cov in ("spherical", "full"):
            gm = GaussianMixture(n, covariance_type=cov, means_init=x0, tol=1e-10, max_iter=max_evals, random_state=seed)
            t0 = time.perf_counter()
            gm.fit(x)
            seconds = time.perf_counter() - t0
            rows.append(dict(seed=seed, method=f"sklearn {cov}", loglik=float(gm.score(x)), seconds=seconds,
                             evals=int(gm.n_iter_), stop="converged" if gm.converged_ else "max_iter",
                             L_star=l_star, grad_max=np.nan, eig_min=np.nan,
                             restricted_loglik=-f.loss(gm.means_)))
    return rows
