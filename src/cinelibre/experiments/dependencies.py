from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from cinelibre.auth.dependencies import SignedUserId
from cinelibre.database.connection import Connection
from cinelibre.experiments import service
from cinelibre.experiments.exposures import ExposureLog
from cinelibre.experiments.schemas import Surface
from cinelibre.experiments.service import Caller, ListComputer, RunningExperiments

CLIENT_ID_HEADER = "X-Client-Id"

ClientIdHeader = Annotated[
    str | None,
    Header(
        alias=CLIENT_ID_HEADER,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="A browser's own random id (8-64 letters, digits, '_' or '-'), kept across visits: an "
        "anonymous caller is assigned to experiments by it.",
    ),
]


# The same header where a route needs it: a signed-out caller's interaction names its client.
RequiredClientIdHeader = Annotated[
    str,
    Header(
        alias=CLIENT_ID_HEADER,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The browser's own random id, as sent with the list (8-64 letters, digits, '_' or '-').",
    ),
]


@dataclass(frozen=True)
class ListServing:
    """What serving a list inside or outside an experiment needs: who asks, the running
    experiments, and where exposures go."""

    caller: Caller
    running: RunningExperiments
    exposures: ExposureLog

    async def serve(
        self,
        surface: Surface,
        connect: Callable[[], Awaitable[Connection]],
        compute: ListComputer,
        *,
        skip: int,
        limit: int,
    ) -> bytes:
        """The surface's list for this caller (service.serve_list()); `connect` gives the request's
        connection, asked for only when the running experiments are read again."""
        return await service.serve_list(
            surface=surface,
            caller=self.caller,
            skip=skip,
            limit=limit,
            running=self.running,
            exposures=self.exposures,
            connect=connect,
            compute=compute,
        )


async def list_serving(request: Request, user_id: SignedUserId, client_id: ClientIdHeader = None) -> ListServing:
    return ListServing(
        caller=Caller(user_id=user_id, client_id=client_id),
        running=request.app.state.running_experiments,
        exposures=request.app.state.exposure_log,
    )


ListServingDep = Annotated[ListServing, Depends(list_serving)]


async def running_experiments(request: Request) -> RunningExperiments:
    return request.app.state.running_experiments


RunningExperimentsDep = Annotated[RunningExperiments, Depends(running_experiments)]
