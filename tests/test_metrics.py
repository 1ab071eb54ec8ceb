"""The evaluation's metrics on a fold small enough to work out by hand, and the figures it writes."""

import json
import subprocess
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.baseline import GlobalMean
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.hybrid import Hybrid
from cinelibre.recommend.algorithms.popular import MostRated
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.evaluation import (
    COLD_START_ALL,
    COLD_START_AS_VIEWS,
    COLD_START_KEPT,
    TABLE_METRICS,
    VIEWS_ROWS,
    Experiment,
    Fold,
    Scores,
    cold_start_sample,
    cold_start_trainings,
    evaluate_cold_start,
    evaluate_ml100k,
    evaluate_views,
    genre_vectors,
    model_parameters,
    ranking_metrics,
    rating_metrics,
    validation_fold,
    views_training,
    write_results,
)
from cinelibre.recommend.evaluation_chart import write_chart
from cinelibre.recommend.training import VIEW_WEIGHT
from tests.test_cli_experience import tiny_ml100k

# Four users, six items (i0-i5). Training stars:
#   u0: i0 5, i1 4     u1: i0 3, i2 4     u2: i0 4, i1 2, i3 5     u3: i2 3, i4 3
# Test stars (relevant: 4 or more):
#   u0: i3 5, i5 4, i4 2   → relevant {i3, i5}
#   u1: i1 3, i5 5         → relevant {i5}
#   u2: i2 4, i5 1         → relevant {i2}
TRAIN = [(0, 0, 5), (0, 1, 4), (1, 0, 3), (1, 2, 4), (2, 0, 4), (2, 1, 2), (2, 3, 5), (3, 2, 3), (3, 4, 3)]
TEST = [(0, 3, 5), (0, 5, 4), (0, 4, 2), (1, 1, 3), (1, 5, 5), (2, 2, 4), (2, 5, 1)]
# Genre-like unit vectors for intra-list similarity: i0-i3 alike, i4 apart, i5 between.
VECTORS = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0.6, 0.8]])


class ByIndex(Recommender):
    """Lists items by index, lowest first: a ranking whose every place is known in advance."""

    name = "by index"

    def fit(self, matrix: RatingMatrix) -> "ByIndex":
        self.matrix = matrix
        return self

    def scores(self, user: int) -> np.ndarray:
        return -np.arange(self.matrix.shape[1], dtype=np.float64)


@pytest.fixture
def fold() -> Fold:
    users, items, stars = (np.array(column) for column in zip(*TRAIN, strict=True))
    test_users, test_items, test_stars = (np.array(column) for column in zip(*TEST, strict=True))
    return Fold(
        RatingMatrix.from_triples(users, items, stars.astype(np.float32), (4, 6)),
        test_users,
        test_items,
        test_stars.astype(np.float32),
    )


