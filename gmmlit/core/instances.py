"""The seeded problem instances used throughout the book, tests and benchmarks.

Every instance is a deterministic function of its arguments (and seed), so the same
call gives bitwise the same teacher, weights and starting point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import best_assignment, check_assignment, weight_mismatch
from .mixture import Mixture, merged_teacher
from .objective import PopulationKL
from .types import ArrayLike, SeedLike
from .validation import check_positive_float, check_positive_int, check_rng, check_weights

#: Teacher weights of the running example.
TRIANGLE_WEIGHTS = (0.5, 0.3, 0.2)


#: Scale of the Gaussian perturbation of ``theta*`` in :meth:`Instance.start`: the local
#: starts ``theta* + 0.3 N(0, I)`` of the book's convergence runs.
START_SCALE = 0.3


@dataclass(frozen=True, eq=False)
class Instance:
    """A teacher, fixed student weights and (when it exists) the exact minimiser.

    Attributes
    ----------
    teacher : Mixture
    weights : ndarray (n,)
        Student weights.
    assignment : ndarray of int (n,)
        Best grouping of students onto teacher components.
    delta_pi : float
        Its weight mismatch; 0 when the weights group exactly.
    means_star : ndarray (n, d)
        ``mu*_{sigma(i)}``: the global minimiser when ``delta_pi == 0``; otherwise only
        the reference point the students cluster around.
    name : str
    """

    teacher: Mixture
    weights: np.ndarray
    assignment: np.ndarray
    delta_pi: float
    means_star: np.ndarray
    name: str = "instance"

    @property
    def n(self):
        return self.weights.shape[0]

    @property
    def m(self):
        return self.teacher.n_components

    @property
    def d(self):
        return self.teacher.dim

    def objective(self, rule=None, *, form="bregman", chunk_size=None):
        """The :class:`~gmmlit.PopulationKL` of this instance."""
        return PopulationKL(self.teacher, self.weights, rule, form=form, chunk_size=chunk_size)

    def start(self, scale=START_SCALE, seed=0):
        """``means_star + scale * N(0, I)`` with a seeded generator."""
        scale = check_positive_float(scale, "scale", allow_zero=True)
        rng = check_rng(seed, "seed")
        return self.means_star + scale * rng.standard_normal(self.means_star.shape)


def make_instance(teacher: Mixture, weights: ArrayLike, assignment: ArrayLike | None = None,
                  name: str = "instance") -> Instance:
    """Wrap a teacher and student weights.

    With ``assignment=None`` the grouping with the smallest ``Delta_pi`` is searched
    (:func:`gmmlit.core.geometry.best_assignment`); otherwise the given grouping is used, which is the
    one that matters locally: students near their cluster cannot change cluster.

    A teacher with duplicated components (equal means) is replaced by its merged form
    (:meth:`~gmmlit.Mixture.merge_duplicates`) with a
    :class:`~gmmlit.core.warning_types.DuplicateComponentsWarning`; a given ``assignment``
    refers to the components as given and is mapped onto the merged ones.
    """
    given = teacher
    teacher, labels = merged_teacher(teacher)
    w = check_weights(weights, "weights")
    if assignment is None:
        a, dpi = best_assignment(teacher, w)
    else:
        a = labels[check_assignment(assignment, w.shape[0], given.n_components)]
        dpi = weight_mismatch(teacher.weights, w, a)
    return Instance(teacher, w, a, dpi, teacher.means[a].copy(), name)


def triangle_teacher(side=6.0, weights=TRIANGLE_WEIGHTS, dim=2):
    """Teacher with means on an equilateral triangle of the given side, in ``dim >= 2``."""
    side = check_positive_float(side, "side")
    dim = check_positive_int(dim, "dim", minimum=2)
    tri = side * np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])
    tri -= tri.mean(axis=0)
    means = np.zeros((3, dim))
    means[:, :2] = tri
    return Mixture(np.asarray(weights, dtype=float), means)


def split_weights(teacher_weights, counts, seed=0, concentration=4.0):
    """Split each teacher weight ``pi*_j`` into ``counts[j]`` positive student weights.

    The parts of cluster ``j`` are ``pi*_j u`` with ``u ~ Dirichlet(concentration)``;
    the last part is ``pi*_j`` minus the others, so every cluster sums to ``pi*_j`` up
    to rounding. Returns ``(weights, assignment)``.
    """
    rng = check_rng(seed, "seed")
    tw = np.asarray(teacher_weights, dtype=float)
    counts = [check_positive_int(c, "counts[j]") for c in counts]
    if len(counts) != tw.shape[0]:
        raise ValueError(f"counts must have one entry per teacher component ({tw.shape[0]}), got {len(counts)}")
    weights, assignment = [], []
    for j, (pj, c) in enumerate(zip(tw, counts)):
        u = rng.dirichlet(np.full(c, concentration))
        parts = pj * u
        parts[-1] = pj - parts[:-1].sum()
        weights.extend(parts.tolist())
        assignment.extend([j] * c)
    return np.array(weights), np.array(assignment)


def proportional_counts(teacher_weights, n):
    """Students per teacher component, proportional to the weights, at least one each."""
    tw = np.asarray(teacher_weights, dtype=float)
    m = tw.shape[0]
    n = check_positive_int(n, "n", minimum=m)
    counts = np.maximum(1, np.floor(n * tw).astype(int))
    while counts.sum() < n:
        counts[np.argmax(n * tw - counts)] += 1
    while counts.sum() > n:
        k = np.argmax(np.where(counts > 1, counts - n * tw, -np.inf))
        counts[k] -= 1
    return counts.tolist()


def triangle_instance(n: int = 10, side: float = 6.0, seed: SeedLike = 0, dim: int = 2) -> Instance:
    """The running example: ``m = 3`` teachers on a triangle (weights 0.5/0.3/0.2), ``n``
    students whose weights group exactly (``Delta_pi = 0``)."""
    teacher = triangle_teacher(side, dim=dim)
    w, a = split_weights(teacher.weights, proportional_counts(teacher.weights, n), seed)
    return make_instance(teacher, w, a, name=f"triangle(d={dim}, n={n}, side={side:g})")


def random_teacher(m=3, dim=5, seed=0, scale=3.0, min_separation=4.0, weights=None):
    """Teacher with ``m`` means drawn from ``N(0, scale^2 I)``, redrawn until every pair
    is at least ``min_separation`` apart; weights ``weights`` or ``Dirichlet(5)``."""
    m = check_positive_int(m, "m")
    dim = check_positive_int(dim, "dim")
    rng = check_rng(seed, "seed")
    for _ in range(10_000):
        means = scale * rng.standard_normal((m, dim))
        d2 = ((means[:, None] - means[None]) ** 2).sum(-1) + np.eye(m) * 1e12
        if np.sqrt(d2.min()) >= min_separation:
            break
    else:
        raise ValueError("could not draw well separated means; lower min_separation or raise scale")
    w = rng.dirichlet(np.full(m, 5.0)) if weights is None else np.asarray(weights, dtype=float)
    return Mixture(w, means)


def figure1_instance(seed: SeedLike = 0, dim: int = 5, m: int = 3, n: int = 20) -> Instance:
    """The setting of the paper's Figure 1: ``d = 5``, ``m = 3``, ``n = 20``, ``Delta_pi = 0``."""
    teacher = random_teacher(m, dim, seed=seed)
    w, a = split_weights(teacher.weights, proportional_counts(teacher.weights, n), seed)
    return make_instance(teacher, w, a, name=f"figure1(d={dim}, m={m}, n={n})")


