"""The verdict page: every claim of the paper that its summary states (abstract and the seven
figure captions), what the book found, where, and one verdict.

Each claim is a :class:`Claim`; :func:`evidence` computes, with small seeded runs, the numbers
the page prints next to the claims (the same functions and settings as the chapters, with
fewer trials or evaluations where a chapter's full study would be too slow for one page).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.instances import figure1_instance, misspecified_instance, triangle_instance
from ..optim.methods import em, gradient_em
from ..optim.presets import PAPER_METHOD
from . import theorems as th

#: The five verdicts, exactly one per claim.
VERDICTS = ("proved here", "confirmed numerically", "confirmed with caveats", "not confirmed", "departs")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper.

    Attributes
    ----------
    key : str
        Short identifier.
    source : str
        Where the paper states it (abstract, Figure k caption).
    paper : str
        What the paper claims (close to its words).
    where : str
        Where in the book (MyST references).
    verdict : str
        One of :data:`VERDICTS`.
    found : callable
        ``found(ev) -> str``: what the book found, with numbers from :func:`evidence`.
    """

    key: str
    source: str
    paper: str
    where: str
    verdict: str
    found: object

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def _block_factors(result):
    base = np.asarray(result.polyak_base)
    d = result.distances[base]
    return d[1:] / d[:-1]


def _first_below(losses, level):
    hits = np.flatnonzero(np.asarray(losses) <= level)
    return int(hits[0]) if hits.size else None


def local_evidence(max_evals=400):
    """The running example (``THEOREM_RULE``): the paper's method, the same with ``K = 8``, and
    gradient EM, ``max_evals`` evaluations each from ``theta* + 0.3 N(0, I)``."""
    inst = triangle_instance()
    obj = inst.objective(th.THEOREM_RULE)
    x0, star = inst.start(0.3, 0), inst.means_star
    paper = th.paper_run(obj, x0, star, max_evals=max_evals, record_means=False)
    k8 = th.paper_run(obj, x0, star, max_evals=max_evals, record_means=False, short_steps=8)
    gem = gradient_em(obj, x0, max_evals=max_evals, minimizer=star)
    return dict(paper=paper, k8=k8, gem=gem, paper_factors=_block_factors(paper), k8_factors=_block_factors(k8))


def figure1_evidence(max_evals=400):
    """Figure 1's setting in ``d = 2`` (``THEOREM_RULE``): the paper's method, gradient EM and EM."""
    inst = figure1_instance(dim=2)
    obj = inst.objective(th.THEOREM_RULE)
    x0, star = inst.start(0.3, 0), inst.means_star
    paper = th.paper_run(obj, x0, star, max_evals=max_evals, record_means=False)
    return dict(paper=paper, gem=gradient_em(obj, x0, max_evals=max_evals, minimizer=star),
                em=em(obj, x0, max_evals=max_evals, minimizer=star))


def figure4_evidence(gem_evals=150, paper_evals=150):
    """Cluster bias and dispersion along gradient EM and the paper's method (the rule of Figure 4)."""
    from .figures.slowdown import BOOK_RULE, START_SCALE, error_split, polyak_split_ratios

    inst = triangle_instance()
    obj = inst.objective(BOOK_RULE)
    x0 = inst.start(START_SCALE, 0)
    g = gradient_em(obj, x0, max_evals=gem_evals, record_means=True)
    gb, gd = error_split(inst, g.means_history)
    p = th.paper_run(obj, x0, inst.means_star, max_evals=paper_evals)
    pb, pd = error_split(inst, p.means_history)
    ratios = polyak_split_ratios(dict(polyak_evals=p.polyak_evals, polyak_base=p.polyak_base,
                                      polyak_accepted=p.polyak_accepted, bias=pb, dispersion=pd))
    return dict(bias_drop=gb[100] / gb[0], dispersion_kept=gd[100] / gd[0], ratios=ratios)


