"""The chapter "Computing population quantities": how accurate and how costly the discretised
population quantities are (:mod:`.rules`), the floor a rule puts under the naive form and the
reduction to the affine span of the means (:mod:`.naive`), and the chapter's figures
(:mod:`.figures`). The chapter's public names are importable from this package.
"""

from __future__ import annotations

from .rules import (
    relative_error,
    rule_errors,
    probe_point,
    sliced_product_reference,
    rule_error_table,
    error_table_columns,
    error_table,
    quadrature_convergence_1d,
    bregman_evaluation_errors,
)
from .naive import (
    RUN_LOSS_FLOOR,
    discrete_minimiser,
    predicted_naive_offset,
    naive_minimiser_study,
    loss_floor_along_path,
    extreme_tangent_curvatures,
    minimal_ravine_options,
    run_floor_study,
    reduce_to_affine_span,
    reduced_loss_and_grad,
)
from .figures import (
    ERROR_FLOOR,
    SERIES_COLORS,
    quadrature_convergence_figure,
    bregman_evaluation_figure,
    naive_minimiser_figure,
    loss_floor_figure,
    run_floor_figure,
    cost_accuracy_figure,
)

__all__ = [
    "relative_error",
    "rule_errors",
    "probe_point",
    "sliced_product_reference",
    "rule_error_table",
    "error_table_columns",
    "error_table",
    "quadrature_convergence_1d",
    "bregman_evaluation_errors",
    "RUN_LOSS_FLOOR",
    "discrete_minimiser",
    "predicted_naive_offset",
    "naive_minimiser_study",
    "loss_floor_along_path",
    "extreme_tangent_curvatures",
    "minimal_ravine_options",
    "run_floor_study",
    "reduce_to_affine_span",
    "reduced_loss_and_grad",
    "ERROR_FLOOR",
    "SERIES_COLORS",
    "quadrature_convergence_figure",
    "bregman_evaluation_figure",
    "naive_minimiser_figure",
    "loss_floor_figure",
    "run_floor_figure",
    "cost_accuracy_figure",
]
