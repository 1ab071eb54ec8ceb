"""Experiments: their life (draft → running ⇄ paused → stopped), which list each caller is served
on a surface while one runs, and what the lists led to."""

import functools
import hashlib
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cinelibre import metrics
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection
from cinelibre.errors import ConflictError, NotFoundError
from cinelibre.experiments import interleaving, repository, statistics
from cinelibre.experiments.assignment import subject_of, variant_for
from cinelibre.experiments.configurations import CONFIGURATIONS, DEFAULT, Configuration
from cinelibre.experiments.exposures import Exposure, ExposureLog
from cinelibre.experiments.schemas import (
    INTERLEAVED,
    AnonymousInteraction,
    AnonymousInteractionRecorded,
    ConfigurationPublic,
    Configurations,
    Difference,
    Experiment,
    ExperimentCreate,
    Experiments,
    InterleavingResult,
    Kind,
    ListShown,
    MinimumDetectableEffect,
    Results,
    SampleRatio,
    ShownItem,
    Status,
    Surface,
    VariantResult,
    Verdict,
    WinShare,
)

logger = logging.getLogger(__name__)

ALPHA = 0.05
# The places CTR@k is reported for.
CTR_AT = (1, 3, 10)
# Before the start: traffic over this many recent days tells the baseline CTR and lists per user,
# and the experiment is planned to run this long.
PLANNING_DAYS = 14
# The CTR assumed for a surface that has served no lists yet.
ASSUMED_CTR = 0.05

# List bodies whose items are remembered (service._items_of): the shared lists of the moment; a
# cached popular body is about 17 KB, so at most about 2 MB are held.
LISTS_REMEMBERED = 128

# Which moves each status allows.
_MOVES = {
    Status.RUNNING: {Status.DRAFT, Status.PAUSED},
    Status.PAUSED: {Status.RUNNING},
    Status.STOPPED: {Status.DRAFT, Status.RUNNING, Status.PAUSED},
}


def configurations() -> Configurations:
    return Configurations(
        items=[
            ConfigurationPublic(name=c.name, description=c.description, surfaces=[Surface(s) for s in c.surfaces])
            for c in CONFIGURATIONS.values()
        ]
    )


async def create(conn: Connection, data: ExperimentCreate) -> Experiment:
    row = await repository.insert(
        conn,
        name=data.name,
        surface=data.surface.value,
        kind=data.kind.value,
        variants=[variant.model_dump() for variant in data.variants],
        expected_daily_users=data.expected_daily_users,
    )
    return Experiment.model_validate(row)


async def get(conn: Connection, experiment_id: int) -> Experiment:
    row = await repository.get(conn, experiment_id)
    if row is None:
        raise NotFoundError(f"Experiment {experiment_id} does not exist.")
    return Experiment.model_validate(row)


async def list_all(conn: Connection) -> Experiments:
    return Experiments(items=[Experiment.model_validate(row) for row in await repository.list_all(conn)])


async def move(conn: Connection, experiment_id: int, status: Status) -> Experiment:
    """Start (or resume), pause or stop an experiment. A surface runs one experiment at a time; a
    stopped experiment stays stopped. Pausing or stopping returns its users to the default."""
    row = await repository.get(conn, experiment_id, for_update=True)
    if row is None:
        raise NotFoundError(f"Experiment {experiment_id} does not exist.")
    current = Status(row["status"])
    if current == status:
        return Experiment.model_validate(row)
    if current not in _MOVES[status]:
        verb = {Status.RUNNING: "start", Status.PAUSED: "pause", Status.STOPPED: "stop"}[status]
        raise ConflictError(f"Experiment {experiment_id} is {current.value}: it cannot {verb}.")
    if status is Status.RUNNING:
        other = await repository.running_on(conn, row["surface"])
        if other is not None:
            raise ConflictError(
                f"Experiment {other['id']} ({other['name']}) is running on the {row['surface']} surface; "
                "pause or stop it first."
            )
    return Experiment.model_validate(await repository.set_status(conn, experiment_id, status.value))


@dataclass(frozen=True)
class RunningExperiment:
    id: int
    kind: Kind
    variants: list[tuple[str, Configuration, float]]  # name, configuration, share; the control first


