"""The model and its objective: mixtures, integration rules, the population KL, the geometry
of its minimisers, and the instances of the book. Depends on numpy and scipy only."""
