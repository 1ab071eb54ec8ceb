"""The experiments' statistics and team-draft interleaving on examples small enough to work out by
hand; the working is in the comments, the normal quantiles from a table (z_0.975 = 1.959964,
z_0.8 = 0.841621)."""

import numpy as np
import pytest

from cinelibre.experiments.interleaving import WinShare, list_outcome, team_draft, win_share
from cinelibre.experiments.statistics import (
    Difference,
    minimum_detectable_effect,
    ratio_difference,
    ratio_estimate,
    sample_ratio_mismatch,
    verdict,
)

Z_975 = 1.959964

# Control, three users: clicks x = 1, 0, 2 over exposures y = 2, 1, 2.
#   R = 3 / 5 = 0.6
#   var(x) = ((1-1)² + (0-1)² + (2-1)²) / 2 = 1
#   var(y) = ((1/3)² + (2/3)² + (1/3)²) / 2 = 1/3
#   cov(x, y) = (0·1/3 + (-1)(-2/3) + 1·1/3) / 2 = 1/2
#   var(x) - 2R cov + R² var(y) = 1 - 0.6 + 0.12 = 0.52
#   n ȳ² = 3 · (5/3)² = 25/3, so var(R) = 0.52 · 3 / 25 = 0.0624
CONTROL = (np.array([1, 0, 2]), np.array([2, 1, 2]))
# Treatment, three users: x = 2, 1, 3 over y = 2, 2, 2.
#   R = 6 / 6 = 1; x - R y = 0, -1, 1, whose variance is 2 / 2 = 1
#   n ȳ² = 3 · 2² = 12, so var(R) = 1/12
TREATMENT = (np.array([2, 1, 3]), np.array([2, 2, 2]))


def test_an_arms_ratio_has_the_delta_method_variance() -> None:
    control = ratio_estimate(*CONTROL)
    treatment = ratio_estimate(*TREATMENT)

    assert (control.value, control.measurable) == (pytest.approx(0.6), True)
    assert control.variance == pytest.approx(0.0624)
    assert (treatment.value, treatment.variance) == (pytest.approx(1.0), pytest.approx(1 / 12))


def test_the_difference_of_two_arms_has_a_normal_interval_and_p_value() -> None:
    # difference 1 - 0.6 = 0.4; relative 0.4 / 0.6 = 2/3
    # standard error sqrt(0.0624 + 0.083333) = sqrt(0.145733) = 0.381751
    # z = 0.4 / 0.381751 = 1.047805, two-sided p = 2 · (1 - Φ(1.047805)) = 0.294728
    # interval 0.4 ± 1.959964 · 0.381751 = 0.4 ± 0.748217
    difference = ratio_difference(CONTROL, TREATMENT)

    assert difference.value == pytest.approx(0.4)
    assert difference.relative == pytest.approx(2 / 3)
    assert difference.ci_low == pytest.approx(0.4 - 0.748217, abs=1e-6)
    assert difference.ci_high == pytest.approx(0.4 + 0.748217, abs=1e-6)
    assert difference.p_value == pytest.approx(0.294728, abs=1e-6)
    assert difference.significant is False


def test_a_large_enough_difference_is_significant_and_the_interval_follows_alpha() -> None:
    # Forty users an arm, each shown one list. Control: 1 click in every fourth user (R = 0.25),
    # treatment: in three of every four (R = 0.75). In each arm x - R y is ±0.25 or ±0.75:
    # per four users 3 · 0.25² + 0.75² = 0.75, so 7.5 over forty, variance 7.5 / 39, and
    # var(R) = 7.5 / 39 / 40 = 0.00480769 (ȳ = 1).
    # standard error sqrt(2 · 0.00480769) = 0.0980581, z = 0.5 / 0.0980581 = 5.09902,
    # p = 2 · (1 - Φ(5.09902)) = 3.41417e-7
    # at alpha 0.01: 0.5 ± 2.575829 · 0.0980581 = 0.5 ± 0.252581
    ones = np.ones(40)
    control = (np.tile([0, 0, 0, 1], 10), ones)
    treatment = (np.tile([1, 1, 1, 0], 10), ones)

    difference = ratio_difference(control, treatment, alpha=0.01)

    assert difference.value == pytest.approx(0.5)
    assert difference.relative == pytest.approx(2.0)
    assert difference.p_value == pytest.approx(3.41417e-7, rel=1e-5)
    assert (difference.ci_low, difference.ci_high) == (
        pytest.approx(0.247419, abs=1e-6),
        pytest.approx(0.752581, abs=1e-6),
    )
    assert difference.significant is True