def misspecified_evidence(deltas=(0.01, 0.06), max_evals=160):
    """:func:`gmmlit.book.theorems.threshold_study`, gradient EM on the same instances, and the
    paper's method with ``Delta_pi = 0`` from the same start."""
    rows = th.threshold_study(deltas, max_evals=max_evals)
    zero = th.paper_run(triangle_instance().objective(th.THEOREM_RULE), triangle_instance().start(0.3, 0),
                        triangle_instance().means_star, max_evals=max_evals, record_means=False)
    for r in rows:
        inst = misspecified_instance(r["delta_pi"])
        g = gradient_em(inst.objective(th.THEOREM_RULE), inst.start(0.3, 0), max_evals=max_evals)
        r["gem_excess"] = float(g.losses.min()) / r["L_star"] - 1.0
        r["evals_to_2L"] = _first_below(r["losses"], 2 * r["L_star"])
        r["zero_evals_to_2L"] = _first_below(zero.losses, 2 * r["L_star"])
    return rows


def global_phase_evidence(n_trials=6, stabilisation_trials=4, recovery_trials=16):
    """Active components after the global phase (Figure 7's trials, fewer of them) and the
    stabilisation of ``Delta_pi`` (Figure 6b)."""
    from ..bench.parallel import trial_seeds
    from .figures.global_phase import DIMENSIONS, active_component_sweep
    from .figures.misspecified import global_phase_trajectories, stabilisation_iteration

    sweeps = {d: active_component_sweep(d, trial_seeds(0, n_trials)) for d in DIMENSIONS}
    active = {d: s["n_active"][:, -1] for d, s in sweeps.items()}
    exact = active_component_sweep(2, trial_seeds(0, recovery_trials), n=3)["final_loss"]
    over = active_component_sweep(2, trial_seeds(0, recovery_trials))["final_loss"]
    traj = global_phase_trajectories(stabilisation_trials, 30)
    stab = [stabilisation_iteration(x[np.isfinite(x)], 0.01) for x in traj["delta_pi"]]
    return dict(active=active, stabilisation=np.array(stab), exact_final=exact, over_final=over, first_step=np.median(traj["delta_pi"][:, 1] /
                                                                                    traj["delta_pi"][:, 0]))


def evidence():
    """Every number of the verdict page (about half a minute)."""
    from ..theory.landscape import two_parameter_landscape
    from .figures.polyak import compute_figure3

    fig2 = two_parameter_landscape((0.5, 0.5), grid_points=11)
    fig3 = compute_figure3()
    ratio3 = np.abs(fig3["offset"]) / fig3["path_tube_width"]
    paper3 = compute_figure3(evals=80, options=dict(PAPER_METHOD))
    paper_ratio3 = np.abs(paper3["offset"]) / paper3["path_tube_width"]
    return dict(local=local_evidence(), fig1=figure1_evidence(), fig2=fig2,
                fig3=dict(trial=ratio3[fig3["polyak_evals"]], back=ratio3[fig3["polyak_evals"] + 1],
                          paper_trial=paper_ratio3[paper3["polyak_evals"]]),
                fig4=figure4_evidence(), miss=misspecified_evidence(), glob=global_phase_evidence())


# ---------------------------------------------------------------------------- the claims
def _found_recovery(ev):
    g = ev["glob"]
    return (f"global phase in d = 2 from random starts: with n = m = 3 students {int(np.sum(g['exact_final'] > 1e-3))} "
            f"of {g['exact_final'].size} trials end at L > 1e-3 (a spurious fit), with n = 20 "
            f"{int(np.sum(g['over_final'] > 1e-3))} (largest final L {g['over_final'].max():.1e})")


def _found_slowdown(ev):
    g, p = ev["local"]["gem"], ev["local"]["paper"]
    return (f"gradient EM: L = {g.losses[-1]:.1e} after {g.n_evals} evaluations, a t^-2 law along the ravine "
            f"(proved on the quartic model); the paper's method: {p.losses.min():.1e} with the same budget")


def _found_manifold(ev):
    f = ev["fig2"]
    return (f"quadratic across, quartic along (slopes {f['slope_normal']:.3f} and {f['slope_tangent']:.3f} in the "
            f"two-parameter example); the ravine M is curved and its quartic is Q_M = Q - delta, not Q")


def _found_polyak(ev):
    f = ev["local"]["paper_factors"]
    return (f"factor in [3/4, 1) per plain step on the quartic model, loss by the fourth power; along the paper's "
            f"method the block factor goes from {f[0]:.3f} to {f[-1]:.3f}")


