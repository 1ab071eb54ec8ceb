"""Every recommender on data whose right answers are known, through the shared interface."""

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from cinelibre.recommend.algorithms.base import RatingMatrix
from cinelibre.recommend.algorithms.baseline import BiasBaseline, GlobalMean
from cinelibre.recommend.algorithms.blend import RATING_EMPHASIS, rating_strength
from cinelibre.recommend.algorithms.ease import EASE, centred_feedback
from cinelibre.recommend.algorithms.fold_in import Blend, blend_parts, blended_stars, count_terms, neighbour_correction
from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION, Hybrid
from cinelibre.recommend.algorithms.item_knn import ItemKNN
from cinelibre.recommend.algorithms.mf import BiasedMF
from cinelibre.recommend.algorithms.popular import MostRated, Popular
from cinelibre.recommend.algorithms.ranking import Candidates, rank
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.algorithms.user_knn import PearsonUserKNN
from cinelibre.recommend.evaluation import evaluate_ml100k, genre_vectors


def two_tastes() -> RatingMatrix:
    """20 users, 10 items. Users 0-9 love items 0-4, users 10-19 love items 5-9; each user rated
    four of their five (skipping a different one) 5 stars, and one item of the other side 1 star."""
    users, items, stars = [], [], []
    for user in range(20):
        group = range(0, 5) if user < 10 else range(5, 10)
        skipped = group[user % 5]
        for item in group:
            if item != skipped:
                users.append(user), items.append(item), stars.append(5.0)
        users.append(user), items.append((skipped + 5) % 10), stars.append(1.0)
    return RatingMatrix.from_triples(np.array(users), np.array(items), np.array(stars), (20, 10))


def served_hybrid() -> Hybrid:
    return Hybrid(item_vectors=np.eye(10))


def sparse_ease() -> EASE:
    return EASE(10.0, neighbours=5)


# Not the Pearson user-kNN: Pearson correlation is undefined between users whose common ratings are
# all 5 stars, as here; the hand-computed example below covers it.
@pytest.mark.parametrize("make", [ItemKNN, EASE, sparse_ease, served_hybrid, BiasedMF], ids=lambda m: m.__name__)
def test_personal_models_recommend_the_missing_item_of_the_users_taste(make) -> None:
    matrix = two_tastes()
    model = make().fit(matrix)

    firsts = [int(model.recommend(user, 1)[0]) for user in range(20)]

    assert firsts == [user % 5 if user < 10 else 5 + user % 5 for user in range(20)]


@pytest.mark.parametrize(
    "make", [ItemKNN, EASE, served_hybrid, PearsonUserKNN, BiasedMF, RatingModel, Popular, MostRated]
)
def test_recommendations_never_repeat_what_the_user_rated(make) -> None:
    matrix = two_tastes()
    model = make().fit(matrix)

    for user in range(20):
        assert not set(model.recommend(user, 10).tolist()) & set(matrix.rated_items(user).tolist())


def test_popular_is_a_pessimistic_bayesian_average() -> None:
    matrix = RatingMatrix.from_triples(
        np.array([0, 1, 2, 3, 0]), np.array([0, 0, 0, 0, 1]), np.array([4.0, 4.0, 4.5, 4.5, 5.0]), (4, 2)
    )

    model = Popular().fit(matrix)

    assert model.scores(0).tolist() == pytest.approx([(2.75 * 5 + 17) / 9, (2.75 * 5 + 5) / 6])
    assert MostRated().fit(matrix).scores(0).tolist() == [4.0, 1.0]


def test_bias_baseline_learns_generous_users_and_liked_items() -> None:
    # Everyone rates item 0 one star above item 1; user 1 rates everything one star above user 0.
    matrix = RatingMatrix.from_triples(
        np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 0, 1]), np.array([3.0, 2.0, 4.0, 3.0, 3.5, 2.5]), (3, 2)
    )
    model = BiasBaseline().fit(matrix)

    assert model.item_bias[0] > model.item_bias[1]
    assert model.user_bias[1] > model.user_bias[2] > model.user_bias[0]
    assert GlobalMean().fit(matrix).predict(np.array([0]), np.array([1])).tolist() == [3.0]


def test_matrix_factorisation_recovers_a_low_rank_rating_table() -> None:
    rng = np.random.default_rng(1)
    true = np.clip(3 + rng.normal(0, 0.5, (60, 2)) @ rng.normal(0, 1, (2, 40)), 0.5, 5)
    mask = rng.random(true.shape) < 0.5
    users, items = np.nonzero(mask)
    model = BiasedMF(factors=8, regularisation=0.02).fit(
        RatingMatrix.from_triples(users, items, true[users, items], true.shape)
    )

    held_users, held_items = np.nonzero(~mask)
    error = model.predict(held_users, held_items) - true[held_users, held_items]
    baseline = BiasBaseline().fit(RatingMatrix.from_triples(users, items, true[users, items], true.shape))
    baseline_error = baseline.predict(held_users, held_items) - true[held_users, held_items]
    assert np.sqrt(np.mean(error**2)) < 0.5 * np.sqrt(np.mean(baseline_error**2))


