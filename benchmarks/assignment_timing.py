"""Seconds of ``best_assignment`` for n = 20, 30, 40 and m = 3..5 (printed, never asserted).

Two weight families: *constructed* (student weights split from the teacher's and shuffled, so
an exact grouping exists) and *generic* (student weights Dirichlet(4), so none does and the
search deepens its threshold until it meets the optimum). Run from the repository root:

    .venv/bin/python benchmarks/assignment_timing.py
"""

import time

import numpy as np

from gmmlit import Mixture
from gmmlit.core.assignment import best_assignment
from gmmlit.core.instances import proportional_counts, split_weights


def weights_for(family, m, n, seed):
    rng = np.random.default_rng(seed)
    pi_star = rng.dirichlet(np.full(m, 5.0))
    if family == "constructed":
        w, _ = split_weights(pi_star, proportional_counts(pi_star, n), seed=seed)
        return pi_star, w[rng.permutation(n)]
    return pi_star, rng.dirichlet(np.full(n, 4.0))


def main():
    print(f"{'family':<12} {'m':>2} {'n':>3} {'seconds':>8} {'Delta_pi':>10}")
    for family in ("constructed", "generic"):
        for n in (20, 30, 40):
            for m in (3, 4, 5):
                pi_star, w = weights_for(family, m, n, seed=1000 * m + n)
                teacher = Mixture(pi_star, np.arange(m, dtype=float)[:, None])
                start = time.perf_counter()
                _, dpi = best_assignment(teacher, w)
                print(f"{family:<12} {m:>2} {n:>3} {time.perf_counter() - start:>8.2f} {dpi:>10.2e}", flush=True)


if __name__ == "__main__":
    main()
