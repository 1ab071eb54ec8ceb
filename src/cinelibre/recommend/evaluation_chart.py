"""The evaluation's chart: RMSE and NDCG@10 of each algorithm side by side. Kept apart from
evaluation.py because Matplotlib takes most of a second to import."""

from pathlib import Path

from matplotlib.figure import Figure

from cinelibre.recommend.evaluation import Scores


def write_chart(results: dict[str, Scores], path: Path) -> None:
    """A PNG with one bar chart for rating prediction and one for top-10 ranking."""
    # A bare Figure draws with the Agg renderer, without pyplot's global state or a display.
    figure = Figure(figsize=(12, 4.5))
    rating_axis, ranking_axis = figure.subplots(1, 2)
    rated = _means(results, "RMSE")
    ranked = _means(results, "NDCG@10")
    rating_axis.barh(list(rated), list(rated.values()), color="#4c72b0")
    rating_axis.set_title("Rating prediction: RMSE (lower is better)")
    rating_axis.set_xlim(0.8, max(rated.values()) + 0.05)
    ranking_axis.barh(list(ranked), list(ranked.values()), color="#55a868")
    ranking_axis.set_title("Top-10: NDCG@10 (higher is better)")
    for axis, values in ((rating_axis, rated), (ranking_axis, ranked)):
        for row, value in enumerate(values.values()):
            axis.text(value, row, f" {value:.3f}", va="center")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _means(results: dict[str, Scores], metric: str) -> dict[str, float]:
    """Each algorithm's mean of `metric`, leaving out those that do not measure it."""
    means = {name: scores.mean(metric) for name, scores in results.items()}
    return {name: mean for name, mean in means.items() if mean is not None}
