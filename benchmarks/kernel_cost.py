"""Accuracy and cost of the integration rules in d = 5 (m = 3, n = 20): prints tables.

Run from the repository root::

    .venv/bin/python benchmarks/kernel_cost.py           # full study (5 to 20 minutes)
    .venv/bin/python benchmarks/kernel_cost.py --quick   # smaller reference, fewer rules
    .venv/bin/python benchmarks/kernel_cost.py --blas-threads 0   # leave BLAS threading alone

The instance is :func:`gmmlit.core.instances.figure1_instance` (teacher separations 5.5, 9.5
and 11.0). Errors are relative errors of loss and gradient against a much finer product
rule evaluated slice by slice (:func:`gmmlit.book.computing.sliced_product_reference`), whose
own accuracy is estimated by comparing it with a second fine rule. They are measured at
three points: a typical start ``theta* + 0.3 N(0, I)``, a point at distance 0.1 along
the tangent space (the ravine, where the gradient is small), and a point at distance
0.01 in a random direction. Timings are the smallest of a few repeats of one
loss-and-gradient evaluation; on a shared machine they are also given as a ratio to a
baseline timed in the same run: the unavoidable work of one pass over 2^18 nodes with
20 students in d = 5 (:func:`gmmlit.bench.kernel.floor_time`: two matrix products and one
``exp``).

The requirement studied: a rule with relative error about 1e-3 at <= 0.1 s per
evaluation, and one with about 1e-5 at <= 1 s.

BLAS threads: the kernel multiplies tall, thin matrices (nodes x 5 by 5 x 20). With
OpenBLAS's default of one thread per core, on a machine where other processes share the
two cores, these products were measured 4 to 7 times slower than with one thread (the
threads wait for each other). The script therefore sets ``OPENBLAS_NUM_THREADS`` (and
``OMP_NUM_THREADS``) to ``--blas-threads`` (default 1) before numpy is imported, unless it
is 0; the value used is printed.
"""

from __future__ import annotations

import argparse
import os
import time



def candidate_rules(quick):
    """The rules compared (built inside a function: numpy is imported only in :func:`main`)."""
    from gmmlit.core.quadrature import ProductRule, SobolRule

    if quick:
        return [SobolRule(2 ** 12), SobolRule(2 ** 16), ProductRule(0.5, 6.0, 4), ProductRule(0.35, 6.0, 6)]
    return [
        SobolRule(2 ** 10), SobolRule(2 ** 12), SobolRule(2 ** 14), SobolRule(2 ** 16), SobolRule(2 ** 18),
        ProductRule(0.5, 6.0, 3), ProductRule(0.5, 6.0, 4), ProductRule(0.5, 6.0, 5), ProductRule(0.5, 6.0, 6),
        ProductRule(0.4, 6.0, 4), ProductRule(0.4, 6.0, 5), ProductRule(0.4, 6.0, 6), ProductRule(0.35, 6.0, 6),
        ProductRule(0.3, 7.0, 4), ProductRule(0.3, 7.0, 5), ProductRule(0.3, 7.0, 6),
        ProductRule(0.25, 7.0, 5), ProductRule(0.25, 7.0, 6), ProductRule(0.2, 8.0, 6),
        ProductRule(0.15, 10.0, 3),
    ]


FULL_REFERENCE = dict(h=0.15, radius=9.0, n_orth=14)
CHECK_REFERENCE = dict(h=0.2, radius=8.0, n_orth=12)
QUICK_REFERENCE = dict(h=0.2, radius=8.0, n_orth=10)
QUICK_CHECK = dict(h=0.25, radius=8.0, n_orth=8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller reference rule and fewer rules")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OPENBLAS_NUM_THREADS / OMP_NUM_THREADS to set before importing numpy (0: leave alone)")
    args = parser.parse_args(argv)
    if args.blas_threads < 0:
        parser.error("--blas-threads must be >= 0")
    if args.blas_threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)

    from gmmlit.bench.tables import format_rows
    from gmmlit.book.computing import (
        error_table_columns,
        probe_point,
        relative_error,
        rule_error_table,
        sliced_product_reference,
    )
    from gmmlit.bench.kernel import floor_time
    from gmmlit.core.instances import figure1_instance
    from gmmlit.core.quadrature import default_rule

    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}")
    inst = figure1_instance()
    points = {
        "start": inst.start(0.3, seed=1),
        "ravine": probe_point(inst, 0.1, "tangent", seed=0),
        "near": probe_point(inst, 0.01, "random", seed=0),
    }
    ref_opts, check_opts = (QUICK_REFERENCE, QUICK_CHECK) if args.quick else (FULL_REFERENCE, CHECK_REFERENCE)
    rules = candidate_rules(args.quick)
    print(f"instance: {inst.name}; default rule: {default_rule(inst.teacher)}")
    t0 = time.perf_counter()
    refs = {k: sliced_product_reference(inst.teacher, inst.weights, x, **ref_opts) for k, x in points.items()}
    checks = {k: sliced_product_reference(inst.teacher, inst.weights, x, **check_opts) for k, x in points.items()}
    print(f"reference ProductRule{tuple(ref_opts.values())}, checked against ProductRule{tuple(check_opts.values())} "
          f"({time.perf_counter() - t0:.0f} s):")
    for k in points:
        print(f"  {k:7s} L = {refs[k][0]:.6e}   |grad| = {(refs[k][1] ** 2).sum() ** 0.5:.3e}   "
              f"difference: loss {relative_error(checks[k][0], refs[k][0]):.1e}, "
              f"grad {relative_error(checks[k][1], refs[k][1]):.1e}")
    baseline = floor_time(2 ** 18, 20, 5)
    print(f"baseline (gmmlit.bench.kernel.floor_time: two (2^18 x 5)(5 x 20) products, one exp "
          f"over 2^18 x 20): {baseline * 1e3:.1f} ms")
    rows = rule_error_table(inst, rules, points, refs, baseline=baseline)
    print("\nrelative errors (loss, grad: largest over the points; then per point), seconds per evaluation")
    print(format_rows(rows, error_table_columns(points)))


if __name__ == "__main__":
    main()
