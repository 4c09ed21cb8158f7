"""The command line: help, exit codes, check, reproduce."""

import subprocess
import sys

import numpy as np
import pytest

from gmmlit import cli
from gmmlit.book.reproduce import FIGURES, figure_functions


def run(*args):
    return subprocess.run([sys.executable, "-m", "gmmlit", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [["--help"], ["reproduce", "--help"], ["bench", "--help"], ["check", "--help"]])
def test_help_exits_zero(args):
    res = run(*args)
    assert res.returncode == 0
    assert "usage: gmmlit" in res.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        ([], "required"),
        (["reproduce", "fig9"], "invalid choice"),
        (["reproduce", "fig1", "--jobs", "0"], "positive integer"),
        (["reproduce", "fig1", "--seed", "-3"], "non-negative"),
        (["bench", "everything"], "invalid choice"),
        (["check", "--only", "no-such-claim"], "no claim id starts with"),
    ],
)
def test_bad_usage_exits_two(args, words):
    res = run(*args)
    assert res.returncode == 2
    assert words in res.stderr


def test_every_figure_has_its_two_functions():
    for name in FIGURES:
        compute, plot = figure_functions(name)
        assert callable(compute) and callable(plot)


def test_reproduce_writes_png_pdf_and_npz(tmp_path):
    res = run("reproduce", "fig2", "--out", str(tmp_path), "--no-progress")
    assert res.returncode == 0, res.stderr
    for ext in ("png", "pdf", "npz"):
        path = tmp_path / f"fig2.{ext}"
        assert path.exists() and path.stat().st_size > 1000
    data = np.load(tmp_path / "fig2.npz")
    assert len(data.files) > 0
    assert int(data["d"]) == 1 and int(data["m"]) == 1 and int(data["n"]) == 2
    assert "fig2: " in res.stdout and res.stdout.strip().endswith(" s")  # time per figure


@pytest.mark.parametrize("argv, err", [
    (["reproduce", "fig2", "--backend", "ray"], "invalid choice"),
    (["bench", "methods", "--backend", "mpi"], "invalid choice"),
])
def test_backend_choices_are_checked(argv, err):
    res = run(*argv)
    assert res.returncode == 2 and err in res.stderr


def test_backend_option_reaches_the_parser():
    args = cli.build_parser().parse_args(["reproduce", "fig7", "--backend", "dask", "--jobs", "2"])
    assert args.backend == "dask" and args.jobs == 2
    args = cli.build_parser().parse_args(["bench", "methods", "--backend", "threading"])
    assert args.backend == "threading"


def test_progress_bar_is_tqdm_and_closes(capsys):
    from gmmlit.book.reproduce import Progress

    bar = Progress("figX", file=sys.stderr, disable=False)
    for k in range(4):
        bar(k, 3)
    assert bar.bar.n == 3 and bar.bar.total == 3 and bar.bar.disable is True  # closed at done >= total
    assert "figX" in capsys.readouterr().err


def test_npz_setting_of_every_figure_matches_its_compute_data():
    from gmmlit.book.reproduce import SETTINGS, figure_setting

    assert set(SETTINGS) == set(FIGURES)
    s = figure_setting("fig7", dict(n_trials=5, m=3))
    assert s["trials"] == 5 and list(s["d"]) == [2, 5, 10] and s["n"] == 20
    assert figure_setting("fig1", dict(d=2))["d"] == 2  # the data override the table