def test_an_arm_of_one_user_leaves_the_comparison_undecided() -> None:
    # Control R = 0.6 as above; treatment 1 / 4 = 0.25: difference -0.35, relative -0.35 / 0.6.
    difference = ratio_difference(CONTROL, (np.array([1]), np.array([4])))

    assert difference == Difference(
        pytest.approx(-0.35), pytest.approx(-0.35 / 0.6), pytest.approx(-0.35), pytest.approx(-0.35), 1.0, False
    )


def test_a_control_never_exposed_reads_zero_and_has_no_relative_difference() -> None:
    difference = ratio_difference((np.zeros(3), np.zeros(3)), TREATMENT)

    assert difference == Difference(1.0, None, 1.0, 1.0, 1.0, False)


def test_arms_without_any_spread_are_undecided_rather_than_certain() -> None:
    # Every control user clicked 1 of 2 (R = 0.5), every treatment user 1 of 1 (R = 1): x - R y is
    # 0 for everyone, so no variance is measured.
    difference = ratio_difference((np.ones(5), np.full(5, 2.0)), (np.ones(5), np.ones(5)))

    assert difference == Difference(0.5, 1.0, 0.5, 0.5, 1.0, False)


def test_empty_arms_give_no_difference_and_no_nan() -> None:
    empty = (np.zeros(0), np.zeros(0))

    assert ratio_difference(empty, empty) == Difference(0.0, None, 0.0, 0.0, 1.0, False)


def test_a_split_far_from_the_plan_is_flagged_and_a_near_one_is_not() -> None:
    # 60 / 40 against 50 / 50: χ² = 10²/50 + 10²/50 = 4 with 1 degree of freedom,
    # p = P(|Z| > 2) = 0.0455003. Ten times the users: χ² = 40, p = P(|Z| > 6.324555) = 2.53963e-10.
    near = sample_ratio_mismatch([60, 40], [0.5, 0.5])
    far = sample_ratio_mismatch([600, 400], [0.5, 0.5])

    assert (near.p_value, near.flagged) == (pytest.approx(0.0455003, abs=1e-7), False)
    assert (far.p_value, far.flagged) == (pytest.approx(2.53963e-10, rel=1e-5), True)


def test_a_split_exactly_as_planned_fits_perfectly() -> None:
    # 20 / 80 against shares 0.2 / 0.8: χ² = 0, p = 1.
    check = sample_ratio_mismatch([20, 80], [0.2, 0.8])

    assert (check.p_value, check.flagged) == (pytest.approx(1.0), False)


def test_no_users_flag_nothing() -> None:
    check = sample_ratio_mismatch([0, 0, 0], [0.5, 0.25, 0.25])

    assert (check.p_value, check.flagged) == (1.0, False)


def test_users_in_a_variant_planned_to_get_none_are_flagged() -> None:
    check = sample_ratio_mismatch([50, 45, 5], [0.5, 0.5, 0.0])

    assert (check.p_value, check.flagged) == (0.0, True)


def test_the_minimum_detectable_effect_compares_the_control_with_the_smallest_arm() -> None:
    # Baseline 0.1: p (1 - p) = 0.09. Control 1000 exposures, smallest other arm 500:
    # 1/1000 + 1/500 = 0.003; sqrt(0.09 · 0.003) = sqrt(0.00027) = 0.0164317.
    # (1.959964 + 0.841621) · 0.0164317 = 2.801585 · 0.0164317 = 0.0460347
    effect = minimum_detectable_effect(0.1, [1000, 2000, 500])

    assert effect == pytest.approx(0.0460347, abs=1e-7)