def misspecified_instance(delta_pi: float, n: int = 10, side: float = 6.0, seed: SeedLike = 0,
                          dim: int = 2) -> Instance:
    """The triangle example with student weights moved so that the grouping has ``Delta_pi = delta_pi``.

    Cluster weights become ``(0.5 + delta/2, 0.3 - delta/2, 0.2)``: mass ``delta/2`` moves
    from the second cluster to the first, so ``sum_j |w_j - pi*_j| = delta``.
    """
    delta = check_positive_float(delta_pi, "delta_pi", allow_zero=True, maximum=0.5)
    teacher = triangle_teacher(side, dim=dim)
    target = np.array(teacher.weights) + np.array([delta / 2, -delta / 2, 0.0])
    w, a = split_weights(target, proportional_counts(teacher.weights, n), seed)
    return make_instance(teacher, w / w.sum(), a, name=f"misspecified(Delta_pi={delta:g})")


#: Seed of the second teacher of Figure 5 (:func:`gmmlit.core.instances.random_teacher` with
#: ``m = 3``, ``d = 2``): weights 0.33/0.45/0.22, pairwise distances 5.2, 6.9 and 12.1.
GENERAL_TEACHER_SEED = 1


def general_misspecified_instance(delta_pi, *, n=10, teacher_seed=GENERAL_TEACHER_SEED, split_seed=0, dim=2):
    """A random teacher (``m = 3``) whose cluster weights are off by ``Delta_pi``.

    The teacher is :func:`gmmlit.core.instances.random_teacher` ``(3, dim, seed=teacher_seed)``;
    mass ``delta_pi / 2`` moves from its lightest to its heaviest component, and the
    ``n`` students split these cluster weights (:func:`gmmlit.core.instances.split_weights`),
    so the grouping has ``sum_j |w_j - pi*_j| = delta_pi``.
    """
    delta = check_positive_float(delta_pi, "delta_pi", allow_zero=True)
    teacher = random_teacher(3, dim, seed=teacher_seed)
    shift = np.zeros(3)
    shift[np.argmax(teacher.weights)] += delta / 2
    shift[np.argmin(teacher.weights)] -= delta / 2
    target = teacher.weights + shift
    if np.any(target <= 0):
        raise ValueError(f"delta_pi = {delta} is too large for the lightest teacher weight {teacher.weights.min():.3g}")
    w, a = split_weights(target, proportional_counts(teacher.weights, n), split_seed)
    return make_instance(teacher, w / w.sum(), a, name=f"random teacher {teacher_seed} (Delta_pi={delta:g})")