def test_ranking_metrics_match_the_hand_worked_fold(fold: Fold) -> None:
    # Most rated in training: i0 (3 raters), i1 and i2 (2), i3 and i4 (1), i5 (0); equal counts
    # by index. u3 has no test ratings, so no list of theirs is scored. Top 3 of what each user
    # did not rate in training, hits marked *:
    #   u0: i2, i3*, i4   DCG = 1/log2(3) = 0.630930; ideal (2 relevant) = 1 + 1/log2(3) = 1.630930
    #                     NDCG = 0.386853, P = 1/3, R = 1/2
    #   u1: i1, i3, i4    NDCG = 0, P = 0, R = 0 (i1 was rated 3: not relevant)
    #   u2: i2*, i4, i5   NDCG = 1, P = 1/3, R = 1
    # Means: NDCG = 1.386853 / 3 = 0.462284; P = (2/3) / 3 = 0.222222; R = 1.5 / 3 = 0.5.
    # Coverage: {i1, i2, i3, i4, i5} = 5 of 6 items = 0.833333.
    # Intra-list similarity, mean cosine over the 6 ordered pairs of each list:
    #   u0: i2·i3 = 1, the rest 0 → 2/6;  u1: i1·i3 = 1 → 2/6;  u2: i2·i5 = 0.6, i4·i5 = 0.8 → 2.8/6
    #   mean = (2 + 2 + 2.8) / 18 = 0.377778.
    # Novelty: all four users have training ratings; raters per item i0 3, i1 2, i2 2, i3 1, i4 1,
    # i5 none (counted as one), so self-information -log2(raters / 4) is i1, i2: 1, i3, i4, i5: 2.
    #   u0: (1 + 2 + 2) / 3;  u1: (1 + 2 + 2) / 3;  u2: (1 + 2 + 2) / 3   → novelty 5/3 = 1.666667.
    # Every scored user has 2 or 3 training ratings: the 1-20 bucket holds them all.
    metrics = ranking_metrics(MostRated().fit(fold.train), fold, VECTORS, k=3)

    assert metrics == pytest.approx(
        {
            "NDCG@3": 0.462284,
            "P@3": 0.222222,
            "R@3": 0.5,
            "coverage": 0.833333,
            "ILS": 0.377778,
            "novelty": 1.666667,
            "NDCG@3 1-20": 0.462284,
            "NDCG@3 21-100": None,
            "NDCG@3 >100": None,
        },
        abs=1e-6,
    )


def test_ndcg_is_split_by_how_many_training_ratings_a_user_has() -> None:
    # u0 rated i0-i19 (20 ratings), u1 i0-i20 (21), u2 i0-i100 (101), out of 120 items. Raters:
    # i0-i19 3, i20 2, i21-i100 1, i101-i119 none. Items by index, leaving out what each rated:
    #   u0: i20, i21, ..., i29; relevant {i20}, first: NDCG 1             (bucket 1-20)
    #   u1: i21, i22, ..., i30; relevant {i22}, second: NDCG 1/log2(3) = 0.630930   (21-100)
    #   u2: i101, ..., i110;    relevant {i103}, third: NDCG 1/log2(4) = 0.5         (>100)
    # Mean NDCG (1 + 0.630930 + 0.5) / 3 = 0.710310. Novelty, self-information -log2(raters / 3):
    #   u0: (log2(3/2) + 9 log2(3)) / 10 = 1.484963; u1 and u2: log2(3) = 1.584963 (nobody
    #   rated i101-i110: counted as one rater)   → mean 1.551629.
    train = [(0, item, 4) for item in range(20)] + [(1, item, 4) for item in range(21)]
    train += [(2, item, 4) for item in range(101)]
    users, items, stars = (np.array(column) for column in zip(*train, strict=True))
    fold = Fold(
        RatingMatrix.from_triples(users, items, stars.astype(np.float32), (3, 120)),
        np.array([0, 1, 2]),
        np.array([20, 22, 103]),
        np.array([5.0, 4.0, 4.0], dtype=np.float32),
    )

    metrics = ranking_metrics(ByIndex().fit(fold.train), fold, np.eye(120))

    assert {metric: metrics[metric] for metric in ("NDCG@10", "novelty")} == pytest.approx(
        {"NDCG@10": 0.710310, "novelty": 1.551629}, abs=1e-6
    )
    assert {metric: metrics[f"NDCG@10 {metric}"] for metric in ("1-20", "21-100", ">100")} == pytest.approx(
        {"1-20": 1.0, "21-100": 0.630930, ">100": 0.5}, abs=1e-6
    )


