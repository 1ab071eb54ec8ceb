"""Choosing hyper-parameters without looking at the test folds.

Each tunable setting is a model factory, a grid of keyword values and the metric it is chosen on
(NDCG@10 for ranking models, RMSE for rating models). For every chosen canonical training fold,
evaluation.validation_fold() holds out a share of its training ratings; every value of the grid
is fitted on the rest and scored on the held-out ratings only, and the value with the best mean
over the folds wins. The folds' test ratings (uN.test) are never read.

To tune something new, add one Tunable to registry().
"""

import inspect
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import Recommender
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION, Hybrid
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.evaluation import (
    FOLDS,
    VALIDATION_SEED,
    VALIDATION_SHARE,
    Fold,
    genre_vectors,
    load_fold,
    ml100k_shape,
    model_parameters,
    ranking_metrics,
    rating_metrics,
    source_commit,
    validation_fold,
)

# Metrics where a smaller figure is the better one; every other metric is better larger.
LOWER_IS_BETTER = frozenset({"RMSE", "MAE"})


@dataclass(frozen=True)
class Tunable:
    """One setting to tune. `factory(**values)` builds the model for one combination of the
    grid's values (every combination is tried); `shipped` holds the values the service uses
    now. With `after_fit`, the grid's keywords only change how a fitted model answers (they are
    attributes set after fitting, like the hybrid's diversity), so one fit per fold serves the
    whole grid."""

    name: str
    factory: Callable[..., Recommender]
    grid: dict[str, tuple[Any, ...]]
    metric: str
    shipped: dict[str, Any]
    after_fit: bool = False

    def combinations(self) -> list[dict[str, Any]]:
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.grid.values())]


def defaults(factory: Callable[..., Recommender], *keywords: str) -> dict[str, Any]:
    """The default values of a factory's keywords: what a model built without them uses."""
    parameters = inspect.signature(factory).parameters
    return {keyword: parameters[keyword].default for keyword in keywords}


def registry(item_vectors: np.ndarray) -> list[Tunable]:
    """Every tunable setting, with the grid it is tuned over. Each varies one thing and holds the
    others at their shipped values; the served hybrid's content signal uses `item_vectors`."""
    served_ease = partial(EASE, neighbours=EASE_NEIGHBOURS, rating_emphasis=blend.RATING_EMPHASIS)
    return [
        Tunable(
            "EASE regularisation",
            served_ease,
            {"regularisation": (100.0, 200.0, 300.0, 500.0, 800.0, 1200.0)},
            "NDCG@10",
            {"regularisation": EASE_REGULARISATION},
        ),
        Tunable(
            "EASE neighbours kept (None: dense)",
            partial(EASE, EASE_REGULARISATION, rating_emphasis=blend.RATING_EMPHASIS),
            {"neighbours": (100, 200, 400, None)},
            "NDCG@10",
            {"neighbours": EASE_NEIGHBOURS},
        ),
        # EASE alone; benchmarks/tune_ranking.py chooses it jointly with λ and the blend's weights.
        Tunable(
            "EASE rating emphasis (ratings centred on the user's mean)",
            partial(EASE, EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS),
            {"rating_emphasis": (0.0, 0.2, 0.3, 0.4, 0.5)},
            "NDCG@10",
            {"rating_emphasis": blend.RATING_EMPHASIS},
        ),
        Tunable(
            "rating model factors",
            RatingModel,
            {"factors": (16, 32, 64, 128)},
            "RMSE",
            defaults(RatingModel, "factors"),
        ),
        Tunable(
            "rating model regularisation",
            RatingModel,
            {"regularisation": (0.04, 0.08, 0.12, 0.15, 0.18, 0.25)},
            "RMSE",
            defaults(RatingModel, "regularisation"),
        ),
        Tunable(
            "rating model neighbours",
            RatingModel,
            {"neighbours": (20, 50, 100, 200)},
            "RMSE",
            defaults(RatingModel, "neighbours"),
        ),
        Tunable(
            "rating model shrinkage",
            RatingModel,
            {"shrinkage": (25.0, 50.0, 100.0, 200.0)},
            "RMSE",
            defaults(RatingModel, "shrinkage"),
        ),
        # The learnt blend's weights were fitted on these same held-out ratings, so its figure
        # here flatters it a little; benchmarks/tune_rating.py scores each validation fold with
        # weights learnt on the other four (0.9098 against 0.9176 for MF with its correction).
        Tunable(
            "rating model blend (learnt: weights fitted on these ratings)",
            RatingModel,
            {"blend": ("corrected MF", "corrected biases", "learnt")},
            "RMSE",
            defaults(RatingModel, "blend"),
        ),
        Tunable(
            "hybrid diversity",
            partial(Hybrid, item_vectors),
            {"diversity": (0.0, 0.05, 0.1, 0.2, 0.3)},
            "NDCG@10",
            {"diversity": blend.DIVERSITY},
            after_fit=True,
        ),
    ]


