import math
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cinelibre.experiments.configurations import CONFIGURATIONS
from cinelibre.types import ItemId, ItemType, bounded_text


class Surface(StrEnum):
    PERSONALIZED = "personalized"
    SIMILAR = "similar"
    POPULAR = "popular"
    SEARCH = "search"


class Kind(StrEnum):
    AB = "ab"
    INTERLEAVING = "interleaving"


class Status(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


# Shares are fractions typed by people: 1/3 + 1/3 + 1/3 must pass, 0.5 + 0.6 must not.
SHARE_TOLERANCE = 1e-6
# What the experiment field of an interleaved list names as its variant: each item comes from one.
INTERLEAVED = "interleaved"

VariantName = Annotated[
    bounded_text(min_length=1, max_length=40),
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$", description="Letters, digits, spaces, '_', '.' or '-'."),
]


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: VariantName
    configuration: str = Field(description="One of GET /admin/experiments/configurations.", max_length=40)
    share: float = Field(ge=0.0, le=1.0, description="The fraction of callers who get this variant.")


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: bounded_text(min_length=1, max_length=100)
    surface: Surface
    kind: Kind = Kind.AB
    variants: list[Variant] = Field(min_length=2, max_length=10, description="The first is the control.")
    expected_daily_users: int | None = Field(
        default=None, ge=1, le=100_000_000, description="For the minimum detectable effect before the start."
    )

    @model_validator(mode="after")
    def _a_sound_design(self) -> "ExperimentCreate":
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must differ")
        if self.kind is Kind.INTERLEAVING and len(self.variants) != 2:
            raise ValueError("an interleaving experiment merges exactly two variants")
        for variant in self.variants:
            configuration = CONFIGURATIONS.get(variant.configuration)
            if configuration is None:
                raise ValueError(
                    f"unknown configuration '{variant.configuration}'; one of: {', '.join(CONFIGURATIONS)}"
                )
            if not configuration.serves(self.surface.value):
                raise ValueError(f"configuration '{variant.configuration}' does not serve the {self.surface} surface")
        total = math.fsum(variant.share for variant in self.variants)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"the variants' shares must sum to 1, not {total:g}")
        return self


class Experiment(BaseModel):
    id: int
    name: str
    surface: Surface
    kind: Kind
    status: Status
    variants: list[Variant]
    expected_daily_users: int | None
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


class Experiments(BaseModel):
    items: list[Experiment]


class ConfigurationPublic(BaseModel):
    name: str
    description: str
    surfaces: list[Surface]


class Configurations(BaseModel):
    items: list[ConfigurationPublic]


class ExperimentTag(BaseModel):
    id: int
    variant: str = Field(description=f"The caller's variant; '{INTERLEAVED}' for an interleaved list.")


class ServedList(BaseModel):
    """What every list a surface serves carries besides its items."""

    list_id: uuid.UUID = Field(description="Send it with the clicks and views this list leads to (POST /interactions).")
    experiment: ExperimentTag | None = Field(
        default=None, description="The experiment and variant the caller is in; absent outside experiments."
    )


class ShownItem(BaseModel):
    item_type: str
    item_id: int


class ListShown(BaseModel):
    """A list shown to a user, as their data export holds it."""

    list_id: uuid.UUID
    surface: Surface
    shown_at: datetime
    experiment_id: int | None
    variant: str | None
    first_position: int = Field(description="The first item's place in the whole list.")
    items: list[ShownItem]


class AnonymousInteraction(BaseModel):
    """A click or view on a list by a caller who is not signed in (signed-in callers send theirs to
    POST /interactions with the list_id)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["click", "view"]
    item_type: ItemType
    item_id: ItemId


class AnonymousInteractionRecorded(AnonymousInteraction):
    list_id: uuid.UUID


class Difference(BaseModel):
    value: float = Field(description="The variant's figure minus the control's.")
    relative: float | None = Field(description="value as a share of the control's figure; null when that is 0.")
    ci: tuple[float, float] = Field(description="95% confidence interval of value (delta method over users).")
    p_value: float
    significant: bool


class VariantResult(BaseModel):
    name: str
    configuration: str
    users: int
    exposures: int = Field(description="Lists shown.")
    clicks: int = Field(description="Clicks on a listed item, sent with the list's list_id by the user it was shown.")
    ctr: float = Field(description="Clicks per list shown.")
    ctr_at: dict[str, float] = Field(description="Clicks on the first k places per list shown, for k = 1, 3, 10.")
    rating_rate: float = Field(description="Share of the (user, item) pairs shown that the user rated in the window.")
    mean_rating: float | None = Field(description="Mean stars of those ratings.")
    coverage: float = Field(description="Share of the catalogue shown at least once.")
    difference: Difference | None = Field(description="Of ctr, against the control; null for the control itself.")


class Verdict(BaseModel):
    winner: str | None
    reason: str


class SampleRatio(BaseModel):
    p_value: float
    flagged: bool = Field(description="The users' split differs from the shares more than chance allows.")


class MinimumDetectableEffect(BaseModel):
    expected_users: int
    baseline_ctr: float
    baseline_measured: bool = Field(description="false: no lists on this surface yet; an assumed CTR is used.")
    absolute: float = Field(description="The smallest CTR difference the test would detect (80% power, α 0.05).")
    relative: float | None


class WinShare(BaseModel):
    variant: str
    value: float = Field(description="The share of lists with a winner that this variant won.")
    ci: tuple[float, float]
    p_value: float = Field(description="Against an even split (0.5).")


class InterleavingResult(BaseModel):
    lists: int
    wins: dict[str, int]
    ties: int
    share: WinShare


class Results(BaseModel):
    experiment: Experiment
    metric: str = "ctr"
    alpha: float
    rating_window_days: int
    variants: list[VariantResult]
    verdict: Verdict
    srm: SampleRatio
    minimum_detectable_effect: MinimumDetectableEffect | None = Field(
        description="Before the start: what the expected traffic can detect."
    )
    interleaving: InterleavingResult | None
