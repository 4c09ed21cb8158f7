"""Exact assignment: ``best_assignment`` against brute force, constructed groupings and ties.

``best_assignment`` promises ``Delta_pi <= min Delta_pi + GROUPING_TOL`` for ``n <= 40``.
Small cases are checked against an enumeration of every onto map written here, with the
module's own enumeration switched off (``_EXHAUSTIVE_LIMIT = 0``) so that the threshold
search answers. Large cases use weights split from the teacher's by construction and
shuffled, so an exact grouping exists and must be found; near-ties check the stated
tolerance on both sides.
"""

import itertools

import numpy as np
import pytest

import gmmlit
from gmmlit import Mixture
from gmmlit.core import assignment
from gmmlit.core.assignment import GROUPING_TOL, best_assignment, check_assignment, weight_mismatch
from gmmlit.core.geometry import minimizer
from gmmlit.core.instances import make_instance, proportional_counts, split_weights


def enumerate_best(teacher_weights, weights):
    """Smallest ``sum_j |w_j - pi*_j|`` over every onto map, by plain enumeration."""
    m, n = len(teacher_weights), len(weights)
    maps = np.array(list(itertools.product(range(m), repeat=n)))
    onto = np.all([(maps == j).any(axis=1) for j in range(m)], axis=0)
    sums = np.stack([np.where(maps[onto] == j, weights, 0.0).sum(axis=1) for j in range(m)], axis=1)
    return float(np.abs(sums - teacher_weights).sum(axis=1).min())


def teacher_with(weights):
    w = np.asarray(weights, dtype=float)
    return Mixture(w, np.arange(w.size, dtype=float)[:, None] * 4.0)


def check_answer(teacher_weights, weights, a, dpi):
    """The answer is an onto map and ``dpi`` is its mismatch."""
    a = check_assignment(a, len(weights), len(teacher_weights))
    assert dpi == weight_mismatch(teacher_weights, weights, a)
    return a


def constructed(m, n, seed):
    """Teacher weights Dirichlet(5), student weights split from them, shuffled."""
    rng = np.random.default_rng(seed)
    pi_star = rng.dirichlet(np.full(m, 5.0))
    w, planted = split_weights(pi_star, proportional_counts(pi_star, n), seed=seed)
    perm = rng.permutation(n)
    return pi_star, w[perm], planted[perm]


@pytest.fixture
def threshold_search_only(monkeypatch):
    """Make best_assignment skip its exhaustive enumeration for every size."""
    monkeypatch.setattr(assignment, "_EXHAUSTIVE_LIMIT", 0)


@pytest.mark.claim("assignment.exact")
@pytest.mark.parametrize("seed", range(24))
def test_threshold_search_matches_enumeration(seed, threshold_search_only):
    rng = np.random.default_rng(seed)
    m = 2 + seed % 3
    n = m + 1 + seed % (9 - m)
    pi_star = rng.dirichlet(np.ones(m))
    w = rng.dirichlet(np.ones(n))
    a, dpi = best_assignment(teacher_with(pi_star), w)
    check_answer(pi_star, w, a, dpi)
    best = enumerate_best(pi_star, w)
    assert best - 1e-12 <= dpi <= best + 1e-12


@pytest.mark.claim("assignment.exact")
@pytest.mark.parametrize("seed", range(6))
def test_near_ties_against_enumeration(seed, threshold_search_only):
    # two groupings differ by 1e-7 .. 1e-12 in Delta_pi: the smaller one must be returned
    rng = np.random.default_rng(100 + seed)
    gap = 10.0 ** -(7 + seed)
    pi_star = np.array([0.4, 0.35, 0.25])
    # {0.4} | {0.2, 0.15} | {0.25} groups exactly up to `gap`; {0.2, 0.2} | ... is close too
    w = np.array([0.2 + gap, 0.2 - gap, 0.2, 0.15, 0.25]) + rng.uniform(-1e-13, 1e-13, 5)
    w = w / w.sum()
    a, dpi = best_assignment(teacher_with(pi_star), w)
    check_answer(pi_star, w, a, dpi)
    best = enumerate_best(pi_star, w)
    assert dpi <= best + 1e-12


# the eight instances (m = 3..5, n = 20..26) and larger ones up to n = 40
CONSTRUCTED = [(3, 20), (3, 26), (4, 20), (4, 23), (4, 26), (5, 20), (5, 24), (5, 26), (4, 32), (3, 40), (5, 40)]


@pytest.mark.claim("assignment.exact-grouping-found")
@pytest.mark.parametrize("m, n", CONSTRUCTED)
def test_constructed_groupings_are_found(m, n):
    pi_star, w, planted = constructed(m, n, seed=10 * m + n)
    assert weight_mismatch(pi_star, w, planted) <= 1e-15  # the instance groups exactly
    teacher = teacher_with(pi_star)
    a, dpi = best_assignment(teacher, w)
    a = check_answer(pi_star, w, a, dpi)
    assert dpi <= GROUPING_TOL
    means_star, a2 = minimizer(teacher, w)
    np.testing.assert_array_equal(means_star, teacher.means[a2])
    np.testing.assert_allclose(np.bincount(a2, weights=w, minlength=m), pi_star, atol=GROUPING_TOL)