@dataclass
class Tuned:
    """A setting's figures: for each combination of its grid (in grid order), each metric's value
    on every validation fold."""

    tunable: Tunable
    figures: list[dict[str, list[float | None]]] = field(default_factory=list)

    def mean(self, combination: int, metric: str) -> float | None:
        values = [value for value in self.figures[combination].get(metric, ()) if value is not None]
        return float(np.mean(values)) if values else None

    def winner(self) -> int:
        """The combination with the best mean of the setting's metric; the first in grid order
        among equals."""
        metric = self.tunable.metric
        sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        means = [self.mean(index, metric) for index in range(len(self.figures))]
        return min(range(len(means)), key=lambda index: np.inf if means[index] is None else sign * means[index])

    def shipped(self) -> int | None:
        """The combination the service uses now, if the grid holds it."""
        for index, combination in enumerate(self.tunable.combinations()):
            if all(self.tunable.shipped.get(key) == value for key, value in combination.items()):
                return index
        return None

    def columns(self) -> list[str]:
        secondary = [metric for metric in self.secondary_metrics() if metric != self.tunable.metric]
        return [*self.tunable.grid, self.tunable.metric, *secondary, ""]

    def secondary_metrics(self) -> list[str]:
        if self.tunable.metric in LOWER_IS_BETTER:
            return ["RMSE", "MAE"]
        return ["NDCG@10", "P@10", "coverage", "ILS", "novelty"]

    def rows(self) -> list[list[str]]:
        """One row per combination: its values, the mean of its metric (then of related
        metrics) over the folds, and which is the winner and which is shipped."""
        winner, shipped = self.winner(), self.shipped()
        metrics = self.columns()[len(self.tunable.grid) : -1]
        rows = []
        for index, combination in enumerate(self.tunable.combinations()):
            means = (self.mean(index, metric) for metric in metrics)
            marks = [label for label, chosen in (("winner", winner), ("shipped", shipped)) if chosen == index]
            rows.append(
                [
                    *(str(value) for value in combination.values()),
                    *("–" if mean is None else f"{mean:.4f}" for mean in means),
                    " + ".join(marks),
                ]
            )
        return rows

    def document(self) -> dict[str, Any]:
        combinations = self.tunable.combinations()
        shipped = self.shipped()
        return {
            "name": self.tunable.name,
            "metric": self.tunable.metric,
            "lower_is_better": self.tunable.metric in LOWER_IS_BETTER,
            "grid": {key: list(values) for key, values in self.tunable.grid.items()},
            "shipped": self.tunable.shipped,
            "shipped_in_grid": shipped is not None,
            "winner": combinations[self.winner()],
            "results": [
                {
                    "values": combination,
                    "folds": self.figures[index],
                    "means": {metric: self.mean(index, metric) for metric in self.figures[index]},
                }
                for index, combination in enumerate(combinations)
            ],
        }


def _measure(model: Recommender, fold: Fold, item_vectors: np.ndarray) -> dict[str, float | None]:
    """Every metric of a fitted model on the validation fold's held-out ratings."""
    metrics: dict[str, float | None] = {}
    if model.predicts_ratings:
        metrics.update(rating_metrics(model, fold))
    metrics.update(ranking_metrics(model, fold, item_vectors))
    return metrics


def _identity(model: Recommender) -> str:
    """What makes two built models the same model, so a combination two settings share (the
    shipped values, usually) is fitted once per fold."""
    return json.dumps([type(model).__qualname__, model_parameters(model)], sort_keys=True, default=str)


def tune(
    tunables: list[Tunable],
    validation_folds: dict[int, Fold],
    item_vectors: np.ndarray,
    advance: Callable[[int], None] = lambda steps: None,
) -> list[Tuned]:
    """Every combination of every setting fitted on each validation fold's training ratings and
    scored on its held-out ratings. `advance(1)` is called after each combination on each fold."""
    tuned = [Tuned(tunable, [{} for _ in tunable.combinations()]) for tunable in tunables]
    for fold in validation_folds.values():
        measured: dict[str, dict[str, float | None]] = {}  # this fold's figures by model identity
        for setting in tuned:
            tunable = setting.tunable
            fitted = None
            for index, combination in enumerate(tunable.combinations()):
                if tunable.after_fit:
                    if fitted is None:
                        fitted = tunable.factory()
                    model = fitted
                    for key, value in combination.items():
                        setattr(model, key, value)
                else:
                    model = tunable.factory(**combination)
                identity = _identity(model)
                if identity not in measured:
                    if not hasattr(model, "matrix"):
                        model.fit(fold.train)
                    measured[identity] = _measure(model, fold, item_vectors)
                for metric, value in measured[identity].items():
                    setting.figures[index].setdefault(metric, []).append(value)
                advance(1)
    return tuned


def validation_folds(dataset: Path, folds: tuple[int, ...]) -> dict[int, Fold]:
    """The validation fold of each chosen canonical training fold (uN.base), by fold number."""
    shape = ml100k_shape(dataset)
    return {number: validation_fold(load_fold(dataset, number, shape)) for number in folds}


def tune_ml100k(
    dataset: Path,
    folds: tuple[int, ...] = FOLDS,
    tunables: list[Tunable] | None = None,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda steps: None,
) -> list[Tuned]:
    """The registry's settings (or `tunables`) tuned on the validation folds of `folds`."""
    item_vectors = genre_vectors(dataset)
    chosen = tunables if tunables is not None else registry(item_vectors)
    steps = len(folds) * sum(len(tunable.combinations()) for tunable in chosen)
    on_folds = f"{len(folds)} validation folds" if len(folds) != 1 else f"the validation fold of fold {folds[0]}"
    advance = start_progress(f"Tuning {len(chosen)} settings on {on_folds}", steps)
    return tune(chosen, validation_folds(dataset, folds), item_vectors, advance)


def tuning_document(tuned: list[Tuned], *, dataset: str, folds: tuple[int, ...]) -> dict[str, Any]:
    """What a tuning run measured, as JSON-ready data: the code's commit, how the validation
    folds were drawn, and per setting its grid, shipped values, figures on each fold and winner."""
    return {
        "dataset": dataset,
        "folds": list(folds),
        "commit": source_commit(),
        "validation": {"share": VALIDATION_SHARE, "seed": VALIDATION_SEED},
        "settings": [setting.document() for setting in tuned],
    }


def write_tuning(tuned: list[Tuned], path: Path, *, dataset: str, folds: tuple[int, ...]) -> None:
    path.write_text(json.dumps(tuning_document(tuned, dataset=dataset, folds=folds), indent=2) + "\n")
