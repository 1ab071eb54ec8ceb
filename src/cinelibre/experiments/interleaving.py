"""Team-draft interleaving: two rankers' lists merged into one, each item credited to the ranker
(team) that put it there, so one user's clicks compare both rankers on the same list. Each user
is their own control, which is why it needs far fewer users than an A/B test to see the same
difference."""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from cinelibre.experiments.statistics import NORMAL, normal_tail, ratio_estimate

K = TypeVar("K", bound=Hashable)

FIRST_TEAM = 0
SECOND_TEAM = 1


@dataclass(frozen=True)
class WinShare:
    """The first team's share of the decided lists, its interval and the two-sided p-value against
    an even split (0.5)."""

    value: float
    ci_low: float
    ci_high: float
    p_value: float


def team_draft(first: Sequence[K], second: Sequence[K], length: int, seed: int) -> list[tuple[K, int]]:
    """Up to `length` items, each with the team that picked it (0: `first`, 1: `second`).

    Each turn the team with fewer picks picks next; when both have as many, a coin seeded by
    `seed` decides, so neither ranker owns the top place. A team picks its best-ranked item not
    yet in the merged list, so an item both rank appears once, credited to whoever took it first.
    When one team has nothing left to pick, the other fills the rest."""
    rankings = (first, second)
    next_place = [0, 0]
    picks = [0, 0]
    merged: list[tuple[K, int]] = []
    taken: set[K] = set()
    coin = np.random.default_rng(seed)

    def has_left(team: int) -> bool:
        ranking = rankings[team]
        while next_place[team] < len(ranking) and ranking[next_place[team]] in taken:
            next_place[team] += 1
        return next_place[team] < len(ranking)

    while len(merged) < length:
        first_left, second_left = has_left(FIRST_TEAM), has_left(SECOND_TEAM)
        if not (first_left or second_left):
            break
        if not second_left:
            team = FIRST_TEAM
        elif not first_left:
            team = SECOND_TEAM
        elif picks[FIRST_TEAM] != picks[SECOND_TEAM]:
            team = FIRST_TEAM if picks[FIRST_TEAM] < picks[SECOND_TEAM] else SECOND_TEAM
        else:
            team = int(coin.integers(2))
        item = rankings[team][next_place[team]]
        merged.append((item, team))
        taken.add(item)
        picks[team] += 1
    return merged


def list_outcome(clicked_teams: Sequence[int]) -> int:
    """Which team won one merged list: +1 the first (more of the clicked items were its picks),
    -1 the second, 0 a tie or no clicks."""
    first = sum(1 for team in clicked_teams if team == FIRST_TEAM)
    second = sum(1 for team in clicked_teams if team == SECOND_TEAM)
    return int(np.sign(first - second))


def win_share(first_wins: np.ndarray, second_wins: np.ndarray, alpha: float = 0.05) -> WinShare:
    """The first team's share of the decided lists, Σfirst / Σ(first + second), from per-user
    counts of lists each team won (ties left out). Users are the independent units.

    The interval is the delta method's for a ratio of per-user sums (see statistics.py), normal
    and clipped to [0, 1]. The p-value tests an even split with the variance that split implies:
    with d = first - (first + second) / 2 per user, which averages 0 under it,
    z = Σd / sqrt(Σd²). The spread around the measured share cannot serve here: it vanishes when
    every user's lists went the same way, exactly when the evidence is strongest. With one list
    per user this is the sign test's normal approximation, (wins - losses) / sqrt(wins + losses).

    Without a decided list the share is taken as even: 0.5, interval (0, 1), p-value 1.0. When a
    single user decided anything the delta method has no variance to give: interval (0, 1); when
    every user's lists split alike it measures none: the interval is the share alone."""
    first = np.asarray(first_wins, dtype=np.float64)
    decided = first + np.asarray(second_wins, dtype=np.float64)
    if decided.sum() == 0:
        return WinShare(0.5, 0.0, 1.0, 1.0)
    share = ratio_estimate(first, decided)
    away_from_even = first - decided / 2
    spread_if_even = float(np.sqrt(np.sum(away_from_even**2)))
    p_value = 2 * normal_tail(abs(float(away_from_even.sum())) / spread_if_even) if spread_if_even > 0 else 1.0
    if np.count_nonzero(decided) < 2:
        return WinShare(share.value, 0.0, 1.0, p_value)
    margin = NORMAL.inv_cdf(1 - alpha / 2) * float(np.sqrt(share.variance))
    return WinShare(share.value, max(0.0, share.value - margin), min(1.0, share.value + margin), p_value)