@pytest.mark.claim("assignment.exact-grouping-found")
@pytest.mark.parametrize("seed", range(3))
def test_figure1_setting_groups(seed):
    # d = 5, m = 3, n = 20 with randomly drawn teacher weights, students shuffled
    inst = gmmlit.figure1_instance(seed=seed)
    perm = np.random.default_rng(seed).permutation(inst.n)
    w = inst.weights[perm]
    means_star, a = minimizer(inst.teacher, w)
    assert weight_mismatch(inst.teacher.weights, w, a) <= GROUPING_TOL
    np.testing.assert_array_equal(means_star, inst.teacher.means[a])
    # make_instance without a grouping searches the same way
    assert make_instance(inst.teacher, w).delta_pi <= GROUPING_TOL


@pytest.mark.claim("assignment.grouping-tolerance")
@pytest.mark.parametrize("shift, exact", [(1e-10, True), (2e-8, False)])
def test_grouping_tolerance_decides_exactness(shift, exact):
    # move `shift` of weight from a student of cluster 0 to one of cluster 1: the planted
    # grouping then has Delta_pi = 2 shift, far below any other grouping of these weights
    pi_star, w, planted = constructed(3, 20, seed=5)
    i, k = np.flatnonzero(planted == 0)[0], np.flatnonzero(planted == 1)[0]
    w = w.copy()
    w[i] -= shift
    w[k] += shift
    teacher = teacher_with(pi_star)
    a, dpi = best_assignment(teacher, w)
    check_answer(pi_star, w, a, dpi)
    assert dpi <= weight_mismatch(pi_star, w, planted) + 1e-15
    assert dpi == pytest.approx(2 * shift, rel=1e-4)
    if exact:
        minimizer(teacher, w)
    else:
        with pytest.raises(ValueError, match="Delta_pi = 4e-08"):
            minimizer(teacher, w)


def test_identical_weights_are_certified_by_the_milp():
    # thirty equal weights: 30 choose 9 subsets share each sum, beyond the search budget;
    # no grouping is exact (0.301 is not a multiple of 1/30): HiGHS proves the optimum
    pi_star = np.array([0.301, 0.349, 0.35])
    w = np.full(30, 1 / 30)
    result = best_assignment(teacher_with(pi_star), w)
    a, dpi = result
    assert result.certified and result.prover == "milp"
    check_answer(pi_star, w, a, dpi)
    # with equal weights only the cluster sizes matter; single moves reach the best sizes
    best = min(
        abs(c0 / 30 - pi_star[0]) + abs(c1 / 30 - pi_star[1]) + abs((30 - c0 - c1) / 30 - pi_star[2])
        for c0 in range(1, 29) for c1 in range(1, 30 - c0)
    )
    assert dpi == pytest.approx(best, abs=1e-12)


def test_identical_weights_that_group_are_certified():
    pi_star = np.array([0.3, 0.3, 0.4])
    w = np.full(30, 1 / 30)
    a, dpi = best_assignment(teacher_with(pi_star), w)
    check_answer(pi_star, w, a, dpi)
    assert dpi <= GROUPING_TOL


def test_beyond_exact_size_warns_when_the_milp_proves_nothing(monkeypatch):
    # beyond 40 students only HiGHS can prove; when it proves nothing in time, a warning
    monkeypatch.setattr(assignment, "_milp_search", lambda pi_star, w, time_limit: (None, 0.0))
    rng = np.random.default_rng(0)
    pi_star = rng.dirichlet(np.full(3, 5.0))
    w = rng.dirichlet(np.full(assignment.EXACT_MAX_STUDENTS + 1, 4.0))
    with pytest.warns(gmmlit.GmmlitWarning, match="not certified"):
        result = best_assignment(teacher_with(pi_star), w)
    assert not result.certified and result.prover == "none"
    check_answer(pi_star, w, *result)


def test_arguments_are_validated():
    teacher = teacher_with([0.5, 0.5])
    with pytest.raises(TypeError, match="teacher"):
        best_assignment([0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="at least m = 2"):
        best_assignment(teacher, [1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        best_assignment(teacher, [0.5, 0.6])
    with pytest.raises(ValueError, match="strictly positive"):
        best_assignment(teacher, [1.5, -0.5])
    with pytest.raises(TypeError):
        best_assignment(teacher, ["a", "b"])
    with pytest.raises(ValueError, match="tol"):
        minimizer(teacher, [0.5, 0.5], tol=-1e-9)
