"""The evaluation's metrics on a fold small enough to work out by hand, and the figures it writes."""

import json
import subprocess
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix
from cinelibre.recommend.algorithms.baseline import GlobalMean
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.hybrid import Hybrid
from cinelibre.recommend.algorithms.popular import MostRated
from cinelibre.recommend.evaluation import (
    Fold,
    evaluate_ml100k,
    genre_vectors,
    ranking_metrics,
    rating_metrics,
    write_results,
)
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
    metrics = ranking_metrics(MostRated().fit(fold.train), fold, VECTORS, k=3)

    assert metrics == pytest.approx(
        {"NDCG@3": 0.462284, "P@3": 0.222222, "R@3": 0.5, "coverage": 0.833333, "ILS": 0.377778}, abs=1e-6
    )


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
    path = tmp_path / "results.json"

    write_results(results, path, dataset="ml-100k", folds=(1, 1))

    written = json.loads(path.read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert sorted(written) == ["algorithms", "commit", "dataset", "folds", "means", "models", "settings"]
    assert (written["dataset"], written["folds"]) == ("ml-100k", [1, 1])
    assert written["commit"] in {head, f"{head}-dirty"}
    assert written["settings"]["diversity"] == blend.DIVERSITY
    assert written["settings"]["shortlist_factor"] == blend.SHORTLIST_FACTOR
    assert written["models"] == {
        "most rated": {},
        "EASE": {"regularisation": 250.0, "neighbours": None, "max_items": None},
        "hybrid (served)": {
            "diversity": blend.DIVERSITY,
            "ease": {
                "model": "EASE top 200 (ranking model)",
                "regularisation": 500.0,
                "neighbours": 200,
                "max_items": None,
            },
            "rating": {
                "model": "biased MF + neighbours (rating model)",
                "mf": {"model": "biased MF (ALS)", "factors": 64, "regularisation": 0.12, "rounds": 12, "seed": 7},
                "neighbours": 50,
                "shrinkage": 100.0,
                "max_items": None,
            },
            "popular": {"model": "popular (Bayesian average)"},
        },
    }
    ease = written["algorithms"]["EASE"]
    assert sorted(ease) == ["ILS", "NDCG@10", "P@10", "R@10", "coverage", "fit s"]
    # The same fold twice: two equal figures, and their mean.
    assert len(ease["NDCG@10"]) == 2
    assert ease["NDCG@10"][0] == ease["NDCG@10"][1]
    assert written["means"]["EASE"]["NDCG@10"] == pytest.approx(ease["NDCG@10"][0])
    assert sorted(written["means"]["hybrid (served)"]) == [
        "ILS",
        "MAE",
        "NDCG@10",
        "P@10",
        "R@10",
        "RMSE",
        "coverage",
        "fit s",
    ]
