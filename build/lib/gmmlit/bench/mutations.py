"""The mutation run: plant wrong formulas and record whether the test suite and the ledger
catch each one.

For every :class:`Mutant` the repository (``gmmlit/``, ``tests/`` and the files pytest
needs) is copied into a temporary folder, one exact snippet of one source file is
replaced there (the working tree is never touched), and then

1. the relevant test files run with pytest (``-x``, the derandomised hypothesis profile
   ``mutation``: the ``ci`` one without shrinking), writing a JUnit file;
2. ``gmmlit check`` runs on the copy for the relevant claims: their callable checks, and
   their test-backed rows read from that JUnit file.

A mutant is *killed* by the tests when pytest fails, by the ledger when a ledger row
fails; ``ledger_callable`` records whether the callable checks alone fail (``none`` when
the claims have no callable check). Before the mutants, the unmutated copy must pass every
test and check the mutants use (otherwise a "kill" would mean nothing).

Run ``python -m gmmlit bench mutations --out benchmarks/results`` (or
``python -m gmmlit.bench.mutations``); ``--quick`` runs only the first four mutants.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: What is copied for a run: the package, the tests and what pytest reads.
COPIED = ("gmmlit", "tests", "conftest.py", "pyproject.toml")

#: Columns of ``mutations.csv``.
COLUMNS = ["mutant", "file", "description", "tests", "ledger_callable", "ledger", "killed", "seconds"]


@dataclass(frozen=True)
class Mutant:
    """A planted wrong formula.

    Attributes
    ----------
    name : str
    description : str
    path : str
        File relative to the repository root.
    old, new : str
        ``old`` must occur exactly once in the file; it is replaced by ``new``.
    tests : tuple of str
        pytest arguments (files or node ids) relevant to the formula.
    claims : tuple of str
        Prefixes of the ledger claims relevant to it.
    """

    name: str
    description: str
    path: str
    old: str
    new: str
    tests: tuple
    claims: tuple


PROPS = "tests/test_properties.py"
MUTANTS = (
    Mutant("hessian-gauss-newton", "Hessian without its second term (outer product only, Gauss-Newton)",
           "gmmlit/core/objective.py",
           "        for i in range(n):\n            h[i * d:(i + 1) * d, i * d:(i + 1) * d] += blocks[i]\n", "",
           (f"{PROPS}::test_hessian_matches_finite_differences_away_from_minimiser",
            "tests/test_objective.py::test_hessian_is_exact_derivative_of_gradient",
            "tests/test_symbolic.py::test_hessian_implementation"),
           ("gradient-hessian.hessian-is-fisher", "gradient-hessian.pointwise-hessian")),
    Mutant("quartic-constant", "quartic form Q = E[c_2^2] / 4 instead of / 2",
           "gmmlit/theory/quartic.py", "return 0.5 * float(self.nodes.w @ (c2 * c2))",
           "return 0.25 * float(self.nodes.w @ (c2 * c2))",
           (f"{PROPS}::test_quartic_growth_along_ravine", "tests/test_symbolic.py::test_quartic_implementation"),
           ("ravine.quartic-growth",)),
    Mutant("polyak-factor", "Polyak factor sqrt(1 - 6 Q^2 / (|g|^2 |v|^2)) instead of 7 Q^2",
           "gmmlit/theory/quartic.py", "ratio = 7.0 * q * q / (gg * vv)", "ratio = 6.0 * q * q / (gg * vv)",
           (f"{PROPS}::test_polyak_quartic_factor_bounds",),
           ("polyak.three-quarters", "polyak.ravine-contraction")),
    Mutant("floor-estimate", "floor estimate with rho = (g1/g2)^((p-1)/p) instead of ^(p/(p-1))",
           "gmmlit/optim/steps.py", "** (degree / (degree - 1.0))", "** ((degree - 1.0) / degree)",
           ("tests/test_steps.py",), ("polyak.floor-estimate",)),
    Mutant("gradient-sign", "gradient with the wrong sign",
           "gmmlit/core/objective.py", "grad += sums[:, :d] - delta * sums[:, d:d + 1]",
           "grad -= sums[:, :d] - delta * sums[:, d:d + 1]",
           ("tests/test_objective.py::test_gradient_matches_finite_differences",
            "tests/test_symbolic.py::test_gradient_implementation"),
           ("gradient-hessian.pointwise-gradient",)),
    Mutant("em-metric", "EM metric D = diag(E[psi_i]) instead of its inverse",
           "gmmlit/optim/steps.py", "return evaluation.grad / evaluation.mass[:, None]",
           "return evaluation.grad * evaluation.mass[:, None]",
           ("tests/test_steps.py",), ("polyak.metric-step",)),
    Mutant("tangent-projector", "tangent space with equal weights instead of pi_i",
           "gmmlit/core/geometry.py", "v = np.where(a == j, w, 0.0)", "v = np.where(a == j, 1.0, 0.0)",
           ("tests/test_geometry.py",), ("ravine.tangent-null-space",)),
    Mutant("bregman-series", "Bregman integrand summed with 3 series terms whatever |s|",
           "gmmlit/core/objective.py", "terms = series_terms(np.max(np.abs(ss)))", "terms = 3",
           ("tests/test_objective.py::test_bregman_integrand_relative_accuracy",
            "tests/test_symbolic.py::test_bregman_integrand"),
           ("computing.bregman-exact",)),
    Mutant("polyak-step-length", "Polyak step twice as long (2 (L - f*) / |g|^2)",
           "gmmlit/optim/steps.py", "step = multiplier * max(gap, 0.0) / curvature",
           "step = 2.0 * multiplier * max(gap, 0.0) / curvature",
           ("tests/test_steps.py::test_polyak_step_formula", f"{PROPS}::test_polyak_quartic_factor_bounds"),
           ("polyak.three-quarters", "polyak.ravine-contraction")),
    Mutant("gd-bound-constant", "upper bound of gradient descent on a quartic with constant 8.5 instead of 4",
           "gmmlit/book/figures/slowdown.py", "upper = (loss0 ** -0.5 + 4 * step", "upper = (loss0 ** -0.5 + 8.5 * step",
           ("tests/test_figures_slowdown_polyak.py::test_quartic_gd_obeys_the_bounds_and_is_sublinear",),
           ("slowdown.gd-quartic-bounds",)),
    Mutant("separated-limit", "separated limit sum_j ||A_j||^2 / (2 pi*_j) instead of / (4 pi*_j)",
           "gmmlit/theory/quartic.py", "@ (1.0 / (4.0 * teacher.weights)))", "@ (1.0 / (2.0 * teacher.weights)))",
           ("tests/test_symbolic.py::test_separated_limit", f"{PROPS}::test_separated_limit_exact_for_one_component"),
           ("ravine.separated-limit",)),
)


def copy_repository(root, dest):
    """Copy :data:`COPIED` from ``root`` to ``dest`` (no caches); return ``dest``."""
    root, dest = Path(root), Path(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in COPIED:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, dest / name)
        else:
            raise FileNotFoundError(f"{src} is missing: the mutation run needs a checkout (run it from the repository root)")
    return dest


def plant(mutant, dest):
    """Replace ``mutant.old`` by ``mutant.new`` in the copy at ``dest`` (``ValueError`` unless it occurs once)."""
    path = Path(dest) / mutant.path
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.old)
    if count != 1:
        raise ValueError(f"mutant {mutant.name}: the snippet occurs {count} times in {mutant.path}, expected once")
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def _environment(dest):
    env = dict(os.environ, PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE="1", CI="true",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def run_tests(dest, tests, timeout=600):
    """Run pytest on ``tests`` in ``dest``; return ``(failed, junit_path, last_line)``."""
    junit = Path(dest) / ".test-results" / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "--hypothesis-profile=mutation", f"--junitxml={junit}"]
    res = subprocess.run(cmd, cwd=dest, env=_environment(dest), capture_output=True, text=True, timeout=timeout)
    if res.returncode in (4, 5):  # usage error or nothing collected: the mutant's tests are misnamed
        raise RuntimeError(f"pytest could not run {tests}: {res.stdout[-500:]}{res.stderr[-500:]}")
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    return res.returncode != 0, junit, lines[-1] if lines else ""


def run_ledger_checks(dest, claims, junit=None, timeout=600):
    """Run ``gmmlit check`` on the copy for the claims with these prefixes, its test-backed
    rows read from ``junit``. Returns ``(any_row_failed, any_callable_failed)``, the second
    ``None`` when these claims have no callable check."""
    cmd = [sys.executable, "-m", "gmmlit", "check", "--root", str(dest), "--only", ",".join(claims)]
    cmd += ["--junit", str(junit)] if junit is not None else []
    res = subprocess.run(cmd, cwd=dest, env=_environment(dest), capture_output=True, text=True, timeout=timeout)
    if res.returncode == 2:
        raise RuntimeError(f"gmmlit check failed to run: {res.stderr[-500:]}")
    callable_rows = [line.split() for line in res.stdout.splitlines()[1:] if " callable " in line]
    callable_failed = any(cells[3] == "FAIL" for cells in callable_rows) if callable_rows else None
    return res.returncode == 1, callable_failed


def run_mutant(mutant, root, planted=True):
    """One row of the table for ``mutant`` (``planted=False``: the unmutated baseline of its tests and claims)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gmmlit-mutant-") as tmp:
        dest = copy_repository(root, Path(tmp))
        if planted:
            plant(mutant, dest)
        tests_failed, junit, _ = run_tests(dest, mutant.tests)
        ledger_failed, callable_failed = run_ledger_checks(dest, mutant.claims, junit if junit.is_file() else None)
    verdict = {True: "killed", False: "survived", None: "none"}
    return dict(mutant=mutant.name, file=mutant.path, description=mutant.description,
                tests=verdict[tests_failed], ledger_callable=verdict[callable_failed], ledger=verdict[ledger_failed],
                killed="yes" if (tests_failed or ledger_failed) else "no", seconds=round(time.perf_counter() - start, 1))


