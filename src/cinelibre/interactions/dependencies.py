from typing import Annotated

from fastapi import Depends, Request

from cinelibre.interactions.schemas import InteractionQuota


async def interaction_quota(request: Request) -> InteractionQuota:
    settings = request.app.state.settings
    return InteractionQuota(per_minute=settings.interactions_per_minute, per_day=settings.interactions_per_day)


QuotaDep = Annotated[InteractionQuota, Depends(interaction_quota)]
