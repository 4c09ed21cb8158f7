"""Where the book's files are, independent of the working directory.

The chapters read the stored benchmark tables (``benchmarks/``) and the table of
contents (``_toc.yml``) of the repository. Their location is found once, here, from
the location of the package (``gmmlit/`` sits at the repository root, installed with
``pip install -e .``), so a chapter runs from any directory: ``book/`` (the book build,
nbval), the repository root, or a notebook converted into a temporary folder. The
environment variable ``GMMLIT_ROOT`` overrides it (for a copy of the package installed
elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the repository root, when set.
ROOT_VARIABLE = "GMMLIT_ROOT"


def repo_root():
    """The repository root: ``$GMMLIT_ROOT`` if set, else the folder holding ``gmmlit/``.

    Raises
    ------
    FileNotFoundError
        When that folder has no ``_toc.yml`` (the package was installed without the book).
    """
    override = os.environ.get(ROOT_VARIABLE)
    if override:
        root = Path(override).expanduser().resolve()
    else:
        import gmmlit

        root = Path(gmmlit.__file__).resolve().parent.parent
    if not (root / "_toc.yml").is_file():
        raise FileNotFoundError(
            f"{root} is not the gmmlit repository (no _toc.yml): install the package with "
            f"`pip install -e .` from a clone, or set {ROOT_VARIABLE} to the clone's folder")
    return root


def benchmarks_dir():
    """``benchmarks/`` of the repository (stored benchmark tables and scripts)."""
    return repo_root() / "benchmarks"


def results_path(name):
    """A stored benchmark table, ``benchmarks/results/<name>``."""
    return benchmarks_dir() / "results" / name


def toc_path():
    """The book's table of contents, ``_toc.yml``."""
    return repo_root() / "_toc.yml"
