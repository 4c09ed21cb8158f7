"""Robustness from any start (issue 12): no driver stops non-finite because of its own step,
EM and the ravine method move from far starts (log-domain EM statistics), the default
ravine method is no worse than EM from ordinary starts, and the random-start benchmark's
table survives a CSV round trip. Cheap rules keep every test to seconds."""

import numpy as np
import pytest
from scipy.special import logsumexp

import gmmlit
from gmmlit.bench.starts import (
    random_start,
    read_starts_csv,
    run_row,
    summary,
    three_cluster_instance,
    two_cluster_instance,
    write_starts_csv,
)
from gmmlit.core.quadrature import ProductRule, TrapezoidRule
from gmmlit.optim.first_order import em, gradient_em
from gmmlit.optim.global_phase import global_phase
from gmmlit.optim.peers import bfgs, lbfgs, nesterov
from gmmlit.optim.ravine import ravine_method
from gmmlit.optim.ravine_options import EMMetricGradientStep, RavineOptions
from gmmlit.optim.ravine_phases import discretisation_gap
from gmmlit.optim.results import StopReason

OFFSETS = (10.0, 1e3, 1e5)


@pytest.fixture(scope="module")
def small():
    inst = two_cluster_instance()
    return inst, inst.objective(TrapezoidRule(0.4, 7.0))


@pytest.fixture(scope="module")
def three():
    inst = three_cluster_instance()
    return inst, inst.objective(ProductRule(0.7, 5.0, 3))