def _found_linear(ev):
    p, k8 = ev["local"]["paper"], ev["local"]["k8_factors"]
    brk = th.breakdown_index(k8)
    return (f"linear down to an accuracy set by K (thm-local-linear): the paper's rule (K = {p.options['short_steps']}) "
            f"contracts by {np.median(ev['local']['paper_factors']):.3f} per block; with K = 8 the blocks stop "
            f"contracting after block {brk} (factor {k8[brk]:.3f}); a fixed K is not linear to theta*")


def _found_threshold(ev):
    rows = ev["miss"]
    ex = ", ".join(f"{(r['least'] - r['L_star']) / r['kl']:.3f}" for r in rows)
    return (f"threshold KL(pi* ‖ w) ~ sum (w_j - pi*_j)^2 / (2 pi*_j); L <= KL + L_0 + sqrt(2 L_0) ell proved; best "
            f"iterate's (L - L*) / KL = {ex} for Delta_pi = {', '.join(str(r['delta_pi']) for r in rows)}; the "
            f"last iterate is thrown off (f* = 0)")


def _found_alternation(ev):
    t, b = ev["fig3"]["trial"], ev["fig3"]["back"]
    return (f"Polyak trials land up to {t.max():.1f} tube half-widths off M; one short step brings them to "
            f"<= {b.max():.3f} (two-parameter example, EM short steps)")


def _found_not_intrinsic(ev):
    p, g = ev["local"]["paper"], ev["local"]["gem"]
    return f"least L after {p.n_evals} evaluations: paper's method {p.losses.min():.1e}, gradient EM {g.losses.min():.1e}"


def _found_figure1(ev):
    f = ev["fig1"]
    hit = _first_below(f["paper"].losses, 1e-10)
    return (f"the book's figure is drawn at the caption's size (d = 5, m = 3, n = 20) with gmmlit's default method, "
            f"GDPolyak, gradient EM and EM; here, the paper's method (PAPER_METHOD) in d = 2 reaches "
            f"L <= 1e-10 at evaluation {hit} and distance {f['paper'].distances.min():.1e}, gradient EM / EM "
            f"{f['gem'].losses.min():.1e} / {f['em'].losses.min():.1e} after {f['gem'].n_evals}")


def _found_figure2(ev):
    f = ev["fig2"]
    return f"slopes {f['slope_normal']:.3f} (normal) and {f['slope_tangent']:.3f} (tangent); constants 1/4 and 1/16 derived"


def _found_figure3(ev):
    return (_found_alternation(ev) + "; with the paper's method (K from its rule) the trials stay within "
            f"{ev['fig3']['paper_trial'].max():.2f} half-widths: they escape only when the short phase leaves a residual")


def _found_figure4a(ev):
    f = ev["fig4"]
    return (f"gradient EM: bias x{f['bias_drop']:.1e}, dispersion x{f['dispersion_kept']:.2f} after 100 "
            f"iterations; then the loss is carried by the dispersion")


def _found_figure4(ev):
    r = ev["fig4"]["ratios"]
    return (f"paper's method: D(trial)/D(base) in [{r['dispersion'].min():.2f}, "
            f"{r['dispersion'].max():.2f}], but B(trial)/B(base) in [{r['bias'].min():.2f}, {r['bias'].max():.2f}]: "
            f"here its Polyak steps lower the bias; with EM short steps they raise it")


def _found_figure5(ev):
    r = ev["miss"][-1]
    return (f"Delta_pi = {r['delta_pi']}: best iterate of the paper's method {(r['least'] / r['L_star'] - 1):.1e} "
            f"above L*, gradient EM {r['gem_excess']:.1e} after {r['n_evals']} evaluations; the paper's method "
            f"does not settle (last L / L* = {r['final'] / r['L_star']:.3g})")


def _found_figure6a(ev):
    rows = ev["miss"]
    r = rows[0]
    floors = ", ".join(f"{x['L_star'] / x['kl']:.4f}" for x in rows)
    return (f"floors L* / KL = {floors} (L* ~ Delta_pi^2); Delta_pi = {r['delta_pi']}: L <= 2 L* after "
            f"{r['evals_to_2L']} evaluations, the Delta_pi = 0 run after {r['zero_evals_to_2L']} (the larger "
            f"mismatches start within 2 L*): the rate is kept until the floor; with f* = 0 the iterates do not "
            f"stall there but are thrown off (last L / L* = {r['final'] / r['L_star']:.3g})")


