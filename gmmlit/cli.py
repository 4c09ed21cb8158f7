"""The ``gmmlit`` command line: ``reproduce``, ``bench``, ``check``.

Exit codes: 0 success, 1 a check failed (or a mutant survived), 2 bad usage (or a missing
extra, named in the message), 130 interrupted (SIGINT or SIGTERM: the parallel workers are
stopped and no output file is left half-written).

``gmmlit --help`` and ``gmmlit --version`` need numpy and scipy only; the verbs import what
they need when they run and name the extra that provides a missing package.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time

from ._version import __version__

#: Top-level packages the verbs import, and the extra of ``pyproject.toml`` that installs each.
EXTRA_OF = {"matplotlib": "book", "sympy": "book", "joblib": "book", "tqdm": "book", "sklearn": "book",
            "threadpoolctl": "book", "mpmath": "book", "distributed": "dask", "dask": "dask"}

#: Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
                     help="joblib backend of the sweeps (default loky; dask: the cluster of --scheduler or "
                          "DASK_SCHEDULER_ADDRESS, else a local one of max(jobs, 2) workers)")
    rep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="address of an existing Dask scheduler (tcp://host:port); implies --backend dask")
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
    bench.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of an existing Dask scheduler; implies --backend dask")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")
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


def _sweep_backend(args):
    """``(backend, scheduler)`` of a sweep verb: ``--scheduler`` implies ``--backend dask``."""
    if args.scheduler is not None:
        if args.backend not in (None, "dask"):
            raise ValueError(f"--scheduler is a Dask scheduler's address; it needs --backend dask, not {args.backend}")
        return "dask", args.scheduler
    return args.backend, None


def _cmd_reproduce(args):
    from .book.reproduce import FIGURES, reproduce

    backend, scheduler = _sweep_backend(args)
    names = list(FIGURES) if args.figure == "all" else [args.figure]
    total = 0.0
    for name in names:
        start = time.perf_counter()
        paths = reproduce(name, args.out, seed=args.seed, full=args.full, jobs=args.jobs,
                          progress=not args.no_progress, backend=backend, scheduler=scheduler)
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
    from .book.reproduce import backend_context

    backend, scheduler = _sweep_backend(args)
    with backend_context(backend, args.jobs, scheduler):
        return kernel.main(which=args.which, quick=args.quick, jobs=args.jobs, out=args.out, backend=backend,
                           progress=not args.no_progress)


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


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def interruptible():
    """Within the block SIGTERM is raised as ``KeyboardInterrupt``, as SIGINT is, so that both
    unwind the stack: joblib aborts its workers, Dask clients close, temporary files are
    removed; on the way out any loky worker still alive is killed (:func:`stop_workers`)."""
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    except KeyboardInterrupt:
        stop_workers()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def stop_workers():
    """Kill the workers of joblib's reusable loky executor, if one was started."""
    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)


def missing_extra(err):
    """The message for a missing optional package: which extra installs it."""
    top = (err.name or "").split(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return f"this needs the package {top!r}: pip install \"gmmlit[{extra}]\""


def main(argv=None):
    """Entry point of the ``gmmlit`` console script and ``python -m gmmlit``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"reproduce": _cmd_reproduce, "bench": _cmd_bench, "check": _cmd_check}
    try:
        with interruptible():
            return handlers[args.command](args)
    except (ValueError, TypeError) as err:
        print(f"gmmlit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        message = missing_extra(err)
        if message is None:
            raise
        print(f"gmmlit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"gmmlit {args.command}: interrupted ({err or 'SIGINT'}); workers stopped", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
