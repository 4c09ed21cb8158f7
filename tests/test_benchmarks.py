"""The kernel benchmark's helpers: exponent fit, rows, the stored table's round trip.

No timing is asserted (times are measured by the benchmark, not tested); only the
structure of what it prints and stores, and what does not depend on the machine.
"""

import pytest

from gmmlit.bench.kernel import kernel_row, kernel_sizes, main, read_kernel_csv
from gmmlit.bench.tables import write_csv


def test_kernel_row_reports_sizes_memory_and_chunk():
    row = kernel_row(512, 4, 3, repeats=1)
    assert (row["N"], row["n"], row["d"]) == (512, 4, 3)
    assert row["seconds"] > 0 and row["floor_seconds"] > 0
    assert row["floor_ratio"] == pytest.approx(row["floor_seconds"] / row["seconds"])
    assert row["peak_MB"] > 0 and row["chunk"] >= 1


def test_sizes_vary_one_dimension_at_a_time():
    for quick in (True, False):
        sizes = kernel_sizes(quick)
        base = sizes[0]
        assert all(sum(a != b for a, b in zip(s, base)) <= 2 for s in sizes)
        assert len({s[0] for s in sizes if s[1:] == base[1:]}) >= 3  # a sweep in N


def test_csv_round_trip_keeps_rows_and_comments(tmp_path):
    rows = [dict(N=1024, n=20, d=5, seconds=1e-3, floor_seconds=5e-4, floor_ratio=0.5, peak_MB=1.5, chunk=1024)]
    path = write_csv(rows, tmp_path / "kernel.csv", ["command: python -m gmmlit bench kernel", "exponents: N=1.000"])
    back, comments = read_kernel_csv(path)
    assert back == rows
    assert comments == {"command": "python -m gmmlit bench kernel", "exponents": "N=1.000"}


def test_quick_kernel_benchmark_writes_its_command(tmp_path, capsys):
    assert main("kernel", quick=True, out=tmp_path) == 0
    printed = capsys.readouterr().out
    assert "fitted exponents of time" in printed
    rows, comments = read_kernel_csv(tmp_path / "kernel.csv")
    assert [(r["N"], r["n"], r["d"]) for r in rows] == kernel_sizes(quick=True)
    assert comments["command"].startswith("python -m gmmlit bench kernel --quick")
    assert set(k.split("=")[0] for k in comments["exponents"].split(", ")) == {"N", "n", "d"}
