"""Offline evaluation on MovieLens' canonical folds, through the same recommender classes the
service uses.

Definitions (the usual ones for these folds, so the figures compare with published baselines):
- rating prediction: RMSE and MAE of every test rating;
- top-N: for each test user, rank every item not in their training ratings; relevant = test
  ratings >= 4; users with at least one relevant item; NDCG@k with binary gains, precision@k,
  recall@k = hits / relevant items; coverage = share of the catalogue recommended to anyone;
  intra-list similarity = mean pairwise cosine similarity of a list's items' genre vectors;
  novelty = mean self-information of the listed items, -log2 of the share of training users who
  rated each; NDCG@k again for the users of each activity bucket (by training ratings).

Besides the table, two experiments refit the served hybrid on altered training data: cold start
(a sample of users keeps only a few of their training ratings) and views (half the training
ratings become views without stars). tuning.py chooses hyper-parameters on validation folds.
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

from cinelibre.experiments.configurations import CONFIGURATIONS
from cinelibre.recommend.algorithms import blend, hybrid, ranking
from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.baseline import BiasBaseline, GlobalMean
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION, Hybrid
from cinelibre.recommend.algorithms.item_knn import ItemKNN
from cinelibre.recommend.algorithms.mf import BiasedMF
from cinelibre.recommend.algorithms.popular import MostRated, Popular
from cinelibre.recommend.algorithms.rating_model import CorrectedBiases, CorrectedMF, RatingModel
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

    values: dict[str, list[float | None]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def add(self, metric: str, value: float | None) -> None:
        self.values.setdefault(metric, []).append(value)

    def add_all(self, metrics: dict[str, float | None]) -> None:
        for metric, value in metrics.items():
            self.add(metric, value)

    def mean(self, metric: str) -> float | None:
        """The mean over the folds that measured it: a fold without users in an activity bucket
        holds None for that bucket."""
        values = [value for value in self.values.get(metric, ()) if value is not None]
        return float(np.mean(values)) if values else None

    def mean_cells(self) -> list[str]:
        """The mean of each of TABLE_METRICS, to three decimals ("–" where not measured)."""
        means = (self.mean(metric) for metric in TABLE_METRICS)
        return ["–" if value is None else f"{value:.3f}" for value in means]


# Users by how many training ratings they have: (label, fewest, most), None for no upper bound.
ACTIVITY_BUCKETS = (("1-20", 1, 20), ("21-100", 21, 100), (">100", 101, None))

# The columns of the evaluation table, in order.
TABLE_METRICS = (
    "RMSE",
    "MAE",
    "NDCG@10",
    "P@10",
    "R@10",
    "coverage",
    "ILS",
    "novelty",
    *(f"NDCG@10 {label}" for label, _, _ in ACTIVITY_BUCKETS),
    "fit s",
)


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


def activity_bucket(ratings: int) -> str | None:
    """The label of the activity bucket of a user with `ratings` training ratings (None for 0)."""
    for label, fewest, most in ACTIVITY_BUCKETS:
        if ratings >= fewest and (most is None or ratings <= most):
            return label
    return None


def self_information(train: RatingMatrix) -> np.ndarray:
    """Per item, -log2 of the share of training users (those with a rating) who rated it. An item
    nobody rated counts as rated by one user, the rarest an item can be, so that novelty stays
    finite."""
    ratings = train.ratings.tocsc()
    raters = np.maximum(np.diff(ratings.indptr), 1)
    users = max(int((np.diff(train.ratings.indptr) > 0).sum()), 1)
    return -np.log2(raters / users)


def ranking_metrics(
    model: Recommender,
    fold: Fold,
    item_vectors: np.ndarray,
    k: int = 10,
    left_out: sparse.csr_matrix | None = None,
) -> dict[str, float | None]:
    """Top-k metrics of `model` on `fold`'s users with a relevant test rating. Each list leaves
    out what the model leaves out by default (the user's training ratings) or, with `left_out`,
    the items of the user's row there (used when training was altered, so that the candidates
    stay those of the unaltered fold)."""
    relevant_mask = fold.test_stars >= RELEVANT_STARS
    relevant: dict[int, set[int]] = {}
    for user, item in zip(fold.test_users[relevant_mask], fold.test_items[relevant_mask], strict=True):
        relevant.setdefault(int(user), set()).add(int(item))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    surprise = self_information(fold.train)
    activity = np.diff(fold.train.ratings.indptr)
    ndcg, precision, recall, similarity, novelty = [], [], [], [], []
    by_bucket: dict[str, list[float]] = {label: [] for label, _, _ in ACTIVITY_BUCKETS}
    recommended: set[int] = set()
    for user, wanted in relevant.items():
        exclude = None if left_out is None else left_out.indices[left_out.indptr[user] : left_out.indptr[user + 1]]
        top = model.recommend(user, k, exclude=exclude)
        hits = np.array([item in wanted for item in top], dtype=np.float64)
        ideal = discounts[: min(k, len(wanted))].sum()
        ndcg.append(float(hits @ discounts[: len(hits)]) / ideal)
        bucket = activity_bucket(int(activity[user]))
        if bucket is not None:
            by_bucket[bucket].append(ndcg[-1])
        precision.append(hits.sum() / k)
        recall.append(hits.sum() / len(wanted))
        recommended.update(int(item) for item in top)
        if len(top):
            novelty.append(float(surprise[top].mean()))
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
        "novelty": float(np.mean(novelty)) if novelty else 0.0,
        **{f"NDCG@{k} {label}": float(np.mean(values)) if values else None for label, values in by_bucket.items()},
    }


def default_models(item_vectors: np.ndarray) -> list[Callable[[], Recommender]]:
    """Baselines, the Pearson user-kNN, biased MF alone, the rating model's parts (its MF's
    biases, then MF, each corrected by the user's errors on similar items) and its blend, EASE
    dense on plain feedback (the reference) and on centred ratings, and as stored (the ranking
    model: top links on centred ratings), and the hybrid the API serves, with and without its
    diversity step."""
    return [
        GlobalMean,
        BiasBaseline,
        MostRated,
        Popular,
        PearsonUserKNN,
        ItemKNN,
        BiasedMF,
        CorrectedBiases,
        CorrectedMF,
        RatingModel,
        EASE,
        partial(EASE, EASE_REGULARISATION, rating_emphasis=blend.RATING_EMPHASIS),
        partial(EASE, EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS, rating_emphasis=blend.RATING_EMPHASIS),
        partial(Hybrid, item_vectors, CONFIGURATIONS["no-diversity"]),
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
    advance = start_progress(f"Evaluating {len(makers)} algorithms on {_on_folds(folds)}", len(makers) * len(folds))
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
                scores.add_all(rating_metrics(model, fold))
            if model.name != GlobalMean.name:
                scores.add_all(ranking_metrics(model, fold, item_vectors))
            advance(1)
    return results


@dataclass
class Experiment:
    """NDCG@10 of a few models under several training conditions (rows), one value per fold, and
    how many users each fold measured."""

    rows: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    users: list[int] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, row: str, model: str, value: float) -> None:
        self.rows.setdefault(row, {}).setdefault(model, []).append(value)

    def models(self) -> list[str]:
        return list(dict.fromkeys(model for figures in self.rows.values() for model in figures))

    def mean_cells(self) -> list[list[str]]:
        """One table row per condition: its label, then each model's mean over folds."""
        return [
            [row, *(f"{np.mean(figures[model]):.3f}" if figures.get(model) else "–" for model in self.models())]
            for row, figures in self.rows.items()
        ]

    def document(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "users": self.users,
            "rows": {
                row: {model: {"folds": values, "mean": float(np.mean(values))} for model, values in figures.items()}
                for row, figures in self.rows.items()
            },
        }