def _found_figure6b(ev):
    g = ev["glob"]
    return (f"first step removes most of Delta_pi (median ratio {g['first_step']:.2f}); within 0.01 of its last "
            f"value from iterations {', '.join(str(s) for s in g['stabilisation'])}; it keeps decreasing")


def _found_figure7(ev):
    a = ev["glob"]["active"]
    return "active components after the global phase: " + "; ".join(
        f"d = {d}: {', '.join(str(int(c)) for c in counts)}" for d, counts in a.items())


CLAIMS = (
    Claim("recovery", "abstract", "(Prior work) Overparameterization avoids spurious local optima and enables global "
          "recovery with gradient EM.", "{ref}`chap-global-phase`", "confirmed numerically", _found_recovery),
    Claim("slowdown", "abstract", "Overparameterization can dramatically slow down the local rate of gradient EM.",
          "{prf:ref}`prop-gd-quartic`, {ref}`chap-slowdown`", "confirmed numerically", _found_slowdown),
    Claim("manifold", "abstract", "Under assumptions on the weights the KL has a manifold of slow growth.",
          "{prf:ref}`thm-growth`, {prf:ref}`prop-ravine-quartic`", "proved here", _found_manifold),
    Claim("polyak", "abstract", "On this manifold the Polyak stepsize reduces the loss geometrically.",
          "{prf:ref}`thm-polyak-quartic`, {prf:ref}`prop-direction-map`", "proved here", _found_polyak),
    Claim("linear", "abstract", "The designed gradient method converges to minimizers at a locally linear rate.",
          "{prf:ref}`thm-local-linear`, {prf:ref}`rem-fixed-k`", "confirmed with caveats", _found_linear),
    Claim("threshold", "abstract", "For arbitrary weights it converges to nearly optimal solutions, up to a natural "
          "misspecification threshold.", "{prf:ref}`thm-misspecification-threshold`, {ref}`chap-misspecified`",
          "confirmed with caveats", _found_threshold),
    Claim("alternation", "abstract", "Short gradient steps approach the manifold, long Polyak steps contract the "
          "distance to minimizers.", "{ref}`chap-polyak` (Figure 3), {prf:ref}`thm-local-linear`",
          "confirmed numerically", _found_alternation),
    Claim("not-intrinsic", "abstract", "Slow convergence is not intrinsic to overparameterization.",
          "{ref}`chap-theorems`, {ref}`chap-beyond`", "confirmed numerically", _found_not_intrinsic),
    Claim("figure1", "Figure 1", "Local acceleration for loss and distance; d = 5, m = 3, n = 20, Polyak steps "
          "interleaved with several gradient steps.", "{ref}`chap-polyak`", "confirmed with caveats", _found_figure1),
    Claim("figure2", "Figure 2", "The KL landscape is steep across the tangent space and flat along it: quadratic "
          "along the normal, quartic along the tangent direction.", "{ref}`chap-ravine`", "proved here",
          _found_figure2),
    Claim("figure3", "Figure 3", "The Polyak step progresses along M but can escape the tube; a few short steps "
          "restore proximity.", "{ref}`chap-polyak`", "confirmed with caveats", _found_figure3),
    Claim("figure4a", "Figure 4", "Delta_pi = 0: gradient EM struggles to reduce the intra-cluster dispersion, "
          "which carries most of the loss near minimizers.", "{ref}`chap-slowdown`", "confirmed numerically",
          _found_figure4a),
    Claim("figure4b", "Figure 4", "Polyak steps sharply reduce the dispersion but slightly increase the cluster bias; "
          "gradient steps restore proximity to the manifold.", "{ref}`chap-slowdown`, {ref}`chap-theorems`",
          "departs", _found_figure4),
    Claim("figure5", "Figure 5", "General mixtures, both methods initialised identically (the caption is cut off in the summary): the "
          "method against gradient EM.",
          "{ref}`chap-misspecified`", "confirmed with caveats", _found_figure5),
    Claim("figure6a", "Figure 6a", "Small Delta_pi keep the contraction rate and final loss; larger Delta_pi stall "
          "at higher loss floors.", "{ref}`chap-misspecified`", "confirmed with caveats", _found_figure6a),
    Claim("figure6b", "Figure 6b", "Gradient EM rapidly reduces Delta_pi, which stabilizes within less than 15 "
          "iterations.", "{ref}`chap-misspecified`", "confirmed numerically", _found_figure6b),
    Claim("figure7", "Figure 7", "The number of active components is typically larger than m = 3, especially in "
          "low dimensions.", "{ref}`chap-global-phase`", "confirmed numerically", _found_figure7),
)


