"""The served model versions, held in this process as arrays: the ranking model's links, the
rating model's factors, biases, item counts and neighbours. A request that finds the versions it
read from the database already loaded does all its model arithmetic in memory, with no query;
after a training run the first request that sees the new versions loads them (one bulk read per
table, a few MB at MovieLens 25M scale), and every process of a deployment does the same from
the same tables.

Everything here except ModelStore.current() is a pure function of arrays."""

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np
from anyio import to_thread

from cinelibre.database.connection import Connection
from cinelibre.memory import return_freed_memory
from cinelibre.recommend import model_repository
from cinelibre.recommend.algorithms.fold_in import BLENDS, Blend, blend_parts, blended_stars, fold_in
from cinelibre.recommend.training import FACTORS, ITEM_MODEL, RATING_MODEL

Key = tuple[str, int]
_TYPE_BIT = 62  # an item key packs (is_book, id) as is_book << 62 | id, as training numbers them


@dataclass(frozen=True)
class Links:
    """A sparse item × item matrix by rows (positions into ServingModels.packed)."""

    starts: np.ndarray  # row r's links are targets[starts[r]:starts[r + 1]]
    targets: np.ndarray
    weights: np.ndarray

    @classmethod
    def build(cls, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, items: int) -> "Links":
        order = np.argsort(sources, kind="stable")
        starts = np.zeros(items + 1, dtype=np.int64)
        np.cumsum(np.bincount(sources, minlength=items), out=starts[1:])
        return cls(starts, targets[order].astype(np.int32), weights[order].astype(np.float32))

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The links of the given rows, concatenated: (which of `rows` each came from, as an index
        into `rows`; link positions into targets/weights)."""
        counts = self.starts[rows + 1] - self.starts[rows]
        origin = np.repeat(np.arange(len(rows)), counts)
        # Each link's offset within its row, added to its row's start.
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return origin, self.starts[rows][origin] + within


@dataclass(frozen=True)
class ServingModels:
    """One ranking-model version and one rating-model version (either may be missing), over the
    items either knows. Row p of every per-item array is the item packed[p]."""

    ranking: dict[str, Any] | None  # the version's row: id, parameters, trained_at
    rating: dict[str, Any] | None
    packed: np.ndarray  # sorted item keys
    links: Links | None  # ranking model: item → the items it recommends
    neighbours: Links | None  # rating model: item → its most similar items
    biases: np.ndarray  # NaN where the rating model does not know the item
    factors: np.ndarray  # float32, zero rows where unknown
    item_ratings: np.ndarray  # ratings the item had at training (0 where unknown or not stored)

    @property
    def ids(self) -> dict[str, int]:
        return {kind: row["id"] for kind, row in ((ITEM_MODEL, self.ranking), (RATING_MODEL, self.rating)) if row}

    def positions(self, keys: list[Key]) -> np.ndarray:
        """Each key's row, -1 for an item neither model knows."""
        wanted = np.array([(1 << _TYPE_BIT if kind == "book" else 0) | item_id for kind, item_id in keys], np.int64)
        if not len(self.packed):
            return np.full(len(keys), -1, dtype=np.int64)
        found = np.minimum(np.searchsorted(self.packed, wanted), len(self.packed) - 1)
        return np.where(self.packed[found] == wanted, found, -1)

    def keys(self, positions: np.ndarray) -> list[Key]:
        packed = self.packed[positions]
        return [
            ("book" if value >> _TYPE_BIT else "movie", value & ((1 << _TYPE_BIT) - 1)) for value in packed.tolist()
        ]

    def rated_by_model(self, positions: np.ndarray) -> np.ndarray:
        """Which rows (of positions, -1 allowed) the rating model knows."""
        known = positions >= 0
        known[known] = ~np.isnan(self.biases[positions[known]])
        return known


NO_MODELS = ServingModels(
    ranking=None,
    rating=None,
    packed=np.zeros(0, dtype=np.int64),
    links=None,
    neighbours=None,
    biases=np.zeros(0),
    factors=np.zeros((0, FACTORS), dtype=np.float32),
    item_ratings=np.zeros(0, dtype=np.int64),
)