# ---------------------------------------------------------------------------- small examples of the chapters
def two_parameter_instance(weights=(0.5, 0.5)):
    """The example of Figure 2: teacher ``N(0, 1)`` (``d = 1``, ``m = 1``), two students.

    Parameters
    ----------
    weights : array_like, shape (2,)
        Student weights ``(pi_1, pi_2)``, positive, summing to 1. Any other length is
        also accepted (``n`` students, all in the one cluster).

    Returns
    -------
    Instance
        ``theta* = (0, 0)``, both students assigned to the teacher, ``delta_pi = 0``.
    """
    w = check_weights(weights, "weights")
    if w.shape[0] < 2:
        raise ValueError(f"weights must have at least two entries (overparameterized), got {w.shape[0]}")
    teacher = Mixture(np.array([1.0]), np.zeros((1, 1)))
    label = ", ".join(f"{x:g}" for x in w)
    return make_instance(teacher, w, np.zeros(w.shape[0], dtype=int), name=f"two-parameter(pi=({label}))")


def sample_instance():
    """Teacher ``0.5 N((-2, 0), I) + 0.5 N((2, 0), I)``; three students, the left
    component split in two (weights ``0.25, 0.25, 0.5``): the smallest overparameterized
    mixture with a cluster of two students and one alone."""
    teacher = Mixture(np.array([0.5, 0.5]), np.array([[-2.0, 0.0], [2.0, 0.0]]))
    return make_instance(teacher, np.array([0.25, 0.25, 0.5]), np.array([0, 0, 1]), name="two clusters, three students")


def two_student_model(dim=2):
    """Teacher ``N(0, I_dim)``; two students with weights ``1/2`` (``theta* = 0``).

    The simplest overparameterized problem: ``T = {v_1 = -v_2}`` has dimension ``dim``
    and ``L(theta* + (u, -u)) = |u|^4 / 4 + O(|u|^6)``.
    """
    dim = check_positive_int(dim, "dim")
    teacher = Mixture(np.ones(1), np.zeros((1, dim)))
    return make_instance(teacher, np.array([0.5, 0.5]), np.array([0, 0]), name=f"two students (d={dim})")


def two_teacher_problem(separation, teacher_weights=(0.6, 0.4), counts=(2, 2), seed=0):
    """A ``d = 1`` instance: teacher means ``0`` and ``separation``, students split per cluster."""
    separation = check_positive_float(separation, "separation")
    teacher = Mixture(np.asarray(teacher_weights, dtype=float), np.array([[0.0], [separation]]))
    w, a = split_weights(teacher.weights, list(counts), seed=seed)
    return make_instance(teacher, w, a, name=f"two teachers (separation {separation:g})")


def sympy_check_instance(dim=2):
    """Two teacher components (weights 0.4, 0.6) at distance about 3, three students
    (weights 0.25, 0.15, 0.6; the first two on the first component), in dimension ``dim``:
    the instance of the checks of the implementation against sympy
    (:mod:`gmmlit.theory.symbolic`)."""
    means = np.array([[-1.5, 0.0], [1.5, 0.5]])[:, :dim] if dim <= 2 else None
    if means is None:
        raise ValueError(f"dim must be 1 or 2, got {dim}")
    return make_instance(Mixture(np.array([0.4, 0.6]), means), np.array([0.25, 0.15, 0.6]), np.array([0, 0, 1]))