def verdict_checks(ev):
    """For every claim, whether the numbers of ``ev`` support its verdict (the page asserts all)."""
    loc, f1, miss, glob = ev["local"], ev["fig1"], ev["miss"], ev["glob"]
    pf, k8 = loc["paper_factors"], loc["k8_factors"]
    r4 = ev["fig4"]["ratios"]
    k8_break = th.breakdown_index(k8)
    return dict(
        recovery=bool(np.any(glob["exact_final"] > 1e-3)) and bool(np.all(glob["over_final"] < 1e-3)),
        slowdown=loc["gem"].losses[-1] > 1e3 * loc["paper"].losses.min(),
        manifold=abs(ev["fig2"]["slope_normal"] - 2) < 0.01 and abs(ev["fig2"]["slope_tangent"] - 4) < 0.01,
        polyak=bool(np.all(pf < 1.0)) and abs(pf[-1] - 0.75) < 0.01,
        linear=bool(np.all(pf < 0.8)) and k8_break is not None and bool(np.all(k8[:k8_break] < 0.8)),
        threshold=all(r["least"] - r["L_star"] < 0.1 * r["kl"] and r["margin"] <= 1e-10 and r["final"] > 1.1 * r["L_star"]
                      for r in miss),
        alternation=bool(np.all(ev["fig3"]["back"] < 0.1) and np.any(ev["fig3"]["trial"] > 1)),
        **{"not-intrinsic": loc["gem"].losses.min() > 1e3 * loc["paper"].losses.min()},
        figure1=f1["paper"].losses.min() < 1e-10 < f1["em"].losses.min() and f1["gem"].losses.min() > 1e-10,
        figure2=abs(ev["fig2"]["half_uHu"] - 0.25) < 1e-12 and abs(ev["fig2"]["quartic_Q"] - 1 / 16) < 1e-14,
        figure3=bool(np.all(ev["fig3"]["back"] < 0.1) and np.any(ev["fig3"]["trial"] > 1))
        and bool(np.all(ev["fig3"]["paper_trial"] < 1)),
        figure4a=ev["fig4"]["bias_drop"] < 1e-3 and ev["fig4"]["dispersion_kept"] > 0.5,
        figure4b=bool(np.all(r4["dispersion"] < 0.65)) and bool(np.any(r4["bias"] < 1)),
        figure5=all(r["least"] - r["L_star"] < r["gem_excess"] * r["L_star"] for r in miss),
        figure6a=miss[0]["losses"][0] > 10 * miss[0]["L_star"] and miss[0]["evals_to_2L"] is not None
        and miss[0]["evals_to_2L"] <= miss[0]["zero_evals_to_2L"] + 2 and miss[0]["final"] > 1.1 * miss[0]["L_star"],
        figure6b=bool(np.all(glob["stabilisation"] <= 15)) and glob["first_step"] < 0.1,
        figure7=all(np.all(c >= 3) for c in glob["active"].values()) and bool(np.all(glob["active"][2] > 3))
        and np.mean(glob["active"][2]) > np.mean(glob["active"][10]),
    )


def verdict_rows(ev):
    """``(source, paper, found, where, verdict)`` for every claim, with the numbers of ``ev``."""
    return [(c.source, c.paper, c.found(ev), c.where, c.verdict) for c in CLAIMS]


def verdict_counts(claims=CLAIMS):
    """How many claims have each verdict (every verdict listed, zeros included)."""
    return {v: sum(c.verdict == v for c in claims) for v in VERDICTS}