def direct_em_means(objective, means):
    """EM means from the nodes with an independent log-sum-exp (scipy), no chunks."""
    x, w = objective.nodes()
    d2 = ((x[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    log_comp = np.log(objective.weights)[None, :] - 0.5 * d2
    log_psi = log_comp - logsumexp(log_comp, axis=1, keepdims=True)
    log_t = log_psi + np.log(w)[:, None]
    soft = np.exp(log_t - logsumexp(log_t, axis=0, keepdims=True))
    return soft.T @ x, logsumexp(log_t, axis=0)


@pytest.mark.claim("polyak.log-domain-em")
@pytest.mark.parametrize("offset", [0.0, *OFFSETS])
def test_log_domain_em_statistics_match_an_independent_computation(small, offset):
    inst, obj = small
    x = inst.start(0.3, 0) + offset
    ev = obj.evaluate(x)
    expected, log_mass = direct_em_means(obj, x)
    # both computations subtract exponents of size offset^2: their rounding (eps offset^2)
    # bounds the agreement
    np.testing.assert_allclose(ev.em_means(), expected, rtol=0, atol=1e-9 + 1e-15 * offset ** 2)
    if offset >= 1e3:  # masses underflow: the log domain is what carries the update
        assert np.any(ev.mass == 0.0) and ev.log_mass is not None
        np.testing.assert_allclose(ev.log_mass, log_mass, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("offset", OFFSETS)
def test_em_moves_from_far_starts(small, offset):
    inst, obj = small
    r = em(obj, inst.start(0.3, 0) + offset, max_evals=5)
    assert r.stop_reason == StopReason.BUDGET and np.all(np.isfinite(r.means))
    # one EM step brings every student back near the data: the loss drops by orders
    assert r.losses[1] < 0.1 * r.losses[0] and r.losses[1] < 10.0


def _drivers():
    return [
        ("ravine_method", lambda o, x: ravine_method(o, x, max_evals=60)),
        ("gradient_em", lambda o, x: gradient_em(o, x, max_evals=60)),
        ("em", lambda o, x: em(o, x, max_evals=60)),
        ("nesterov", lambda o, x: nesterov(o, x, max_evals=60)),
        ("lbfgs", lambda o, x: lbfgs(o, x, max_evals=60)),
        ("bfgs", lambda o, x: bfgs(o, x, max_evals=60)),
    ]


@pytest.mark.claim("global-phase.no-non-finite")
def test_no_driver_stops_non_finite_from_random_or_far_starts(small):
    inst, obj = small
    starts = [random_start(inst, s) for s in range(8)] + [inst.start(0.3, 1) + o for o in OFFSETS]
    bad = []
    for name, run in _drivers():
        for k, x0 in enumerate(starts):
            r = run(obj, x0)
            if r.stop_reason == StopReason.NON_FINITE or not (np.all(np.isfinite(r.means)) and np.isfinite(r.loss)):
                bad.append((name, k, r.stop_reason, r.message))
    assert not bad


def test_global_phase_from_far_teacher_samples_stays_finite(small):
    inst, obj = small
    for seed in range(4):
        gp = global_phase(inst.teacher, 6, seed=seed, max_iters=30, rule=obj.rule)
        assert gp.stop_reason != StopReason.NON_FINITE and np.all(np.isfinite(gp.means))


def test_non_finite_stop_names_the_objective():
    class NaNObjective:
        def check_means(self, means, name="means"):
            return np.asarray(means, dtype=float)

        def evaluate(self, means):
            return gmmlit.Evaluation(np.nan, np.zeros((1, 1)), np.ones(1), np.zeros((1, 1)))

    r = em(NaNObjective(), [[0.0]], max_evals=5)
    assert r.stop_reason == StopReason.NON_FINITE and "objective returned a non-finite loss" in r.message


@pytest.mark.claim("global-phase.ravine-vs-em")
def test_ravine_is_no_worse_than_em_from_ordinary_starts(small, three):
    worse, hits = [], {"ravine": 0, "em": 0}
    for inst, obj in (small, three):
        for s in range(8):
            x0 = random_start(inst, 100 + s)
            r = ravine_method(obj, x0, max_evals=300)
            e = em(obj, x0, max_evals=300)
            hits["ravine"] += r.loss <= 1e-8
            hits["em"] += e.loss <= 1e-8
            assert r.stop_reason != StopReason.NON_FINITE
            if r.loss > 1.05 * e.loss + 1e-12:
                worse.append((inst.name, s, r.loss, e.loss))
    assert not worse
    assert hits["ravine"] >= hits["em"]


@pytest.mark.claim("polyak.far-rule")
def test_far_rule_is_what_keeps_the_ravine_method_on_ems_side(three):
    # the same comparison without the far-from-the-ravine test: gradient EM in EM's metric
    # follows the discretisation error while students sit outside the nodes, and some runs
    # end in a worse basin than EM's (measured: 7 of the 24 starts of the issue)
    inst, obj = three
    worse = 0
    for s in range(8):
        x0 = random_start(inst, 100 + s)
        r = ravine_method(obj, x0, RavineOptions(short_step=EMMetricGradientStep(far_gap=None)), max_evals=300)
        worse += r.loss > 1.05 * em(obj, x0, max_evals=300).loss + 1e-12
    assert worse >= 1


def test_discretisation_gap_is_small_near_the_minimiser_and_large_far_away(three):
    inst, obj = three
    near = discretisation_gap(inst.start(0.3, 0), obj.evaluate(inst.start(0.3, 0)))[0]
    far = discretisation_gap(inst.start(0.3, 0) + 10.0, obj.evaluate(inst.start(0.3, 0) + 10.0))[0]
    # told apart at the method's own threshold (the default far_gap 0.1); measured 1.9e-3 and 21
    assert near < RavineOptions().short_step.far_gap < far


@pytest.mark.claim("polyak.far-start-recovery")
@pytest.mark.parametrize("offset", OFFSETS)
def test_far_starts_recover_and_converge(small, offset):
    inst, obj = small
    x0 = inst.start(0.3, 0) + offset
    r = ravine_method(obj, x0, max_evals=300, tol=1e-12)
    e = em(obj, x0, max_evals=300, tol=1e-12)
    assert r.stop_reason != StopReason.NON_FINITE
    assert r.loss < 0.01 * r.losses[0] and r.loss < 1.0  # back from L ~ offset^2 to the data
    assert r.loss <= 1.05 * e.loss + 1e-12  # no worse than EM
    assert r.converged or np.linalg.norm(obj.evaluate(r.means).grad) < 1e-6  # a stationary point


def test_starts_csv_round_trip(tmp_path):
    rows = [run_row(m, "d2_m2_n4", k, s, quick=True) for k, s in enumerate((3, 4)) for m in ("em", "ravine_default")]
    path = write_starts_csv(rows, tmp_path / "starts.csv", "python -m gmmlit bench starts --quick")
    back, command = read_starts_csv(path)
    assert command == "python -m gmmlit bench starts --quick"
    assert [r["method"] for r in back] == [r["method"] for r in rows]
    for a, b in zip(rows, back):
        for key, value in a.items():
            assert b[key] == (value if not isinstance(value, float) else pytest.approx(value, rel=1e-12)), key
    stats = summary(back)
    assert {s["method"] for s in stats} == {"em", "ravine_default"}
    assert all(s["starts"] == 2 and 0 <= s["successes"] <= 2 for s in stats)
