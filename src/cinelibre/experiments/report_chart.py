"""An experiment's results as a PNG, for `cinelibre experiments report`: each variant's CTR with
the 95% interval of its difference to the control, or, for interleaving, each variant's share of
the decided lists with its interval around an even split; titled with the name and the verdict.

Matplotlib is imported when a chart is drawn, never at import: this package is the API's, and the
API process does without Matplotlib (tests/test_footprint.py)."""

from pathlib import Path
from textwrap import fill
from typing import TYPE_CHECKING

from cinelibre.experiments.schemas import InterleavingResult, Results, VariantResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CONTROL_COLOUR = "#8c8c8c"
VARIANT_COLOUR = "#4c72b0"
# The verdict's sentence under the title, wrapped to the figure's width.
REASON_WIDTH = 100


def write_chart(results: Results, path: Path) -> None:
    # A bare Figure draws with the Agg renderer, without pyplot's global state or a display.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5.5))
    axis = figure.subplots()
    if results.interleaving is None:
        _click_through_rates(axis, results.variants, confidence=1 - results.alpha)
    else:
        _win_shares(axis, results.interleaving, [variant.name for variant in results.variants], 1 - results.alpha)
    winner = results.verdict.winner
    figure.suptitle(f"{results.experiment.name}: {f'{winner} wins' if winner else 'no winner yet'}", fontweight="bold")
    axis.set_title(fill(results.verdict.reason, REASON_WIDTH), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _click_through_rates(axis: "Axes", variants: list[VariantResult], confidence: float) -> None:
    """A bar per variant. The results give an interval for each difference to the control, not for
    each rate alone, and that difference is what the verdict judges: each other variant's bar
    carries it, drawn about its own CTR, so a bar whose interval misses the control's dashed line
    differs from the control at that confidence."""
    from matplotlib.ticker import PercentFormatter

    control, others = variants[0], variants[1:]
    places = range(len(variants))
    rates = [variant.ctr for variant in variants]
    axis.bar(places, rates, color=[CONTROL_COLOUR] + [VARIANT_COLOUR] * len(others), width=0.6)
    below = [variant.difference.value - variant.difference.ci[0] for variant in others if variant.difference]
    above = [variant.difference.ci[1] - variant.difference.value for variant in others if variant.difference]
    axis.errorbar(
        list(places)[1:],
        rates[1:],
        yerr=[below, above],
        fmt="none",
        ecolor="black",
        capsize=10,
        label=f"{confidence:.0%} interval of the difference to {control.name}",
    )
    axis.axhline(control.ctr, color=CONTROL_COLOUR, linestyle="--", linewidth=1, label=f"{control.name}'s CTR")
    for place, variant in zip(places, variants, strict=True):
        axis.annotate(
            f"{variant.ctr:.2%}",
            (place, variant.ctr),
            xytext=(-14, 4),
            textcoords="offset points",
            ha="right",
            fontsize="small",
        )
    axis.set_xticks(
        list(places),
        [f"{variant.name}\n({variant.configuration})\n{variant.users:,} users" for variant in variants],
    )
    highest = max([rate + extra for rate, extra in zip(rates[1:], above, strict=True)] + rates)
    axis.set_ylim(0, max(highest * 1.15, 0.01))
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylabel("CTR (clicks per list shown)")
    axis.legend(loc="upper left", fontsize="small")


def _win_shares(axis: "Axes", interleaving: InterleavingResult, names: list[str], confidence: float) -> None:
    """Each variant's share of the lists one of them won, with its interval; the two make one whole."""
    from matplotlib.ticker import PercentFormatter

    share = interleaving.share
    first_low, first_high = share.ci
    values = [share.value, 1 - share.value]
    lows = [first_low, 1 - first_high]
    highs = [first_high, 1 - first_low]
    rows = [1, 0]  # the first variant on top
    axis.errorbar(
        values,
        rows,
        xerr=[
            [value - low for value, low in zip(values, lows, strict=True)],
            [high - value for value, high in zip(values, highs, strict=True)],
        ],
        fmt="o",
        color=VARIANT_COLOUR,
        ecolor="black",
        capsize=10,
        markersize=9,
        label=f"win share, {confidence:.0%} interval",
    )
    axis.axvline(0.5, color=CONTROL_COLOUR, linestyle="--", linewidth=1, label="even split")
    for row, value in zip(rows, values, strict=True):
        axis.annotate(f"{value:.1%}", (value, row), xytext=(0, 10), textcoords="offset points", ha="center")
    axis.set_yticks(rows, [f"{name}\nwon {interleaving.wins.get(name, 0):,}" for name in names])
    axis.set_ylim(-0.6, 1.6)
    axis.set_xlim(0, 1)
    axis.xaxis.set_major_formatter(PercentFormatter(1.0))
    decided = sum(interleaving.wins.values())
    axis.set_xlabel(
        f"share of the {decided:,} decided lists ({interleaving.lists:,} lists, {interleaving.ties:,} tied)"
    )
    axis.legend(loc="lower right", fontsize="small")