def test_an_arm_expecting_no_exposures_can_detect_nothing() -> None:
    assert minimum_detectable_effect(0.1, [1000, 0]) == float("inf")


def _difference(value: float, p_value: float) -> Difference:
    return Difference(value, None, value - 0.01, value + 0.01, p_value, p_value < 0.05)


def test_the_winner_is_the_largest_gain_significant_after_bonferroni() -> None:
    # Two treatments at alpha 0.05: each is tested at 0.025. "wide" gains more but p = 0.03
    # does not pass; "narrow" passes.
    differences = {"control": None, "wide": _difference(0.02, 0.03), "narrow": _difference(0.01, 0.01)}

    winner, reason = verdict("control", differences, 0.05)

    assert winner == "narrow"
    assert reason == "narrow beats control by 0.01 (p = 0.01, below 0.025: alpha 0.05 split over 2 comparisons)."


def test_a_single_treatment_is_tested_at_alpha_itself() -> None:
    winner, reason = verdict("control", {"wide": _difference(0.02, 0.03)}, 0.05)

    assert winner == "wide"
    assert reason == "wide beats control by 0.02 (p = 0.03, below 0.05: alpha 0.05)."


def test_the_control_wins_when_every_treatment_is_significantly_worse() -> None:
    differences = {"a": _difference(-0.02, 0.001), "b": _difference(-0.01, 0.02)}

    winner, reason = verdict("control", differences, 0.05)

    assert winner == "control"
    assert reason == (
        "control wins: every other variant is significantly worse "
        "(p = 0.02 at most, below 0.025: alpha 0.05 split over 2 comparisons)."
    )


def test_no_winner_while_a_treatment_is_neither_better_nor_worse() -> None:
    differences = {"a": _difference(-0.02, 0.001), "b": _difference(-0.01, 0.04)}

    winner, reason = verdict("control", differences, 0.05)

    assert winner is None
    assert reason == (
        "No winner yet: no variant differs from control with p below 0.025 (alpha 0.05 split over 2 comparisons)."
    )


def test_no_winner_while_a_treatment_has_nothing_to_compare() -> None:
    differences = {"a": _difference(-0.02, 0.001), "b": None}

    winner, reason = verdict("control", differences, 0.05)

    assert winner is None
    assert reason == "No winner yet: nothing to compare b with control on so far."


def test_team_draft_alternates_picks_and_lists_a_shared_item_once() -> None:
    # Seed 1's coin draws 0, 1, 1, ... (numpy's default_rng(1).integers(2)).
    #   picks 0-0, coin 0: first takes a
    #   picks 1-0: second takes b
    #   picks 1-1, coin 1: second takes e
    #   picks 1-2: first takes c (its b is listed already)
    #   picks 2-2, coin 1: second takes f (its a is listed already)
    merged = team_draft(["a", "b", "c", "d"], ["b", "e", "a", "f"], 5, seed=1)

    assert merged == [("a", 0), ("b", 1), ("e", 1), ("c", 0), ("f", 1)]


def test_team_draft_lets_the_other_team_fill_when_one_runs_out() -> None:
    # Seed 4's coin draws 1, 1, ...: second takes b; first takes a (fewer picks); coin 1: second
    # takes c; first has nothing left, so second takes d; nothing is left for a fifth place.
    merged = team_draft(["a"], ["b", "c", "d"], 10, seed=4)

    assert merged == [("b", 1), ("a", 0), ("c", 1), ("d", 1)]


def test_team_draft_is_the_same_for_the_same_seed() -> None:
    first, second = list(range(20)), list(range(19, -1, -1))

    lists = {tuple(team_draft(first, second, 10, seed=seed)) for seed in range(5)}
    again = {tuple(team_draft(first, second, 10, seed=seed)) for seed in range(5)}

    assert lists == again
    assert len(lists) > 1


