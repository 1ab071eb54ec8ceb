"""How the personalized list weighs its signals, and how it is diversified.

One numpy-only module shared by the API (for one user's few hundred candidates) and by the
evaluation's Hybrid (for every item), so the figures the evaluation prints are those of the
list the API serves.
"""

from dataclasses import dataclass

import numpy as np

# Collaborative signals take over as a user rates more: at CF_FULL_WEIGHT_AT rated, viewed or
# clicked items they carry all the personal weight; before that the content profile carries the
# rest, and never less than CONTENT_FLOOR, so items nobody has rated yet still reach people.
# Popularity always adds a little, so a cold list is never empty. POPULARITY_WEIGHT was chosen
# jointly with RATING_WEIGHT, RATING_EMPHASIS and EASE's λ on validation folds carved from
# ml-100k's u1-u5 training data (benchmarks/tune_ranking.py; grid 0/0.05/0.1/0.15): with
# RATING_WEIGHT 0.1, RATING_EMPHASIS 0.3 and λ 500, 0.05 measured 0.2685 NDCG@10 (without the
# diversity step); the settings shipped before (20, 0.15, RATING_WEIGHT 0.2) 0.2634 at emphasis
# 0.4. CF_FULL_WEIGHT_AT makes no difference over all validation users (1 and 10 both 0.2662 with
# the diversity step; 3, 5, 7 and 10 equal to 0.0001 without it: few have fewer than 10
# ratings), so it was chosen on the validation folds' cold-start users (100 per fold, cut to 1,
# 3, 5 and 10 training ratings as `cinelibre evaluate --cold-start` cuts the test users; grid
# 1/2/3/5/10; benchmarks/tune_cold_and_views.py): 1 measured 0.140 mean NDCG@10 over the four
# cuts, 2 0.135, 3 0.131, 5 0.124, 10 0.109; with one rating 0.095 against 0.035 at 10. On
# MovieLens the content profile is a genre vector, a poor guide after one or two ratings; the
# service's text embeddings say more, but no public data measures by how much, so the measured
# value ships.
CF_FULL_WEIGHT_AT = 1
CONTENT_FLOOR = 0.05
POPULARITY_WEIGHT = 0.05
# Freshness: lists of at least FRESH_MIN_LIST items give their last place to the item added to
# the catalogue since training that is most like what the user liked, if its cosine similarity
# to their profile reaches FRESH_MIN_SIMILARITY. (Given to items merely never rated instead, on
# ml-100k's folds the slot cost 0.015 NDCG@10: those are rarely what people go on to watch.)
FRESH_MIN_LIST = 5
FRESH_MIN_SIMILARITY = 0.5
# How much the rating model's predicted stars move an item within the ranking model's order,
# per star above the user's mean, in units of the user's strongest link: what the user would
# watch (EASE) nudged by how they would rate it (biased MF). Chosen on the validation folds (grid
# 0/0.05/0.1/0.2): 0.1. It matters less than before the ranking model's input was centred on the
# user's mean stars, which already tells EASE what they liked.
RATING_WEIGHT = 0.1
# How much a rating's distance from the user's mean stars moves its weight as the ranking
# model's input (EASE, trained and summed on the same strengths; a rating otherwise counts 1):
# from a user whose mean is 3.5, 5 stars count 1.45 and 2 stars 0.55, so EASE learns and sums what
# people liked rather than only what they watched. Chosen on the validation folds (grid
# 0/0.2/0.3/0.4/0.5 with λ 300/500/800): 0.3 with λ 500; EASE top 200 alone went from 0.2413
# (0, plain feedback) to 0.2642, and the blend from 0.2585 (0, blend re-tuned) to 0.2685.
RATING_EMPHASIS = 0.3
# MMR: share of a candidate's value given to being unlike what is already listed. On ml-100k's
# five folds 0.1 took the lists' genre similarity from 0.308 to 0.280 for 0.001 NDCG@10; 0.2
# reached 0.251 but cost 0.006.
DIVERSITY = 0.1
# MMR re-ranks this many times the list's length.
SHORTLIST_FACTOR = 3


@dataclass(frozen=True)
class Signals:
    """Each signal's weighted share of every candidate's score."""

    collaborative: np.ndarray
    content: np.ndarray
    popularity: np.ndarray

    @property
    def score(self) -> np.ndarray:
        return self.collaborative + self.content + self.popularity


