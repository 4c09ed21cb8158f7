"""The command line with the library alone, and the conventions (issue 23, items 5 and 6)."""

import ast
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import gmmlit

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: The optional packages: with these hidden, only numpy and scipy are left.
OPTIONAL = ("joblib", "matplotlib", "sympy", "tqdm", "distributed", "dask", "sklearn", "threadpoolctl", "mpmath")

#: Import name -> the distribution that provides it, where they differ (docutils, pygments and
#: myst_nb come with jupyter-book, which builds the book).
DISTRIBUTION = {
    "sklearn": "scikit-learn",
    "myst_nb": "jupyter-book",
    "docutils": "jupyter-book",
    "pygments": "jupyter-book",
    "mpmath": "sympy",
}

LIBRARY_ALONE = f"""
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Hide())
from gmmlit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_library_alone(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LIBRARY_ALONE), *args], env=env, cwd=cwd, capture_output=True, text=True
    )


def test_help_and_version_need_numpy_and_scipy_only(tmp_path):
    # the issue: `gmmlit --help` crashed with ModuleNotFoundError: joblib
    out = run_library_alone("--help", cwd=tmp_path)
    assert out.returncode == 0 and "reproduce" in out.stdout, out.stderr
    out = run_library_alone("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"gmmlit {gmmlit.__version__}"
    out = run_library_alone("reproduce", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "--scheduler" in out.stdout


@pytest.mark.parametrize("verb", [["reproduce", "fig2", "--no-progress"], ["reproduce", "fig7", "--no-progress"]])
def test_a_verb_that_needs_an_extra_names_it(tmp_path, verb):
    out = run_library_alone(*verb, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert out.returncode == 2
    assert 'pip install "gmmlit[book]"' in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _third_party_imports():
    names = set()
    for path in (REPO / "gmmlit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "gmmlit"}


def _requirement_name(spec):
    for stop in "<>=![;":
        spec = spec.split(stop)[0]
    return spec.strip().lower()


def test_the_extras_cover_every_import():
    project = PYPROJECT["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for extra in ("book", "dask", "test", "dev"):
        declared |= {_requirement_name(r) for r in project["optional-dependencies"][extra]}
    needed = {DISTRIBUTION.get(n, n).lower() for n in _third_party_imports()}
    assert needed - declared == set()
    # and the library itself needs numpy and scipy only
    assert {_requirement_name(r) for r in project["dependencies"]} == {"numpy", "scipy"}


def test_one_source_for_the_version():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gmmlit._version.__version__"}
    citation = (REPO / "CITATION.cff").read_text()
    assert f"\nversion: {gmmlit.__version__}\n" in citation
    for path in (REPO / "gmmlit").rglob("*.py"):
        if path.name != "_version.py":
            assert "__version__ = " not in path.read_text(), path


def test_metadata_and_conventions():
    project = PYPROJECT["project"]
    for key in ("authors", "classifiers", "urls", "requires-python", "optional-dependencies"):
        assert project[key], key
    assert "License :: OSI Approved :: MIT License" in project["classifiers"] and project["license"]["text"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert (REPO / "gmmlit" / "py.typed").exists() and "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"][
        "gmmlit"
    ]
    readme = (REPO / "README.md").read_text()
    assert "@misc{gmmlit" in readme and "@misc{wang2026local" in readme


#: Modules of the library whose public functions are annotated here (the ravine method, its
#: presets and steps are annotated with their rewrite into typed policies).
ANNOTATED = (
    "gmmlit.core.",
    "gmmlit.optim.first_order",
    "gmmlit.optim.peers",
    "gmmlit.optim.global_phase",
    "gmmlit.optim.results",
)


def test_the_public_api_of_core_and_optim_is_annotated():
    # every function gmmlit exports from these modules annotates its parameters and its return
    import inspect

    missing = []
    for name in gmmlit.__all__:
        func = getattr(gmmlit, name)
        if not inspect.isfunction(func) or not func.__module__.startswith(ANNOTATED):
            continue
        params = [p for p in inspect.signature(func).parameters]
        if "return" not in func.__annotations__ or any(p not in func.__annotations__ for p in params):
            missing.append(f"{func.__module__}.{name}")
    assert not missing, missing
