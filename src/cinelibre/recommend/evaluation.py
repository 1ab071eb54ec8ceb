"""Offline evaluation on MovieLens' canonical folds, through the same recommender classes the
service uses.

Definitions (the usual ones for these folds, so the figures compare with published baselines):
- rating prediction: RMSE and MAE of every test rating;
- top-N: for each test user, rank every item not in their training ratings; relevant = test
  ratings >= 4; users with at least one relevant item; NDCG@k with binary gains, precision@k,
  recall@k = hits / relevant items; coverage = share of the catalogue recommended to anyone;
  intra-list similarity = mean pairwise cosine similarity of a list's items' genre vectors.
"""

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from cinelibre.recommend.algorithms import blend, hybrid, ranking
from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.baseline import BiasBaseline, GlobalMean
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION, Hybrid
from cinelibre.recommend.algorithms.item_knn import ItemKNN
from cinelibre.recommend.algorithms.mf import BiasedMF
from cinelibre.recommend.algorithms.popular import MostRated, Popular
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.algorithms.user_knn import PearsonUserKNN

RELEVANT_STARS = 4.0
FOLDS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Fold:
    train: RatingMatrix
    test_users: np.ndarray
    test_items: np.ndarray
    test_stars: np.ndarray


@dataclass
class Scores:
    """One algorithm's metrics, one value per fold, and the settings it was built with."""

    values: dict[str, list[float]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def add(self, metric: str, value: float) -> None:
        self.values.setdefault(metric, []).append(value)

    def mean(self, metric: str) -> float | None:
        values = self.values.get(metric)
        return float(np.mean(values)) if values else None

    def mean_cells(self) -> list[str]:
        """The mean of each of TABLE_METRICS, to three decimals ("–" where not measured)."""
        means = (self.mean(metric) for metric in TABLE_METRICS)
        return ["–" if value is None else f"{value:.3f}" for value in means]


# The columns of the evaluation table, in order.
TABLE_METRICS = ("RMSE", "MAE", "NDCG@10", "P@10", "R@10", "coverage", "ILS", "fit s")


def _read_triples(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    return table[:, 0] - 1, table[:, 1] - 1, table[:, 2].astype(np.float32)


def ml100k_shape(dataset: Path) -> tuple[int, int]:
    users, items, _ = _read_triples(dataset / "u.data")
    return int(users.max()) + 1, int(items.max()) + 1


def load_fold(dataset: Path, number: int, shape: tuple[int, int]) -> Fold:
    users, items, stars = _read_triples(dataset / f"u{number}.base")
    test_users, test_items, test_stars = _read_triples(dataset / f"u{number}.test")
    return Fold(RatingMatrix.from_triples(users, items, stars, shape), test_users, test_items, test_stars)


# Share of a training fold's ratings held out to choose hyper-parameters on, as the canonical
# folds hold out a share of all ratings: at random, whatever the user or item.
VALIDATION_SHARE = 0.2
VALIDATION_SEED = 2019


def validation_fold(fold: Fold, share: float = VALIDATION_SHARE, seed: int = VALIDATION_SEED) -> Fold:
    """A fold carved from `fold`'s training ratings alone: `share` of them, drawn at random, become
    its test ratings, the rest its training ratings (with the interactions of the held-out pairs
    dropped too). Every hyper-parameter is chosen by scores on such folds; the test ratings of
    `fold` are never looked at."""
    ratings = fold.train.ratings.tocoo()
    held_out = np.random.default_rng(seed).random(ratings.nnz) < share
    kept = ~held_out
    train = RatingMatrix.from_triples(ratings.row[kept], ratings.col[kept], ratings.data[kept], ratings.shape)
    interactions = fold.train.interactions
    if interactions is not None:
        remaining = interactions.tocoo()
        dropped = {(int(u), int(i)) for u, i in zip(ratings.row[held_out], ratings.col[held_out], strict=True)}
        keep = np.array([(int(u), int(i)) not in dropped for u, i in zip(remaining.row, remaining.col, strict=True)])
        keep = keep.astype(bool) if len(keep) else np.zeros(0, dtype=bool)
        interactions = sparse.csr_matrix(
            (remaining.data[keep], (remaining.row[keep], remaining.col[keep])), shape=ratings.shape
        )
        train = RatingMatrix(train.ratings, interactions=interactions)
    return Fold(
        train,
        ratings.row[held_out].astype(np.int64),
        ratings.col[held_out].astype(np.int64),
        ratings.data[held_out].astype(np.float32),
    )


def genre_vectors(dataset: Path) -> np.ndarray:
    """ml-100k's 19 genre flags per item, unit length (for intra-list similarity)."""
    rows = [line.split("|")[5:] for line in (dataset / "u.item").read_text(encoding="latin-1").splitlines() if line]
    flags = np.array([[float(flag) for flag in row] for row in rows])
    norms = np.linalg.norm(flags, axis=1, keepdims=True)
    return np.divide(flags, norms, out=np.zeros_like(flags), where=norms > 0)


def rating_metrics(model: Recommender, fold: Fold) -> dict[str, float]:
    predicted = model.predict(fold.test_users, fold.test_items)
    errors = predicted - fold.test_stars
    return {"RMSE": float(np.sqrt(np.mean(errors**2))), "MAE": float(np.mean(np.abs(errors)))}


def ranking_metrics(model: Recommender, fold: Fold, item_vectors: np.ndarray, k: int = 10) -> dict[str, float]:
    relevant_mask = fold.test_stars >= RELEVANT_STARS
    relevant: dict[int, set[int]] = {}
    for user, item in zip(fold.test_users[relevant_mask], fold.test_items[relevant_mask], strict=True):
        relevant.setdefault(int(user), set()).add(int(item))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, precision, recall, similarity = [], [], [], []
    recommended: set[int] = set()
    for user, wanted in relevant.items():
        top = model.recommend(user, k)
        hits = np.array([item in wanted for item in top], dtype=np.float64)
        ideal = discounts[: min(k, len(wanted))].sum()
        ndcg.append(float(hits @ discounts[: len(hits)]) / ideal)
        precision.append(hits.sum() / k)
        recall.append(hits.sum() / len(wanted))
        recommended.update(int(item) for item in top)
        vectors = item_vectors[top]
        pairs = len(top) * (len(top) - 1)
        if pairs:
            gram = vectors @ vectors.T
            similarity.append(float((gram.sum() - np.trace(gram)) / pairs))
    return {
        f"NDCG@{k}": float(np.mean(ndcg)),
        f"P@{k}": float(np.mean(precision)),
        f"R@{k}": float(np.mean(recall)),
        "coverage": len(recommended) / fold.train.shape[1],
        "ILS": float(np.mean(similarity)) if similarity else 0.0,
    }


def default_models(item_vectors: np.ndarray) -> list[Callable[[], Recommender]]:
    """Baselines, the Pearson user-kNN, biased MF alone and as the rating model, EASE dense (the
    reference) and as stored (the ranking model), and the hybrid the API serves, with and without
    its diversity step."""
    return [
        GlobalMean,
        BiasBaseline,
        MostRated,
        Popular,
        PearsonUserKNN,
        ItemKNN,
        BiasedMF,
        RatingModel,
        EASE,
        partial(EASE, EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS),
        partial(Hybrid, item_vectors, diversity=0.0),
        partial(Hybrid, item_vectors),
    ]


def evaluate_ml100k(
    dataset: Path,
    models: list[Callable[..., Recommender]] | None = None,
    folds: tuple[int, ...] = FOLDS,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda steps: None,
) -> dict[str, Scores]:
    """Every model on every fold; returns each model's scores by name. `start_progress(description,
    models × folds)` is called once, and what it returns is advanced as each model is scored."""
    shape = ml100k_shape(dataset)
    item_vectors = genre_vectors(dataset)
    makers = models or default_models(item_vectors)
    on_folds = f"{len(folds)} folds" if len(folds) != 1 else f"fold {folds[0]}"
    advance = start_progress(f"Evaluating {len(makers)} algorithms on {on_folds}", len(makers) * len(folds))
    results: dict[str, Scores] = {}
    for number in folds:
        fold = load_fold(dataset, number, shape)
        for make in makers:
            model = make()
            scores = results.setdefault(model.name, Scores(parameters=model_parameters(model)))
            started = time.perf_counter()
            model.fit(fold.train)
            scores.add("fit s", time.perf_counter() - started)
            if model.predicts_ratings:
                for metric, value in rating_metrics(model, fold).items():
                    scores.add(metric, value)
            if model.name != GlobalMean.name:
                for metric, value in ranking_metrics(model, fold, item_vectors).items():
                    scores.add(metric, value)
            advance(1)
    return results


def model_parameters(model: Recommender) -> dict[str, Any]:
    """What a model was built with, before fitting (after, it also holds what it learnt): its
    plain settings, and those of the models it combines."""
    parameters: dict[str, Any] = {}
    for key, value in vars(model).items():
        if key == "name" or key.startswith("_"):
            continue
        if isinstance(value, Recommender):
            parameters[key] = {"model": value.name, **model_parameters(value)}
        elif value is None or isinstance(value, bool | int | float | str):
            parameters[key] = value
    return parameters


def ranking_settings() -> dict[str, Any]:
    """The settings the served list is ranked with (blend, ranking, hybrid), and what counts as
    relevant: what a figure of the hybrid depends on besides the model parameters."""
    return {
        "relevant_stars": RELEVANT_STARS,
        "collaborative_full_weight_at_ratings": blend.CF_FULL_WEIGHT_AT,
        "content_floor": blend.CONTENT_FLOOR,
        "popularity_weight": blend.POPULARITY_WEIGHT,
        "rating_weight": blend.RATING_WEIGHT,
        "diversity": blend.DIVERSITY,
        "shortlist_factor": blend.SHORTLIST_FACTOR,
        "fresh_min_list": blend.FRESH_MIN_LIST,
        "fresh_min_similarity": blend.FRESH_MIN_SIMILARITY,
        "fresh_place": ranking.FRESH_PLACE,
        "liked_stars": hybrid.LIKED_STARS,
        "ease_regularisation": EASE_REGULARISATION,
        "ease_neighbours": EASE_NEIGHBOURS,
    }


def source_commit() -> str | None:
    """The git commit of the code that ran, with "-dirty" if the package's files had uncommitted
    changes; None outside a git checkout (an installed package) or without git."""
    here = Path(__file__).parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if changed else commit


def results_document(results: dict[str, Scores], *, dataset: str, folds: tuple[int, ...]) -> dict[str, Any]:
    """Everything an evaluation run measured, as JSON-ready data: the code's commit, the ranking
    settings, each algorithm's parameters, its figures on each fold (in `folds` order) and their
    means."""
    return {
        "dataset": dataset,
        "folds": list(folds),
        "commit": source_commit(),
        "settings": ranking_settings(),
        "models": {name: scores.parameters for name, scores in results.items()},
        "algorithms": {name: scores.values for name, scores in results.items()},
        "means": {name: {metric: scores.mean(metric) for metric in scores.values} for name, scores in results.items()},
    }


def write_results(results: dict[str, Scores], path: Path, *, dataset: str, folds: tuple[int, ...]) -> None:
    path.write_text(json.dumps(results_document(results, dataset=dataset, folds=folds), indent=2) + "\n")