# Cold start: per fold, COLD_START_USERS test users (drawn with the fold's number added to the
# seed) among those with at least COLD_START_MIN_RATINGS training ratings and a relevant test
# rating keep only COLD_START_KEPT of their training ratings, drawn at random and nested (the 3
# kept include the 1); everyone else keeps theirs.
COLD_START_USERS = 100
COLD_START_MIN_RATINGS = 20
COLD_START_KEPT = (0, 1, 3, 5, 10)
COLD_START_SEED = 7100
COLD_START_AS_VIEWS = "0 ratings, training items as views"
# The same users with every training rating: what the cut-down rows fall short of.
COLD_START_ALL = "all their training ratings"
# Views: per fold, this share of the training ratings, at random, loses its stars and becomes views.
VIEWED_SHARE = 0.5
VIEWS_SEED = 7200
VIEWS_ROWS = ("half the ratings", "half the ratings + the other half as views", "all the ratings")


def experiment_models(item_vectors: np.ndarray) -> list[Callable[[], Recommender]]:
    """What the experiments refit: the served hybrid, the popular list a new user falls back on,
    and the ranking model alone (which learns from views whatever the blend makes of them)."""
    return [
        partial(Hybrid, item_vectors),
        Popular,
        partial(EASE, EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS, rating_emphasis=blend.RATING_EMPHASIS),
    ]


