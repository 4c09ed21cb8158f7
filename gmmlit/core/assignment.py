"""The grouping search: the assignment of students to teacher components with the
smallest weight mismatch.

An *assignment* ``sigma`` maps each of the ``n`` students onto one of the ``m``
teacher components, onto (every teacher gets at least one student). It groups the
students into clusters ``S_j = sigma^{-1}(j)`` with cluster weights
``w_j = sum_{i in S_j} pi_i``. The weight mismatch of an assignment is

.. math:: \\Delta_\\pi(\\sigma) = \\sum_j |w_j - \\pi^*_j| ,

the l1 distance between cluster weights and teacher weights (twice the total variation
between the two weight vectors).

Finding the assignment with the smallest ``Delta_pi`` is a multi-way number partitioning
problem (NP-hard); :func:`best_assignment` proves its answer optimal up to :data:`GROUPING_TOL`
by enumeration, a complete threshold search over subset sums, or a mixed-integer program
(HiGHS), within a time limit, and says so when it cannot.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np

from .mixture import Mixture, merged_teacher
from .types import ArrayLike, IntArray
from .warning_types import NotCertifiedWarning
from .validation import check_positive_float, check_weights

#: An assignment with ``Delta_pi <= GROUPING_TOL`` is an exact grouping (absolute, on the l1
#: mismatch of weights that sum to 1). Weights split from the teacher's in floating point group
#: to ``Delta_pi ~ n * 1e-16``. Generic weights (Dirichlet(4), no grouping by construction)
#: come close by chance as ``n`` grows: at ``n = 40`` their best ``Delta_pi`` was 2e-11 for
#: ``m = 3``, 4e-9 for ``m = 4`` and 2e-7 for ``m = 5`` (``benchmarks/assignment_timing.py``), so
#: with ``m = 3`` and ``n`` near 40 this tolerance no longer separates a constructed grouping
#: from a chance one (the loss at either is of order ``Delta_pi^2``, numerically zero).
GROUPING_TOL = 1e-9

#: Largest ``m ** n`` for which :func:`best_assignment` enumerates all assignments.
_EXHAUSTIVE_LIMIT = 2_000_000

#: Largest ``n`` for which :func:`best_assignment` certifies its answer optimal (beyond it,
#: the meet-in-the-middle tables of ``2^{n/2}`` subset sums per half grow too large).
EXACT_MAX_STUDENTS = 40

#: Partial assignments the threshold search may list before :func:`best_assignment` gives up
#: the certificate and returns the local search's answer with a warning.
_SEARCH_BUDGET = 200_000


def _check_teacher(teacher):
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    return teacher


def check_assignment(assignment: ArrayLike, n: int, m: int, name: str = "assignment") -> IntArray:
    """Return an integer array of length ``n`` with values in ``0..m-1``, every value used."""
    a = np.asarray(assignment)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n} (one teacher index per student), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(int)
        else:
            raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    if np.any(a < 0) or np.any(a >= m):
        raise ValueError(f"{name} must take values in 0..{m - 1}")
    missing = sorted(set(range(m)) - set(a.tolist()))
    if missing:
        raise ValueError(f"{name} must give every teacher component a student; components {missing} have none")
    return a.astype(int)


def cluster_weights(weights, assignment, m):
    """``w_j = sum_{i in S_j} pi_i`` for ``j = 0..m-1``."""
    return np.bincount(assignment, weights=weights, minlength=m)


def weight_mismatch(teacher_weights: ArrayLike, weights: ArrayLike, assignment: ArrayLike) -> float:
    """``Delta_pi = sum_j |w_j - pi*_j|`` of an assignment."""
    m = len(teacher_weights)
    return float(np.sum(np.abs(cluster_weights(weights, assignment, m) - teacher_weights)))


#: Default time limit (seconds) of :func:`best_assignment`: the threshold search gets
#: :data:`SEARCH_SHARE` of it, the MILP the rest.
ASSIGNMENT_TIME_LIMIT = 60.0

#: Share of the time limit given to the threshold search before the MILP takes over. The
#: search is the faster prover on the book's sizes (milliseconds up to ``n = 40`` with
#: generic weights); the MILP is the faster one when many subsets come close to a teacher
#: weight (``m = 8, n = 24``: 94 s for the search, 14 s for HiGHS).
SEARCH_SHARE = 0.25

#: HiGHS accepts a solution whose constraints are violated by up to 1e-6 (its default
#: ``mip_feasibility_tolerance``; ``primal_feasibility_tolerance`` is 1e-7), so each of the
#: ``m`` terms ``t_j >= |s_j - pi*_j|`` of :func:`_milp_search` may be short by that much: a
#: bound proved by HiGHS holds up to ``m * MILP_FEASIBILITY_TOL`` on ``Delta_pi``.
MILP_FEASIBILITY_TOL = 1e-6


class AssignmentResult(tuple):
    """What :func:`best_assignment` returns: unpacks as ``(assignment, delta_pi)``, and
    carries the certificate.

    Attributes
    ----------
    assignment : ndarray of int, shape (n,)
    delta_pi : float
        ``weight_mismatch(teacher.weights, weights, assignment)``.
    lower_bound : float
        A proved lower bound on ``min Delta_pi`` (``0`` when nothing was proved), valid up
        to ``tolerance``.
    tolerance : float
        The precision of the proof: :data:`GROUPING_TOL` for enumeration and the threshold
        search, ``m * MILP_FEASIBILITY_TOL`` when HiGHS gave the bound.
    certified : bool
        ``delta_pi <= lower_bound + tolerance``: the answer is proved optimal up to
        ``tolerance``.
    prover : str
        What proved it: ``"enumeration"``, ``"exact grouping"`` (``delta_pi <= GROUPING_TOL``),
        ``"threshold search"``, ``"milp"``, or ``"none"``.
    """

    def __new__(cls, assignment, delta_pi, lower_bound, prover, tolerance=GROUPING_TOL):
        self = super().__new__(cls, (assignment, float(delta_pi)))
        self.lower_bound = max(0.0, float(lower_bound))
        self.tolerance = float(tolerance)
        self.certified = bool(self[1] <= self.lower_bound + self.tolerance)
        self.prover = prover if self.certified else "none"
        return self

    @property
    def assignment(self):
        return self[0]

    @property
    def delta_pi(self):
        return self[1]

    def __repr__(self):
        return (f"AssignmentResult(delta_pi={self.delta_pi:.3g}, lower_bound={self.lower_bound:.3g}, "
                f"certified={self.certified}, prover={self.prover!r})")


def best_assignment(teacher: Mixture, weights: ArrayLike, *, time_limit: float = ASSIGNMENT_TIME_LIMIT) -> AssignmentResult:
    """The assignment of students to teacher components with the smallest ``Delta_pi``,
    found in bounded time, with a statement of whether it is proved optimal.

    Works for arbitrary weights. What is guaranteed:

    * The call returns within about ``time_limit`` seconds (plus the local search, which
      is polynomial, and one pass of HiGHS's presolve).
    * The answer is an onto assignment and ``delta_pi`` is its exact mismatch.
    * ``result.certified`` is ``True`` exactly when the answer is *proved* optimal up to
      :data:`GROUPING_TOL`, ``delta_pi <= min Delta_pi + GROUPING_TOL`` (up to rounding of
      sums of ``n`` weights, ``~ n 1e-16``). Otherwise a
      :class:`~gmmlit.core.warning_types.NotCertifiedWarning` states ``delta_pi`` and the
      best proved lower bound. When HiGHS gave the proof it holds up to its feasibility
      tolerance, ``m * MILP_FEASIBILITY_TOL`` (``result.tolerance``).

    The provers, in order, each stopping the call once the answer is certified:

    * ``m ** n <= 2e6``: all onto maps are enumerated.
    * A greedy placement with local moves gives an upper bound ``D``; ``D <= GROUPING_TOL``
      is optimal (``Delta_pi >= 0``): an exact grouping.
    * ``n <= EXACT_MAX_STUDENTS`` (40): the complete threshold search
      (:func:`_threshold_search`) lists every assignment with ``Delta_pi <= eps`` for
      ``eps = GROUPING_TOL, 16 GROUPING_TOL, ...`` up to ``D``, for at most
      ``SEARCH_SHARE * time_limit`` seconds and :data:`_SEARCH_BUDGET` partial assignments.
    * Otherwise the mixed-integer program of :func:`_milp_search` (``scipy.optimize.milp``,
      HiGHS) for the rest of the time; its incumbent replaces the local search's answer
      when better, and its dual bound is the reported lower bound.

    The threshold search and the MILP see the same problem; the first to finish proves it.

    Duplicated teacher components (equal means) are merged first, with a
    :class:`~gmmlit.core.warning_types.DuplicateComponentsWarning`: the assignment then
    points each student at the first component of its group (it need not be onto the
    components as given), and ``delta_pi`` is the mismatch to the merged weights.

    Parameters
    ----------
    teacher : Mixture
    weights : array_like (n,)
    time_limit : float > 0
        Seconds the provers may spend (default :data:`ASSIGNMENT_TIME_LIMIT`).

    Returns
    -------
    AssignmentResult
        Unpacks as ``(assignment, delta_pi)``; ``.certified``, ``.lower_bound`` and
        ``.prover`` hold the certificate.

    Raises
    ------
    TypeError
        If ``teacher`` is not a :class:`~gmmlit.Mixture` or ``weights`` not real.
    ValueError
        If ``weights`` is not a valid weight vector, has fewer than ``m`` entries, or
        ``time_limit`` is not a positive number.
    """
    merged, labels = merged_teacher(_check_teacher(teacher))
    w = check_weights(weights, "weights")
    time_limit = check_positive_float(time_limit, "time_limit")
    result = _best_grouping(merged.weights, w, time_limit)
    if not result.certified:
        warnings.warn(
            f"best_assignment: Delta_pi = {result.delta_pi:.3g} is not certified optimal within "
            f"time_limit = {time_limit:g} s (m = {merged.n_components}, n = {w.size}); the proved "
            f"lower bound is {result.lower_bound:.3g}",
            NotCertifiedWarning,
            stacklevel=2,
        )
    if merged is teacher:
        return result
    first = np.array([int(np.flatnonzero(labels == j)[0]) for j in range(merged.n_components)])
    return AssignmentResult(first[result.assignment], result.delta_pi, result.lower_bound, result.prover,
                            result.tolerance)


def _best_grouping(pi_star, w, time_limit):
    """:func:`best_assignment` on plain weight vectors (no warning): an :class:`AssignmentResult`."""
    m, n = pi_star.shape[0], w.shape[0]
    if n < m:
        raise ValueError(f"weights has {n} entries; at least m = {m} students are needed, one per teacher component")
    if m ** n <= _EXHAUSTIVE_LIMIT:
        a, dpi = _exhaustive(pi_star, w)
        return AssignmentResult(a, weight_mismatch(pi_star, w, a), dpi, "enumeration")
    deadline = time.monotonic() + time_limit
    a, upper = _local_search(pi_star, w)
    upper = weight_mismatch(pi_star, w, a)
    if upper <= GROUPING_TOL:
        return AssignmentResult(a, upper, 0.0, "exact grouping")
    if n <= EXACT_MAX_STUDENTS:
        try:
            found = _deepening_search(pi_star, w, upper, time.monotonic() + SEARCH_SHARE * time_limit)
        except _BudgetExceeded:
            pass
        else:
            if found is not None:
                a = found
            dpi = weight_mismatch(pi_star, w, a)
            return AssignmentResult(a, dpi, dpi, "threshold search")
    found, lower = _milp_search(pi_star, w, max(deadline - time.monotonic(), 1e-3))
    if found is not None and weight_mismatch(pi_star, w, found) < upper:
        a = found
    return AssignmentResult(a, weight_mismatch(pi_star, w, a), lower, "milp", m * MILP_FEASIBILITY_TOL)


def _milp_search(pi_star, w, time_limit):
    """The best grouping by a mixed-integer linear program, solved by HiGHS.

    Variables ``x_ij in {0, 1}`` (student ``i`` in cluster ``j``) and ``t_j >= |sum_i w_i x_ij
    - pi*_j|``; minimise ``sum_j t_j`` subject to ``sum_j x_ij = 1`` (one cluster per student)
    and ``sum_i x_ij >= 1`` (onto). Returns ``(assignment or None, lower_bound)``: HiGHS's
    incumbent (rounded to the nearest 0/1 assignment) and its proved dual bound, valid up to
    ``m * MILP_FEASIBILITY_TOL``; ``0`` when it proved nothing within ``time_limit`` seconds.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    m, n = pi_star.shape[0], w.shape[0]
    nx = n * m  # x[i, j] at i * m + j, then t_0..t_{m-1}
    cost = np.concatenate([np.zeros(nx), np.ones(m)])
    one_cluster = np.zeros((n, nx + m))
    for i in range(n):
        one_cluster[i, i * m:(i + 1) * m] = 1.0
    onto = np.zeros((m, nx + m))
    sums = np.zeros((m, nx + m))
    for j in range(m):
        onto[j, j:nx:m] = 1.0
        sums[j, j:nx:m] = w
    eye_t = np.zeros((m, nx + m))
    eye_t[:, nx:] = np.eye(m)
    constraints = [
        LinearConstraint(one_cluster, 1.0, 1.0),
        LinearConstraint(onto, 1.0, np.inf),
        LinearConstraint(eye_t - sums, -pi_star, np.inf),  # t_j >= s_j - pi*_j
        LinearConstraint(eye_t + sums, pi_star, np.inf),  # t_j >= pi*_j - s_j
    ]
    integrality = np.concatenate([np.ones(nx), np.zeros(m)])
    bounds = Bounds(np.zeros(nx + m), np.concatenate([np.ones(nx), np.full(m, np.inf)]))
    res = milp(cost, integrality=integrality, bounds=bounds, constraints=constraints,
               options=dict(time_limit=float(time_limit), mip_rel_gap=0.0))
    found = None
    if res.x is not None:
        x = np.asarray(res.x[:nx]).reshape(n, m)
        a = np.argmax(x, axis=1)
        if set(a.tolist()) == set(range(m)):
            found = a
    bound = getattr(res, "mip_dual_bound", None)
    if res.status == 0 and res.x is not None:
        bound = res.fun if bound is None or not np.isfinite(bound) else bound
    lower = 0.0 if bound is None or not np.isfinite(bound) else float(bound)
    return found, max(lower, 0.0)


class _BudgetExceeded(Exception):
    """The threshold search would list more than :data:`_SEARCH_BUDGET` partial assignments,
    or ran past its deadline."""


def _deepening_search(pi_star, w, upper, deadline=np.inf):
    """Best assignment by threshold searches at ``eps = GROUPING_TOL * 16^k``, capped at ``upper``.

    Each search is complete for ``Delta_pi <= eps``, so the first one that finds anything
    returns the optimum. ``upper`` is the mismatch of a known assignment, so the last
    level (``eps = upper`` plus rounding) always finds one.
    """
    eps, root = GROUPING_TOL, _HalfSums(w, np.arange(len(w)))
    while True:
        eps = min(eps, upper * (1 + 1e-9) + 1e-15)
        found = _threshold_search(pi_star, w, eps, root, deadline)
        if found is not None or eps >= upper:
            return found
        eps *= 16.0


def _sorted_subset_sums(values):
    """Sums of all ``2^k`` subsets of ``values``, sorted: ``(codes, sums)``, where the bits of
    ``codes[s]`` say which values the ``s``-th smallest sum adds."""
    sums = np.zeros(1)
    for x in values:
        sums = np.concatenate([sums, sums + x])
    order = np.argsort(sums, kind="stable")
    return order, sums[order]


def _popcount(codes):
    """Number of set bits of each non-negative integer code."""
    codes = codes.astype(np.int64)
    count = np.zeros(codes.shape, dtype=np.int64)
    while np.any(codes):
        count += _BYTE_POPCOUNT[codes & 255]
        codes >>= 8
    return count


_BYTE_POPCOUNT = np.array([bin(k).count("1") for k in range(256)], dtype=np.int64)


class _HalfSums:
    """Meet-in-the-middle tables for the subsets of the students ``rest``: the subset sums of
    its two halves, each sorted (sorted queries make the range look-ups cache friendly)."""

    def __init__(self, w, rest):
        h = len(rest) // 2
        self.first, self.second = rest[:h], rest[h:]
        self.order_first, self.sorted_first = _sorted_subset_sums(w[self.first])
        self.order_second, self.sorted_second = _sorted_subset_sums(w[self.second])
        self.size_first = _popcount(self.order_first)
        self.size_second = _popcount(self.order_second)

    def ranges(self, target, slack, stride=1):
        """For each (sorted) first-half subset, the range of sorted second-half subsets whose
        total is within ``slack`` of ``target``; with ``stride > 1`` only for every
        ``stride``-th first-half subset (a cheap estimate of the count)."""
        first = self.sorted_first[::stride]
        lo = np.searchsorted(self.sorted_second, (target - slack - first)[::-1], side="left")[::-1]
        hi = np.searchsorted(self.sorted_second, (target + slack - first)[::-1], side="right")[::-1]
        return lo, hi

    def estimated_count(self, target, slack):
        """About how many subsets have a sum within ``slack`` of ``target`` (from a sample of
        about 4096 first-half subsets)."""
        stride = max(1, self.sorted_first.size // 4096)
        lo, hi = self.ranges(target, slack, stride)
        return stride * int(np.sum(hi - lo))

    def subsets(self, lo, hi, target, max_size):
        """The subsets in the ranges, non-empty and of at most ``max_size`` students, sorted by
        ``|sum - target|``: ``(deviations, first-half codes, second-half codes)``."""
        counts = hi - lo
        first = np.repeat(np.arange(lo.size), counts)
        start = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        second = start + np.arange(first.size)
        size = self.size_first[first] + self.size_second[second]
        keep = (size >= 1) & (size <= max_size)
        first, second = first[keep], second[keep]
        dev = np.abs(self.sorted_first[first] + self.sorted_second[second] - target)
        by_dev = np.argsort(dev, kind="stable")
        return dev[by_dev], self.order_first[first[by_dev]], self.order_second[second[by_dev]]

    def members(self, code_first, code_second):
        """Student indices of the subset with the given half codes."""
        bits_first = (code_first >> np.arange(self.first.size)) & 1
        bits_second = (code_second >> np.arange(self.second.size)) & 1
        return np.concatenate([self.first[bits_first == 1], self.second[bits_second == 1]])


def _threshold_search(pi_star, w, eps, root=None, deadline=np.inf):
    """The assignment with the smallest ``Delta_pi`` among those with ``Delta_pi <= eps``, or ``None``.

    Complete: clusters are filled one at a time, the next one being the cluster with the
    fewest candidate subsets (subsets of the remaining students whose sum is within the
    remaining budget of its teacher weight, listed by meet-in-the-middle); each candidate
    is explored with the budget reduced by its deviation, and the budget shrinks to the
    best mismatch found so far (branch and bound). The last cluster takes the remaining
    students. Raises :class:`_BudgetExceeded` after :data:`_SEARCH_BUDGET` candidates or once
    ``time.monotonic()`` passes ``deadline``.
    ``root`` may pass the :class:`_HalfSums` of all students (reused across thresholds).
    """
    root = _HalfSums(w, np.arange(len(w))) if root is None else root
    state = {"best": None, "bound": eps, "listed": 0}
    assignment = np.full(len(w), -1)

    def visit(rest, clusters, used):
        if len(clusters) == 1:
            dev = abs(float(np.sum(w[rest])) - pi_star[clusters[0]])
            if used + dev <= state["bound"]:
                assignment[rest] = clusters[0]
                state["best"], state["bound"] = assignment.copy(), used + dev
            return
        tables = root if len(clusters) == len(pi_star) else _HalfSums(w, rest)
        slack = state["bound"] - used
        j = min(clusters, key=lambda c: tables.estimated_count(pi_star[c], slack))
        lo, hi = tables.ranges(pi_star[j], slack)
        state["listed"] += int(np.sum(hi - lo))
        if state["listed"] > _SEARCH_BUDGET or time.monotonic() > deadline:
            raise _BudgetExceeded
        devs, code_first, code_second = tables.subsets(lo, hi, pi_star[j], len(rest) - (len(clusters) - 1))
        others = [c for c in clusters if c != j]
        for dev, cf, cs in zip(devs, code_first, code_second):
            if used + dev > state["bound"]:
                break
            members = tables.members(cf, cs)
            assignment[members] = j
            visit(np.setdiff1d(rest, members), others, used + dev)
        assignment[rest] = -1

    visit(np.arange(len(w)), list(np.argsort(pi_star)), 0.0)
    return state["best"]


def _exhaustive(pi_star, w):
    m, n = len(pi_star), len(w)
    codes = np.array(list(itertools.product(range(m), repeat=n)), dtype=np.int8)
    onto = np.ones(len(codes), dtype=bool)
    for j in range(m):
        onto &= np.any(codes == j, axis=1)
    codes = codes[onto]
    sums = np.stack([(codes == j) @ w for j in range(m)], axis=1)
    mismatch = np.abs(sums - pi_star[None, :]).sum(axis=1)
    k = int(np.argmin(mismatch))
    return codes[k].astype(int), float(mismatch[k])


def _local_search(pi_star, w):
    m, n = len(pi_star), len(w)
    order = np.argsort(-w)
    a = np.empty(n, dtype=int)
    # give each teacher component its largest available student first, then fill greedily
    sums = np.zeros(m)
    for rank, i in enumerate(order):
        j = rank if rank < m else int(np.argmax(pi_star - sums))
        a[i] = j
        sums[j] += w[i]

    def cost(sums):
        return float(np.abs(sums - pi_star).sum())

    improved = True
    while improved:
        improved = False
        best = cost(sums)
        for i in range(n):
            src = a[i]
            if np.sum(a == src) == 1:
                continue
            for dst in range(m):
                if dst == src:
                    continue
                sums[src] -= w[i]
                sums[dst] += w[i]
                c = cost(sums)
                if c < best - 1e-15:
                    a[i], best, improved = dst, c, True
                    src = dst
                else:
                    sums[src] += w[i]
                    sums[dst] -= w[i]
        for i in range(n):
            for k in range(i + 1, n):
                if a[i] == a[k]:
                    continue
                ji, jk = a[i], a[k]
                sums[ji] += w[k] - w[i]
                sums[jk] += w[i] - w[k]
                c = cost(sums)
                if c < best - 1e-15:
                    a[i], a[k], best, improved = jk, ji, c, True
                else:
                    sums[ji] -= w[k] - w[i]
                    sums[jk] -= w[i] - w[k]
    return a, cost(sums)


