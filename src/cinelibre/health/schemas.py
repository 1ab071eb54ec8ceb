from typing import Literal

from pydantic import BaseModel, Field


class ServiceStatus(BaseModel):
    service: str
    version: str
    status: str
    database: str


class Liveness(BaseModel):
    status: Literal["alive"] = "alive"


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"] = Field(
        description="ready; degraded: serving, with search on full-text only (embedding model loading or "
        "broken); not_ready (503): database unreachable or its schema not this release's."
    )
    database: str
    migrations: str
    embedding_model: str
