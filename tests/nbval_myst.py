"""Let nbval execute MyST markdown notebooks (``.md`` with a jupytext header).

nbval only collects ``.ipynb`` files. The chapters of the book are MyST notebooks, so
this plugin reads each one with jupytext and hands the notebook to nbval's collector:
every code cell becomes a test item, executed in order in one kernel, and a cell that
raises fails its item (unless tagged ``raises-exception``).
"""

from __future__ import annotations

from unittest import mock

import jupytext
import nbformat
from nbval.plugin import IPyNbFile


def is_myst_notebook(path) -> bool:
    """True for a ``.md`` file whose front matter declares a jupytext kernel."""
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "jupytext:" in head and "kernelspec:" in head


class MystNotebookFile(IPyNbFile):
    """nbval collector for a MyST markdown notebook."""

    def collect(self):
        notebook = jupytext.read(str(self.path))
        with mock.patch.object(nbformat, "read", return_value=notebook):
            yield from super().collect()


def is_paired_notebook(path) -> bool:
    """True for an ``.ipynb`` next to a MyST notebook of the same name (a copy written by
    jupytext or JupyterLab): the ``.md`` is the chapter, the copy is not collected."""
    chapter = path.with_suffix(".md")
    return path.suffix == ".ipynb" and chapter.is_file() and is_myst_notebook(chapter)


def pytest_ignore_collect(collection_path, config):
    """Do not let nbval collect a chapter a second time through its ``.ipynb`` copy."""
    if is_paired_notebook(collection_path):
        return True
    return None


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)) and is_myst_notebook(file_path):
        return MystNotebookFile.from_parent(parent, path=file_path)
    return None
