"""The grouping search is certified or says so, in bounded time (issue 23, item 3).

Each prover of ``best_assignment`` (enumeration, the threshold search, the MILP) is checked
against a plain enumeration of every onto map, on skewed weights too (Dirichlet(0.2):
a few heavy students and many light ones). The time limit is exercised without timing
anything: a search that runs out of time is simulated by making it raise at once.
"""

import numpy as np
import pytest

import gmmlit
from gmmlit.core import assignment
from tests.test_assignment import enumerate_best, teacher_with  # the naive reference, kept once
from gmmlit.core.assignment import (
    GROUPING_TOL,
    MILP_FEASIBILITY_TOL,
    best_assignment,
    check_assignment,
    weight_mismatch,
)


def skewed(seed, concentration):
    rng = np.random.default_rng(seed)
    m = 2 + seed % 3
    n = m + 2 + seed % (9 - m)
    return rng.dirichlet(np.full(m, concentration)), rng.dirichlet(np.full(n, concentration))


def _search_gives_up(*args, **kwargs):
    raise assignment._BudgetExceeded


@pytest.mark.parametrize("path", ["enumeration", "threshold search", "milp"])
@pytest.mark.parametrize("concentration", [0.2, 1.0])
@pytest.mark.parametrize("seed", range(6))
def test_every_prover_matches_enumeration(path, concentration, seed, monkeypatch):
    if path != "enumeration":
        monkeypatch.setattr(assignment, "_EXHAUSTIVE_LIMIT", 0)
    if path == "milp":
        monkeypatch.setattr(assignment, "_deepening_search", _search_gives_up)
    pi_star, w = skewed(seed, concentration)
    result = best_assignment(teacher_with(pi_star), w)
    a = check_assignment(result.assignment, len(w), len(pi_star))
    assert result.delta_pi == weight_mismatch(pi_star, w, a)
    best = enumerate_best(pi_star, w)
    # certified: optimal up to the prover's stated tolerance (GROUPING_TOL, or m * 1e-6 for HiGHS)
    tolerance = GROUPING_TOL if path != "milp" else len(pi_star) * MILP_FEASIBILITY_TOL
    assert result.certified and result.prover in (path, "exact grouping")
    assert result.tolerance == tolerance
    assert best - 1e-12 <= result.delta_pi <= best + tolerance
    assert result.lower_bound <= best + tolerance


def test_an_uncertified_answer_warns_and_is_still_onto(monkeypatch):
    # neither prover finishes: the local search's answer comes back, with a GmmlitWarning
    monkeypatch.setattr(assignment, "_deepening_search", _search_gives_up)
    monkeypatch.setattr(assignment, "_milp_search", lambda pi_star, w, time_limit: (None, 0.0))
    rng = np.random.default_rng(3)
    pi_star, w = rng.dirichlet(np.full(4, 2.0)), rng.dirichlet(np.full(20, 2.0))
    with pytest.warns(gmmlit.NotCertifiedWarning, match="not certified optimal within time_limit = 5 s"):
        result = best_assignment(teacher_with(pi_star), w, time_limit=5)
    assert not result.certified and result.prover == "none" and result.lower_bound == 0.0
    check_assignment(result.assignment, 20, 4)
    a, dpi = result  # still unpacks as (assignment, delta_pi)
    assert dpi == weight_mismatch(pi_star, w, a)


def test_the_time_limit_reaches_the_provers(monkeypatch):
    seen = {}

    def search(pi_star, w, upper, deadline):
        seen["search"] = deadline
        raise assignment._BudgetExceeded

    def milp(pi_star, w, time_limit):
        seen["milp"] = time_limit
        return None, 0.0

    monkeypatch.setattr(assignment, "_deepening_search", search)
    monkeypatch.setattr(assignment, "_milp_search", milp)
    rng = np.random.default_rng(4)
    with pytest.warns(gmmlit.NotCertifiedWarning):
        best_assignment(teacher_with(rng.dirichlet(np.ones(4))), rng.dirichlet(np.ones(20)), time_limit=8.0)
    assert 0.0 < seen["milp"] <= 8.0  # the MILP gets what is left of the limit
    assert np.isfinite(seen["search"])  # and the search a deadline


@pytest.mark.parametrize("bad", [0.0, -1.0, "long", np.nan])
def test_time_limit_is_validated(bad):
    with pytest.raises((ValueError, TypeError), match="time_limit"):
        best_assignment(teacher_with(np.array([0.5, 0.5])), [0.25, 0.25, 0.5], time_limit=bad)


def test_the_issue_case_m10_n30_is_proved():
    # m = 10, n = 30: the local search alone answered 3x the optimum, uncertified
    rng = np.random.default_rng(1)
    pi_star, w = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(30))
    result = best_assignment(teacher_with(pi_star), w)
    assert result.certified
    _, upper = assignment._local_search(pi_star, w)
    assert result.delta_pi <= upper
