"""The quantitative claims about the methods, asserted loosely (each can fail).

Instance: d = 2, m = 3 teacher components on a triangle of side 6 (weights 0.5/0.3/0.2),
n = 10 students whose weights group exactly, starts theta* + 0.3 N(0, I). One evaluation
with the default rule costs about 13 ms on one core; the long runs of the claims live in
``python -m gmmlit.book.polyak``, the tests use the budgets noted at each test.
"""

import numpy as np
import pytest

import gmmlit
from gmmlit.optim.first_order import em, gradient_em
from gmmlit.optim.ravine import ravine_method
from gmmlit.core.quadrature import TrapezoidRule
from gmmlit.optim.presets import PLAIN_POLYAK, POLYAK_ALONE
from gmmlit.optim.ravine_options import PolyakRule
from gmmlit.theory.landscape import fit_power_law
from gmmlit.book.theorems import BREAKDOWN_FACTOR
from gmmlit.book.misspecified import f_star_zero_runs, floor_scaling, misspecification_floor, theory_floor
from gmmlit.book.polyak import polyak_contraction_factors, polyak_factor_study


@pytest.fixture(scope="module")
def triangle():
    inst = gmmlit.triangle_instance(n=10, side=6, seed=0)
    return inst, inst.objective()


@pytest.mark.claim("polyak.study-factors")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_ravine_reaches_1e12_within_150_evaluations(triangle, seed):
    inst, obj = triangle
    r = ravine_method(obj, inst.start(0.3, seed), max_evals=150, tol=1e-12)
    assert r.converged, r
    assert r.n_evals <= 150 and r.loss <= 1e-12


@pytest.mark.claim("polyak.study-factors")
def test_classical_methods_do_not_reach_1e10_within_5000_evaluations(triangle):
    # The claim on the default rule is measured in ``python -m gmmlit.book.polyak`` (5000
    # evaluations cost about a minute per method). Here the same objective is discretised
    # by a coarser trapezoid rule (h = 0.5, radius 7; 23x fewer nodes): the Bregman form
    # keeps theta* an exact minimiser with L = 0 and the same tangent space for every
    # rule, so the ravine, the object of the claim, is unchanged. Measured after 5000
    # evaluations from seed 0: gradient EM 8.369e-7 (default rule) vs 8.370e-7 (coarse),
    # EM 4.540e-9 vs 4.574e-9.
    inst, _ = triangle
    coarse = inst.objective(TrapezoidRule(0.5, 7.0))
    x0 = inst.start(0.3, 0)
    for method in (gradient_em, em):
        r = method(coarse, x0, max_evals=5000, tol=1e-10)
        assert r.n_evals == 5000 and not r.converged, (method.__name__, r)
        assert r.loss > 1e-10
        # both are descent methods here: the loss never rises (up to rounding at 1e-18)
        assert np.all(np.diff(r.losses) <= 1e-18)


@pytest.mark.claim("polyak.study-factors")
def test_plain_polyak_factor_is_close_to_three_quarters(triangle):
    inst, obj = triangle
    study = polyak_factor_study(inst, obj, seeds=[0, 1], below=1e-6)
    f = study["factors"]
    assert f.size >= 20                                  # measured 32 (16 per seed)
    # 3/4 is the best case on a homogeneous quartic (Cauchy-Schwarz): higher-order terms
    # of the loss may only move it by O(distance) (allowance 1e-2); measured min 0.762 over
    # seeds 0-4 (margin 0.022), and (0.75 - f) / distance < 0 at every factor.
    assert f.min() >= 0.74
    # Every factor is in the contracting regime, told from no contraction (1) at the midpoint
    # BREAKDOWN_FACTOR = 7/8 between the limit 3/4 and 1; measured max 0.781 over seeds 0-4
    # (margin 0.094). The paper's claim "factors in [0.74, 0.77]" is not asserted here: its upper
    # end lies inside the spread of the per-seed medians (0.766 .. 0.772 over seeds 0-4), so a
    # check of it would depend on the seeds drawn; the studies report and the ledger state it.
    assert f.max() < BREAKDOWN_FACTOR