def build(
    ranking: dict[str, Any] | None,
    rating: dict[str, Any] | None,
    ranking_links: dict[str, np.ndarray] | None,
    rating_factors: dict[str, np.ndarray] | None,
    rating_links: dict[str, np.ndarray] | None,
) -> ServingModels:
    """ServingModels from the bulk reads of model_repository (model_links, model_factors)."""
    parts = []
    for links in (ranking_links, rating_links):
        if links is not None:
            parts += [links["items"], links["neighbours"]]
    if rating_factors is not None:
        parts.append(rating_factors["items"])
    packed = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def linked(links: dict[str, np.ndarray] | None) -> Links | None:
        if links is None:
            return None
        sources = np.searchsorted(packed, links["items"])
        targets = np.searchsorted(packed, links["neighbours"])
        return Links.build(sources, targets, links["weights"], len(packed))

    biases = np.full(len(packed), np.nan)
    factors = np.zeros((len(packed), FACTORS), dtype=np.float32)
    item_ratings = np.zeros(len(packed), dtype=np.int64)
    if rating_factors is not None:
        rows = np.searchsorted(packed, rating_factors["items"])
        biases[rows] = rating_factors["biases"]
        factors[rows] = rating_factors["factors"]
        # A version trained before counts were stored has -1: its items count as unrated.
        item_ratings[rows] = np.maximum(rating_factors["ratings"], 0)
    return ServingModels(
        ranking=ranking,
        rating=rating,
        packed=packed,
        links=linked(ranking_links),
        neighbours=linked(rating_links),
        biases=biases,
        factors=factors,
        item_ratings=item_ratings,
    )


class ModelStore:
    """The versions this process serves. current() returns them once the versions a request read
    as active are loaded; requests that arrive while a new version loads wait for it (once per
    training run)."""

    def __init__(self) -> None:
        self._models = NO_MODELS
        self._loading = asyncio.Lock()

    async def current(self, conn: Connection, active: dict[str, int]) -> ServingModels:
        """The loaded versions, loading the active ones first if `active` (kind → id, as just
        read) names others."""
        if self._models.ids == active:
            return self._models
        async with self._loading:
            if self._models.ids != active:
                self._models = await _load(conn)
        return self._models


async def _load(conn: Connection) -> ServingModels:
    # Read what is active now: a version activated since the caller looked is the one to serve.
    rows = await model_repository.active_models(conn)
    ranking, rating = rows.get(ITEM_MODEL), rows.get(RATING_MODEL)
    ranking_links = await model_repository.model_links(conn, ranking["id"]) if ranking else None
    rating_factors = (
        await model_repository.model_factors(conn, rating["id"], rating["parameters"].get("factors", FACTORS))
        if rating
        else None
    )
    rating_links = await model_repository.model_links(conn, rating["id"]) if rating else None
    # Sorting a million links takes longer than a request may hold the event loop.
    models = await to_thread.run_sync(build, ranking, rating, ranking_links, rating_factors, rating_links)
    # The reads and the sorting used several times what the arrays keep (about 100 MB against
    # 15 MB on ml-latest-small); without this the worker would keep it all.
    del ranking_links, rating_factors, rating_links
    return_freed_memory()
    return models


# The arithmetic of one request, over the loaded arrays


