"""The ``gmmlit`` command line: ``reproduce``, ``bench``, ``check``.

Exit codes: 0 success, 1 a check failed (or a mutant survived), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1, got {value}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer seed, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer seed, got {value}")
    return value


def build_parser():
    """The argument parser (exposed for tests and documentation)."""
    from .bench.parallel import BACKENDS
    from .book.reproduce import FIGURES

    parser = argparse.ArgumentParser(
        prog="gmmlit",
        description="Reproduce, benchmark and check the results of the gmmlit book.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{reproduce,bench,check}")
    sub.required = True

    rep = sub.add_parser("reproduce", help="compute a figure of the paper and save it with its data",
                         description="Compute a figure (PNG and PDF) and its data (NPZ) under --out. "
                                     + " ".join(f"{k}: {v}." for k, v in FIGURES.items()))
    rep.add_argument("figure", choices=[*FIGURES, "all"], help="which figure, or 'all'")
    rep.add_argument("--out", default="out", help="output folder (default: ./out)")
    rep.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    rep.add_argument("--full", action="store_true", help="the paper's sizes instead of the book's reduced ones")
    rep.add_argument("--jobs", type=_positive_int, default=1, help="parallel workers for sweeps (joblib; -1: all cores)")
    rep.add_argument("--backend", choices=BACKENDS, default=None,
                     help="joblib backend of the sweeps (default loky; dask: the cluster of DASK_SCHEDULER_ADDRESS "
                          "or a local one)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")

    bench = sub.add_parser("bench", help="run the performance benchmarks and print their tables",
                           description="Benchmarks of the methods (evaluations and time to tolerance) and of the "
                                       "evaluation kernel (time per evaluation against its floor).")
    bench.add_argument("which", nargs="?", choices=["methods", "kernel", "starts", "mutations", "all"], default="all",
                       help="which benchmark ('all': methods, kernel and starts; 'mutations': the mutation run of "
                            "the test suite and the ledger, not part of 'all')")
    bench.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    bench.add_argument("--jobs", type=_positive_int, default=1, help="parallel workers (joblib)")
    bench.add_argument("--backend", choices=BACKENDS, default=None, help="joblib backend of the runs (as for reproduce)")
    bench.add_argument("--out", default=None, help="also write the tables as CSV into this folder")

    check = sub.add_parser("check", help="print the claims ledger from the test run's results",
                           description="Read the outcome of every test marked with a claim of the book from the "
                                       "test run's JUnit file and print one row per (claim, test): pass, fail or "
                                       "not run (a claim none of whose tests ran is 'not run'); exit 1 if one fails.")
    check.add_argument("--only", default=None, help="only claims whose id starts with this prefix (several: comma-separated)")
    check.add_argument("--root", default=".", help="the repository root (default: .)")
    check.add_argument("--junit", default=None,
                       help="JUnit XML of the test run (default: ROOT/.test-results/junit.xml if it exists)")
    return parser


def _cmd_reproduce(args):
    from .book.reproduce import FIGURES, reproduce

    names = list(FIGURES) if args.figure == "all" else [args.figure]
    total = 0.0
    for name in names:
        start = time.perf_counter()
        paths = reproduce(name, args.out, seed=args.seed, full=args.full, jobs=args.jobs,
                          progress=not args.no_progress, backend=args.backend)
        seconds = time.perf_counter() - start
        total += seconds
        for p in paths:
            print(p)
        print(f"{name}: {seconds:.1f} s", flush=True)
    if len(names) > 1:
        print(f"all {len(names)} figures: {total:.1f} s")
    return 0


def _cmd_bench(args):
    from .bench import kernel

    return kernel.main(which=args.which, quick=args.quick, jobs=args.jobs, out=args.out, backend=args.backend)


def _cmd_check(args):
    from pathlib import Path

    from .ledger import registry, runner, table

    root = Path(args.root)
    if not root.is_dir():
        raise ValueError(f"--root must be a folder (the repository root), got {args.root!r}")
    claims = registry.load_claims()
    if args.only:
        prefixes = tuple(p for p in args.only.split(",") if p)
        claims = [c for c in claims if c.id.startswith(prefixes)]
        if not claims:
            raise ValueError(f"no claim id starts with {args.only!r}")
    try:
        results = runner.load_results(root, args.junit)
    except FileNotFoundError as err:
        raise ValueError(f"--junit: {err}") from None
    rows = runner.run_ledger(claims, results, report_unknown=not args.only)
    print(table.ledger_text(rows))
    print(table.summary_line(rows))
    if results is None:
        print(f"{table.NO_RESULTS} (it writes {runner.DEFAULT_JUNIT}), or pass --junit")
    failed = [c for c, s in runner.claim_statuses(rows).items() if s == "fail"]
    if failed:
        print(f"{len(failed)} of {len(set(r.claim_id for r in rows))} claims failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    """Entry point of the ``gmmlit`` console script and ``python -m gmmlit``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"reproduce": _cmd_reproduce, "bench": _cmd_bench, "check": _cmd_check}
    try:
        return handlers[args.command](args)
    except (ValueError, TypeError) as err:
        print(f"gmmlit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
