"""The experiments' statistics proved on MovieLens: simulated users of ml-100k's u1 fold are
assigned as the API assigns callers, shown the list their variant's configuration serves (the
evaluation's Hybrid, the same ranking code the API runs) and click what they went on to rate 4
stars or more in u1.test. Each user sees one list of 10: one exposure, as many clicks as it
holds films they liked.

Run with `pytest -s` to print the measured figures."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from cinelibre.experiments.assignment import subject_of, variant_for
from cinelibre.experiments.configurations import CONFIGURATIONS
from cinelibre.experiments.interleaving import list_outcome, team_draft, win_share
from cinelibre.experiments.statistics import Difference, ratio_difference, sample_ratio_mismatch, verdict
from cinelibre.recommend.algorithms.hybrid import Hybrid
from cinelibre.recommend.evaluation import RELEVANT_STARS, genre_vectors, load_fold, ml100k_shape
from tests.conftest import SHARED_DATA_DIR

LIST_LENGTH = 10
ALPHA = 0.05
EXPERIMENT_ID = 1
EVEN_SPLIT = [("control", 0.5), ("treatment", 0.5)]
# Sample sizes tried when measuring how many users a test needs, and how many random subsets of
# the test users are drawn at each; a size suffices when POWER of the subsets reach a verdict.
SAMPLE_SIZES = (*range(2, 11), 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 400)
SUBSETS = 20
POWER = 0.8


@dataclass(frozen=True)
class Simulation:
    """Per test user of u1 (in the order of `users`, ml-100k's user ids): the clicks on the list
    each configuration serves them, and who won their team-draft list of default against popular
    (+1 default, -1 popular, 0 a tie or no click)."""

    users: np.ndarray
    clicks: dict[str, np.ndarray]
    interleaved_outcomes: np.ndarray


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    dataset = SHARED_DATA_DIR / "movielens" / "ml-100k"
    if not dataset.is_dir():
        pytest.skip(f"ml-100k not found in {dataset} (set CINELIBRE_SHARED_DATA); the simulation needs it")
    fold = load_fold(dataset, 1, ml100k_shape(dataset))
    hybrid = Hybrid(genre_vectors(dataset)).fit(fold.train)
    served = {name: hybrid.configured(CONFIGURATIONS[name]) for name in ("default", "popular")}
    users = np.unique(fold.test_users)
    clicks: dict[str, list[int]] = {name: [] for name in served}
    outcomes = []
    for user in users:
        liked = set(fold.test_items[(fold.test_users == user) & (fold.test_stars >= RELEVANT_STARS)].tolist())
        lists = {name: recommender.recommend(int(user), LIST_LENGTH).tolist() for name, recommender in served.items()}
        for name, shown in lists.items():
            clicks[name].append(len(liked.intersection(shown)))
        merged = team_draft(lists["default"], lists["popular"], LIST_LENGTH, seed=int(user))
        outcomes.append(list_outcome([team for item, team in merged if item in liked]))
    return Simulation(
        users + 1,
        {name: np.array(counts, dtype=np.float64) for name, counts in clicks.items()},
        np.array(outcomes),
    )


def assign(simulation: Simulation, experiment_id: int, variants: Sequence[tuple[str, float]]) -> np.ndarray:
    """The variant each test user is in, as the API would assign them (signed in as themselves)."""
    return np.array([variant_for(experiment_id, subject_of(int(user), None), variants) for user in simulation.users])


def ab_difference(
    simulation: Simulation, users: np.ndarray, variants: np.ndarray, configurations: dict[str, str]
) -> Difference:
    """The treatment's CTR minus the control's, each variant's users shown its configuration's list."""

    def arm(variant: str) -> tuple[np.ndarray, np.ndarray]:
        members = users[variants == variant]
        return simulation.clicks[configurations[variant]][members], np.ones(len(members))

    return ratio_difference(arm("control"), arm("treatment"), ALPHA)


def users_needed(simulation: Simulation, decided: Callable[[np.ndarray], bool]) -> int | None:
    """The smallest of SAMPLE_SIZES at which at least POWER of SUBSETS random subsets of the test
    users are `decided`; None if no size is enough."""
    for size in SAMPLE_SIZES:
        subsets = (
            np.random.default_rng(draw).choice(len(simulation.users), size, replace=False) for draw in range(SUBSETS)
        )
        if sum(decided(subset) for subset in subsets) >= POWER * SUBSETS:
            return size
    return None


def test_the_served_default_beats_the_popular_list_in_an_ab_test(simulation: Simulation) -> None:
    everyone = np.arange(len(simulation.users))
    variants = assign(simulation, EXPERIMENT_ID, EVEN_SPLIT)
    difference = ab_difference(simulation, everyone, variants, {"control": "default", "treatment": "popular"})

    winner, reason = verdict("default", {"popular": difference}, ALPHA)
    print(f"\nA/B default (control) vs popular on {len(everyone)} users: {difference}\n{reason}")

    assert [int((variants == variant).sum()) for variant, _ in EVEN_SPLIT] == [228, 231]
    assert winner == "default"
    assert reason == (
        "default wins: the only other variant is significantly worse (p = 1.68e-40 at most, below 0.05: alpha 0.05)."
    )
    # Mean clicks per list over all 459 test users: default 3.952, popular 1.399.
    assert difference.value == pytest.approx(-2.754158, abs=1e-6)
    assert difference.p_value == pytest.approx(1.680123e-40, rel=1e-6)


def test_a_against_a_is_rarely_significant(simulation: Simulation) -> None:
    everyone = np.arange(len(simulation.users))
    same = {"control": "default", "treatment": "default"}

    significant = sum(
        ab_difference(simulation, everyone, assign(simulation, experiment, EVEN_SPLIT), same).significant
        for experiment in range(1, 101)
    )
    print(f"\nA/A default vs default: significant at {ALPHA} in {significant} of 100 experiments")

    # At alpha 0.05 about 5 of 100 are expected by chance; 95 or more should show no difference.
    assert significant == 3


def test_a_skewed_split_is_flagged_and_a_fair_one_is_not(simulation: Simulation) -> None:
    fair = assign(simulation, EXPERIMENT_ID, EVEN_SPLIT)
    skewed = assign(simulation, EXPERIMENT_ID, [("control", 0.6), ("treatment", 0.4)])
    # Lost exposures: a third of the treatment's users never reach the log (every third of them).
    treated = np.flatnonzero(fair == "treatment")
    logged = np.delete(fair, treated[::3])

    def check(variants: np.ndarray) -> tuple[list[int], float, bool]:
        users = [int((variants == variant).sum()) for variant, _ in EVEN_SPLIT]
        result = sample_ratio_mismatch(users, [share for _, share in EVEN_SPLIT])
        return users, result.p_value, result.flagged

    fair_check, skewed_check, lost_check = check(fair), check(skewed), check(logged)
    print(f"\nSRM fair {fair_check}, 60/40 {skewed_check}, a third of treatment lost {lost_check}")

    assert fair_check == ([228, 231], pytest.approx(0.888638, abs=1e-6), False)
    assert skewed_check == ([277, 182], pytest.approx(9.240611e-6, rel=1e-6), True)
    assert lost_check == ([228, 154], pytest.approx(1.529874e-4, rel=1e-6), True)


def test_interleaving_needs_fewer_users_than_an_ab_test(simulation: Simulation) -> None:
    variants = assign(simulation, EXPERIMENT_ID, EVEN_SPLIT)
    configurations = {"control": "default", "treatment": "popular"}

    def ab_decides(users: np.ndarray) -> bool:
        difference = ab_difference(simulation, users, variants[users], configurations)
        return verdict("default", {"popular": difference}, ALPHA)[0] is not None

    def interleaving_decides(users: np.ndarray) -> bool:
        outcomes = simulation.interleaved_outcomes[users]
        default_wins, popular_wins = (outcomes == 1).astype(float), (outcomes == -1).astype(float)
        return win_share(default_wins, popular_wins, ALPHA).p_value < ALPHA

    ab_users = users_needed(simulation, ab_decides)
    interleaving_users = users_needed(simulation, interleaving_decides)
    print(f"\nUsers needed for {POWER:.0%} power: A/B {ab_users}, team-draft interleaving {interleaving_users}")

    # Less than half, but not a fifth: popular's lists get 2.8 times fewer clicks than default's,
    # so A/B decides with 20 users already, while the win share's test cannot decide on fewer
    # than 4 lists (4 won to 0: z = 2, p = 0.0455), so interleaving cannot need far fewer than 8.
    assert (ab_users, interleaving_users) == (20, 8)
    assert interleaving_users * 2 < ab_users
