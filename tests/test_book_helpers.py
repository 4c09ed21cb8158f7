"""The book's reader helpers: source blocks, HTML tables, repository paths, chapter set-up,
and the pieces of the Sphinx extension that run without a build."""

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gmmlit.book import paths
from gmmlit.book.source import SOURCE_CLASS, called_functions, qualified_name, show_source, source_location
from gmmlit.book.tables import TABLE_CLASS, html_table
from gmmlit.core.geometry import normal_projector, tangent_projector
from gmmlit.core.objective import PopulationKL, bregman_integrand, series_terms
from gmmlit.optim.steps import floor_estimate, polyak_from_evaluation, polyak_step

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- source blocks
def test_show_source_is_the_code_of_the_package():
    block = show_source(floor_estimate)
    (name, path, first, last, code), = block.entries
    assert name == "gmmlit.optim.steps.floor_estimate"
    assert path == "gmmlit/optim/steps.py"
    lines = (ROOT / path).read_text().splitlines()
    assert "\n".join(lines[first - 1:last]) + "\n" == code == inspect.getsource(floor_estimate)
    assert code.startswith("def floor_estimate(")


def test_show_source_html_is_a_collapsible_highlighted_block():
    html = show_source(polyak_step, polyak_from_evaluation)._repr_html_()
    assert html.startswith(f'<details class="{SOURCE_CLASS}" style=') and html.endswith("</details>")
    assert html.count('<div class="highlight">') == 2
    assert '<span class="k">def</span>' in html and "polyak_from_evaluation" in html
    assert ">Implementation: gmmlit.optim.steps.polyak_step and the 1 function it uses</summary>" in html
    assert f'<details class="{SOURCE_CLASS}" open ' in show_source(polyak_step, open=True)._repr_html_()


def test_show_source_escapes_html_in_the_code():
    html = show_source(bregman_integrand)._repr_html_()
    assert '<span class="o">&lt;=</span>' in html                # "a <= _SERIES_CUTOFF"
    assert "<=" not in html.replace("</", "")


def test_follow_finds_the_helpers_of_the_kernel_in_call_order():
    names = show_source(PopulationKL._pass, follow=True).names
    assert names[0] == "gmmlit.core.objective.WeightedNodeObjective._pass"   # PopulationKL's kernel is its base's
    assert "gmmlit.core.objective.bregman_integrand" in names
    assert "gmmlit.core.objective.series_terms" in names           # called by bregman_integrand
    assert any(n.endswith("._node_terms") for n in names)           # iterated as self._node_terms(...)
    assert len(names) == len(set(names))
    assert show_source(bregman_integrand, follow=False).names == ["gmmlit.core.objective.bregman_integrand"]


def test_called_functions_leave_out_other_modules_and_builtins():
    assert called_functions(bregman_integrand) == [series_terms]
    # tangent_projector calls normal_projector (same module) and np.eye (not gmmlit)
    assert called_functions(tangent_projector) == [normal_projector]


def test_show_source_rejects_nothing_and_non_functions():
    with pytest.raises(TypeError, match="at least one"):
        show_source()
    with pytest.raises(TypeError, match="obj"):
        qualified_name(3)


def test_source_location_of_a_method():
    path, first, last = source_location(PopulationKL.hessian)
    assert path == "gmmlit/core/objective.py"
    text = (ROOT / path).read_text().splitlines()
    assert text[first - 1].strip().startswith("def hessian(") and last > first


def test_plain_text_of_a_block_names_the_function_and_file():
    text = repr(show_source(floor_estimate))
    assert text.startswith("# gmmlit.optim.steps.floor_estimate (gmmlit/optim/steps.py, lines ")
    assert "def floor_estimate(" in text


