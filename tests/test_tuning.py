"""The tuner on folds small enough to work out by hand: which value wins, on which figures, and
that it fits no more models than it needs."""

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.evaluation import VALIDATION_SEED, VALIDATION_SHARE, Fold, model_parameters
from cinelibre.recommend.tuning import Tunable, registry, tune, write_tuning

FITS: list[str] = []


class ShiftedMean(Recommender):
    """Predicts the training mean plus `offset` for every pair; ranks every item alike."""

    name = "shifted mean"
    predicts_ratings = True

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def fit(self, matrix: RatingMatrix) -> "ShiftedMean":
        FITS.append(self.name)
        self.matrix = matrix
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.matrix.global_mean + self.offset)

    def scores(self, user: int) -> np.ndarray:
        return np.zeros(self.matrix.shape[1])


class Prefers(Recommender):
    """Lists `item` first, then the others by index."""

    name = "prefers"

    def __init__(self, item: int = 1) -> None:
        self.item = item

    def fit(self, matrix: RatingMatrix) -> "Prefers":
        FITS.append(self.name)
        self.matrix = matrix
        return self

    def scores(self, user: int) -> np.ndarray:
        scores = -np.arange(self.matrix.shape[1], dtype=np.float64)
        scores[self.item] = 1.0
        return scores


def _fold(train: list[tuple[int, int, float]], test: list[tuple[int, int, float]], shape: tuple[int, int]) -> Fold:
    users, items, stars = (np.array(column) for column in zip(*train, strict=True))
    test_users, test_items, test_stars = (np.array(column) for column in zip(*test, strict=True))
    return Fold(
        RatingMatrix.from_triples(users, items, stars.astype(np.float32), shape),
        test_users,
        test_items,
        test_stars.astype(np.float32),
    )


# Two validation folds for the rating tunable:
#   A: training stars 3, 3, 3, 3 (mean 3); held-out stars 4, 2, 5
#   B: training stars 4, 4 (mean 4); held-out stars 4, 5
RATING_FOLDS = {
    1: _fold([(0, 0, 3), (0, 1, 3), (1, 0, 3), (1, 1, 3)], [(0, 2, 4), (1, 2, 2), (1, 3, 5)], (2, 4)),
    2: _fold([(0, 0, 4), (1, 1, 4)], [(0, 1, 4), (1, 0, 5)], (2, 4)),
}
# One validation fold for the ranking tunable: u0 and u1 rated i0; held out u0 i3 5, u1 i2 4.
RANKING_FOLDS = {1: _fold([(0, 0, 4), (1, 0, 4)], [(0, 3, 5), (1, 2, 4)], (2, 4))}
UNIT_VECTORS = np.eye(4)


@pytest.fixture(autouse=True)
def no_fits_yet() -> None:
    FITS.clear()


def test_the_rating_value_with_the_lowest_mean_rmse_wins() -> None:
    # With offset o, fold A's errors are o - 1, o + 1, o - 2 and fold B's o, o - 1:
    #   o = 0:   A sqrt(6/3) = 1.414214,      B sqrt(1/2) = 0.707107   mean 1.060660 (shipped)
    #   o = 0.5: A sqrt(4.75/3) = 1.258306,   B sqrt(0.5/2) = 0.5      mean 0.879153 (winner)
    #   o = 1:   A sqrt(5/3) = 1.290994,      B sqrt(1/2) = 0.707107   mean 0.999050
    tunable = Tunable("offset", ShiftedMean, {"offset": (0.0, 0.5, 1.0)}, "RMSE", {"offset": 0.0})

    [tuned] = tune([tunable], RATING_FOLDS, UNIT_VECTORS)

    assert tuned.figures[1]["RMSE"] == pytest.approx([1.258306, 0.5], abs=1e-6)
    assert [tuned.mean(index, "RMSE") for index in range(3)] == pytest.approx([1.060660, 0.879153, 0.999050], abs=1e-6)
    assert (tuned.winner(), tuned.shipped()) == (1, 0)
    assert [row[0] for row in tuned.rows()] == ["0.0", "0.5", "1.0"]
    assert [row[1] for row in tuned.rows()] == ["1.0607", "0.8792", "0.9991"]
    assert [row[-1] for row in tuned.rows()] == ["shipped", "winner", ""]
    assert tuned.columns() == ["offset", "RMSE", "MAE", ""]
    assert len(FITS) == 6  # three values on two folds