def test_rating_neighbours_are_shrunk_pearson_correlations_of_the_factor_models_baseline() -> None:
    rng = np.random.default_rng(5)
    mask = rng.random((30, 12)) < 0.6
    users, items = np.nonzero(mask)
    stars = rng.integers(1, 11, len(users)) / 2
    model = RatingModel(factors=3, neighbours=4, shrinkage=2.0)
    model.fit(RatingMatrix.from_triples(users, items, stars, mask.shape))

    table = np.zeros(mask.shape)
    table[users, items] = stars - (model.mf.mean + model.mf.user_bias[users] + model.mf.item_bias[items])
    expected = np.zeros((12, 12))
    for i in range(12):
        for j in range(12):
            both = mask[:, i] & mask[:, j]
            spread = np.sqrt((table[both, i] ** 2).sum() * (table[both, j] ** 2).sum())
            if i != j and spread > 0:
                expected[i, j] = table[both, i] @ table[both, j] / spread * (both.sum() - 1) / (both.sum() - 1 + 2.0)
    strongest = [sorted([(-expected[i, j], j) for j in range(12) if expected[i, j] > 0])[:4] for i in range(12)]
    assert {(i, j): v for (i, j), v in model.similarity.todok().items()} == {
        (i, j): pytest.approx(-negative) for i in range(12) for negative, j in strongest[i]
    }


def test_neighbour_correction_is_a_damped_similarity_weighted_mean_of_the_users_errors() -> None:
    similarities = np.array([[0.5, 0.0, 1.5], [0.0, 0.0, 0.0]])
    residuals = np.array([1.0, 4.0, -1.0])

    assert neighbour_correction(similarities, residuals).tolist() == [(0.5 - 1.5) / (2.0 + 1.0), 0.0]


def test_the_blend_weighs_each_part_by_the_users_and_the_items_log_rating_counts() -> None:
    weights = np.zeros((5, 6))
    weights[0, 0] = 0.25  # intercept
    weights[1, 0] = 1.0  # factor stars, whatever the counts
    weights[2, 1] = 1.0  # factor correction × ln(1 + the user's ratings)
    weights[4, 2] = 2.0  # bias correction × ln(1 + the item's ratings)
    parts = blend_parts(
        bias_stars=np.array([3.0, 4.0]),
        factor_stars=np.array([3.5, 3.0]),
        similarities=np.array([[1.0, 1.0], [0.0, 0.0]]),
        bias_residuals=np.array([1.0, 0.0]),
        factor_residuals=np.array([0.5, -1.0]),
    )

    stars = blended_stars(Blend(weights), parts, user_ratings=9, item_ratings=np.array([19, 0]))

    # Corrections of the first item: factor (0.5 - 1) / (2 + 1), bias (1 + 0) / (2 + 1).
    assert parts == pytest.approx(np.array([[1.0, 3.5, -1 / 6, 3.0, 1 / 3], [1.0, 3.0, 0.0, 4.0, 0.0]]))
    assert stars.tolist() == pytest.approx([0.25 + 3.5 - np.log(10) / 6 + 2 * np.log(20) / 3, 0.25 + 3.0])


def test_the_blends_counts_are_clipped_to_the_range_its_weights_were_learnt_on() -> None:
    terms = count_terms(10_000, np.array([10_000, 0]))

    u, i = np.log(556), np.log(392)  # the most ratings of a user (555) and an item (391) there
    assert terms == pytest.approx(np.array([[1, u, i, u * i, u * u, i * i], [1, u, 0, 0, u * u, 0]]))
    assert count_terms(0, np.array([1]))[0, 1] == pytest.approx(np.log(5))  # at least 4 ratings


def test_pearson_user_knn_in_python_matches_the_hand_computed_sql_example() -> None:
    # The table of test_recommend.py: rows target, alice, bob, carol, dave; items i1..i6.
    table = [[5, 3, 4, 1, 0, 0], [4, 2, 3, 1, 5, 0], [1, 5, 2, 0, 0, 4], [5, 4, 0, 0, 2, 0], [3, 1, 2, 2, 1, 5]]
    users, items = np.nonzero(np.array(table))
    stars = np.array(table, dtype=np.float32)[users, items]
    model = PearsonUserKNN().fit(RatingMatrix.from_triples(users, items, stars, (5, 6)))

    neighbours, correlations = model.neighbours(0)
    predicted = model.predict(np.array([0, 0]), np.array([5, 4]))

    assert neighbours.tolist() == [1, 4]
    assert correlations.round(5).tolist() == [0.98271, 0.47809]
    assert predicted.round(4).tolist() == [5.0, 4.1591]  # i6's 5.9167 is clipped to the scale