def test_leaving_out_another_matrix_s_items_changes_the_candidates_only(fold: Fold) -> None:
    # Most rated leaving out, for u0, i0 and i2 instead of its training i0, i1: i1, i3*, i4.
    # DCG = 1/log2(3) = 0.630930, ideal 1.630930 → 0.386853, as without: the hit keeps its place.
    # For u1 (i0, i1 left out): i2, i3, i4: no hit. For u2 (nothing left out): i0, i1, i2*:
    # 1/log2(4) = 0.5. Mean (0.386853 + 0 + 0.5) / 3 = 0.295618.
    left_out = RatingMatrix.from_triples(
        np.array([0, 0, 1, 1]), np.array([0, 2, 0, 1]), np.ones(4, dtype=np.float32), (4, 6)
    ).ratings

    metrics = ranking_metrics(MostRated().fit(fold.train), fold, VECTORS, k=3, left_out=left_out)

    assert metrics["NDCG@3"] == pytest.approx(0.295618, abs=1e-6)


def test_validation_fold_holds_out_a_seeded_share_of_the_training_ratings(fold: Fold) -> None:
    # The default generator seeded 2019 draws 0.145, 0.442, 0.340, 0.969, 0.200, 0.431, 0.457,
    # 0.652, 0.687 for the nine training ratings in row order (u0 i0, u0 i1, u1 i0, u1 i2, u2 i0,
    # u2 i1, u2 i3, u3 i2, u3 i4): below 0.2 only the first; below 0.5 all but the 4th, 8th, 9th.
    views = sparse.csr_matrix(([0.5, 0.5, 0.5], ([0, 1, 3], [0, 2, 5])), shape=(4, 6), dtype=np.float32)
    viewed = replace(fold, train=RatingMatrix(fold.train.ratings, interactions=views))

    fifth = validation_fold(viewed)
    half = validation_fold(viewed, share=0.5)

    assert (fifth.test_users.tolist(), fifth.test_items.tolist(), fifth.test_stars.tolist()) == ([0], [0], [5.0])
    assert fifth.train.ratings.nnz == 8
    assert (half.test_users.tolist(), half.test_items.tolist(), half.test_stars.tolist()) == (
        [0, 0, 1, 2, 2, 2],
        [0, 1, 0, 0, 1, 3],
        [5.0, 4.0, 3.0, 4.0, 2.0, 5.0],
    )
    kept = half.train.ratings.tocoo()
    assert sorted(zip(kept.row.tolist(), kept.col.tolist(), kept.data.tolist(), strict=True)) == [
        (1, 2, 4.0),
        (3, 2, 3.0),
        (3, 4, 3.0),
    ]
    # The view of a held-out pair goes with it; the others stay.
    for carved in (fifth, half):
        assert carved.train.interactions is not None
        left = carved.train.interactions.tocoo()
        assert sorted(zip(left.row.tolist(), left.col.tolist(), strict=True)) == [(1, 2), (3, 5)]


def test_rating_metrics_match_the_hand_worked_fold(fold: Fold) -> None:
    # The global mean of the nine training stars is 33 / 9 = 11/3 for every test pair.
    # Test stars 5, 4, 2, 3, 5, 4, 1: sum 24, sum of squares 96, so the squared errors sum to
    # 96 - 2 × 11/3 × 24 + 7 × (11/3)² = 96 - 176 + 847/9 = 127/9: RMSE = sqrt(127/63) = 1.419814.
    # Absolute errors 4/3, 1/3, 5/3, 2/3, 4/3, 1/3, 8/3: sum 25/3, MAE = 25/21 = 1.190476.
    metrics = rating_metrics(GlobalMean().fit(fold.train), fold)

    assert metrics == pytest.approx({"RMSE": 1.419814, "MAE": 1.190476}, abs=1e-6)