# ---------------------------------------------------------------------- tables
def test_html_table_from_sequences_with_groups_and_formats():
    table = html_table([("a", 1, 2.5), ("a", 2, 3.25e-5), ("b", 3, 1.0)], ["g", "n", "x"],
                       group_by="g", caption="cap", formats={"x": ".2e"})
    html = table._repr_html_()
    assert f'<table class="{TABLE_CLASS}">' in html and "<caption>cap</caption>" in html
    assert html.count('<tr class="group">') == 2 and "<th>g</th>" not in html
    assert '<td class="num">3.25e-05</td>' in html
    assert repr(table).splitlines() == ["cap", "n         x", "a", "1  2.50e+00", "2  3.25e-05", "b",
                                        "3  1.00e+00"]


def test_html_table_collapses_long_tables_only():
    short = html_table([{"k": i} for i in range(3)])
    long = html_table([{"k": i} for i in range(40)], caption="Many")
    assert not short._repr_html_().startswith("<details")
    assert long._repr_html_().startswith(f'<details class="{TABLE_CLASS}-details" style=')
    assert ">Many (40 rows; click to show)</summary>" in long._repr_html_()
    assert "<caption>" not in long._repr_html_()          # the summary line is the caption
    assert not html_table([{"k": i} for i in range(40)], collapsible=False)._repr_html_().startswith("<details")


def test_html_table_escapes_and_checks_its_input():
    html = html_table([{"name": "<b>", "v": 1}])._repr_html_()
    assert "<td>&lt;b&gt;</td>" in html
    with pytest.raises(ValueError, match="columns"):
        html_table([(1, 2)])
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        html_table([(1, 2), (3,)], ["a", "b"])
    with pytest.raises(ValueError, match="group_by"):
        html_table([{"a": 1}], group_by="nope")


def test_html_table_float_format_and_dict_columns():
    table = html_table([{"N": 262144, "t": 0.000123456}], {"N": "nodes", "t": "seconds"}, float_format=".3g")
    assert table.columns == ("nodes", "seconds") and table.cells == (("262144", "0.000123"),)


