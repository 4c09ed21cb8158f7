"""Nothing lost (issue 23, item 1): files are written whole or not at all, a reader refuses a
cut table, SIGTERM stops the parallel workers, and the figures' bytes are reproducible.

A run is killed mid-write deterministically: the environment variable
``GMMLIT_PAUSE_WRITE`` makes the writer stop half-way (after writing part of its temporary
file), create a marker file and wait; the test waits for the marker, then sends the signal.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gmmlit.bench.atomic import PAUSE_ENV, atomic_path
from gmmlit.bench.tables import read_commented_csv, write_csv

REPO = Path(__file__).resolve().parents[1]
#: A safety bound on waiting for a subprocess event, not a measured time: on an idle
#: machine the marker appears within a second.
WAIT = 300.0

OLD_ROWS = [{"method": "em", "evals": 10}, {"method": "ravine", "evals": 3}]


def run_until_marker(script, tmp_path, extra_env=None):
    """Start ``python -c script`` with the pause hook on; return the process once the writer
    has paused (the marker exists)."""
    marker = tmp_path / "paused"
    env = {**os.environ, PAUSE_ENV: str(marker), "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}", **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env, cwd=tmp_path)
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the writer exited ({proc.returncode}) before pausing")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the writer never reached its pause point")
        time.sleep(0.05)
    return proc


WRITE_TABLE = """
from gmmlit.bench.tables import write_csv
from gmmlit.cli import interruptible
rows = [{"method": f"m{k}", "evals": k} for k in range(1000)]
with interruptible():
    write_csv(rows, "table.csv", ["command: test"])
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_table_killed_mid_write_leaves_the_old_one(tmp_path, sig):
    target = tmp_path / "table.csv"
    write_csv(OLD_ROWS, target, ["command: old"])
    before = target.read_bytes()
    proc = run_until_marker(WRITE_TABLE, tmp_path)
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".table.csv.")]
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # the new table is half written
    proc.send_signal(sig)
    proc.wait(timeout=WAIT)
    assert target.read_bytes() == before  # the stored table is untouched
    rows, comments = read_commented_csv(target)
    assert [r["method"] for r in rows] == ["em", "ravine"] and comments["command"] == "old"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".table.csv.")]
    # SIGTERM unwinds (the temporary file is removed); SIGKILL cannot, and leaves it aside
    assert len(leftovers) == (1 if sig == signal.SIGKILL else 0)


REPRODUCE = """
import numpy as np
import gmmlit.book.reproduce as rep
from gmmlit.cli import interruptible

def compute(*, seed=0, full=False):
    return {"x": np.arange(5.0) + seed}

def plot(data):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot(data["x"])
    return fig

rep.figure_functions = lambda name: (compute, plot)
with interruptible():
    rep.reproduce("fig2", "out", seed=1, progress=False)
"""


def test_a_figure_killed_mid_write_leaves_no_new_file_beside_old_ones(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "fig2.npz").write_bytes(b"old data")
    proc = run_until_marker(REPRODUCE, tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT) != 0
    # the PNG was written (to its temporary file) when the run stopped: nothing new is in place
    assert sorted(p.name for p in out.iterdir()) == ["fig2.npz"]
    assert (out / "fig2.npz").read_bytes() == b"old data"


def test_without_interruption_the_figure_files_appear_and_are_reproducible(tmp_path):
    script = REPRODUCE.replace('"out"', '"out1"') + 'rep.reproduce("fig2", "out2", seed=1, progress=False)\n'
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, cwd=tmp_path, check=True)
    for suffix in ("png", "pdf", "npz"):
        first, second = (tmp_path / d / f"fig2.{suffix}" for d in ("out1", "out2"))
        assert first.read_bytes() == second.read_bytes(), suffix
    pdf = (tmp_path / "out1" / "fig2.pdf").read_bytes()
    assert b"CreationDate" not in pdf  # the date that made every PDF differ
    assert not [p for p in (tmp_path / "out1").iterdir() if p.name.startswith(".")]
    assert oct((tmp_path / "out1" / "fig2.png").stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's mode


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("# command: x\n", "empty"),
        ("# rows: 2\nmethod,evals\n", "no row"),
        ("# rows: 3\nmethod,evals\nem,10\nravine,3\n", "says it has 3 rows but holds 2"),
        ("method,evals\nem,10\nravi", "does not have the header's 2 cells"),
    ],
)
def test_the_reader_refuses_a_cut_table_and_names_it(tmp_path, content, message):
    path = tmp_path / "methods.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        read_commented_csv(path)
    assert str(path) in str(err.value)


def test_atomic_path_removes_its_temporary_file_on_error(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stop")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.csv"]


WORKER = """
import os, signal
from pathlib import Path

def block(seed, folder):
    Path(folder, f"{os.getpid()}.pid").write_text("")
    while True:
        signal.pause()
"""

SWEEP = """
from gmmlit.bench.parallel import map_trials
from gmmlit.cli import interruptible
from blockworker import block
with interruptible():
    map_trials(block, [1, 2], jobs=2, backend="loky", folder="pids")
"""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigterm_stops_the_parallel_workers(tmp_path):
    (tmp_path / "blockworker.py").write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SWEEP)], env=env, cwd=tmp_path)
    deadline = time.monotonic() + WAIT
    while len(list(pids.iterdir())) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    workers = [int(p.stem) for p in pids.iterdir()]
    assert all(_alive(pid) for pid in workers)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]
