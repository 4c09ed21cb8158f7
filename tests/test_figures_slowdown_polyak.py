"""Tests of the figure modules of the chapters "Why gradient EM slows down" (Figure 4)
and "The Polyak step and the alternating method" (Figures 1 and 3): the compute functions
return what the plots need, are deterministic, and the key claims hold on their data."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gmmlit  # noqa: E402
from gmmlit.book.polyak import figures as fp  # noqa: E402
from gmmlit.book import slowdown as fs  # noqa: E402
from gmmlit.book.polyak import studies  # noqa: E402
from gmmlit.theory import quartic_polyak as quartic  # noqa: E402
from gmmlit.theory.symbolic import polyak_multiplier_identity  # noqa: E402
from gmmlit.theory.quartic_polyak import direction_map_multipliers, quartic_polyak_iterates, quartic_polyak_step  # noqa: E402


@pytest.fixture(scope="module")
def triangle():
    inst = gmmlit.triangle_instance()
    return inst, inst.objective(fs.BOOK_RULE)


@pytest.fixture(scope="module")
def small_figure4(triangle):
    inst, objective = triangle
    return fs.figure4_runs(inst, objective, inst.start(fs.START_SCALE, 0), 80, 40, n_fraction=5)


def _quartic(a):
    a = np.asarray(a, dtype=float)
    return (lambda v: fs.squared_quadratic_quartic(np.ravel(v), a),
            lambda v: fs.squared_quadratic_gradient(np.ravel(v), a).reshape(np.shape(v)))


def _assert_same(a, b):
    """Bitwise equality of two nested dicts of arrays and scalars."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same(a[key], b[key])
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ---------------------------------------------------------------------------- slowdown: error split
@pytest.mark.claim("slowdown.error-split")
def test_bias_and_dispersion_split_the_weighted_error(triangle):
    inst, _ = triangle
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = inst.means_star + rng.standard_normal(inst.means_star.shape)
        b = fs.total_bias(inst.teacher, inst.weights, x, inst.assignment)
        d = fs.total_dispersion(inst.teacher, inst.weights, x, inst.assignment)
        total = fs.weighted_squared_distance(inst.weights, x, inst.means_star)
        assert b > 0 and d > 0
        assert abs(b + d - total) <= 1e-13 * total  # parallel-axis identity, rounding only
        y = fs.recentred_means(inst.teacher, inst.weights, x, inst.assignment)
        assert fs.total_bias(inst.teacher, inst.weights, y, inst.assignment) < 1e-28
        assert abs(fs.total_dispersion(inst.teacher, inst.weights, y, inst.assignment) - d) <= 1e-13 * d


def test_error_split_rejects_bad_history(triangle):
    inst, _ = triangle
    with pytest.raises(ValueError, match="history"):
        fs.error_split(inst, inst.means_star)


# ---------------------------------------------------------------------------- slowdown: quartic model
@pytest.mark.claim("slowdown.gd-quartic-bounds")
@pytest.mark.parametrize("x0", [np.ones(3) / np.sqrt(3), np.array([0.1, 0.1, 1.0])], ids=["diagonal", "near-flattest"])
def test_quartic_gd_obeys_the_bounds_and_is_sublinear(x0):
    a = np.array([1.0, 0.5, 0.25])
    e = fs.quartic_gd_experiment(a, x0, 5000)
    assert e["step"] == e["step_limit"]
    # 1e-12: rounding of the recursion; the upper bound is attained at t = 0
    assert np.all(e["lower"] <= e["losses"]) and np.all(e["losses"] <= e["upper"] * (1 + 1e-12))
    # the proof is one step long and its step condition holds again at every later iterate
    # (|x_t| decreases), so the bounds hold restarted from every iterate: one step from each
    lam, g_const, _ = fs.squared_quadratic_constants(a)
    lower, upper = fs.quartic_gd_bounds(lam, g_const, e["step"], e["losses"][:-1], e["distances"][:-1], np.ones(5000))
    assert np.all(lower <= e["losses"][1:]) and np.all(e["losses"][1:] <= upper * (1 + 1e-12))
    # how tight the constant 4 of the upper bound is: per step Q^(-1/2) grows by
    # c * step * sqrt(lam) with c -> 8 |Ax|^2 / (a_min x^T A x) >= 8 as x turns to the flattest
    # axis (measured minimum over the run 8.47 from the diagonal start, 8.003 from the
    # other): any constant above 8.5 would be violated, 4 is the proof's worst case
    growth = np.diff(e["losses"] ** -0.5) / (e["step"] * np.sqrt(lam))
    assert 4.0 <= growth.min() < 8.5
    # after 5000 steps the slopes are still approaching -2 and -1/2 (the direction turns)
    assert -2.05 < e["loss_exponent"] < -1.6 and -0.55 < e["distance_exponent"] < -0.35
    # a linear rate would give slopes that grow without bound in magnitude
    assert e["losses"][-1] > 1e-8