def test_the_results_file_holds_settings_parameters_each_fold_and_the_means(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")
    models = [MostRated, partial(EASE, 250.0), partial(Hybrid, genre_vectors(dataset))]
    results = evaluate_ml100k(dataset, models=models, folds=(1, 1))
    views = evaluate_views(dataset, (1, 1), measured=results)
    cold_start = evaluate_cold_start(dataset, (1,))
    path = tmp_path / "results.json"

    write_results(results, path, dataset="ml-100k", folds=(1, 1), cold_start=cold_start, views=views)

    written = json.loads(path.read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert sorted(written) == [
        "algorithms",
        "cold_start",
        "commit",
        "dataset",
        "folds",
        "means",
        "models",
        "settings",
        "views",
    ]
    assert (written["dataset"], written["folds"]) == ("ml-100k", [1, 1])
    assert written["commit"] in {head, f"{head}-dirty"}
    assert written["settings"]["diversity"] == blend.DIVERSITY
    assert written["settings"]["shortlist_factor"] == blend.SHORTLIST_FACTOR
    # Each model's settings as built, with those of the models it holds (whatever settings the
    # models gain: what a run wrote must be what the factories build).
    built = {(model := make()).name: model_parameters(model) for make in models}
    assert written["models"] == json.loads(json.dumps(built))
    assert written["models"]["EASE"]["regularisation"] == 250.0
    assert written["models"]["hybrid (served)"]["diversity"] == blend.DIVERSITY
    assert written["models"]["hybrid (served)"]["ease"]["model"] == "EASE top 200 (ranking model)"
    assert written["models"]["hybrid (served)"]["rating"]["model"] == RatingModel.name
    ease = written["algorithms"]["EASE"]
    assert sorted(ease) == sorted(metric for metric in TABLE_METRICS if metric not in {"RMSE", "MAE"})
    # Every user of the tiny folder has 20 ratings, 16 or so of them in training: no one is
    # cold-start material, and the experiment says so rather than failing.
    assert written["cold_start"]["users"] == [0]
    assert written["cold_start"]["rows"] == {}
    # The views' last row is the table's own figure for the served hybrid, fold by fold; the
    # ranking model, not in this run's table, is fitted for it.
    served = written["views"]["rows"]["all the ratings"]["hybrid (served)"]
    assert served["folds"] == written["algorithms"]["hybrid (served)"]["NDCG@10"]
    assert list(written["views"]["rows"]) == list(VIEWS_ROWS)
    assert all(
        list(figures) == ["hybrid (served)", "EASE top 200 (ranking model)"]
        for figures in written["views"]["rows"].values()
    )
    test_lines = (line.split("\t") for line in (dataset / "u1.test").read_text().splitlines())
    relevant_users = {user for user, _, stars, _ in test_lines if int(stars) >= 4}
    assert written["views"]["users"] == [len(relevant_users)] * 2 == [22, 22]
    # The same fold twice: two equal figures, and their mean.
    assert len(ease["NDCG@10"]) == 2
    assert ease["NDCG@10"][0] == ease["NDCG@10"][1]
    assert written["means"]["EASE"]["NDCG@10"] == pytest.approx(ease["NDCG@10"][0])
    assert sorted(written["means"]["hybrid (served)"]) == sorted(TABLE_METRICS)


def _active_fold() -> Fold:
    """u0 rated i0-i24 (25 ratings), u1 i0-i19 (20), u2 i0-i18 (19), u3 i5-i29 (25), all 3
    stars; test ratings: u0 i30 4, u1 i31 5, u2 i32 5, u3 i33 2 (not relevant)."""
    rated = {0: range(25), 1: range(20), 2: range(19), 3: range(5, 30)}
    users = np.array([user for user, items in rated.items() for _ in items])
    items = np.array([item for items in rated.values() for item in items])
    return Fold(
        RatingMatrix.from_triples(users, items, np.full(len(users), 3.0, dtype=np.float32), (4, 40)),
        np.array([0, 1, 2, 3]),
        np.array([30, 31, 32, 33]),
        np.array([4.0, 5.0, 5.0, 2.0], dtype=np.float32),
    )


def test_cold_start_draws_from_users_with_20_training_ratings_and_a_relevant_test_rating() -> None:
    # u2 has 19 training ratings and u3 no relevant test rating: only u0 and u1 qualify.
    fold = _active_fold()

    assert cold_start_sample(fold, 1).tolist() == [0, 1]
    assert len(cold_start_sample(fold, 1, size=1)) == 1


def test_cold_start_keeps_nested_random_subsets_of_the_sampled_users_ratings_only() -> None:
    fold = _active_fold()

    trainings = cold_start_trainings(fold, np.array([0, 1]), 1)

    assert list(trainings) == [*(f"{kept} ratings" for kept in COLD_START_KEPT), COLD_START_AS_VIEWS, COLD_START_ALL]
    assert trainings[COLD_START_ALL] is fold.train
    kept_items = [set(train.rated_items(0).tolist()) for train in trainings.values()]
    assert [len(items) for items in kept_items] == [0, 1, 3, 5, 10, 0, 25]
    assert kept_items[1] < kept_items[2] < kept_items[3] < kept_items[4] < set(range(25))
    for train in trainings.values():
        # The others keep every rating.
        assert train.rated_items(2).tolist() == list(range(19))
        assert train.rated_items(3).tolist() == list(range(5, 30))
    views = trainings[COLD_START_AS_VIEWS]
    assert views.interactions is not None
    assert views.interactions[0].indices.tolist() == list(range(25))
    assert views.interactions[1].indices.tolist() == list(range(20))
    assert set(views.interactions.data.tolist()) == {VIEW_WEIGHT}
    assert views.interactions[2:].nnz == 0
    # The same fold number draws the same ratings again; another draws others.
    again = cold_start_trainings(fold, np.array([0, 1]), 1)["5 ratings"].rated_items(0).tolist()
    other = cold_start_trainings(fold, np.array([0, 1]), 2)["5 ratings"].rated_items(0).tolist()
    assert again == sorted(kept_items[3])
    assert other != again


def test_views_training_splits_the_ratings_into_stars_and_views_without_overlap(fold: Fold) -> None:
    # Drawn with the seed 7201 for fold 1: a partition of the nine training pairs.
    with_views = views_training(fold, 1)

    assert with_views.interactions is not None
    stars = with_views.ratings.tocoo()
    viewed = with_views.interactions.tocoo()
    rated_pairs = set(zip(stars.row.tolist(), stars.col.tolist(), strict=True))
    viewed_pairs = set(zip(viewed.row.tolist(), viewed.col.tolist(), strict=True))
    all_pairs = {(user, item) for user, item, _ in TRAIN}
    assert rated_pairs | viewed_pairs == all_pairs
    assert not rated_pairs & viewed_pairs
    assert rated_pairs and viewed_pairs
    assert set(viewed.data.tolist()) == {VIEW_WEIGHT}
    assert {(u, i): s for u, i, s in TRAIN if (u, i) in rated_pairs} == dict(
        zip(zip(stars.row.tolist(), stars.col.tolist(), strict=True), stars.data.tolist(), strict=True)
    )


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_the_chart_adds_a_cold_start_panel_only_when_users_were_measured(tmp_path: Path) -> None:
    scores = Scores()
    scores.add_all({"RMSE": 0.9, "NDCG@10": 0.4})
    measured = Experiment(users=[2])
    rows = [*((f"{kept} ratings", kept / 20) for kept in COLD_START_KEPT), (COLD_START_AS_VIEWS, 0.3)]
    for row, value in [*rows, (COLD_START_ALL, 0.6)]:
        measured.add(row, "hybrid (served)", value)

    write_chart({"model": scores}, tmp_path / "two.png")
    write_chart({"model": scores}, tmp_path / "empty.png", cold_start=Experiment(users=[0]))
    write_chart({"model": scores}, tmp_path / "three.png", cold_start=measured)

    # 12 and 18 inches wide at 120 dots per inch.
    assert _png_size(tmp_path / "two.png") == _png_size(tmp_path / "empty.png") == (1440, 540)
    assert _png_size(tmp_path / "three.png") == (2160, 540)
