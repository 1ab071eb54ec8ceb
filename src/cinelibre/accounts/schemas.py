from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cinelibre.auth.schemas import Password, SignedInUser
from cinelibre.experiments.schemas import ListShown
from cinelibre.imports.schemas import ImportPublic
from cinelibre.interactions.schemas import InteractionPublic
from cinelibre.ratings.schemas import RatingWithItem


class PasswordConfirmation(BaseModel):
    """Sent to delete the account: the password, so a token alone cannot do it."""

    model_config = ConfigDict(extra="forbid")

    password: Password


class AccountExport(BaseModel):
    """Everything CineLibre keeps about one account (GET /auth/me/export)."""

    exported_at: datetime
    account: SignedInUser
    ratings: list[RatingWithItem]
    interactions: list[InteractionPublic]
    lists_shown: list[ListShown] = Field(
        description="The recommendation and search lists served to the account (kept EXPOSURE_RETENTION_DAYS "
        "outside experiments), each with its experiment and variant where it had one."
    )
    imports: list[ImportPublic] = Field(description="The histories the account imported, newest first.")
