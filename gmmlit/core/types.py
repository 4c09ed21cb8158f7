"""Type aliases of the public API (annotations only; nothing here is checked at run time)."""

from __future__ import annotations

from typing import Any, Protocol, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: A float array (means, weights, losses).
FloatArray = NDArray[np.float64]
#: An integer array (assignments).
IntArray = NDArray[np.int_]
#: A seed: an integer, a generator, or ``None``.
SeedLike = Union[int, np.random.Generator, None]


class Objective(Protocol):
    """What every driver needs of an objective (:class:`~gmmlit.PopulationKL`,
    :class:`~gmmlit.SampleNLL`)."""

    def evaluate(self, means: ArrayLike) -> Any: ...

    def check_means(self, means: ArrayLike, name: str = "means") -> FloatArray: ...


__all__ = ["ArrayLike", "FloatArray", "IntArray", "Objective", "SeedLike"]
