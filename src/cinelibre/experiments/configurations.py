"""Named recipes for the lists a surface serves, for experiments to compare: what `default` serves
today, and meaningful alternatives. Pure data that the personalized ranking (ranking.rank()), the
similar-items fusion and search read, so the API and the offline evaluation (the Hybrid) serve a
configuration the same way. It imports nothing of ours: every layer that serves a list can read it.
"""

from dataclasses import dataclass

SURFACES = ("personalized", "similar", "popular", "search")
SIGNALS = ("collaborative", "content", "popularity")


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    surfaces: tuple[str, ...]
    # personalized: the blend's signals that count (the others weigh 0), the diversity step's
    # share as a multiple of the served one (blend.DIVERSITY), and whether an item new since
    # training may take its place.
    signals: tuple[str, ...] = SIGNALS
    diversity_factor: float = 1.0
    fresh_place: bool = True
    # similar: the neighbour lists fused ("content": close in meaning, "rated": rated alike).
    similar_lists: tuple[str, ...] = ("content", "rated")
    # search: the retrieval mode (search.schemas.SearchMode's values); None keeps the caller's.
    search_mode: str | None = None

    def serves(self, surface: str) -> bool:
        return surface in self.surfaces


DEFAULT = Configuration("default", "What CineLibre serves today on every surface.", SURFACES)

CONFIGURATIONS: dict[str, Configuration] = {
    configuration.name: configuration
    for configuration in (
        DEFAULT,
        Configuration(
            "popular",
            "The Bayesian-average popular order, never an item the user rated: the list a recommender has to beat.",
            ("personalized", "popular"),
            signals=("popularity",),
            diversity_factor=0.0,
            fresh_place=False,
        ),
        Configuration(
            "collaborative",
            "The trained models alone (personalized), or items rated alike alone (similar; close in meaning "
            "while too few people rated the item).",
            ("personalized", "similar"),
            signals=("collaborative",),
            similar_lists=("rated",),
        ),
        Configuration(
            "content",
            "The user's content profile alone (personalized), or closeness in meaning alone (similar).",
            ("personalized", "similar"),
            signals=("content",),
            similar_lists=("content",),
        ),
        Configuration(
            "no-diversity", "The default blend without the diversity step.", ("personalized",), diversity_factor=0.0
        ),
        Configuration(
            "more-diversity",
            "The default blend, trading twice as much score for variety in the list.",
            ("personalized",),
            diversity_factor=2.0,
        ),
        Configuration("semantic", "Search by meaning alone (embeddings).", ("search",), search_mode="vector"),
        Configuration("keyword", "Search by words alone (full text).", ("search",), search_mode="fulltext"),
    )
}