def test_quartic_constants_are_bounds_on_the_sphere():
    a = np.array([1.0, 0.5, 0.25])
    lam, g_const, h_const = fs.squared_quadratic_constants(a)
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    q = np.array([fs.squared_quadratic_quartic(x, a) for x in u])
    g = np.array([np.linalg.norm(fs.squared_quadratic_gradient(x, a)) for x in u])
    assert q.min() >= lam * (1 - 1e-12) and g.max() <= g_const * (1 + 1e-12)
    # attained on the coordinate axes
    assert fs.squared_quadratic_quartic(np.array([0, 0, 1.0]), a) == pytest.approx(lam, rel=1e-14)
    assert np.linalg.norm(fs.squared_quadratic_gradient(np.array([1.0, 0, 0]), a)) == pytest.approx(g_const)
    with pytest.raises(ValueError, match="a must"):
        fs.squared_quadratic_constants([1.0, -1.0])


def test_sublinear_fit_recovers_the_model():
    t = np.arange(2000, dtype=float)
    a, b = 30.0, 0.7
    losses = (a + b * t) ** -2.0
    fit = fs.sublinear_fit(losses, 500, 2000)
    assert fit["a"] == pytest.approx(a, rel=1e-9) and fit["b"] == pytest.approx(b, rel=1e-9)
    assert fit["residual"] < 1e-9
    assert fit["local_exponent"] == pytest.approx(-2 * b * 1999 / (a + b * 1999), rel=1e-9)
    assert -2 < fit["exponent"] < fit["local_exponent"] + 0.05
    power = fs.sublinear_fit(np.concatenate([[1.0], t[1:] ** -1.3]), 10, 2000)  # losses[t] = t^-1.3
    assert power["exponent"] == pytest.approx(-1.3, abs=1e-9)
    with pytest.raises(ValueError, match="stop"):
        fs.sublinear_fit(losses, 10, 5000)


# ---------------------------------------------------------------------------- Figure 4
@pytest.mark.claim("slowdown.gem-kills-bias")
def test_figure4_runs_have_what_the_plot_needs_and_the_claims_hold(small_figure4):
    g, r = small_figure4["gradient_em"], small_figure4["ravine"]
    for run, n in [(g, 80), (r, 40)]:
        for key in ["losses", "distances", "bias", "dispersion", "weighted_sq_distance"]:
            assert run[key].shape == (n,) and np.all(np.isfinite(run[key]))
    assert g["fraction"].shape == g["fraction_evals"].shape
    assert r["fraction"].shape == r["polyak_base"].shape
    # gradient EM removes the bias fast (linearly: 1e-3 over 79 steps is a per-step factor 0.916;
    # measured 2.5e-4), not the dispersion: its reduction is told from the bias's at the midpoint
    # in log scale between that reduction and none, sqrt(bias ratio) = 0.016; measured 0.61 (the
    # former threshold 0.5 had margin 0.11 and no derivation). Same values under both kernels.
    bias_ratio = g["bias"][-1] / g["bias"][0]
    assert bias_ratio < 1e-3 and g["dispersion"][-1] > np.sqrt(bias_ratio) * g["dispersion"][0]
    # late in the run the loss is the dispersion's: its share L(recentred) / L grows along the run
    # (measured 0.049, 0.072, 0.22, 0.90, 0.993) and ends in the majority, above the midpoint 1/2
    # between all bias (0) and all dispersion (1) (the former 0.99 had margin 0.003)
    assert np.all(np.diff(g["fraction"]) > 0) and g["fraction"][-1] > 0.5
    # each accepted Polyak step cuts the dispersion and raises the bias, which stays below it
    ratios = fs.polyak_split_ratios(r)
    assert ratios["dispersion"].size >= 5
    # "cuts": a ratio < 1 is the claim; 0.65 (about 0.8^2, a squared distance factor of 0.8) is a
    # stricter stated bound, not derived; measured dispersion ratios 0.065 .. 0.14 (margin 4.6x),
    # bias ratios >= 2.4, the same under both kernels
    assert np.all(ratios["dispersion"] < 0.65) and np.all(ratios["bias"] > 1)
    # "below": the ratio < 1 (the former 0.5 had no derivation); measured <= 2.1e-3
    assert np.all(ratios["bias_over_dispersion"] < 1.0)
    # orders of magnitude (six) with half the budget; measured ratio 1.7e-15
    assert r["losses"].min() < 1e-6 * g["losses"].min()


