"""Optimisation on a :class:`~gmmlit.core.objective.PopulationKL`: results and stop reasons,
pure steps, first-order drivers, the ravine method, peers and the global phase. Depends on
:mod:`gmmlit.core` only."""