class RunningExperiments:
    """This process's view of the experiments running on each surface, read again once it is
    older than `refresh_seconds`, and at once after this process starts, pauses or stops one."""

    def __init__(self, refresh_seconds: float) -> None:
        self._refresh_seconds = refresh_seconds
        self._by_surface: dict[str, RunningExperiment] = {}
        self._read_at: float | None = None

    def forget(self) -> None:
        self._read_at = None

    async def on(self, surface: str, connect: Callable[[], Awaitable[Connection]]) -> RunningExperiment | None:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self._refresh_seconds:
            rows = await repository.running(await connect())
            self._by_surface = {
                row["surface"]: RunningExperiment(
                    id=row["id"],
                    kind=Kind(row["kind"]),
                    variants=[(v["name"], CONFIGURATIONS[v["configuration"]], v["share"]) for v in row["variants"]],
                )
                for row in rows
            }
            self._read_at = now
        return self._by_surface.get(surface)


@dataclass(frozen=True)
class Caller:
    user_id: int | None
    client_id: str | None

    @property
    def subject(self) -> str | None:
        return subject_of(self.user_id, self.client_id)


# (configuration, skip, limit) → the surface's JSON body, whose "items" each carry item_type and id.
ListComputer = Callable[[Configuration, int, int], Awaitable[bytes]]


async def serve_list(
    *,
    surface: Surface,
    caller: Caller,
    skip: int,
    limit: int,
    running: RunningExperiments,
    exposures: ExposureLog,
    connect: Callable[[], Awaitable[Connection]],
    compute: ListComputer,
) -> bytes:
    """The surface's list for this caller, with its list_id (and experiment, while the caller is
    in one running on the surface), its exposure queued. Outside experiments, and for a caller
    who is neither signed in nor sends a client id, the default configuration."""
    subject = caller.subject
    experiment = await running.on(surface.value, connect) if subject is not None else None
    teams: list[int] | None = None
    if experiment is None or subject is None:
        body, variant = await compute(DEFAULT, skip, limit), None
    elif experiment.kind is Kind.AB:
        variant = variant_for(experiment.id, subject, [(name, share) for name, _, share in experiment.variants])
        configuration = next(c for name, c, _ in experiment.variants if name == variant)
        body = await compute(configuration, skip, limit)
    else:
        body, teams = await _interleaved(experiment, subject, skip, limit, compute)
        variant = INTERLEAVED
    list_id = uuid.uuid4()
    tag = b""
    if experiment is not None and variant is not None:
        tag = b'"experiment":' + json.dumps({"id": experiment.id, "variant": variant}).encode() + b","
        metrics.experiment_exposures.labels(str(experiment.id), variant).inc()
    try:
        items = _items_of(body)
        exposures.record(
            Exposure(
                list_id=list_id,
                surface=surface.value,
                user_id=caller.user_id,
                client_id=None if caller.user_id is not None else caller.client_id,
                experiment_id=experiment.id if variant is not None and experiment is not None else None,
                variant=variant,
                items=items,
                teams=teams,
                first_position=skip + 1,
                shown_at=datetime.now(UTC),
            )
        )
    except Exception:
        # Recording what was shown must never cost the caller their list.
        exposures.lost_one()
        logger.exception("the %s list %s could not be recorded", surface.value, list_id)
    # The body as computed (often straight from a cache), with the list's own fields put first.
    return b'{"list_id":"' + str(list_id).encode() + b'",' + tag + body.lstrip()[1:]


@functools.lru_cache(maxsize=LISTS_REMEMBERED)
def _items_of(body: bytes) -> tuple[tuple[str, int], ...]:
    """The (item_type, id) of each item a list body holds. Most lists are cached bodies served
    again and again (the popular list, a similar-items page); reading each once, not on every
    request, saves most of what recording an exposure costs, and the exposures of one body share
    one tuple."""
    return tuple((item["item_type"], item["id"]) for item in json.loads(body)["items"])