def test_figure4_runs_are_deterministic(triangle, small_figure4):
    inst, objective = triangle
    again = fs.figure4_runs(inst, objective, inst.start(fs.START_SCALE, 0), 80, 40, n_fraction=5)
    _assert_same(small_figure4, again)


@pytest.mark.claim("slowdown.gem-kills-bias")
def test_gradient_em_slope_matches_the_ravine_quartic(triangle):
    inst, objective = triangle
    r = gmmlit.gradient_em(objective, inst.start(fs.START_SCALE, 0), max_evals=400)
    fit = fs.sublinear_fit(r.losses, 200, 400)
    pred = fs.ravine_rate_prediction(objective, inst, r.means)
    # the direction of the iterate still turns at t = 400 (angle ~20 degrees): 20%; measured 0.120
    # under both kernels (a stated allowance, not derived: margin 0.08)
    assert abs(fit["b"] / pred - 1) < 0.2
    assert fit["residual"] < 2e-2      # the fit of L^(-1/2) is a line; measured 4.1e-3 (both kernels)


def test_plot_figure4(small_figure4):
    data = dict(small_figure4, seed=0, ravine_multiplier=3.0)
    fig = fs.plot_figure4(data)
    axes = fig.axes
    assert len(axes) == 3
    assert axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log" and axes[1].get_yscale() == "log"
    assert all(ax.get_xlabel() for ax in axes) and axes[1].get_legend() is not None
    plt.close(fig)


# ---------------------------------------------------------------------------- Polyak on the quartic
def test_polyak_multiplier_identity_is_zero():
    assert polyak_multiplier_identity(2) == 0


@pytest.mark.claim("polyak.quartic-multiplier")
@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
def test_factor_formula_matches_the_step(c):
    form, grad = _quartic([1.0, 0.6, 0.3])
    rng = np.random.default_rng(1)
    for _ in range(10):
        v = rng.standard_normal((3, 1))
        q, g = form(v), grad(v)
        new = quartic_polyak_step(q, g, v, c)
        cos = float(np.sum(g * v)) / (np.linalg.norm(g) * np.linalg.norm(v))
        measured = float(np.sum(new ** 2) / np.sum(v ** 2))
        assert measured == pytest.approx(float(quartic.factor_squared_with_multiplier(cos, c)), rel=1e-12)


def test_direction_map_formulas():
    assert quartic.direction_map_step(0.5, 1.0) == pytest.approx(1 / 6)
    mu = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(quartic.rescale_direction_multipliers(mu, 1.0), mu, rtol=1e-15)
    with pytest.raises(ValueError, match="multiplier"):
        quartic.direction_map_step(1.0, 4.0)
    with pytest.raises(ValueError, match="multiplier"):
        quartic.rescale_direction_multipliers(mu, 5.0)


@pytest.mark.claim("polyak.quartic-multiplier")
def test_plain_steps_align_and_large_multipliers_do_not():
    # Q = (v^T diag(1, 1/2) v)^2 / 4: the flattest direction e_2 is stable for c = 1
    # (multiplier 1 - (2 - 1)/3 = 2/3) and unstable for c = 3 (multiplier -2)
    form, grad = _quartic([1.0, 0.5])
    mults = direction_map_multipliers(form, grad, np.array([[0.0], [1.0]]), np.eye(2))
    assert mults == pytest.approx([2 / 3], abs=1e-6)  # finite differences of a cubic: exact up to rounding
    assert quartic.rescale_direction_multipliers(mults, 3.0)[0] == pytest.approx(-2.0, abs=1e-5)
    v0 = np.array([[0.3], [1.0]])
    tr1 = quartic_polyak_iterates(form, grad, v0, 60, multiplier=1.0)
    f1, a1 = tr1.factors, tr1.angles
    assert f1[-1] == pytest.approx(0.75, abs=1e-9) and a1[-1] < 1e-6
    tr3 = quartic_polyak_iterates(form, grad, v0, 60, multiplier=3.0)
    f3, a3 = tr3.factors, tr3.angles
    assert abs(f3[-1] - 0.25) > 0.05 and a3[-1] > 5.0
    factors = quartic.random_direction_factors(form, grad, np.eye(2), (2, 1), 50, seed=0)
    assert np.all(factors >= 0.75 - 1e-12) and np.all(factors < 1)


