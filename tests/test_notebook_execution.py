"""A chapter cell that raises must fail both nbval and the book build.

The chapters are MyST markdown notebooks; nbval only knows ``.ipynb``, so
``tests/nbval_myst.py`` hands them to nbval. These tests write a tiny chapter with a
raising cell and check that both execution paths report the failure, and that the same
chapter without the error passes (so the failure is the cell's, not the harness').
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHAPTER = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # A chapter

    ```{{code-cell}} ipython3
    x = 1 + 1
    ```

    ```{{code-cell}} ipython3
    {body}
    ```
    """
)


def _write_chapter(folder, body):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text("from tests.nbval_myst import pytest_collect_file, pytest_ignore_collect  # noqa: F401\n")
    path = folder / "chapter.md"
    path.write_text(CHAPTER.format(body=body))
    return path


def _run_nbval(path):
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(path.parent)],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_nbval_fails_on_a_raising_cell(tmp_path):
    path = _write_chapter(tmp_path / "bad", 'raise RuntimeError("this cell fails")')
    res = _run_nbval(path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "this cell fails" in res.stdout
    assert "1 failed" in res.stdout


def test_nbval_passes_the_same_chapter_without_the_error(tmp_path):
    path = _write_chapter(tmp_path / "good", "assert x == 2")
    res = _run_nbval(path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed" in res.stdout


def test_is_myst_notebook_only_for_jupytext_chapters(tmp_path):
    from tests.nbval_myst import is_myst_notebook

    plain = tmp_path / "plain.md"
    plain.write_text("# Bibliography\n")
    chapter = _write_chapter(tmp_path / "c", "pass")
    assert not is_myst_notebook(plain)
    assert is_myst_notebook(chapter)
    assert not is_myst_notebook(ROOT / "book" / "bibliography.md")
    assert is_myst_notebook(ROOT / "book" / "setting.md")


@pytest.mark.skipif(shutil.which("jupyter-book") is None and not (ROOT / ".venv/bin/jupyter-book").exists(),
                    reason="jupyter-book is not installed")
def test_book_build_fails_on_a_raising_cell(tmp_path):
    """The book's own execute settings (raise_on_error) make the build fail."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["raise_on_error"] is True
    mini = {
        "title": "raising",
        "execute": config["execute"],
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", ".*", "conftest.py"],
    }
    book = tmp_path / "book"
    _write_chapter(book, 'raise RuntimeError("this cell fails")')
    (book / "_config.yml").write_text(yaml.safe_dump(mini))
    (book / "_toc.yml").write_text("format: jb-book\nroot: chapter\n")
    exe = shutil.which("jupyter-book") or str(ROOT / ".venv/bin/jupyter-book")
    res = subprocess.run([exe, "build", str(book)], capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "this cell fails" in out or "CellExecutionError" in out


NOTEBOOK_CHAPTER = "beyond"
"""Run as a notebook from elsewhere: it reads the stored benchmark tables of the repository."""


def _jupyter():
    exe = Path(sys.executable).parent / "jupyter"
    return str(exe) if exe.exists() else shutil.which("jupyter")


@pytest.mark.skipif(_jupyter() is None, reason="jupyter (nbconvert) is not installed")
def test_a_chapter_runs_as_a_notebook_from_another_directory(tmp_path):
    """The chapter converted to .ipynb runs with nbconvert in a temporary folder."""
    import jupytext
    import nbformat

    notebook = jupytext.read(ROOT / "book" / f"{NOTEBOOK_CHAPTER}.md")
    source = tmp_path / f"{NOTEBOOK_CHAPTER}.ipynb"
    jupytext.write(notebook, source)
    env = {k: v for k, v in os.environ.items() if k != "GMMLIT_ROOT"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run(
        [_jupyter(), "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
         "--output", "executed.ipynb", source.name],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert code_cells and all(c.execution_count for c in code_cells)
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    html = [o.data["text/html"] for c in code_cells for o in c.outputs if "text/html" in o.get("data", {})]
    assert any("gmmlit-table" in h for h in html), "the chapter's tables were not displayed"


def test_a_notebook_written_next_to_a_chapter_is_not_collected_twice(tmp_path):
    """``jupytext --to ipynb chapter.md`` leaves ``chapter.ipynb``: nbval runs the chapter once."""
    import jupytext

    path = _write_chapter(tmp_path / "paired", "assert x == 2")
    jupytext.write(jupytext.read(str(path)), str(path.with_suffix(".ipynb")))
    alone = _write_chapter(tmp_path / "alone", "assert x == 2").with_suffix(".ipynb")
    jupytext.write(jupytext.read(str(alone.with_suffix(".md"))), str(alone))
    alone.with_suffix(".md").unlink()          # an .ipynb without its .md is a notebook of its own
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", str(path.parent), "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(path.parent)],
        capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed" in res.stdout, res.stdout                     # two cells, once
    res = subprocess.run(
        [sys.executable, "-m", "pytest", str(alone.parent), "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(alone.parent)],
        capture_output=True, text=True, env=env, timeout=300)
    assert "2 passed" in res.stdout, res.stdout


def test_notebooks_next_to_chapters_are_ignored_by_git_and_the_build():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "book/*.ipynb" in config["exclude_patterns"]
    if shutil.which("git") and (ROOT / ".git").exists():
        res = subprocess.run(["git", "check-ignore", "-q", "book/slowdown.ipynb"], cwd=ROOT)
        assert res.returncode == 0, "book/slowdown.ipynb is not ignored by git"