def test_rank_never_lists_a_rated_item_and_leaves_out_heavily_viewed_ones_unless_told() -> None:
    # A user without ratings: popularity alone orders five candidates, 5 to 3 stars.
    candidates = Candidates(
        ratings=0,
        user_mean=0.0,
        popularity=np.array([5.0, 4.5, 4.0, 3.5, 3.0]),
        content=np.full(5, np.nan),
        vectors=np.zeros((5, 3)),
        rated=np.array([False, True, False, False, False]),
        heavily_viewed=np.array([False, False, True, False, False]),
    )

    assert rank(candidates, 5).positions.tolist() == [0, 3, 4]
    assert rank(candidates, 5, skip_viewed=False).positions.tolist() == [0, 2, 3, 4]
    assert rank(candidates, 2).positions.tolist() == [0, 3]
    # Each row's popularity share: 0.05 × (stars - 0.5) / 4.5; rows left out score 0.
    assert rank(candidates, 5).signals.score.round(6).tolist() == [0.05, 0.0, 0.0, 0.033333, 0.027778]


def test_a_rating_counts_one_plus_the_emphasis_per_star_from_the_users_mean() -> None:
    strengths = rating_strength(np.array([5.0, 2.0, 3.5]), 3.5, emphasis=0.4)

    np.testing.assert_allclose(strengths, [1.6, 0.4, 1.0])


def test_the_ranking_models_input_centres_ratings_and_keeps_views_at_their_strength() -> None:
    # User 0 rated items 0 and 1 (5 and 3 stars, mean 4) and viewed item 2; user 1 rated items 2
    # and 0 (4 and 2 stars, mean 3) and viewed item 0 too (the rating wins).
    ratings = RatingMatrix.from_triples(
        np.array([0, 0, 1, 1]), np.array([0, 1, 2, 0]), np.array([5.0, 3.0, 4.0, 2.0]), (2, 3)
    ).ratings
    views = sparse.csr_matrix((np.array([0.5, 0.6]), (np.array([0, 1]), np.array([2, 0]))), shape=(2, 3))

    feedback = centred_feedback(RatingMatrix(ratings, interactions=views), emphasis=0.5)

    # User 1's mean is 3: 4 stars count 1.5, 2 stars 0.5.
    np.testing.assert_allclose(feedback.toarray(), [[1.5, 0.5, 0.5], [0.5, 0.0, 1.5]])


def test_ease_on_centred_ratings_is_the_closed_form_on_the_centred_matrix() -> None:
    matrix = two_tastes()
    centred = centred_feedback(matrix, emphasis=0.4).toarray()
    precision = np.linalg.inv(centred.T @ centred + 10.0 * np.eye(10))
    expected = precision / -np.diag(precision)
    np.fill_diagonal(expected, 0.0)

    model = EASE(10.0, rating_emphasis=0.4).fit(matrix)

    np.testing.assert_allclose(model.weights.toarray(), expected, atol=1e-5)
    np.testing.assert_allclose(model.scores(3), centred[3] @ expected, atol=1e-5)


def test_ml100k_fold_1_matches_the_recorded_figures(shared_data: Path) -> None:
    dataset = shared_data / "movielens" / "ml-100k"
    served = partial(Hybrid, genre_vectors(dataset))
    stored = partial(EASE, EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS, rating_emphasis=RATING_EMPHASIS)

    results = evaluate_ml100k(dataset, models=[MostRated, EASE, stored, served], folds=(1,))

    assert round(results["most rated"].mean("NDCG@10"), 3) == MOST_RATED_NDCG_U1
    assert round(results["EASE"].mean("NDCG@10"), 3) == EASE_NDCG_U1
    assert round(results["EASE top 200 (ranking model)"].mean("NDCG@10"), 3) == RANKING_MODEL_NDCG_U1
    assert round(results["hybrid (served)"].mean("NDCG@10"), 3) == HYBRID_NDCG_U1
    assert round(results["hybrid (served)"].mean("ILS"), 3) == HYBRID_ILS_U1
    assert round(results["hybrid (served)"].mean("RMSE"), 3) == RATING_MODEL_RMSE_U1


# Recorded on the canonical u1 split; the computations are deterministic.
MOST_RATED_NDCG_U1 = 0.245
EASE_NDCG_U1 = 0.448
RANKING_MODEL_NDCG_U1 = 0.478
HYBRID_NDCG_U1 = 0.481
HYBRID_ILS_U1 = 0.283
RATING_MODEL_RMSE_U1 = 0.909