# ---------------------------------------------------------------------- paths and set-up
def test_repo_root_is_found_from_the_package_and_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ROOT_VARIABLE, raising=False)
    assert paths.repo_root() == ROOT
    assert paths.results_path("methods.csv") == ROOT / "benchmarks" / "results" / "methods.csv"
    assert paths.toc_path().is_file()
    monkeypatch.setenv(paths.ROOT_VARIABLE, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no _toc.yml"):
        paths.repo_root()
    (tmp_path / "_toc.yml").write_text("root: x\n")
    assert paths.repo_root() == tmp_path.resolve()


def test_chapter_paths_do_not_depend_on_the_working_directory(tmp_path):
    code = "from gmmlit.book.paths import results_path; print(results_path('kernel.csv').is_file())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(paths.ROOT_VARIABLE, None)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_setup_chapter_limits_blas_threads():
    code = ("import numpy as np; from threadpoolctl import threadpool_info;"
            "from gmmlit.book.setup import setup_chapter; print(setup_chapter());"
            "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "{'blas_threads': 1}"
    assert lines[1] == "[1]"


def test_setup_chapter_checks_its_arguments():
    from gmmlit.book.setup import setup_chapter

    with pytest.raises(ValueError, match="blas_threads"):
        setup_chapter(blas_threads=0)


# ---------------------------------------------------------------------- Sphinx extension
def test_api_names_resolve_through_reexports():
    from gmmlit.book.sphinx_ext import NAME_PATTERN, canonical_names

    assert "gmmlit.core.mixture.Mixture" in canonical_names("gmmlit.Mixture")
    assert canonical_names("gmmlit.no_such_name") == ["gmmlit.no_such_name"]
    assert "gmmlit.theory.quartic" in canonical_names("gmmlit.theory.quartic")
    assert NAME_PATTERN.fullmatch("gmmlit.optim.steps.floor_estimate()").group(1) == "gmmlit.optim.steps.floor_estimate"
    assert NAME_PATTERN.fullmatch("gmmlit") is None and NAME_PATTERN.fullmatch("x = gmmlit.f") is None


def test_alt_text_is_the_caption_cut_at_a_sentence():
    from gmmlit.book.sphinx_ext import shorten

    text = "Figure C.2. Relative error of three evaluations. " + "More words here. " * 40
    short = shorten(text, 120)
    assert short.endswith(".") and len(short) <= 120 and short.startswith("Figure C.2. Relative error")
    assert shorten("  a  b  ") == "a b"


def test_stream_merge_no_longer_changes_the_notebook():
    """myst-nb merges a cell's streams in place, which duplicated the text in the notebook
    written for download; after the patch the outputs it is handed stay as they were."""
    from nbformat import from_dict

    from gmmlit.book.sphinx_ext import merge_streams_on_a_copy
    from myst_nb.core import render

    outputs = [from_dict({"output_type": "stream", "name": "stdout", "text": "a\n"}),
               from_dict({"output_type": "stream", "name": "stdout", "text": "b\n"})]
    merge_streams_on_a_copy()
    merged = render.coalesce_streams(outputs)
    assert [o["text"] for o in merged] == ["a\nb\n"]
    assert [o["text"] for o in outputs] == ["a\n", "b\n"]


def test_unpatched_stream_merge_changes_its_input():
    """The reason for the patch: myst-nb's own merge writes the merged text into its input."""
    from nbformat import from_dict
    from myst_nb.core.utils import coalesce_streams

    outputs = [from_dict({"output_type": "stream", "name": "stdout", "text": "a\n"}),
               from_dict({"output_type": "stream", "name": "stdout", "text": "b\n"})]
    coalesce_streams(outputs)
    assert outputs[0]["text"] == "a\nb\n" and outputs[1]["text"] == "b\n"


# ---------------------------------------------------------------------- figure style
def test_font_size_grows_with_the_figure_width():
    from gmmlit.book.style import BASE_FONT_PT, BODY_TEXT_PX, PAGE_WIDTH_PX, font_size

    assert font_size(4.0) == BASE_FONT_PT
    wide = font_size(13.5)
    # a 13.5-inch figure shrunk to the page width shows this size at the body text size
    assert wide / 72 * PAGE_WIDTH_PX / 13.5 == pytest.approx(BODY_TEXT_PX)
    with pytest.raises(ValueError, match="width"):
        font_size(0)


def test_book_figures_raise_small_text_when_drawn():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.text import Text

    from gmmlit.book.style import DPI, font_size, new_figure

    fig, axes = new_figure(ncols=2, width=7.5, height=3.5)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a line")
        ax.legend(fontsize=7)
        ax.annotate("3", (0.5, 0.5), fontsize=6)
    assert min(t.get_fontsize() for t in fig.findobj(Text)) == 6
    fig.canvas.draw()
    assert font_size(7.5) > 10
    assert min(t.get_fontsize() for t in fig.findobj(Text)) == pytest.approx(font_size(7.5))
    assert fig.dpi == DPI >= 150


def test_wide_rows_of_panels_are_stacked():
    import matplotlib

    matplotlib.use("Agg")
    from gmmlit.book.style import MAX_ROW_WIDTH, STACKED_WIDTH, figure_layout, new_figure

    assert figure_layout(3, 1, 13.5, 4.0) == (1, 3, STACKED_WIDTH, 12.0)
    assert figure_layout(2, 1, MAX_ROW_WIDTH + 1, 4.0) == (1, 2, STACKED_WIDTH, 8.0)
    assert figure_layout(2, 1, 7.5, 3.5) == (2, 1, 7.5, 3.5)
    assert figure_layout(1, 1, 6.0, 1.0) == (1, 1, 6.0, pytest.approx(3.3))   # at least 0.55 as high as wide
    fig, (a, b, c) = new_figure(ncols=3, width=13.5, height=4.0, gridspec_kw=dict(width_ratios=[1, 2, 1]))
    assert tuple(fig.get_size_inches()) == (STACKED_WIDTH, 12.0)
    assert a.get_position().y0 > b.get_position().y0 > c.get_position().y0   # one above the other
