"""The jobs' stages, on top of the model and io layers: score, train, compact, report."""