def test_a_list_is_won_by_the_team_with_more_clicked_picks() -> None:
    assert [list_outcome(clicks) for clicks in ([0, 0, 1], [1], [0, 1], [])] == [1, -1, 0, 0]


def test_the_first_teams_win_share_has_the_delta_method_interval_and_tests_an_even_split() -> None:
    # Four users; lists won by the first team 1, 0, 1, 2 and by the second 0, 1, 0, 0.
    #   decided y = 1, 1, 1, 2; share R = 4 / 5 = 0.8
    #   x - R y = 0.2, -0.8, 0.2, 0.4: squares sum to 0.88, variance 0.88 / 3 = 0.293333
    #   n ȳ² = 4 · 1.25² = 6.25, var(R) = 0.0469333, standard error 0.216641
    #   interval 0.8 ± 1.959964 · 0.216641 = 0.8 ± 0.424609, clipped above at 1
    # Against an even split, d = x - y / 2 = 0.5, -0.5, 0.5, 1: Σd = 1.5, Σd² = 1.75,
    #   z = 1.5 / sqrt(1.75) = 1.133893, p = 2 · (1 - Φ(1.133893)) = 0.256839
    share = win_share(np.array([1, 0, 1, 2]), np.array([0, 1, 0, 0]))

    assert share.value == pytest.approx(0.8)
    assert share.ci_low == pytest.approx(0.375391, abs=1e-6)
    assert share.ci_high == 1.0
    assert share.p_value == pytest.approx(0.256839, abs=1e-6)


def test_with_one_list_per_user_the_win_share_test_is_the_sign_test() -> None:
    # Fifty users: 30 lists won by the first team, 10 by the second, 10 ties. Share 30 / 40 = 0.75.
    #   x - R y: 0.25 (30 users), -0.75 (10), 0 (10): squares 1.875 + 5.625 = 7.5, variance 7.5 / 49
    #   n ȳ² = 50 · 0.8² = 32, var(R) = 7.5 / 49 / 32 = 0.00478316, standard error 0.0691604
    #   interval 0.75 ± 1.959964 · 0.0691604 = 0.75 ± 0.135552
    # d = ±0.5 for decided users: z = (30 - 10) · 0.5 / sqrt(40 · 0.25) = (30 - 10) / sqrt(40)
    #   = 3.162278, p = 0.00156540
    first = np.array([1] * 30 + [0] * 10 + [0] * 10)
    second = np.array([0] * 30 + [1] * 10 + [0] * 10)

    share = win_share(first, second)

    assert share.value == pytest.approx(0.75)
    assert (share.ci_low, share.ci_high) == (pytest.approx(0.614448, abs=1e-6), pytest.approx(0.885552, abs=1e-6))
    assert share.p_value == pytest.approx(0.00156540, rel=1e-5)


def test_without_decided_lists_the_share_is_even_and_unknown() -> None:
    assert win_share(np.array([0, 0]), np.array([0, 0])) == WinShare(0.5, 0.0, 1.0, 1.0)


def test_a_share_from_one_user_has_no_interval() -> None:
    # d = 3 - 4 / 2 = 1: z = 1, p = 0.317311
    assert win_share(np.array([3]), np.array([1])) == WinShare(0.75, 0.0, 1.0, pytest.approx(0.317311, abs=1e-6))


def test_lists_all_won_by_one_team_are_evidence_though_the_delta_method_sees_no_spread() -> None:
    # Five users, one list each, all won by the first team: share 1 with no spread around it.
    # d = 0.5 each: z = 2.5 / sqrt(1.25) = 2.236068, p = 0.0253473.
    assert win_share(np.ones(5), np.zeros(5)) == WinShare(1.0, 1.0, 1.0, pytest.approx(0.0253473, abs=1e-7))