def test_the_ranking_value_with_the_highest_ndcg_wins_and_the_first_of_equals() -> None:
    # Lists leave out i0 (rated by both):
    #   item 1: u0 i1, i2, i3* → 1/log2(4) = 0.5;  u1 i1, i2*, i3 → 1/log2(3) = 0.630930; mean 0.565465
    #   item 2: u0 i2, i1, i3* → 0.5;              u1 i2* first → 1;                      mean 0.75
    #   item 3: u0 i3* first → 1;                  u1 i3, i1, i2* → 0.5;                  mean 0.75
    # Items 2 and 3 tie; the first in grid order wins. The shipped 5 is not in the grid.
    tunable = Tunable("preferred item", Prefers, {"item": (1, 2, 3)}, "NDCG@10", {"item": 5})

    [tuned] = tune([tunable], RANKING_FOLDS, UNIT_VECTORS)

    assert [tuned.mean(index, "NDCG@10") for index in range(3)] == pytest.approx([0.565465, 0.75, 0.75], abs=1e-6)
    assert (tuned.winner(), tuned.shipped()) == (1, None)
    assert [row[-1] for row in tuned.rows()] == ["", "winner", ""]
    assert tuned.columns() == ["item", "NDCG@10", "P@10", "coverage", "ILS", "novelty", ""]


def test_a_value_set_after_fitting_is_fitted_once_per_fold() -> None:
    tunable = Tunable("offset", ShiftedMean, {"offset": (0.0, 0.5, 1.0)}, "RMSE", {"offset": 0.0}, after_fit=True)

    [tuned] = tune([tunable], RATING_FOLDS, UNIT_VECTORS)

    assert len(FITS) == 2
    assert [tuned.mean(index, "RMSE") for index in range(3)] == pytest.approx([1.060660, 0.879153, 0.999050], abs=1e-6)


def test_a_model_two_settings_share_is_fitted_once_per_fold() -> None:
    # offset 0.5 is in both grids: five different models, not six, on each fold.
    first = Tunable("offset", ShiftedMean, {"offset": (0.0, 0.5, 1.0)}, "RMSE", {"offset": 0.5})
    second = Tunable("offset again", ShiftedMean, {"offset": (0.5, 1.5, 2.0)}, "RMSE", {"offset": 0.5})

    tuned = tune([first, second], RATING_FOLDS, UNIT_VECTORS)

    assert len(FITS) == 10
    assert tuned[0].figures[1] == tuned[1].figures[0]


def test_tuning_json_holds_the_grid_the_figures_of_each_fold_and_the_winner(tmp_path: Path) -> None:
    tunable = Tunable("offset", ShiftedMean, {"offset": (0.0, 0.5, 1.0)}, "RMSE", {"offset": 0.0})
    tuned = tune([tunable], RATING_FOLDS, UNIT_VECTORS)
    path = tmp_path / "tuning.json"

    write_tuning(tuned, path, dataset="tiny", folds=(1, 2))

    written = json.loads(path.read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert written["commit"] in {head, f"{head}-dirty"}
    assert (written["dataset"], written["folds"]) == ("tiny", [1, 2])
    assert written["validation"] == {"share": VALIDATION_SHARE, "seed": VALIDATION_SEED}
    [setting] = written["settings"]
    assert {key: setting[key] for key in ("name", "metric", "lower_is_better", "grid", "shipped", "winner")} == {
        "name": "offset",
        "metric": "RMSE",
        "lower_is_better": True,
        "grid": {"offset": [0.0, 0.5, 1.0]},
        "shipped": {"offset": 0.0},
        "winner": {"offset": 0.5},
    }
    assert setting["shipped_in_grid"] is True
    assert [result["values"] for result in setting["results"]] == [{"offset": 0.0}, {"offset": 0.5}, {"offset": 1.0}]
    assert setting["results"][1]["folds"]["RMSE"] == pytest.approx([1.258306, 0.5], abs=1e-6)
    assert setting["results"][1]["means"]["RMSE"] == pytest.approx(0.879153, abs=1e-6)


def _settings_named(parameters: dict[str, Any], key: str) -> list[Any]:
    """Every value of `key` among a model's parameters and those of the models it holds."""
    found = [parameters[key]] if key in parameters else []
    for value in parameters.values():
        if isinstance(value, dict):
            found += _settings_named(value, key)
    return found


def test_every_registered_setting_builds_a_model_for_each_value_and_ships_one_of_them() -> None:
    for tunable in registry(UNIT_VECTORS):
        assert tunable.metric in {"NDCG@10", "RMSE"}, tunable.name
        assert set(tunable.shipped) == set(tunable.grid), tunable.name
        assert tunable.shipped in tunable.combinations(), tunable.name
        for combination in tunable.combinations():
            model = tunable.factory() if tunable.after_fit else tunable.factory(**combination)
            for key, value in combination.items():
                if tunable.after_fit:
                    setattr(model, key, value)
                assert _settings_named(model_parameters(model), key)[:1] == [value], (tunable.name, key)
