"""Solving one user's factors from their ratings: shared by training and by the API, which must
not load SciPy (about 20 MB) just for this."""

import numpy as np


def fold_in(
    item_factors: np.ndarray, item_biases: np.ndarray, stars: np.ndarray, mean: float, regularisation: float
) -> tuple[np.ndarray, float]:
    """One user's factors and bias from their ratings of items whose factors are known: the same
    regularised least squares as a training step, so a user can be served the moment they rate."""
    design = np.hstack([item_factors, np.ones((len(stars), 1))])
    target = np.asarray(stars, dtype=np.float64) - mean - item_biases
    penalty = np.eye(design.shape[1]) * regularisation * len(stars)
    solution = np.linalg.solve(design.T @ design + penalty, design.T @ target)
    return solution[:-1], float(solution[-1])