def test_tube_half_width():
    np.testing.assert_allclose(fp.tube_half_width([0.5, 2.0], 4.0), [0.5, 1.0], rtol=1e-15)
    with pytest.raises(ValueError, match="ravine_loss"):
        fp.tube_half_width([-1.0], 1.0)
    with pytest.raises(ValueError, match="normal_curvature"):
        fp.tube_half_width([1.0], 0.0)


# ---------------------------------------------------------------------------- Figure 3
@pytest.fixture(scope="module")
def figure3():
    return fp.compute_figure3(evals=14)


@pytest.mark.claim("polyak.figures-1-3")
def test_figure3_data_and_claims(figure3):
    d = figure3
    k = d["losses"].size
    assert d["path"].shape == (k, 2) and d["s"].shape == d["offset"].shape == d["path_tube_width"].shape == (k,)
    assert d["loss_grid"].shape == (d["mu2"].size, d["mu1"].size)
    assert d["ravine"].shape == (d["ravine_s"].size, 2) and d["tube_width"].shape == d["ravine_s"].shape
    poly = d["polyak_evals"]
    assert poly.size >= 4
    ratio = np.abs(d["offset"]) / d["path_tube_width"]
    assert np.all(np.diff(ratio[poly]) > 0) and np.all(ratio[poly[2:]] > 1)  # trials leave the tube, ever farther
    # one EM step brings them back: EM contracts the normal offset by rho_EM = 0.049 per step
    # (test below); allowance 0.1 of the tube half-width; measured 0.052, 0.035, 0.026, 0.020
    assert np.all(ratio[poly + 1] < 0.1)
    block = np.abs(d["s"][poly[1:] - 1] / d["s"][poly[:-1] - 1])
    # blocks contract, the factor rising to the limit 3/4 (measured 0.655, 0.708, 0.728)
    assert np.all(np.diff(block) > 0) and np.all(block < 0.75)


def test_figure3_is_deterministic_and_plots(figure3):
    _assert_same(figure3, fp.compute_figure3(evals=14))
    fig = fp.plot_figure3(figure3)
    ax, bx = fig.axes[0], fig.axes[1]
    assert bx.get_xscale() == "log" and bx.get_yscale() == "log"
    assert ax.get_xlabel() and bx.get_ylabel() and ax.get_legend() is not None
    plt.close(fig)


# ---------------------------------------------------------------------------- Figure 1
@pytest.fixture(scope="module")
def figure1_small():
    inst, objective = fp.figure1_setting(0)
    return inst, objective, fp.figure1_runs(0, 40)


@pytest.mark.claim("polyak.figures-1-3")
def test_figure1_runs_and_claims(figure1_small):
    inst, objective, runs = figure1_small
    assert (inst.d, inst.m, inst.n) == (5, 3, 20)  # the paper's setting
    assert set(runs) == set(fp.FIGURE1_METHODS)
    for run in runs.values():
        assert run["losses"].shape == run["distances"].shape == (40,)
    rv = runs["ravine"]
    assert rv["polyak_evals"].size >= 5 and rv["polyak_accepted"].dtype == bool
    assert rv["losses"].min() < 1e-12 < runs["em"]["losses"].min() < runs["gradient_em"]["losses"].min()
    assert rv["distances"].min() < 0.1 * runs["em"]["distances"].min()   # measured ratio 9.3e-4
    paper = runs["paper"]   # the paper's method: its first block is under way, below the start
    assert paper["losses"].min() < paper["losses"][0] and np.all(np.isfinite(paper["losses"]))


