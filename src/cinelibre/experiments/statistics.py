"""The statistics behind an experiment's results: pure functions of per-user counts.

The metric is a ratio of sums (clicks over exposures, summed over each arm's users). Users, not
exposures, are the independent units: one user's lists are alike, so treating each exposure as
an independent coin would understate the variance. The delta method gives the variance of a
ratio of two per-user sums:

    var(R) ≈ (var(x) - 2 R cov(x, y) + R² var(y)) / (n ȳ²)

with x the numerators, y the denominators, R = Σx / Σy, n users and sample (ddof=1) variances.
The numerator is the sample variance of x - R y, which is how it is computed here: the same value,
never negative through rounding.

Degenerate inputs give a defined answer rather than NaN: an arm with fewer than two users, an arm
that was never exposed (its denominators sum to 0; its rate reads 0) or no measurable spread at
all leaves the comparison undecided: p-value 1.0, the interval is the point difference alone, not
significant. No spread is not certainty: with a handful of users it is the usual case.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# The API answers results itself, and its process must not load SciPy (about 30 MB that only
# training needs): the normal distribution comes from the standard library, and the chi-square
# tail, for the whole degrees of freedom an experiment has, from its closed form below.
NORMAL = NormalDist()


def normal_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def chi_square_tail(statistic: float, degrees_of_freedom: int) -> float:
    """P(X > statistic) for X chi-square with whole `degrees_of_freedom`, in closed form: for even
    k, e^(-x/2) Σ_{i<k/2} (x/2)^i / i!; for odd k, the normal's two tails at √x plus
    √(2x/π) e^(-x/2) Σ_{i=1}^{(k-1)/2} x^(i-1) / (1·3·…·(2i-1))."""
    x = max(0.0, float(statistic))
    if degrees_of_freedom % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, degrees_of_freedom // 2):
            term *= (x / 2) / i
            total += term
        return min(1.0, math.exp(-x / 2) * total)
    term, total = 1.0, 0.0
    for i in range(1, (degrees_of_freedom - 1) // 2 + 1):
        term = 1.0 if i == 1 else term * x / (2 * i - 1)
        total += term
    return min(1.0, 2 * normal_tail(math.sqrt(x)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2) * total)


@dataclass(frozen=True)
class RatioEstimate:
    """An arm's ratio of sums, the delta-method variance of it, and whether that variance means
    anything (at least two users and something exposed)."""

    value: float
    variance: float
    measurable: bool


@dataclass(frozen=True)
class Difference:
    """Treatment minus control, with its (1 - alpha) normal interval and two-sided p-value.
    `relative` is the difference as a share of the control's value (None when that is 0)."""

    value: float
    relative: float | None
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class SampleRatioCheck:
    p_value: float
    flagged: bool