def _with_views(
    users: np.ndarray, items: np.ndarray, stars: np.ndarray, viewed: np.ndarray, shape: tuple[int, int]
) -> RatingMatrix:
    """The ratings not `viewed`, and the `viewed` pairs as views without stars, weighted as the
    service weighs them."""
    from cinelibre.recommend.training import VIEW_WEIGHT

    kept = ~viewed
    ratings = RatingMatrix.from_triples(users[kept], items[kept], stars[kept], shape).ratings
    weights = np.full(int(viewed.sum()), VIEW_WEIGHT, dtype=np.float32)
    interactions = sparse.csr_matrix((weights, (users[viewed], items[viewed])), shape=shape)
    return RatingMatrix(ratings, interactions=interactions if viewed.any() else None)


def cold_start_sample(fold: Fold, number: int, size: int = COLD_START_USERS) -> np.ndarray:
    """The fold's cold-start users, sorted: a seeded draw among test users with a relevant test
    rating and at least COLD_START_MIN_RATINGS training ratings."""
    counts = np.diff(fold.train.ratings.indptr)
    relevant = np.unique(fold.test_users[fold.test_stars >= RELEVANT_STARS])
    eligible = relevant[counts[relevant] >= COLD_START_MIN_RATINGS]
    rng = np.random.default_rng(COLD_START_SEED + number)
    return np.sort(rng.choice(eligible, size=min(size, len(eligible)), replace=False))


def cold_start_trainings(fold: Fold, sampled: np.ndarray, number: int) -> dict[str, RatingMatrix]:
    """Per condition (ratings kept, then the views row, then the unaltered fold), the fold's
    training data with the sampled users' ratings cut down. Each sampled user's ratings are put in one random order
    (seeded by the fold's number) and the first few kept, so smaller sets nest in larger ones."""
    ratings = fold.train.ratings.tocoo()
    users, items, stars = ratings.row.astype(np.int64), ratings.col.astype(np.int64), ratings.data
    order = np.lexsort((np.random.default_rng(COLD_START_SEED + number).random(len(users)), users))
    first_of_user = np.searchsorted(users[order], users[order], side="left")
    place = np.empty(len(users), dtype=np.int64)
    place[order] = np.arange(len(users)) - first_of_user
    in_sample = np.isin(users, sampled)
    trainings = {}
    for kept in COLD_START_KEPT:
        keep = ~in_sample | (place < kept)
        trainings[f"{kept} ratings"] = RatingMatrix.from_triples(users[keep], items[keep], stars[keep], ratings.shape)
    trainings[COLD_START_AS_VIEWS] = _with_views(users, items, stars, in_sample, ratings.shape)
    trainings[COLD_START_ALL] = fold.train
    return trainings


def _only_users(fold: Fold, users: np.ndarray) -> Fold:
    chosen = np.isin(fold.test_users, users)
    return Fold(fold.train, fold.test_users[chosen], fold.test_items[chosen], fold.test_stars[chosen])


def _measure(
    experiment: Experiment,
    row: str,
    train: RatingMatrix,
    fold: Fold,
    makers: list[Callable[[], Recommender]],
    item_vectors: np.ndarray,
    known: dict[str, float] | None = None,
) -> None:
    """Fit each model on `train` and score it on `fold`'s test ratings, every list leaving out
    the user's training ratings of the unaltered fold. A model whose figure is `known` (measured
    on the same training data and test users) is not fitted again."""
    altered = Fold(train, fold.test_users, fold.test_items, fold.test_stars)
    for make in makers:
        model = make()
        if known is not None and model.name in known:
            experiment.add(row, model.name, known[model.name])
            continue
        model.fit(train)
        metrics = ranking_metrics(model, altered, item_vectors, left_out=fold.train.ratings)
        experiment.add(row, model.name, metrics["NDCG@10"])


