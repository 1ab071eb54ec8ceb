from typing import Annotated

from fastapi import Depends, Request

from cinelibre.recommend.serving import ModelStore


async def get_model_store(request: Request) -> ModelStore:
    return request.app.state.model_store


ModelStoreDep = Annotated[ModelStore, Depends(get_model_store)]