def baseline(root, mutants=None):
    """Run, unmutated, every test and ledger check the mutants use (all of :data:`MUTANTS`
    when ``mutants`` is ``None``); ``RuntimeError`` if one fails."""
    mutants = MUTANTS if mutants is None else mutants
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    claims = tuple(dict.fromkeys(c for m in mutants for c in m.claims))
    row = run_mutant(Mutant("baseline", "no change", "", "", "", tests, claims), root, planted=False)
    if row["tests"] != "survived" or row["ledger"] != "survived":
        raise RuntimeError(f"the unmutated copy does not pass its own tests and checks: {row}")
    return row


def kill_rate(rows):
    """``(killed, total)`` over the rows of a mutation table."""
    return sum(r["killed"] == "yes" for r in rows), len(rows)


def mutations_main(quick=False, out=None, root="."):
    """Run the mutants (the first four with ``quick``), print the table, write ``mutations.csv`` into ``out``."""
    from .tables import format_rows, write_csv

    mutants = MUTANTS[:4] if quick else MUTANTS
    start = time.perf_counter()
    base = baseline(root, mutants)
    print(f"baseline (unmutated copy): tests and ledger pass ({base['seconds']} s)")
    rows = []
    for m in mutants:
        row = run_mutant(m, root)
        rows.append(row)
        print(f"{m.name:<22} tests {row['tests']:<9} ledger {row['ledger']:<9} (callable checks {row['ledger_callable']}) "
              f"{row['seconds']} s", flush=True)
    killed, total = kill_rate(rows)
    print(format_rows(rows, ["mutant", "tests", "ledger_callable", "ledger", "killed", "seconds"]))
    print(f"kill rate: {killed}/{total}; total {time.perf_counter() - start:.0f} s")
    if out is not None:
        cmd = f"python -m gmmlit bench mutations{' --quick' if quick else ''} --out {out}"
        comments = [f"command: {cmd}", f"kill rate: {killed}/{total}",
                    "tests/ledger: killed when the relevant tests / ledger rows fail on the planted formula"]
        print("wrote", write_csv(rows, Path(out) / "mutations.csv", comments))
    return 0 if killed == total else 1


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description="The mutation run of the test suite and the ledger.")
    parser.add_argument("--quick", action="store_true", help="only the first four mutants")
    parser.add_argument("--out", default=None, help="write mutations.csv into this folder")
    parser.add_argument("--root", default=".", help="the repository root (default: .)")
    ns = parser.parse_args()
    sys.exit(mutations_main(quick=ns.quick, out=ns.out, root=ns.root))
