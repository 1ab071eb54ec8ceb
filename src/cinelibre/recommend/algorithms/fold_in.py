"""The rating model's per-user steps, shared by training, the evaluation and the API (which must
not load SciPy, about 20 MB, just for this): solving one user's factors from their ratings, and
correcting predictions with the user's errors on similar items."""

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


# Damps the correction when the user rated few or only faintly similar neighbours.
NEIGHBOUR_DAMPING = 1.0


def neighbour_correction(similarities: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """How far to move each candidate's factor-model prediction: the similarity-weighted mean of
    the user's own errors (stars given minus predicted) on the candidate's neighbours they rated.
    `similarities` is candidates × rated items, 0 where an item is not a stored neighbour."""
    return similarities @ residuals / (similarities.sum(axis=1) + NEIGHBOUR_DAMPING)
