"""The rating model's per-user steps, shared by training, the evaluation and the API (which must
not load SciPy, about 20 MB, just for this): solving one user's factors from their ratings,
correcting predictions with the user's errors on similar items, and blending the parts into the
stars the model predicts."""

from dataclasses import dataclass

import numpy as np

# The factor model's L2 penalty per rating (ALS-WR), in training and in every fold-in, and how
# many neighbours each item keeps for the corrections. Chosen with the blend by
# benchmarks/tune_rating.py on ml-100k's five validation folds: held-out RMSE of the blend 0.9098
# with 0.15 and 100 neighbours, 0.9099 with 0.15 and 50, 0.9099 with 0.18, 0.9109 with the former
# 0.12 and 50 (64 factors throughout; 128 factors 0.9100 at twice the fitting time).
REGULARISATION = 0.15
NEIGHBOURS = 100


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
    """How far to move each candidate's prediction: the similarity-weighted mean of the user's
    own errors (stars given minus predicted) on the candidate's neighbours they rated.
    `similarities` is candidates × rated items, 0 where an item is not a stored neighbour."""
    return similarities @ residuals / (similarities.sum(axis=1) + NEIGHBOUR_DAMPING)


# The blend's parts, in the order of the rows of its weights (see Blend).
PARTS = ("intercept", "factor_stars", "factor_correction", "bias_stars", "bias_correction")
# Each part's weight varies with how many ratings the user and the item have: a quadratic in
# u = ln(1 + the user's ratings) and i = ln(1 + the item's ratings), with these terms, in the
# order of the columns of the weights. (Rated counts move how far each part can be trusted: MF's
# factors and the neighbours say more about well-rated items and busy users.)
COUNT_TERMS = ("1", "u", "i", "u*i", "u^2", "i^2")
# u and i are clipped to the range the weights were learnt on (ml-100k's validation folds: the
# fewest and most ratings of a user and of an item there), so a far busier catalogue does not
# push the quadratic past what was measured.
USER_LOG_RATINGS = (np.log1p(4), np.log1p(555))
ITEM_LOG_RATINGS = (np.log1p(0), np.log1p(391))


@dataclass(frozen=True)
class Blend:
    """How the rating model's predictions of a user's stars combine. Rows of `weights` are the
    parts (PARTS), columns the count terms (COUNT_TERMS); a candidate's stars are
    sum over part p and term t of weights[p, t] × part p × term t, where the parts are:
    - intercept: 1;
    - factor_stars: biased MF, mean + b_u + b_i + p_u · q_i;
    - factor_correction: neighbour_correction of the user's errors against factor_stars;
    - bias_stars: the same model's biases alone, mean + b_u + b_i;
    - bias_correction: neighbour_correction of the user's errors against bias_stars (with
      bias_stars, a kNN-baseline predictor).
    All of them come from what the service stores for the factor model (each item's bias,
    factors, rating count and neighbours), so a request needs nothing more than MF with its
    correction did. The user's count is of the ratings folded in (in the service, their latest
    service.FOLD_IN_RATINGS at most)."""

    weights: np.ndarray

    @classmethod
    def fixed(cls, *coefficients: float) -> "Blend":
        """A blend whose weights do not depend on the counts: one coefficient per part."""
        weights = np.zeros((len(PARTS), len(COUNT_TERMS)))
        weights[:, 0] = coefficients
        return cls(weights)


# The model as it was before blending: MF corrected by its own errors on similar items (on
# ml-100k's five folds RMSE 0.907 with 0.12 regularisation).
CORRECTED_MF = Blend.fixed(0.0, 1.0, 1.0, 0.0, 0.0)
# Biases corrected by the user's errors against them on similar items: a kNN baseline.
CORRECTED_BIASES = Blend.fixed(0.0, 0.0, 0.0, 1.0, 1.0)
# Least squares of the held-out validation ratings of all five ml-100k folds on the parts times
# the count terms, each part made by a model fitted on the rest of its fold's training ratings
# (benchmarks/tune_rating.py prints these weights, the grid and its validation figures).
LEARNT_BLEND = Blend(
    np.array(
        [
            [2.33690, -0.43410, -0.67860, 0.05015, 0.01441, 0.05772],
            [1.69526, 0.14527, -1.03500, 0.10668, -0.05503, 0.10201],
            [-18.45015, -1.38082, 6.20359, 0.57585, -0.09937, -0.68720],
            [-1.14108, -0.09704, 1.19893, -0.10677, 0.05154, -0.12113],
            [17.88222, 0.70237, -6.05501, -0.41772, 0.13091, 0.66918],
        ]
    )
)

BLENDS = {"corrected MF": CORRECTED_MF, "corrected biases": CORRECTED_BIASES, "learnt": LEARNT_BLEND}


def blend_parts(
    *,
    bias_stars: np.ndarray,
    factor_stars: np.ndarray,
    similarities: np.ndarray,
    bias_residuals: np.ndarray,
    factor_residuals: np.ndarray,
) -> np.ndarray:
    """candidates × PARTS. `bias_stars` and `factor_stars` are the candidates' predictions;
    `similarities` is candidates × rated items as for neighbour_correction; the residuals are the
    user's stars minus each prediction on what they rated."""
    return np.column_stack(
        [
            np.ones(len(factor_stars)),
            factor_stars,
            neighbour_correction(similarities, factor_residuals),
            bias_stars,
            neighbour_correction(similarities, bias_residuals),
        ]
    )


def count_terms(user_ratings: float | np.ndarray, item_ratings: np.ndarray) -> np.ndarray:
    """candidates × COUNT_TERMS, from the user's and each candidate's number of ratings."""
    item = np.clip(np.log1p(np.asarray(item_ratings, dtype=np.float64)), *ITEM_LOG_RATINGS)
    user = np.broadcast_to(np.clip(np.log1p(np.asarray(user_ratings, dtype=np.float64)), *USER_LOG_RATINGS), item.shape)
    return np.column_stack([np.ones_like(item), user, item, user * item, user**2, item**2])


def blend_design(parts: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """candidates × (PARTS × COUNT_TERMS): every part times every count term, row-major as
    Blend.weights, so that stars = blend_design(...) @ weights.ravel()."""
    return (parts[:, :, None] * terms[:, None, :]).reshape(len(parts), -1)


def blended_stars(
    blend: Blend, parts: np.ndarray, *, user_ratings: float | np.ndarray, item_ratings: np.ndarray
) -> np.ndarray:
    """The blend's stars (unclipped) for candidates with these parts (blend_parts) and counts."""
    return blend_design(parts, count_terms(user_ratings, item_ratings)) @ blend.weights.ravel()