def ratio_estimate(numerators: np.ndarray, denominators: np.ndarray) -> RatioEstimate:
    """Σnumerators / Σdenominators over one arm's users, with its delta-method variance."""
    x = np.asarray(numerators, dtype=np.float64)
    y = np.asarray(denominators, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("numerators and denominators must be 1-d arrays of the same length (one entry per user)")
    total = float(y.sum())
    if total == 0:
        return RatioEstimate(0.0, 0.0, False)
    value = float(x.sum()) / total
    users = len(x)
    if users < 2:
        return RatioEstimate(value, 0.0, False)
    mean_denominator = total / users
    variance = float(np.var(x - value * y, ddof=1)) / (users * mean_denominator**2)
    return RatioEstimate(value, variance, True)


def ratio_difference(
    control: tuple[np.ndarray, np.ndarray], treatment: tuple[np.ndarray, np.ndarray], alpha: float = 0.05
) -> Difference:
    """The treatment's ratio minus the control's: each arm is (numerators, denominators), one
    entry per user. The arms are independent, so the difference's variance is the sum of theirs."""
    control_arm, treatment_arm = ratio_estimate(*control), ratio_estimate(*treatment)
    value = treatment_arm.value - control_arm.value
    relative = value / control_arm.value if control_arm.value != 0 else None
    standard_error = float(np.sqrt(control_arm.variance + treatment_arm.variance))
    if not (control_arm.measurable and treatment_arm.measurable) or standard_error == 0:
        return Difference(value, relative, value, value, 1.0, False)
    margin = NORMAL.inv_cdf(1 - alpha / 2) * standard_error
    p_value = 2 * normal_tail(abs(value) / standard_error)
    return Difference(value, relative, value - margin, value + margin, p_value, p_value < alpha)


# An experiment's results are looked at again and again while it runs; at 0.05 one fair split in
# twenty would be flagged at some look. A broken assignment or lost exposures push the p-value far
# below 0.001 within a few thousand users, so the strict threshold costs little.
SRM_THRESHOLD = 0.001


def sample_ratio_mismatch(
    observed_users: Sequence[int], shares: Sequence[float], threshold: float = SRM_THRESHOLD
) -> SampleRatioCheck:
    """Chi-square goodness of fit of the users each variant got against its planned share.
    Flagged (the split is not what was planned, so the comparison cannot be trusted) when the
    p-value is below `threshold`. Without users, or with fewer than two variants, nothing is
    flagged (p-value 1.0)."""
    observed = np.asarray(observed_users, dtype=np.float64)
    planned = np.asarray(shares, dtype=np.float64)
    if observed.shape != planned.shape:
        raise ValueError("one planned share per variant")
    total = observed.sum()
    if total == 0 or len(observed) < 2:
        return SampleRatioCheck(1.0, False)
    expected = total * planned / planned.sum()
    if np.any((expected == 0) & (observed > 0)):
        # Users in a variant planned to get none: as far from the plan as a split can be.
        return SampleRatioCheck(0.0, True)
    planned_for = expected > 0
    if planned_for.sum() < 2:
        return SampleRatioCheck(1.0, False)
    statistic = float(np.sum((observed[planned_for] - expected[planned_for]) ** 2 / expected[planned_for]))
    p_value = chi_square_tail(statistic, int(planned_for.sum()) - 1)
    return SampleRatioCheck(p_value, p_value < threshold)


def minimum_detectable_effect(
    baseline_rate: float, exposures_per_variant: Sequence[float], alpha: float = 0.05, power: float = 0.8
) -> float:
    """The smallest absolute difference in rate between the control (first) and the smallest
    other arm that a two-sided test at `alpha` detects with probability `power`, treating each
    exposure as a coin with the baseline's chance (a rate outside [0, 1] is clipped into it):

        (z_{1-alpha/2} + z_{power}) · sqrt(p (1 - p) (1/n_control + 1/n_other))

    inf when an arm expects no exposures."""
    if len(exposures_per_variant) < 2:
        raise ValueError("a control and at least one other variant")
    control = float(exposures_per_variant[0])
    other = float(min(exposures_per_variant[1:]))
    if control <= 0 or other <= 0:
        return float("inf")
    rate = float(np.clip(baseline_rate, 0.0, 1.0))
    z = NORMAL.inv_cdf(1 - alpha / 2) + NORMAL.inv_cdf(power)
    return float(z * np.sqrt(rate * (1 - rate) * (1 / control + 1 / other)))


def verdict(control: str, differences: dict[str, Difference | None], alpha: float) -> tuple[str | None, str]:
    """The winning variant (or None) and one sentence saying why.

    `differences` holds each treatment's difference from the control (None where there is
    nothing to compare yet); an entry for the control itself is ignored. With k treatments each
    is tested at alpha / k (Bonferroni), so that the chance of crowning some treatment by luck
    stays at alpha. The winner is the treatment with the largest significant gain; the control
    wins only when every treatment is significantly worse."""
    treatments = {name: difference for name, difference in differences.items() if name != control}
    if not treatments:
        return None, f"There is no variant to compare with {control}."
    threshold = alpha / len(treatments)
    split = f"alpha {alpha:g} split over {len(treatments)} comparisons" if len(treatments) > 1 else f"alpha {alpha:g}"

    significant = {
        name: difference
        for name, difference in treatments.items()
        if difference is not None and difference.p_value < threshold
    }
    better = {name: difference for name, difference in significant.items() if difference.value > 0}
    if better:
        name, best = max(better.items(), key=lambda item: item[1].value)
        return name, (
            f"{name} beats {control} by {best.value:.4g} (p = {best.p_value:.3g}, below {threshold:.3g}: {split})."
        )
    if len(significant) == len(treatments) and all(difference.value < 0 for difference in significant.values()):
        largest = max(difference.p_value for difference in significant.values())
        every = "the only other variant is" if len(treatments) == 1 else "every other variant is"
        return control, (
            f"{control} wins: {every} significantly worse (p = {largest:.3g} at most, below {threshold:.3g}: {split})."
        )
    waiting = [name for name, difference in treatments.items() if difference is None]
    if waiting:
        return None, f"No winner yet: nothing to compare {', '.join(waiting)} with {control} on so far."
    return None, f"No winner yet: no variant differs from {control} with p below {threshold:.3g} ({split})."
