from typing import Annotated

from fastapi import Depends, Request

from cinelibre.search.embedder import Embedder


async def get_embedder(request: Request) -> Embedder:
    return request.app.state.embedder


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
