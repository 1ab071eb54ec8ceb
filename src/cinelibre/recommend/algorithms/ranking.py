"""The personalized ranking, as one pure function over arrays: what the API serves and what the
offline evaluation measures both come out of rank().

The API fills Candidates from the database (a few hundred items for one user), the evaluation's
Hybrid from a fold held in memory (every item); neither adds a step of its own to the order.
Only numpy and algorithms.blend are imported, so both sides can use it without loading the
other's dependencies.
"""

from dataclasses import dataclass

import numpy as np

from cinelibre.experiments.configurations import DEFAULT, Configuration
from cinelibre.recommend.algorithms import blend

# The place an item new since training takes in a personalized list: a fixed one, so that a
# page of the list is the same whatever its length.
FRESH_PLACE = 10


@dataclass(frozen=True)
class Candidates:
    """One user's candidates, one row per item, in the order that breaks ties between equal
    scores (the popular list's). NaN marks a signal that does not know the item.

    With a trained ranking model, `linked` holds its summed weights from the user's feedback,
    `factor_stars` the rating model's stars from factors alone, and `known` whether the models
    saw the item; without one (all three None), `knn_stars` holds the Pearson user-kNN's
    predictions."""

    ratings: int  # how many items the user rated, viewed or clicked: the blend's evidence of taste
    user_mean: float  # their mean stars (0 without ratings)
    popularity: np.ndarray  # Bayesian-average stars
    content: np.ndarray  # cosine similarity to the user's profile
    vectors: np.ndarray  # unit rows for the diversity step; zeros: unlike everything
    rated: np.ndarray  # bool: the user rated it
    heavily_viewed: np.ndarray  # bool: viewed or clicked often enough to be left out
    linked: np.ndarray | None = None
    factor_stars: np.ndarray | None = None
    known: np.ndarray | None = None
    knn_stars: np.ndarray | None = None


@dataclass(frozen=True)
class Ranking:
    """`positions`: rows of the Candidates, best first. `signals`: every row's weighted signals
    (0 for rows left out)."""

    positions: np.ndarray
    signals: blend.Signals


@dataclass(frozen=True)
class _Scored:
    kept: np.ndarray  # rows not left out
    signals: blend.Signals  # every row's weighted signals
    shortlist: np.ndarray  # the best rows, in order, that the diversity step chooses from
    fresh: int | None  # the row new since training that gets a place, if any


def _scored(candidates: Candidates, length: int, skip_viewed: bool, configuration: Configuration) -> _Scored:
    left_out = candidates.rated | (candidates.heavily_viewed if skip_viewed else False)
    kept = np.flatnonzero(~left_out)
    if candidates.linked is not None:
        assert candidates.factor_stars is not None
        collaborative = blend.collaborative_signal(
            candidates.linked[kept], candidates.factor_stars[kept], candidates.user_mean
        )
    else:
        knn_stars = candidates.knn_stars if candidates.knn_stars is not None else np.full(len(left_out), np.nan)
        # An item the kNN cannot predict counts as the lowest stars.
        collaborative = blend.stars_to_unit(np.nan_to_num(knn_stars[kept], nan=0.5))
    blended = blend.blend(
        ratings=candidates.ratings,
        collaborative=collaborative,
        content=candidates.content[kept],
        popularity=candidates.popularity[kept],
    )
    # A configuration that leaves a signal out weighs it 0; the others keep their weights.
    kept_signals = blend.Signals(
        *(
            getattr(blended, name) if name in configuration.signals else np.zeros(len(kept))
            for name in ("collaborative", "content", "popularity")
        )
    )
    signals = blend.Signals(
        *(
            _spread(part, kept, len(left_out))
            for part in (
                kept_signals.collaborative,
                kept_signals.content,
                kept_signals.popularity,
            )
        )
    )
    # A stable sort on score keeps the given order between equal scores.
    order = kept[np.argsort(-kept_signals.score, kind="stable")]
    fresh = None
    if candidates.known is not None and configuration.fresh_place:
        fresh = blend.fresh_pick(candidates.known[kept], candidates.content[kept])
        fresh = None if fresh is None else int(kept[fresh])
    return _Scored(kept, signals, order[: length * blend.SHORTLIST_FACTOR], fresh)


def rows_to_diversify(
    candidates: Candidates, length: int, *, skip_viewed: bool = True, configuration: Configuration = DEFAULT
) -> np.ndarray:
    """The only rows whose `vectors` rank() reads for a list of `length`: the shortlist and the
    item new since training that may take a place. A caller may fill just these (the API fetches
    embeddings for them alone) and get the list every filled row would give."""
    scored = _scored(candidates, length, skip_viewed, configuration)
    rows = scored.shortlist.tolist() + ([scored.fresh] if scored.fresh is not None else [])
    return np.array(sorted(set(rows)), dtype=np.int64)


def rank(
    candidates: Candidates, length: int, *, skip_viewed: bool = True, configuration: Configuration = DEFAULT
) -> Ranking:
    """The user's list of up to `length` items: the model scores blended (blend.blend), never an
    item they rated nor, with skip_viewed, one they viewed many times; the best
    SHORTLIST_FACTOR × length diversified by MMR with the same widening (so a list begins with
    every shorter one and pages fit together); then the place for an item new since training.
    `configuration` says which signals count, how much diversity, and whether the new item's place
    is given (configurations.py)."""
    scored = _scored(candidates, length, skip_viewed, configuration)
    shortlist = scored.shortlist
    picked = shortlist[
        blend.mmr(
            scored.signals.score[shortlist],
            candidates.vectors[shortlist],
            length,
            blend.DIVERSITY * configuration.diversity_factor,
            widening=blend.SHORTLIST_FACTOR,
        )
    ].tolist()
    if candidates.known is not None and configuration.fresh_place:
        head = blend.with_fresh(picked[:FRESH_PLACE], scored.fresh, candidates.known, FRESH_PLACE)
        picked = [*head, *(position for position in picked if position not in head)][:length]
    return Ranking(np.array(picked, dtype=np.int64), scored.signals)


def _spread(values: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    spread = np.zeros(size)
    spread[rows] = values
    return spread
