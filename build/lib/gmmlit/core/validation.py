"""Argument checks shared by the whole package.

Every public function validates its inputs here, so that bad input fails early with a
``ValueError`` or ``TypeError`` that names the argument and says what to change,
instead of failing deep inside numpy or returning NaN.
"""

from __future__ import annotations

import numbers

import numpy as np

#: Tolerance on ``|sum(weights) - 1|`` accepted by :func:`check_weights`.
WEIGHT_SUM_TOL = 1e-10


def _as_float_array(value, name):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
    if np.iscomplexobj(value):  # before the cast, which would drop the imaginary part with a warning
        raise TypeError(f"{name} must be real, got complex values")
    try:
        arr = np.array(value, dtype=float, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    return arr


def check_weights(weights, name="weights", *, tol=WEIGHT_SUM_TOL):
    """Return ``weights`` as a read-only 1-D float array of positive finite numbers summing to 1.

    Raises
    ------
    TypeError
        If ``weights`` is not array-like of reals.
    ValueError
        If it is not 1-D, empty, contains a non-finite, zero or negative entry, or its sum
        differs from 1 by more than ``tol``.
    """
    w = _as_float_array(weights, name)
    if w.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {w.shape}")
    if w.size == 0:
        raise ValueError(f"{name} must have at least one entry")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be finite; got {w[~np.isfinite(w)][:3].tolist()}")
    if np.any(w <= 0):
        bad = np.flatnonzero(w <= 0)[:3].tolist()
        raise ValueError(f"{name} must be strictly positive; entries {bad} are <= 0")
    total = float(np.sum(w))
    if abs(total - 1.0) > tol:
        raise ValueError(
            f"{name} must sum to 1 (within {tol:g}); they sum to {total!r}. "
            f"Normalise them, e.g. weights / weights.sum()."
        )
    w.setflags(write=False)
    return w


def check_means(means, name="means", *, n_rows=None, dim=None):
    """Return ``means`` as a read-only 2-D ``(k, d)`` float array of finite numbers."""
    m = _as_float_array(means, name)
    if m.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_components, dim), got shape {m.shape}; "
            f"for one-dimensional data use shape (k, 1)"
        )
    if m.shape[0] == 0 or m.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if n_rows is not None and m.shape[0] != n_rows:
        raise ValueError(f"{name} must have {n_rows} rows (one per component), got {m.shape[0]}")
    if dim is not None and m.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns (the dimension), got {m.shape[1]}")
    m.setflags(write=False)
    return m


def check_points(x, dim, name="x"):
    """Return points as a 2-D ``(N, dim)`` float array; a single point ``(dim,)`` is accepted."""
    a = _as_float_array(x, name)
    if a.ndim == 1 and a.shape[0] == dim:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def check_positive_int(value, name, *, minimum=1):
    """Return ``value`` as an int ``>= minimum``; bools and non-integers are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive_float(value, name, *, allow_zero=False, maximum=None):
    """Return ``value`` as a finite float ``> 0`` (``>= 0`` with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_finite_float(value, name):
    """Return ``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_rng(rng, name="rng"):
    """Return a ``numpy.random.Generator`` from a Generator, an int seed or ``None``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"{name} seed must be >= 0, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"{name} must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
