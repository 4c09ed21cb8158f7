"""Helpers shared by the benchmarks: the best-of-rounds timer, plain-text tables, and the
commented CSV files in which the stored benchmark tables live (``benchmarks/results/``)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from .atomic import atomic_path, pause_point


def best_time(func, repeats=5, min_time=0.02):
    """Best wall time of ``func()`` over ``repeats`` rounds of enough calls to last ``min_time``."""
    func()
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            func()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time or calls >= 1 << 12:
            break
        calls *= 2
    best = elapsed / calls
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def format_rows(rows, columns):
    """A plain-text table."""
    head = " ".join(f"{c:>12}" for c in columns)
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = []
        for c in columns:
            v = r[c]
            if isinstance(v, float):
                cells.append(f"{v:12.4g}")
            else:
                cells.append(f"{str(v):>12}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


#: The comment key under which :func:`write_csv` records the number of rows; the reader
#: checks it (tables written before it existed lack it and are checked for shape only).
ROWS_KEY = "rows"


def write_csv(rows, path, comments=()):
    """Write rows (dicts with the same keys) as CSV, after ``# ...`` comment lines (the first
    one ``# rows: <count>``, :data:`ROWS_KEY`); atomically (:func:`~gmmlit.bench.atomic.atomic_path`)."""
    path = Path(path)
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        for line in [f"{ROWS_KEY}: {len(rows)}", *comments]:
            fh.write(f"# {line}\n")
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        half = (len(rows) + 1) // 2
        writer.writerows(rows[:half])
        pause_point(fh)
        writer.writerows(rows[half:])
    return path


def read_commented_csv(path):
    """Read a table written by :func:`write_csv`: ``(rows, comments)``, the rows as dicts of
    strings and the ``# key: value`` comment lines as a dict ``key -> value``.

    Raises
    ------
    ValueError
        Naming the file, if it is empty, has no header or no row, a row with a missing or
        extra cell, or fewer or more rows than its ``# rows:`` line says (it was cut short).
    """
    path = Path(path)
    comments, body = {}, []
    with open(path, newline="") as fh:
        for line in fh.read().splitlines():
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                comments[key.strip()] = value.strip()
            elif line.strip():
                body.append(line)
    if not body:
        raise ValueError(f"{path}: the table is empty (no header and no row); rerun the benchmark that writes it")
    rows = list(csv.DictReader(body))
    if not rows:
        raise ValueError(f"{path}: the table has a header but no row; rerun the benchmark that writes it")
    width = len(next(csv.reader(body[:1])))
    for k, row in enumerate(rows):
        if None in row or any(v is None for v in row.values()) or len(row) != width:
            raise ValueError(f"{path}: row {k + 1} does not have the header's {width} cells (a truncated file?)")
    stated = comments.pop(ROWS_KEY, None)
    if stated is not None and stated != str(len(rows)):
        raise ValueError(f"{path}: the table says it has {stated} rows but holds {len(rows)}: it was cut short")
    return rows, comments


def read_typed_csv(path, *, text=("instance", "method", "stop_reason"), integers=()):
    """Read a table written by :func:`write_csv` with typed cells: ``(rows, comments)``.

    Columns named in ``text`` and cells ``"-"`` (not reached) stay strings; columns in
    ``integers`` or starting with ``evals_`` become ``int``; every other cell ``float``.
    """
    raw_rows, comments = read_commented_csv(path)
    rows = []
    for raw in raw_rows:
        row = {}
        for k, v in raw.items():
            if k in text or v == "-":
                row[k] = v
            elif k.startswith("evals_") or k in integers:
                row[k] = int(v)
            else:
                row[k] = float(v)
        rows.append(row)
    return rows, comments

