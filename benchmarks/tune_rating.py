"""Learning the rating model's blend weights, and choosing its factor model's settings, on
validation ratings only. Prints one table per grid and the weights to ship.

    .venv/bin/python benchmarks/tune_rating.py [--folds 1,2,3,4,5]

For each chosen ml-100k fold, evaluation.validation_fold() holds out a share of its training
ratings (uN.base); models are fitted on the rest and make the four predictions the blend weighs
(fold_in.blend_parts) for the held-out ratings. The test ratings (uN.test) are never read.

For each setting of the grid the table shows the held-out RMSE of MF alone, of MF corrected by
its errors on similar items, of the biases corrected the same way (a kNN baseline), of the
least-squares blend of the four with fixed weights, and of the blend whose weights vary with the
user's and the item's rating counts (what ships). The blend's figure on each validation fold uses weights learnt
on the other folds' held-out ratings, so no rating takes part in both learning the weights and
scoring them. The winner is the setting with the best blend; its weights learnt on every
fold's held-out ratings are what fold_in.LEARNT_BLEND ships.

The MovieLens folder is --dataset, else $CINELIBRE_SHARED_DATA/movielens/ml-100k.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from cinelibre.recommend.algorithms.fold_in import (
    CORRECTED_BIASES,
    CORRECTED_MF,
    COUNT_TERMS,
    PARTS,
    Blend,
    blend_design,
)
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.evaluation import load_fold, ml100k_shape, validation_fold

SHARED_DATA = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
# Each setting varies one thing from the shipped model (64 factors, 0.12, 50 neighbours).
GRID = (
    {"factors": 64, "regularisation": 0.12, "neighbours": 50},
    {"factors": 64, "regularisation": 0.15, "neighbours": 50},
    {"factors": 64, "regularisation": 0.18, "neighbours": 50},
    {"factors": 64, "regularisation": 0.15, "neighbours": 100},
    {"factors": 128, "regularisation": 0.15, "neighbours": 50},
)
# Keeps the least squares well posed; small enough not to move the weights' third decimal.
RIDGE = 1e-3


def least_squares(design: np.ndarray, stars: np.ndarray) -> np.ndarray:
    """The weights (one per column of the design) minimising the squared error."""
    return np.linalg.solve(design.T @ design + RIDGE * np.eye(design.shape[1]), design.T @ stars)


def rmse(predicted: np.ndarray, stars: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.clip(predicted, 0.5, 5.0) - stars) ** 2)))


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--dataset", type=Path, default=SHARED_DATA / "movielens" / "ml-100k")
    arguments.add_argument("--folds", default="1,2,3,4,5")
    options = arguments.parse_args()
    numbers = [int(number) for number in options.folds.split(",")]
    shape = ml100k_shape(options.dataset)
    folds = {number: validation_fold(load_fold(options.dataset, number, shape)) for number in numbers}
    user_counts = np.concatenate([np.diff(fold.train.ratings.indptr)[fold.test_users] for fold in folds.values()])
    item_counts = np.concatenate(
        [np.bincount(fold.train.ratings.indices, minlength=shape[1])[fold.test_items] for fold in folds.values()]
    )
    print(f"held-out pairs' user ratings {user_counts.min()}-{user_counts.max()}, ", end="")
    print(f"item ratings {item_counts.min()}-{item_counts.max()} (fold_in's clipping ranges)")

    print(f"ml-100k validation folds of {options.folds}: held-out RMSE, mean over folds")
    print(f"{'settings':<48} {'MF':>7} {'MF+nb':>7} {'kNN bl':>7} {'fixed':>7} {'blend':>7} {'fit s':>6}")
    best = None
    for settings in GRID:
        designs, stars, fit_seconds = {}, {}, []
        for number, fold in folds.items():
            model = RatingModel(**settings)
            started = time.process_time()
            model.fit(fold.train)
            fit_seconds.append(time.process_time() - started)
            designs[number] = blend_design(*model.parts(fold.test_users, fold.test_items))
            stars[number] = fold.test_stars.astype(np.float64)
        figures = {"MF": [], "MF+nb": [], "kNN bl": [], "fixed": [], "blend": []}
        mf_alone = Blend.fixed(0.0, 1.0, 0.0, 0.0, 0.0)
        # Only the count terms' first column (1): the parts' weights without the counts.
        fixed_columns = np.arange(0, len(PARTS) * len(COUNT_TERMS), len(COUNT_TERMS))
        for number in numbers:
            design = designs[number]
            for name, blend in (("MF", mf_alone), ("MF+nb", CORRECTED_MF), ("kNN bl", CORRECTED_BIASES)):
                figures[name].append(rmse(design @ blend.weights.ravel(), stars[number]))
            others = [other for other in numbers if other != number] or [number]
            learning = np.concatenate([designs[other] for other in others])
            learnt_stars = np.concatenate([stars[other] for other in others])
            weights = least_squares(learning[:, fixed_columns], learnt_stars)
            figures["fixed"].append(rmse(design[:, fixed_columns] @ weights, stars[number]))
            weights = least_squares(learning, learnt_stars)
            figures["blend"].append(rmse(design @ weights, stars[number]))
        means = {name: float(np.mean(values)) for name, values in figures.items()}
        label = ", ".join(f"{key} {value}" for key, value in settings.items())
        cells = " ".join(f"{means[name]:>7.4f}" for name in figures)
        print(f"{label:<48} {cells} {np.mean(fit_seconds):>6.1f}", flush=True)
        for name, values in figures.items():
            print(f"    {name:<7} per fold: {' '.join(f'{value:.4f}' for value in values)}")
        shipped = least_squares(np.concatenate(list(designs.values())), np.concatenate(list(stars.values())))
        if best is None or means["blend"] < best[0]:
            best = (means["blend"], settings, shipped)
    assert best is not None
    score, settings, weights = best
    print(f"\nwinner: {settings} (blend {score:.4f})")
    print("weights learnt on every fold's held-out ratings (rows: PARTS, columns: COUNT_TERMS):")
    rows = weights.reshape(len(PARTS), len(COUNT_TERMS))
    print("[\n" + "\n".join("    [" + ", ".join(f"{value:.5f}" for value in row) + "]," for row in rows) + "\n]")


if __name__ == "__main__":
    main()