def stars_to_unit(stars: np.ndarray) -> np.ndarray:
    return (np.asarray(stars, dtype=np.float64) - 0.5) / 4.5


def rating_strength(
    stars: np.ndarray, user_mean: "float | np.ndarray", emphasis: float = RATING_EMPHASIS
) -> np.ndarray:
    """What each of a user's ratings counts as the ranking model's input: 1, plus `emphasis` per
    star above their mean stars (minus below). The service's sums of stored links use it too
    (service._linked)."""
    return 1.0 + emphasis * (np.asarray(stars, dtype=np.float64) - user_mean)


def collaborative_signal(linked: np.ndarray, stars: np.ndarray, user_mean: float) -> np.ndarray:
    """The trained models' view of each candidate, about 0-1: EASE's summed weights from what the
    user rated scaled by the strongest, plus RATING_WEIGHT × how many stars above their mean the
    rating model puts it. Scaling keeps the blend's weights meaningful whatever the size of the
    data (EASE's weights shrink as its regularisation outweighs few ratings). NaN: unknown."""
    linked = np.nan_to_num(np.asarray(linked, dtype=np.float64))
    strongest = linked.max() if linked.size and linked.max() > 0 else 1.0
    return linked / strongest + RATING_WEIGHT * np.nan_to_num(np.asarray(stars, dtype=np.float64) - user_mean)


def blend(*, ratings: int, collaborative: np.ndarray, content: np.ndarray, popularity: np.ndarray) -> Signals:
    """Weigh the signals for a user with `ratings` ratings. collaborative: about 0-1; content:
    cosine similarity to the user's profile; popularity: Bayesian-average stars. NaN: unknown."""
    collaborative_weight = min(1.0, ratings / CF_FULL_WEIGHT_AT)
    content_weight = max(1.0 - collaborative_weight, CONTENT_FLOOR)
    return Signals(
        collaborative=collaborative_weight * np.nan_to_num(np.asarray(collaborative, dtype=np.float64)),
        content=content_weight * np.clip(np.nan_to_num(np.asarray(content, dtype=np.float64)), 0.0, None),
        popularity=POPULARITY_WEIGHT * stars_to_unit(np.nan_to_num(np.asarray(popularity), nan=0.5)),
    )


def fresh_pick(known: np.ndarray, content: np.ndarray) -> int | None:
    """Among candidates added to the catalogue since the models were trained (not `known`), the
    one most like what the user liked, if it is like it enough; its position, or None. Such items
    have no collaborative signal to compete with, so the list gives one place to the best."""
    likeness = np.where(np.asarray(known, dtype=bool), -np.inf, np.nan_to_num(np.asarray(content), nan=-np.inf))
    if not likeness.size or likeness.max() < FRESH_MIN_SIMILARITY:
        return None
    return int(np.argmax(likeness))


def with_fresh(chosen: list[int], fresh: int | None, known: np.ndarray, limit: int) -> list[int]:
    """The chosen positions with the fresh pick in the last place, unless the list already has a
    new item, or is too short to give a place away."""
    if fresh is None or limit < FRESH_MIN_LIST or fresh in chosen or not all(known[p] for p in chosen):
        return chosen
    return [*chosen[: limit - 1], fresh]


def mmr(
    scores: np.ndarray, vectors: np.ndarray, limit: int, diversity: float = DIVERSITY, *, widening: int | None = None
) -> list[int]:
    """Maximal marginal relevance over candidates in ranked order: each next pick trades a little
    score for being unlike those already picked, so one franchise or one genre does not fill the
    list. `vectors` are unit rows (zeros for an item without one); returns positions. With
    `widening`, the k-th pick is made among the first widening × k candidates only: then every
    list begins with the picks of any shorter one, so pages cut from one long list are what
    shorter lists would have been."""
    remaining = np.ones(len(scores), dtype=bool)
    redundancy = np.zeros(len(scores))
    chosen: list[int] = []
    while len(chosen) < min(limit, len(scores)):
        value = np.where(remaining, (1 - diversity) * scores - diversity * redundancy, -np.inf)
        if widening is not None:
            value[widening * (len(chosen) + 1) :] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        remaining[best] = False
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return chosen