def test_em_metric_polyak_factor_is_three_quarters(triangle):
    # In the EM metric D = diag(1 / E[psi_i]) ~ diag(1 / pi_i) the gradient of the
    # well-separated quartic is D grad Q(v)_i = S_j v_i, radial when the displacements are
    # eigenvectors of the dispersion S_j with a common eigenvalue; the Polyak map drives
    # the iterates there, and the factor tends to 3/4 up to O(distance) corrections
    # (distance < 1e-2 once L < 1e-6). In the Euclidean metric grad Q(v)_i = pi_i S_j v_i
    # cannot be parallel to v for unequal student weights: hence the larger factors above.
    # Measured over seeds 0-4: transients up to 0.7646 (seed 3, first steps), medians
    # 0.7500-0.7502.
    # Thresholds: the lower end 3/4 minus an O(distance) allowance 5e-3; the transients are in
    # the contracting regime (below the midpoint 7/8 between 3/4 and 1; the former 0.77 was a
    # measured bound with margin 0.005); the median and the last 8 factors (aligned) are 3/4 up
    # to O(distance) (stated allowances 1e-3 and 3e-3). Measured on seeds 0, 1 (both kernels
    # agree): factors 0.74991 .. 0.75062, median deviations <= 5.1e-5, last 8 within 3.5e-4.
    inst, obj = triangle
    study = polyak_factor_study(inst, obj, seeds=[0, 1], below=1e-6,
                                options=PLAIN_POLYAK.replace(polyak=PolyakRule("em", 1.0, 0.0)))
    for f in study["per_seed"]:
        assert f.size >= 10
        assert np.all((f >= 0.745) & (f < BREAKDOWN_FACTOR))  # the best case 3/4 minus O(distance)
        assert abs(np.median(f) - 0.75) <= 1e-3
        assert np.all(np.abs(f[-8:] - 0.75) <= 3e-3)  # aligned: 3/4 up to O(distance)


def test_factors_need_a_minimizer(triangle):
    inst, obj = triangle
    r = ravine_method(obj, inst.start(0.3, 0), max_evals=5)
    with pytest.raises(ValueError, match="minimizer"):
        polyak_contraction_factors(r)


@pytest.fixture(scope="module")
def floors():
    # L-BFGS with 100 evaluations settles 3 to 4 digits of L* (the studies run 400)
    return [misspecification_floor(delta, evals=100) for delta in (0.01, 0.02, 0.05, 0.1)]


@pytest.mark.claim("misspecified.floor")
def test_floor_scales_like_delta_squared(floors):
    for row in floors:
        assert row["converged_digits"] >= 3, row["delta_pi"]
        # well separated clusters: L* ~ sum_j Delta_j^2 / (2 pi*_j); the clusters overlap
        # at separation 6 and the quadratic expansion of the KL drops O(Delta^3): 10 %
        assert 0.9 <= row["ratio_to_theory"] <= 1.1, row
        # the floor lies under the KL between teacher and cluster weights, which the
        # student attains by putting every student on its teacher mean
        assert row["L_star"] <= row["kl_weights"]
    fit = floor_scaling(floors)
    assert fit["theory_exponent"] == pytest.approx(2.0, abs=1e-9)
    assert 1.9 <= fit["exponent"] <= 2.1


@pytest.mark.claim("misspecified.zero-target")
def test_f_star_zero_ravine_stops_above_the_floor(floors):
    floor = floors[0]  # Delta_pi = 0.01
    variants = [("f*=0", POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0))),
                ("f*=L*", POLYAK_ALONE.replace(polyak=PolyakRule(target=floor["L_star"])))]
    rows = f_star_zero_runs(floor, max_evals=150, variants=variants)
    default, told = rows
    # f* = 0 underestimates the gap near the floor: the look-ahead safeguard rejects the
    # overshooting Polyak steps and the run stops above L*
    assert default["stop"] == "rejected_steps"
    assert default["final_excess"] > 1e-3
    # told the true floor, the same method gets (much) closer
    assert told["min_excess"] < default["min_excess"]
    assert theory_floor(floor["instance"]) == pytest.approx(floor["theory"])


def test_fit_power_law():
    p, c = fit_power_law([1.0, 2.0, 4.0], [3.0, 12.0, 48.0])
    assert p == pytest.approx(2.0) and c == pytest.approx(3.0)
    with pytest.raises(ValueError):
        fit_power_law([1.0, -2.0], [1.0, 2.0])