def evaluate_cold_start(
    dataset: Path,
    folds: tuple[int, ...] = FOLDS,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda steps: None,
) -> Experiment:
    """NDCG@10 of the experiment's models for the sampled users of each fold, at each number of
    training ratings kept, with none but all their training items as views, and with all their
    training ratings."""
    shape = ml100k_shape(dataset)
    item_vectors = genre_vectors(dataset)
    makers = experiment_models(item_vectors)
    experiment = Experiment(
        settings={
            "users_per_fold": COLD_START_USERS,
            "min_training_ratings": COLD_START_MIN_RATINGS,
            "kept": list(COLD_START_KEPT),
            "seed": COLD_START_SEED,
        }
    )
    conditions = len(COLD_START_KEPT) + 2
    advance = start_progress(f"Cold start: {conditions} trainings on {_on_folds(folds)}", conditions * len(folds))
    for number in folds:
        fold = load_fold(dataset, number, shape)
        sampled = cold_start_sample(fold, number)
        experiment.users.append(len(sampled))
        measured = _only_users(fold, sampled)
        for row, train in cold_start_trainings(fold, sampled, number).items():
            if len(sampled):
                _measure(experiment, row, train, measured, makers, item_vectors)
            advance(1)
    return experiment


def views_training(fold: Fold, number: int) -> RatingMatrix:
    """The fold's training data with VIEWED_SHARE of its ratings, drawn at random (seeded by
    the fold's number), turned into views without stars."""
    ratings = fold.train.ratings.tocoo()
    viewed = np.random.default_rng(VIEWS_SEED + number).random(ratings.nnz) < VIEWED_SHARE
    return _with_views(ratings.row.astype(np.int64), ratings.col.astype(np.int64), ratings.data, viewed, ratings.shape)


def evaluate_views(
    dataset: Path,
    folds: tuple[int, ...] = FOLDS,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda steps: None,
    measured: dict[str, Scores] | None = None,
) -> Experiment:
    """NDCG@10 of the experiment's models (popular aside) on each fold's test ratings, trained on
    half the ratings, on that half plus the other half as views, and on all the ratings. With
    `measured` (evaluate_ml100k's results on the same `folds`), the last row takes its figures
    from there: the same models on the same training data, scored on the same users."""
    shape = ml100k_shape(dataset)
    item_vectors = genre_vectors(dataset)
    makers = [make for make in experiment_models(item_vectors) if make is not Popular]
    experiment = Experiment(settings={"viewed_share": VIEWED_SHARE, "seed": VIEWS_SEED})
    advance = start_progress(f"Views: {len(VIEWS_ROWS)} trainings on {_on_folds(folds)}", len(VIEWS_ROWS) * len(folds))
    for position, number in enumerate(folds):
        fold = load_fold(dataset, number, shape)
        with_views = views_training(fold, number)
        half = RatingMatrix(with_views.ratings)
        experiment.users.append(len(np.unique(fold.test_users[fold.test_stars >= RELEVANT_STARS])))
        known = {
            name: ndcg[position]
            for name, scores in (measured or {}).items()
            if len(ndcg := scores.values.get("NDCG@10", [])) == len(folds)
        }
        for row, train in zip(VIEWS_ROWS, (half, with_views, fold.train), strict=True):
            _measure(experiment, row, train, fold, makers, item_vectors, known if train is fold.train else None)
            advance(1)
    return experiment


def _on_folds(folds: tuple[int, ...]) -> str:
    return f"{len(folds)} folds" if len(folds) != 1 else f"fold {folds[0]}"


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
        "ease_rating_emphasis": blend.RATING_EMPHASIS,
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


def results_document(
    results: dict[str, Scores],
    *,
    dataset: str,
    folds: tuple[int, ...],
    cold_start: Experiment | None = None,
    views: Experiment | None = None,
) -> dict[str, Any]:
    """Everything an evaluation run measured, as JSON-ready data: the code's commit, the ranking
    settings, each algorithm's parameters, its figures on each fold (in `folds` order) and their
    means; then the cold-start and views experiments, when they ran."""
    experiments = {"cold_start": cold_start, "views": views}
    return {
        "dataset": dataset,
        "folds": list(folds),
        "commit": source_commit(),
        "settings": ranking_settings(),
        "models": {name: scores.parameters for name, scores in results.items()},
        "algorithms": {name: scores.values for name, scores in results.items()},
        "means": {name: {metric: scores.mean(metric) for metric in scores.values} for name, scores in results.items()},
        **{key: experiment.document() for key, experiment in experiments.items() if experiment is not None},
    }


def write_results(
    results: dict[str, Scores],
    path: Path,
    *,
    dataset: str,
    folds: tuple[int, ...],
    cold_start: Experiment | None = None,
    views: Experiment | None = None,
) -> None:
    document = results_document(results, dataset=dataset, folds=folds, cold_start=cold_start, views=views)
    path.write_text(json.dumps(document, indent=2) + "\n")