async def _interleaved(
    experiment: RunningExperiment, subject: str, skip: int, limit: int, compute: ListComputer
) -> tuple[bytes, list[int]]:
    """Both variants' lists merged by team draft, the page cut from the merged list (so pages fit
    together: the draft's coin is seeded by the experiment and the caller alone)."""
    (_, first_configuration, _), (_, second_configuration, _) = experiment.variants
    first = json.loads(await compute(first_configuration, 0, skip + limit))
    second = json.loads(await compute(second_configuration, 0, skip + limit))
    by_key = {(item["item_type"], item["id"]): item for item in [*second["items"], *first["items"]]}
    seed = int.from_bytes(hashlib.sha256(f"{experiment.id}:{subject}:draft".encode()).digest()[:8], "big")
    merged = interleaving.team_draft(
        [(item["item_type"], item["id"]) for item in first["items"]],
        [(item["item_type"], item["id"]) for item in second["items"]],
        skip + limit,
        seed,
    )[skip:]
    page = {**first, "items": [by_key[key] for key, _ in merged]}
    return json.dumps(page, separators=(",", ":")).encode(), [team for _, team in merged]


async def results(
    conn: Connection, experiment_id: int, *, window_days: int, planning_days: int = PLANNING_DAYS
) -> Results:
    """The experiment's outcome so far: per variant what its lists led to, each treatment's CTR
    against the control's with its 95% interval (delta method over users), the verdict, the
    sample-ratio check; for interleaving each variant's share of the lists one of them won; and,
    before the start, the effect the expected traffic can detect."""
    experiment = await get(conn, experiment_id)
    names = [variant.name for variant in experiment.variants]
    interleaved = experiment.kind is Kind.INTERLEAVING
    arm_names = {"0": names[0], "1": names[1]} if interleaved else {name: name for name in names}
    await repository.allow_large_aggregates(conn)
    rows = await repository.measures_per_subject(conn, experiment_id=experiment_id, window_days=window_days)
    per_arm: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["arm"] in arm_names:
            per_arm[arm_names[row["arm"]]].append(row)
    shown = await repository.items_shown(conn, experiment_id=experiment_id)
    catalogue = await repository.catalogue_size(conn)
    control = names[0]
    measured: dict[str, statistics.Difference | None] = {}
    variants = []
    for variant in experiment.variants:
        subjects = per_arm[variant.name]

        def column(name: str, subjects: list[dict[str, Any]] = subjects) -> np.ndarray:
            return np.array([row[name] for row in subjects], dtype=np.float64)

        lists, clicks = column("lists"), column("clicks")
        difference = None
        if variant.name != control:
            control_rows = per_arm[control]
            control_arrays = (column("clicks", control_rows), column("lists", control_rows))
            found = statistics.ratio_difference(control_arrays, (clicks, lists), alpha=ALPHA)
            measured[variant.name] = found if len(subjects) and len(control_rows) else None
            difference = Difference(
                value=found.value,
                relative=found.relative,
                ci=(found.ci_low, found.ci_high),
                p_value=found.p_value,
                significant=found.significant,
            )
        shown_pairs, rated_pairs = column("shown_pairs").sum(), column("rated_pairs").sum()
        arm = next(key for key, name in arm_names.items() if name == variant.name)
        variants.append(
            VariantResult(
                name=variant.name,
                configuration=variant.configuration,
                users=len(subjects),
                exposures=int(lists.sum()),
                clicks=int(clicks.sum()),
                ctr=_share(clicks.sum(), lists.sum()),
                ctr_at={str(k): _share(column(f"clicks_at_{k}").sum(), lists.sum()) for k in CTR_AT},
                rating_rate=_share(rated_pairs, shown_pairs),
                mean_rating=round(column("rating_sum").sum() / rated_pairs, 4) if rated_pairs else None,
                coverage=_share(shown.get(arm, 0), catalogue),
                difference=difference,
            )
        )
    interleaving_result = await _interleaving_result(conn, experiment_id, names) if interleaved else None
    if interleaving_result is not None:
        verdict = _interleaving_verdict(interleaving_result, names)
        srm = SampleRatio(p_value=1.0, flagged=False)  # every user sees both variants: no split to check
    else:
        winner, reason = statistics.verdict(control, measured, ALPHA)
        verdict = Verdict(winner=winner, reason=reason)
        check = statistics.sample_ratio_mismatch(
            [len(per_arm[name]) for name in names], [variant.share for variant in experiment.variants]
        )
        srm = SampleRatio(p_value=check.p_value, flagged=check.flagged)
    mde = None
    if experiment.status is Status.DRAFT:
        mde = await _minimum_detectable_effect(conn, experiment, planning_days)
    return Results(
        experiment=experiment,
        alpha=ALPHA,
        rating_window_days=window_days,
        variants=variants,
        verdict=verdict,
        srm=srm,
        minimum_detectable_effect=mde,
        interleaving=interleaving_result,
    )


