"""The experiments' statistics proved on MovieLens: simulated users of ml-100k's u1 fold are
assigned as the API assigns callers, shown the list their variant's configuration serves (the
evaluation's Hybrid, the same ranking code the API runs), and click on it as the click model
below says, the films they went on to rate 4 stars or more in u1.test being the ones they like.

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
# `default` against each alternative for the personalized surface.
ALTERNATIVES = ("popular", "content", "collaborative", "no-diversity", "more-diversity")

# How a simulated user clicks. Nobody clicks every film they like in a list of ten: the eye starts
# at the top and goes down less and less often, and people tend to leave once they have found
# something. So on each visit the user goes down the list and, at place k (1 for the top):
#   - looks at the film with probability 1/k (the top one always, the tenth one time in ten);
#   - if they looked, clicks it with probability 0.9 when they like it, 0.05 when they do not
#     (a familiar title, curiosity);
#   - after a click, leaves the list with probability 0.5, and otherwise reads on.
# The chances come from a generator seeded by the experiment's id and the user's, three uniform
# draws per place and visit (look, click, leave). They do not depend on the list shown, so a user
# who would see default's list in the A/B test and the merged list in the interleaved one has the
# same luck in both: the two designs differ by what is shown, not by the dice.
# The parameters were chosen once, before any result was seen, and not tuned afterwards. What
# users need depends on them: were attention not to fall with the place (users reading on until
# they leave), a weak list would collect nearly as many clicks lower down, the A/B test would need
# more users and interleaving, which sees which side's film was picked, fewer.
# Every test below clicks by this model: the A/B winner, the A/A tests and users needed (the
# sample ratio test counts users only).
LOOK_AT_PLACE = 1 / np.arange(1, LIST_LENGTH + 1)
CLICK_IF_LIKED = 0.9
CLICK_IF_NOT_LIKED = 0.05
LEAVE_AFTER_CLICK = 0.5

# A user may come back: on each visit they see the same list again (the fitted models do not
# change during the experiment, and the API seeds the draft's coin by the experiment and the caller
# alone, so the merged list is the same too) and click afresh. Users stay the unit of analysis: a
# user's clicks over their exposures in the A/B test, their lists won by each side when interleaved.
# One visit unless a test says otherwise (the users-needed table shows three as well).
VISITS = 1

# Sample sizes tried when measuring how many users a test needs, and how many random subsets of
# the test users are drawn at each; a size suffices when POWER of the subsets reach a verdict.
SAMPLE_SIZES = (*range(2, 11), 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 400)
SUBSETS = 20
POWER = 0.8


@dataclass(frozen=True)
class Simulation:
    """Per test user of u1 (in the order of `users`, ml-100k's user ids) and place in the list:
    whether they like the film each configuration serves there, and, for each alternative drafted
    against `default` by team draft, whether they like the merged list's film and which team put it
    there (0 default, 1 the alternative)."""

    users: np.ndarray
    liked: dict[str, np.ndarray]
    merged_liked: dict[str, np.ndarray]
    merged_teams: dict[str, np.ndarray]


@dataclass(frozen=True)
class Behaviour:
    """What users did in one simulated experiment of `default` against another configuration, per
    user over their visits: clicks on each configuration's own list (the A/B test shows a user only
    their variant's), and the merged lists each side won (a tie or no click counts for neither)."""

    clicks: dict[str, np.ndarray]
    default_wins: np.ndarray
    other_wins: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """`default` (the A/B test's control, the first team when interleaved) against another
    configuration: what users did, the A/B difference and the win share's p-value over every test
    user, and the users each design needs (None: more than SAMPLE_SIZES reach)."""

    behaviour: Behaviour
    ab_difference: Difference
    interleaved_p_value: float
    ab_users: int | None
    interleaving_users: int | None


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    dataset = SHARED_DATA_DIR / "movielens" / "ml-100k"
    if not dataset.is_dir():
        pytest.skip(f"ml-100k not found in {dataset} (set CINELIBRE_SHARED_DATA); the simulation needs it")
    fold = load_fold(dataset, 1, ml100k_shape(dataset))
    hybrid = Hybrid(genre_vectors(dataset)).fit(fold.train)
    served = {name: hybrid.configured(CONFIGURATIONS[name]) for name in ("default", *ALTERNATIVES)}
    users = np.unique(fold.test_users)
    liked_at: dict[str, list[list[bool]]] = {name: [] for name in served}
    merged_liked: dict[str, list[list[bool]]] = {name: [] for name in ALTERNATIVES}
    merged_teams: dict[str, list[list[int]]] = {name: [] for name in ALTERNATIVES}
    for user in users:
        liked = set(fold.test_items[(fold.test_users == user) & (fold.test_stars >= RELEVANT_STARS)].tolist())
        lists = {name: recommender.recommend(int(user), LIST_LENGTH).tolist() for name, recommender in served.items()}
        for name, shown in lists.items():
            liked_at[name].append([item in liked for item in shown])
        for name in ALTERNATIVES:
            merged = team_draft(lists["default"], lists[name], LIST_LENGTH, seed=int(user))
            merged_liked[name].append([item in liked for item, _ in merged])
            merged_teams[name].append([team for _, team in merged])
    return Simulation(
        users + 1,
        {name: np.array(rows, dtype=bool) for name, rows in liked_at.items()},
        {name: np.array(rows, dtype=bool) for name, rows in merged_liked.items()},
        {name: np.array(rows) for name, rows in merged_teams.items()},
    )


def clicked(liked: np.ndarray, experiment_id: int, users: np.ndarray, visits: int) -> np.ndarray:
    """Which places of their list each user clicked on each visit, (users, visits, places), by the
    click model; `liked` (users, places) says which of the films shown they like."""
    draws = np.stack(
        [np.random.default_rng([experiment_id, int(user)]).random((visits, 3, LIST_LENGTH)) for user in users]
    )
    look, click, leave = draws[:, :, 0], draws[:, :, 1], draws[:, :, 2]
    click_chance = np.where(liked, CLICK_IF_LIKED, CLICK_IF_NOT_LIKED)[:, np.newaxis, :]
    clicks = (look < LOOK_AT_PLACE) & (click < click_chance)
    leaves = clicks & (leave < LEAVE_AFTER_CLICK)
    # A place is still read when the user left after none of the clicks above it.
    left_above = (np.cumsum(leaves, axis=-1) - leaves) > 0
    return clicks & ~left_above


def simulate(simulation: Simulation, other: str, experiment_id: int, visits: int = VISITS) -> Behaviour:
    """What the test users do over `visits` visits in one experiment (its id seeds their clicks)
    of `default` against `other`."""
    users = simulation.users
    clicks = {
        name: clicked(simulation.liked[name], experiment_id, users, visits).sum(axis=(1, 2))
        for name in ("default", other)
    }
    merged_clicks = clicked(simulation.merged_liked[other], experiment_id, users, visits)
    teams = simulation.merged_teams[other]
    outcomes = np.array(
        [[list_outcome(teams[row][places].tolist()) for places in merged_clicks[row]] for row in range(len(users))]
    )
    return Behaviour(clicks, (outcomes == 1).sum(axis=1), (outcomes == -1).sum(axis=1))


def assign(simulation: Simulation, experiment_id: int, variants: Sequence[tuple[str, float]]) -> np.ndarray:
    """The variant each test user is in, as the API would assign them (signed in as themselves)."""
    return np.array([variant_for(experiment_id, subject_of(int(user), None), variants) for user in simulation.users])


def ab_difference(
    control_clicks: np.ndarray, treatment_clicks: np.ndarray, exposures: int, users: np.ndarray, variants: np.ndarray
) -> Difference:
    """The treatment's CTR minus the control's: `users` (indices) with their `variants`, each arm's
    users counted with the clicks on their arm's list over `exposures` lists each."""

    def arm(variant: str, clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        members = users[variants == variant]
        return clicks[members].astype(np.float64), np.full(len(members), float(exposures))

    return ratio_difference(arm("control", control_clicks), arm("treatment", treatment_clicks), ALPHA)


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


def compare(simulation: Simulation, other: str, visits: int) -> Comparison:
    """`default` against `other` in experiment EXPERIMENT_ID, users assigned as the API would."""
    everyone = np.arange(len(simulation.users))
    variants = assign(simulation, EXPERIMENT_ID, EVEN_SPLIT)
    behaviour = simulate(simulation, other, EXPERIMENT_ID, visits)

    def ab(users: np.ndarray) -> Difference:
        return ab_difference(behaviour.clicks["default"], behaviour.clicks[other], visits, users, variants[users])

    def interleaved_p_value(users: np.ndarray) -> float:
        return win_share(behaviour.default_wins[users], behaviour.other_wins[users], ALPHA).p_value

    ab_users = users_needed(simulation, lambda users: ab(users).significant)
    interleaving_users = users_needed(simulation, lambda users: interleaved_p_value(users) < ALPHA)
    print(
        f"\ndefault vs {other}, {visits} visit(s): clicks per list {behaviour.clicks['default'].mean() / visits:.3f} "
        f"vs {behaviour.clicks[other].mean() / visits:.3f}, A/B on everyone p = {ab(everyone).p_value:.6g}; "
        f"interleaved lists won {behaviour.default_wins.sum()} to {behaviour.other_wins.sum()}, "
        f"p = {interleaved_p_value(everyone):.6g}; users needed for {POWER:.0%} power: "
        f"A/B {ab_users}, interleaving {interleaving_users}"
    )
    return Comparison(behaviour, ab(everyone), interleaved_p_value(everyone), ab_users, interleaving_users)


def test_the_served_default_beats_the_popular_list_in_an_ab_test(simulation: Simulation) -> None:
    everyone = np.arange(len(simulation.users))
    variants = assign(simulation, EXPERIMENT_ID, EVEN_SPLIT)
    behaviour = simulate(simulation, "popular", EXPERIMENT_ID)
    control, treatment = variants == "control", variants == "treatment"
    difference = ab_difference(behaviour.clicks["default"], behaviour.clicks["popular"], VISITS, everyone, variants)

    winner, reason = verdict("default", {"popular": difference}, ALPHA)
    print(f"\nA/B default (control) vs popular on {len(everyone)} users: {difference}\n{reason}")

    assert [int(control.sum()), int(treatment.sum())] == [228, 231]
    # The control's 228 users clicked 228 times, the treatment's 231 users 98 times:
    # 98/231 - 228/228 = -0.575758.
    clicks = [int(behaviour.clicks["default"][control].sum()), int(behaviour.clicks["popular"][treatment].sum())]
    assert clicks == [228, 98]
    assert difference.value == pytest.approx(98 / 231 - 1, abs=1e-12)
    assert difference.p_value == pytest.approx(5.937324e-15, rel=1e-6)
    assert winner == "default"
    assert reason == (
        "default wins: the only other variant is significantly worse (p = 5.94e-15 at most, below 0.05: alpha 0.05)."
    )


def test_a_against_a_is_rarely_significant(simulation: Simulation) -> None:
    everyone = np.arange(len(simulation.users))
    significant = 0
    # Each experiment assigns users afresh and draws their clicks afresh (its id seeds both).
    for experiment in range(1, 101):
        clicks = clicked(simulation.liked["default"], experiment, simulation.users, VISITS).sum(axis=(1, 2))
        variants = assign(simulation, experiment, EVEN_SPLIT)
        significant += ab_difference(clicks, clicks, VISITS, everyone, variants).significant
    print(f"\nA/A default vs default: significant at {ALPHA} in {significant} of 100 experiments")

    # At alpha 0.05 about 5 of 100 are expected by chance; 95 or more should show no difference.
    assert significant == 2


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


def test_interleaving_needs_fewer_users_than_an_ab_test_but_not_a_fifth_of_them(simulation: Simulation) -> None:
    comparison = compare(simulation, "popular", VISITS)
    behaviour = comparison.behaviour

    assert (comparison.ab_users, comparison.interleaving_users) == (60, 25)
    assert 2 * comparison.interleaving_users < comparison.ab_users < 5 * comparison.interleaving_users
    # Why not nearer a fifth, worked with the normal approximation (z 1.96 for alpha, 0.84 for
    # power). Popular's lists get 0.383 clicks against default's 1.026 (sample variances per user
    # 0.403 and 0.750): a difference of 0.643 so large that the A/B test needs about
    # (1.96 + 0.84)² (0.750 + 0.403) / 0.643² = 22 users per arm, 44 in all. Interleaved, only
    # the lists whose clicks fall more to one side decide (243 of 459, 53%) and default wins
    # 213 of them, a share q = 0.877: the sign test needs about
    # ((1.96 + 0.84 sqrt(1 - (2q - 1)²)) / (2q - 1))² = 11 decided lists, 21 users. About half
    # the users, then, as measured; the subsets and the grid's steps make it 60 and 25.
    assert (int(behaviour.default_wins.sum()), int(behaviour.other_wins.sum())) == (213, 30)
    assert behaviour.clicks["default"].mean() == pytest.approx(471 / 459, abs=1e-12)
    assert behaviour.clicks["popular"].mean() == pytest.approx(176 / 459, abs=1e-12)


# default against each alternative, on visits per user: the users each design needs (None: more
# than the largest size tried, 400), and on all 459 test users the A/B test's p-value, the lists
# each side won when interleaved and the win share's p-value. `content` lists are even further
# from what users like than `popular`'s. The other three share 9.2 to 9.7 of their 10 films with
# default's list, and neither design tells them from it, even on every test user.
@pytest.mark.parametrize(
    ("other", "visits", "needed", "ab_p_value", "wins", "interleaved_p_value"),
    [
        ("popular", 1, (60, 25), 5.937324e-15, (213, 30), 7.999989e-32),
        ("popular", 3, (40, 9), 1.457960e-34, (651, 102), 3.110050e-45),
        ("content", 1, (30, 30), 8.268601e-28, (210, 38), 9.047018e-28),
        ("content", 3, (15, 20), 9.401510e-53, (645, 122), 6.690930e-40),
        ("collaborative", 1, (None, None), 0.595999, (133, 148), 0.370881),
        ("collaborative", 3, (None, None), 0.859273, (418, 447), 0.479369),
        ("no-diversity", 1, (None, None), 0.523362, (126, 157), 0.0653642),
        ("no-diversity", 3, (None, None), 0.667901, (410, 455), 0.265462),
        ("more-diversity", 1, (None, None), 0.525704, (135, 154), 0.263718),
        ("more-diversity", 3, (None, None), 0.781425, (420, 456), 0.382593),
    ],
)
def test_users_each_design_needs_against_the_default(
    simulation: Simulation,
    other: str,
    visits: int,
    needed: tuple[int | None, int | None],
    ab_p_value: float,
    wins: tuple[int, int],
    interleaved_p_value: float,
) -> None:
    comparison = compare(simulation, other, visits)
    behaviour = comparison.behaviour

    assert (comparison.ab_users, comparison.interleaving_users) == needed
    assert comparison.ab_difference.p_value == pytest.approx(ab_p_value, rel=1e-5)
    assert (int(behaviour.default_wins.sum()), int(behaviour.other_wins.sum())) == wins
    assert comparison.interleaved_p_value == pytest.approx(interleaved_p_value, rel=1e-5)
