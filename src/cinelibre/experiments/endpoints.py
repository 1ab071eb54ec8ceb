import uuid

from fastapi import APIRouter, Depends, Request, status

from cinelibre.auth.dependencies import RATE_LIMITED, RECOMMENDATION_LIMIT, admin_user
from cinelibre.database.connection import DbConnection
from cinelibre.errors import ErrorResponse
from cinelibre.experiments import service
from cinelibre.experiments.dependencies import RequiredClientIdHeader, RunningExperimentsDep
from cinelibre.experiments.schemas import (
    AnonymousInteraction,
    AnonymousInteractionRecorded,
    Configurations,
    Experiment,
    ExperimentCreate,
    Experiments,
    Results,
    Status,
)
from cinelibre.types import PathId

# Administrators only: 401 without a token, 403 for anyone else.
router = APIRouter(
    prefix="/admin/experiments",
    tags=["experiments"],
    dependencies=[Depends(admin_user)],
    responses={
        403: {"model": ErrorResponse, "description": "The caller is not an administrator."},
        404: {"model": ErrorResponse, "description": "No such experiment."},
    },
)
CONFLICT = {
    409: {"model": ErrorResponse, "description": "The surface runs another experiment, or the move is not allowed."}
}


@router.get("/configurations")
async def configurations() -> Configurations:
    """The recommender configurations a variant may use, and the surfaces each serves."""
    return service.configurations()


@router.get("")
async def list_experiments(conn: DbConnection) -> Experiments:
    """Every experiment, newest first."""
    return await service.list_all(conn)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(data: ExperimentCreate, conn: DbConnection) -> Experiment:
    """A new experiment, as a draft: nobody is in it until it starts. The first variant is the control."""
    return await service.create(conn, data)


@router.get("/{experiment_id}")
async def get(experiment_id: PathId, conn: DbConnection) -> Experiment:
    return await service.get(conn, experiment_id)


async def _move(experiment_id: int, to: Status, conn: DbConnection, running: RunningExperimentsDep) -> Experiment:
    experiment = await service.move(conn, experiment_id, to)
    # This instance applies the change from its next list; the others within EXPERIMENTS_REFRESH_SECONDS.
    running.forget()
    return experiment


@router.post("/{experiment_id}/start", responses=CONFLICT)
async def start(experiment_id: PathId, conn: DbConnection, running: RunningExperimentsDep) -> Experiment:
    """Start a draft, or resume a paused experiment; one experiment runs on a surface at a time."""
    return await _move(experiment_id, Status.RUNNING, conn, running)


@router.post("/{experiment_id}/pause", responses=CONFLICT)
async def pause(experiment_id: PathId, conn: DbConnection, running: RunningExperimentsDep) -> Experiment:
    """Pause a running experiment: everyone gets the default until it resumes."""
    return await _move(experiment_id, Status.PAUSED, conn, running)


@router.post("/{experiment_id}/stop", responses=CONFLICT)
async def stop(experiment_id: PathId, conn: DbConnection, running: RunningExperimentsDep) -> Experiment:
    """Stop an experiment for good: everyone gets the default; its results stay."""
    return await _move(experiment_id, Status.STOPPED, conn, running)


@router.get("/{experiment_id}/results")
async def results(experiment_id: PathId, conn: DbConnection, request: Request) -> Results:
    """What each variant's lists led to, the difference to the control with its 95% interval and
    p-value, the verdict and the sample-ratio check; before the start, the effect the expected
    traffic can detect."""
    window = request.app.state.settings.experiment_rating_window_days
    return await service.results(conn, experiment_id, window_days=window)


# Signed-out callers' clicks and views on the lists they were served. Counted with the
# recommendation reads they follow (RECOMMENDATION_RATE_LIMIT), per address.
lists_router = APIRouter(prefix="/lists", tags=["experiments"], dependencies=[RECOMMENDATION_LIMIT])


@lists_router.post("/{list_id}/interactions", status_code=status.HTTP_201_CREATED, responses=RATE_LIMITED)
async def record_anonymous_interaction(
    list_id: uuid.UUID, data: AnonymousInteraction, conn: DbConnection, client_id: RequiredClientIdHeader
) -> AnonymousInteractionRecorded:
    """A click or view on a list by a caller who is not signed in, known by the X-Client-Id their
    browser sent with the list: credited to the list when it was shown to that client and held the
    item. Signed-in callers send theirs to POST /interactions with the list_id."""
    return await service.record_anonymous_interaction(conn, list_id=list_id, client_id=client_id, data=data)