def _share(part: float, whole: float) -> float:
    return round(float(part) / float(whole), 6) if whole else 0.0


async def _interleaving_result(conn: Connection, experiment_id: int, names: list[str]) -> InterleavingResult:
    rows = await repository.interleaved_wins_per_subject(conn, experiment_id=experiment_id)
    first = np.array([row["first_wins"] for row in rows], dtype=np.float64)
    second = np.array([row["second_wins"] for row in rows], dtype=np.float64)
    share = interleaving.win_share(first, second, alpha=ALPHA)
    return InterleavingResult(
        lists=sum(row["lists"] for row in rows),
        wins={names[0]: int(first.sum()), names[1]: int(second.sum())},
        ties=sum(row["ties"] for row in rows),
        share=WinShare(variant=names[0], value=share.value, ci=(share.ci_low, share.ci_high), p_value=share.p_value),
    )


def _interleaving_verdict(result: InterleavingResult, names: list[str]) -> Verdict:
    share = result.share
    if share.p_value >= ALPHA:
        return Verdict(
            winner=None,
            reason=f"No winner yet: {names[0]} won {share.value:.1%} of the decided lists "
            f"(p = {share.p_value:.3g}, not below {ALPHA:g}).",
        )
    winner, loser = (names[0], names[1]) if share.value > 0.5 else (names[1], names[0])
    won = share.value if share.value > 0.5 else 1 - share.value
    return Verdict(
        winner=winner,
        reason=f"{winner} won {won:.1%} of the lists decided between it and {loser} "
        f"(p = {share.p_value:.3g}, below {ALPHA:g}).",
    )


async def _minimum_detectable_effect(
    conn: Connection, experiment: Experiment, planning_days: int
) -> MinimumDetectableEffect:
    """What a test of `planning_days` can detect: with the expected daily users (or the users the
    surface served over as many recent days), each seeing as many lists as callers recently saw,
    at the surface's recent CTR."""
    traffic = await repository.surface_traffic(conn, surface=experiment.surface.value, days=planning_days)
    measured = traffic["lists"] > 0
    baseline = traffic["clicks"] / traffic["lists"] if measured else ASSUMED_CTR
    lists_per_user = traffic["lists"] / traffic["subjects"] if traffic["subjects"] else 1.0
    users = experiment.expected_daily_users * planning_days if experiment.expected_daily_users else traffic["subjects"]
    exposures = [users * lists_per_user * variant.share for variant in experiment.variants]
    if experiment.kind is Kind.INTERLEAVING:
        exposures = [users * lists_per_user] * 2
    absolute = statistics.minimum_detectable_effect(baseline, exposures, alpha=ALPHA)
    finite = absolute != float("inf")
    return MinimumDetectableEffect(
        expected_users=users,
        baseline_ctr=round(baseline, 6),
        baseline_measured=measured,
        absolute=round(absolute, 6) if finite else 1.0,
        relative=round(absolute / baseline, 4) if finite and baseline else None,
    )


async def each_list_shown(conn: Connection, *, user_id: int) -> AsyncIterator[ListShown]:
    """The lists shown to the user, oldest first, a few at a time (for a data export)."""
    async for row in repository.each_exposure_of_user(conn, user_id=user_id):
        item_types, item_ids = row.pop("item_types"), row.pop("item_ids")
        items = [ShownItem(item_type=t, item_id=i) for t, i in zip(item_types, item_ids, strict=True)]
        yield ListShown(**row, items=items)


async def record_anonymous_interaction(
    conn: Connection, *, list_id: uuid.UUID, client_id: str, data: AnonymousInteraction
) -> AnonymousInteractionRecorded:
    """Keep a signed-out caller's click or view on a list; the results credit it when that list was
    shown to the same client id and held the item, as they do a signed-in user's."""
    await catalog_service.ensure_item_exists(conn, data.item_type, data.item_id)
    await repository.insert_anonymous_interaction(
        conn,
        list_id=list_id,
        client_id=client_id,
        kind=data.kind,
        item_type=data.item_type.value,
        item_id=data.item_id,
    )
    return AnonymousInteractionRecorded(list_id=list_id, **data.model_dump())


async def delete_user_exposures(conn: Connection, *, user_id: int) -> int:
    return await repository.delete_exposures_of_user(conn, user_id=user_id)
