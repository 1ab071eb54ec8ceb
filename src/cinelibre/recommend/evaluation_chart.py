"""The evaluation's chart: RMSE and NDCG@10 of each algorithm side by side, and, when the
cold-start experiment ran, NDCG@10 by how many ratings a user has. Kept apart from evaluation.py
because Matplotlib takes most of a second to import."""

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cinelibre.recommend.evaluation import COLD_START_ALL, COLD_START_AS_VIEWS, COLD_START_KEPT, Experiment, Scores


def write_chart(results: dict[str, Scores], path: Path, cold_start: Experiment | None = None) -> None:
    """A PNG with one bar chart for rating prediction and one for top-10 ranking, and a third
    panel of cold-start curves when `cold_start` measured any user."""
    curves = cold_start is not None and bool(cold_start.rows)
    # A bare Figure draws with the Agg renderer, without pyplot's global state or a display.
    figure = Figure(figsize=(18 if curves else 12, 4.5))
    axes = figure.subplots(1, 3 if curves else 2)
    rating_axis, ranking_axis = axes[0], axes[1]
    rated = _means(results, "RMSE")
    ranked = _means(results, "NDCG@10")
    rating_axis.barh(list(rated), list(rated.values()), color="#4c72b0")
    rating_axis.set_title("Rating prediction: RMSE (lower is better)")
    if rated:
        rating_axis.set_xlim(0.8, max(rated.values()) + 0.05)
    ranking_axis.barh(list(ranked), list(ranked.values()), color="#55a868")
    ranking_axis.set_title("Top-10: NDCG@10 (higher is better)")
    for axis, values in ((rating_axis, rated), (ranking_axis, ranked)):
        for row, value in enumerate(values.values()):
            axis.text(value, row, f" {value:.3f}", va="center")
    if curves:
        assert cold_start is not None
        _cold_start_curves(axes[2], cold_start)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _cold_start_curves(axis: Axes, cold_start: Experiment) -> None:
    """NDCG@10 against training ratings kept, one line per model; a marker at 0 for the same
    users with their training items as views, a dotted level for them with all their ratings."""
    for model in cold_start.models():
        means = [_mean(cold_start, f"{kept} ratings", model) for kept in COLD_START_KEPT]
        (line,) = axis.plot(COLD_START_KEPT, means, marker="o", label=model)
        views = _mean(cold_start, COLD_START_AS_VIEWS, model)
        if views is not None:
            axis.plot([0], [views], marker="*", markersize=12, color=line.get_color(), linestyle="none")
        everything = _mean(cold_start, COLD_START_ALL, model)
        if everything is not None:
            axis.axhline(everything, color=line.get_color(), linestyle=":", linewidth=1)
    axis.set_title("Cold start: NDCG@10 by ratings kept\n(★ views only, ⋯ all ratings)")
    axis.set_xlabel("training ratings kept")
    axis.set_xticks(COLD_START_KEPT)
    axis.legend(fontsize="small")


def _mean(experiment: Experiment, row: str, model: str) -> float | None:
    values = experiment.rows.get(row, {}).get(model)
    return sum(values) / len(values) if values else None


def _means(results: dict[str, Scores], metric: str) -> dict[str, float]:
    """Each algorithm's mean of `metric`, leaving out those that do not measure it."""
    means = {name: scores.mean(metric) for name, scores in results.items()}
    return {name: mean for name, mean in means.items() if mean is not None}
