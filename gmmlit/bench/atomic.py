"""Files written whole or not at all.

Every file the command line and the benchmarks write (CSV tables, NPZ data, PNG and PDF
figures) goes through :func:`atomic_path`: the content is written to a temporary file in
the target's folder and renamed over the target only once it is complete
(``os.replace``, atomic on POSIX and Windows within one file system). A run killed while
writing leaves the previous file untouched; at worst a stray ``.<name>.<random>.part``
file remains beside it (none when the run is stopped by SIGINT or SIGTERM, which unwind
through the ``finally`` clause).

Tests make the writer stop half-way deterministically: when the environment variable
:data:`PAUSE_ENV` names a file, :func:`pause_point` (called by the writers after the first
part of the content) creates that file and waits for a signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path

#: Environment variable of the test hook of :func:`pause_point`.
PAUSE_ENV = "GMMLIT_PAUSE_WRITE"


@contextlib.contextmanager
def atomic_paths(*paths):
    """:func:`atomic_path` for several files written together: yields their temporary paths
    and renames them all (in order) only once the block succeeded, so that a killed run
    leaves either every old file or every new one (up to the renames themselves)."""
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_path(p)) for p in paths]
        yield temps


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds,
    remove it otherwise. Creates the parent folder. The temporary name keeps the suffix, so
    that writers choosing a format by suffix (matplotlib) see the right one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; the target gets ordinary permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def pause_point(fh=None):
    """Test hook: if ``$GMMLIT_PAUSE_WRITE`` is set, flush ``fh``, create the file it names and
    wait for a signal (the test then kills the process mid-write). A no-op otherwise."""
    marker = os.environ.get(PAUSE_ENV)
    if not marker:
        return
    if fh is not None:
        fh.flush()
        os.fsync(fh.fileno())
    Path(marker).write_text(str(os.getpid()))
    while True:  # pragma: no cover - ended by the test's signal
        signal.pause()
