"""The command line: help, exit codes, check, reproduce."""

import subprocess
import sys

import numpy as np
import pytest

from pathlib import Path

from gmmlit import cli
from gmmlit.ledger import runner
from gmmlit.ledger.runner import LedgerRow
from gmmlit.book.reproduce import FIGURES, figure_functions

ROOT = Path(__file__).resolve().parents[1]


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


SETTING_TESTS = ["test_permutation_invariance", "test_translation_invariance",
                 "test_rotation_invariance_equivariant_rules", "test_rotation_invariance_any_angle"]


def _junit(tmp_path, failing=()):
    cases = "".join(
        f'<testcase classname="tests.test_properties" name="{name}">'
        + ('<failure message="planted"/>' if name in failing else "") + "</testcase>"
        for name in SETTING_TESTS)
    path = tmp_path / "junit.xml"
    path.write_text(f'<testsuites><testsuite name="pytest" timestamp="t">{cases}</testsuite></testsuites>')
    return path


def test_check_without_results_reports_not_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "DEFAULT_JUNIT", Path("no-such-folder") / "junit.xml")
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "setting.invariances" in out and "0 pass, 0 fail, 4 not run" in out
    assert "4 test-backed checks not run" in out


def test_check_reads_the_test_results(tmp_path, capsys):
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT), "--junit", str(_junit(tmp_path))]) == 0
    assert "4 pass, 0 fail, 0 not run" in capsys.readouterr().out
    failing = _junit(tmp_path, failing={"test_translation_invariance"})
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT), "--junit", str(failing)]) == 1
    captured = capsys.readouterr()
    assert "3 pass, 1 fail, 0 not run" in captured.out and "1 of 4 checks failed" in captured.err


def test_check_rejects_a_bad_root_or_junit(tmp_path):
    assert cli.main(["check", "--root", str(tmp_path / "missing")]) == 2
    assert cli.main(["check", "--only", "setting.", "--junit", str(tmp_path / "missing.xml")]) == 2


def test_check_exits_one_when_a_check_fails(monkeypatch, capsys):
    bad = LedgerRow("x.fails", "s", "book/setting", "numerical", "-", "fail", "1.0", "planted")
    monkeypatch.setattr(runner, "run_ledger", lambda *args, **kwargs: [bad])
    assert cli.main(["check", "--only", "setting."]) == 1
    assert "FAIL" in capsys.readouterr().out


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