def linked_items(
    models: ServingModels,
    *,
    sources: np.ndarray,
    strengths: np.ndarray,
    stars: np.ndarray,
    leave_out: np.ndarray,
    item_type: str | None,
    limit: int,
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """What the ranking model links to a user's feedback: `sources` (rows), each counting
    `strengths` (blend.rating_strength() for a rating, model_repository.implicit_feedback()'s
    for a view or click). Returns the `limit` items with the largest summed weight (ties: books
    before films, then by id), other than the rows in `leave_out` and of `item_type` if given;
    their summed weights; and for each returned row that a rated source of 3 stars or more
    (`stars`, NaN for a view) links to, the index into `sources` of the one whose link weighs
    most (the reason's "people who liked X")."""
    if models.links is None or not len(sources):
        return np.zeros(0, dtype=np.int64), np.zeros(0), {}
    origin, link = models.links.gather(sources)
    targets = models.links.targets[link]
    weights = models.links.weights[link].astype(np.float64) * strengths[origin]
    if item_type is not None:
        wanted_kind = 1 if item_type == "book" else 0
        same_type = (models.packed[targets] >> _TYPE_BIT) == wanted_kind
        origin, targets, weights = origin[same_type], targets[same_type], weights[same_type]
    items = len(models.packed)
    summed = np.bincount(targets, weights=weights, minlength=items)
    reached = np.bincount(targets, minlength=items) > 0
    reached[leave_out] = False
    found = np.flatnonzero(reached)
    kinds = models.packed[found] >> _TYPE_BIT
    ids = models.packed[found] & ((1 << _TYPE_BIT) - 1)
    chosen = found[np.lexsort((ids, 1 - kinds, -summed[found]))[:limit]]
    # The strongest link from something the user liked, for each chosen item.
    is_chosen = np.zeros(items, dtype=bool)
    is_chosen[chosen] = True
    liked = np.nan_to_num(stars[origin], nan=0.0) >= 3
    keep = liked & is_chosen[targets]
    targets, weights, origin = targets[keep], weights[keep], origin[keep]
    order = np.lexsort((-weights, targets))
    first = order[np.r_[True, targets[order][1:] != targets[order][:-1]]] if len(order) else order
    because = dict(zip(targets[first].tolist(), origin[first].tolist(), strict=True))
    return chosen, summed[chosen], because


@dataclass(frozen=True)
class FoldedUser:
    """A user as the rating model sees them now: their factors and bias solved from their
    current ratings (so a rating made a moment ago already counts), and their errors on what
    they rated, against the factor model (`residuals`) and against its biases alone."""

    mean: float
    factors: np.ndarray
    bias: float
    rated: np.ndarray  # the rows folded in, in the order of residuals
    residuals: np.ndarray
    bias_residuals: np.ndarray
    blend: Blend  # how the model version combines its predictions


def fold_in_user(models: ServingModels, rated: np.ndarray, stars: np.ndarray) -> FoldedUser | None:
    """The user from their ratings of `rated` (rows the rating model knows, latest first); None
    without a rating model or without such ratings."""
    if models.rating is None or not len(rated):
        return None
    parameters = models.rating["parameters"]
    rated_factors = models.factors[rated].astype(np.float64)
    rated_biases = models.biases[rated]
    factors, bias = fold_in(rated_factors, rated_biases, stars, parameters["mean"], parameters["regularisation"])
    bias_stars = parameters["mean"] + bias + rated_biases
    return FoldedUser(
        mean=parameters["mean"],
        factors=factors,
        bias=bias,
        rated=rated,
        residuals=stars - (bias_stars + rated_factors @ factors),
        bias_residuals=stars - bias_stars,
        # Versions trained before the blend were fitted for MF with its correction alone.
        blend=BLENDS[parameters.get("blend", "corrected MF")],
    )


def predicted_stars(
    models: ServingModels, user: FoldedUser, positions: np.ndarray, *, with_neighbours: bool
) -> np.ndarray:
    """The rating model's stars (algorithms.rating_model) for each row of `positions`, NaN where
    it does not know the item: its blend of the factor model and the biases, each corrected by
    the user's errors on the item's neighbours (`with_neighbours`; ranking uses the factor model
    alone, as the evaluation does)."""
    stars = np.full(len(positions), np.nan)
    known = models.rated_by_model(positions)
    rows = positions[known]
    if not len(rows):
        return stars
    bias_stars = user.mean + user.bias + models.biases[rows]
    predicted = bias_stars + models.factors[rows].astype(np.float64) @ user.factors
    if with_neighbours and models.neighbours is not None:
        column = np.full(len(models.packed), -1)
        column[user.rated] = np.arange(len(user.rated))
        origin, link = models.neighbours.gather(rows)
        columns = column[models.neighbours.targets[link]]
        rated = columns >= 0  # neighbours the user rated (among the ratings folded in)
        similarities = np.zeros((len(rows), len(user.residuals)))
        similarities[origin[rated], columns[rated]] = models.neighbours.weights[link[rated]]
        parts = blend_parts(
            bias_stars=bias_stars,
            factor_stars=predicted,
            similarities=similarities,
            bias_residuals=user.bias_residuals,
            factor_residuals=user.residuals,
        )
        predicted = blended_stars(
            user.blend, parts, user_ratings=len(user.residuals), item_ratings=models.item_ratings[rows]
        )
    stars[known] = np.clip(predicted, 0.5, 5.0)
    return stars
