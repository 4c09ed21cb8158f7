"""What every chapter sets for itself before it computes.

:func:`setup_chapter` is the first cell of each chapter, so that a chapter gives the same
numbers (and about the same times) whether it is run by the book build, by nbval, in
JupyterLab or converted to a notebook elsewhere:

* one BLAS thread (through ``threadpoolctl``, which also reaches a BLAS already loaded by
  numpy): the kernels multiply tall, thin matrices, for which a thread pool costs more
  than it gains on a small machine, and a fixed count keeps the timing tables comparable;
* no global seed: every random draw of the chapters passes an explicit seed (a test
  reads every chapter and module for calls of numpy's global generator);
* the book's plotting style, when matplotlib is installed.
"""

from __future__ import annotations

#: BLAS threads used by every chapter.
BLAS_THREADS = 1

_LIMITS = []  # keeps the threadpool limiter alive for the kernel's lifetime


def setup_chapter(blas_threads=BLAS_THREADS):
    """Limit BLAS threads and apply the plotting style.

    Parameters
    ----------
    blas_threads : int
        Threads for the BLAS (OpenBLAS, MKL, ...) loaded in this process.

    Returns
    -------
    dict
        What was set: ``{"blas_threads": ...}``.
    """
    from threadpoolctl import threadpool_limits

    if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1:
        raise ValueError(f"blas_threads must be an integer >= 1, got {blas_threads!r}")
    _LIMITS.append(threadpool_limits(limits=blas_threads, user_api="blas"))
    try:
        from .figures.style import apply_style
    except ImportError:  # matplotlib missing: nothing to style
        pass
    else:
        apply_style()
    return {"blas_threads": blas_threads}
