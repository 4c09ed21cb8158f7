"""gmmlit: population KL, ravine geometry and Polyak-accelerated gradient methods for
overparameterized isotropic Gaussian mixtures.

A companion library to the book that re-derives and reproduces Wang, Fazel and
Charisopoulos, "Local linear convergence of gradient methods for overparameterized
Gaussian mixtures" (arXiv 2605.30936, 2026).
"""

from .core import instances
from .core.instances import Instance, figure1_instance, make_instance, misspecified_instance, triangle_instance
from .core.mixture import Mixture
from .core.warning_types import DuplicateComponentsWarning, GmmlitWarning, NotCertifiedWarning
from .core.objective import Evaluation, PopulationKL, bregman_integrand
from .core.sample import SampleNLL
from .core.assignment import best_assignment, weight_mismatch
from .core.geometry import (
    cluster_bias,
    current_delta_pi,
    distance,
    intra_cluster_dispersion,
    minimizer,
    normal_projector,
    project_to_ravine,
    tangent_basis,
    tangent_projector,
)
from .optim.global_phase import GlobalPhaseResult, global_phase
from .optim.first_order import em, gradient_em
from .optim.ravine import ravine_method
from .optim.ravine_options import RavineOptions
from .optim.peers import bfgs, lbfgs, nesterov
from .optim.presets import PAPER_METHOD
from .optim.results import OptimizationResult, StopReason
from .optim.steps import PolyakStep, em_step, gradient_em_step, polyak_step
from .core.quadrature import (
    GaussHermiteRule,
    IntegrationRule,
    ProductRule,
    SobolRule,
    TrapezoidRule,
    default_rule,
)

from ._version import __version__  # the one source of the version

__all__ = [
    "instances",
    "Instance",
    "make_instance",
    "triangle_instance",
    "figure1_instance",
    "misspecified_instance",
    "Mixture",
    "PopulationKL",
    "SampleNLL",
    "Evaluation",
    "bregman_integrand",
    "IntegrationRule",
    "TrapezoidRule",
    "GaussHermiteRule",
    "ProductRule",
    "SobolRule",
    "default_rule",
    "minimizer",
    "best_assignment",
    "weight_mismatch",
    "current_delta_pi",
    "distance",
    "cluster_bias",
    "intra_cluster_dispersion",
    "tangent_projector",
    "normal_projector",
    "tangent_basis",
    "project_to_ravine",
    "polyak_step",
    "PolyakStep",
    "gradient_em_step",
    "em_step",
    "gradient_em",
    "em",
    "ravine_method",
    "RavineOptions",
    "PAPER_METHOD",
    "nesterov",
    "lbfgs",
    "bfgs",
    "global_phase",
    "GlobalPhaseResult",
    "OptimizationResult",
    "StopReason",
    "GmmlitWarning",
    "NotCertifiedWarning",
    "DuplicateComponentsWarning",
    "__version__",
]