@pytest.mark.claim("polyak.figure1-rule")
def test_figure1_rule_is_accurate_against_the_reference(figure1_small):
    inst, objective, _ = figure1_small
    err = fp.figure1_rule_accuracy(inst, objective)
    assert err.shape == (2, 2) and np.all(err > 0)  # a different rule: errors are measured, not zero
    # the accuracy the chapter states for this rule (loss 1e-4, gradient 1e-3); measured loss 2.4e-5,
    # 5.4e-6 and gradient 5.7e-4, 1.6e-5 (start, near theta*), the same under both kernels
    assert np.all(err[:, 0] < 1e-4) and np.all(err[:, 1] < 1e-3)


def test_figure1_runs_in_parallel_equal_the_serial_ones():
    serial, parallel = fp.figure1_runs(0, 8), fp.figure1_runs(0, 8, jobs=2)
    for runs in (serial, parallel):
        for run in runs.values():
            run.pop("wall_time")
    _assert_same(serial, parallel)


def test_plot_figure1(figure1_small):
    _, _, runs = figure1_small
    fig = fp.plot_figure1(dict(runs, d=5, m=3, n=20, em_displacement=0.0, multiplier=3.0))
    assert len(fig.axes) == 2
    assert all(ax.get_yscale() == "log" and ax.get_xlabel() for ax in fig.axes)
    assert "d=5" in fig.axes[0].get_title()
    plt.close(fig)


def test_rule_accuracy_is_zero_against_itself(triangle):
    inst, objective = triangle
    err = fp.rule_accuracy(objective, objective, [inst.start(0.3, 0)])
    np.testing.assert_array_equal(err, np.zeros((1, 2)))


# ---------------------------------------------------------------------------- fixed K
@pytest.mark.claim("polyak.fixed-k-breakdown")
def test_em_normal_contraction_matches_the_em_map(triangle):
    inst, objective = triangle
    rho = studies.em_normal_contraction(objective, inst.means_star)
    # finite-difference Jacobian of the EM map at theta* (a fixed point up to 3e-12)
    star = inst.means_star
    base = objective.evaluate(star).em_means().ravel()
    h = 1e-6
    jac = np.empty((star.size, star.size))
    for k in range(star.size):
        e = np.zeros(star.size)
        e[k] = h
        jac[:, k] = (objective.evaluate(star + e.reshape(star.shape)).em_means().ravel() - base) / h
    eig = np.abs(np.linalg.eigvals(jac))
    normal = np.sort(eig[np.abs(eig - 1) > 1e-3])
    # O(h) truncation and O(3e-12 / h) from the fixed-point error: 1e-4 is ample
    assert normal.size == inst.m * inst.d
    assert rho == pytest.approx(normal[-1], abs=1e-4)
    assert 0 < rho < 0.1        # a fast normal contraction (measured 0.049)


def test_contraction_breakdown_finds_the_first_failing_step():
    result = SimpleNamespace(
        distances=np.array([1.0, 0.75, 0.5, 0.375, 0.3, 0.29, 0.28]),
        losses=np.arange(7.0),
        polyak_evals=np.array([1, 3, 5, 6]),
        polyak_base=np.array([0, 2, 4, 5]),
        polyak_accepted=np.array([True, True, True, True]),
    )
    # factors 0.75, 0.75, 0.967, 0.966: the third step fails
    assert studies.contraction_breakdown(result, threshold=0.9, skip=0) == (2, 0.3, 4.0)
    assert studies.contraction_breakdown(result, threshold=0.99, skip=0) is None


@pytest.mark.claim("polyak.fixed-k-breakdown")
def test_fixed_k_breakdown_falls_like_rho_to_the_k(triangle):
    inst, objective = triangle
    study = studies.fixed_k_study(inst, objective, inst.start(0.3, 0), short_steps=(2, 3), max_evals=120)
    d2, d3 = study[2]["breakdown_distance"], study[3]["breakdown_distance"]
    assert d2 is not None and d3 is not None
    ratio = (d2 / d3) ** 2
    # The remark predicts 1/rho up to O(1) constants (measured 28 against 1/rho = 20: ratio * rho =
    # 1.38). The exponent 1 of 1/rho is told from 1/2 and 3/2 at the midpoints: ratio * rho lies
    # between rho^(1/4) = 0.47 and rho^(-1/4) = 2.13 (rho = 0.049).
    rho = study["rho"]
    assert rho ** 0.25 < ratio * rho < rho ** -0.25
