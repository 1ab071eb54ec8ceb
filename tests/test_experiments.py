"""Experiments over HTTP against the real database: defining them, assigning callers, the list_id
and experiment every list carries, crediting clicks, and the results."""

import json
import uuid

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from cinelibre.auth import service as auth_service
from cinelibre.catalog import repository as catalog_repository
from cinelibre.experiments import service as experiments_service
from cinelibre.experiments import statistics
from cinelibre.experiments.assignment import variant_for
from cinelibre.experiments.exposures import ExposureLog
from cinelibre.experiments.schemas import Surface
from tests.conftest import UNREACHABLE_DATABASE_URL
from tests.factories import add_movie, register

CONFIGURATION_NAMES = [
    "default",
    "popular",
    "collaborative",
    "content",
    "no-diversity",
    "more-diversity",
    "semantic",
    "keyword",
]


@pytest.fixture
async def admin(client: httpx.AsyncClient, conn) -> dict[str, str]:
    headers = await register(client, email="admin@example.com")
    await auth_service.set_admin(conn, email="admin@example.com", is_admin=True)
    return headers


async def add_user(conn, external_id: int) -> int:
    cursor = await conn.execute(
        "INSERT INTO users (name, imported_from, external_id) VALUES ('Rater', 'test', %s) RETURNING id",
        (external_id,),
    )
    return (await cursor.fetchone())["id"]


@pytest.fixture
async def films(conn) -> list[int]:
    """Four films: the first rated 5 stars by four raters, the second by three, and so on, so that
    the popular list is them in this order."""
    ids = [await add_movie(conn, title=f"Film {n}", year=2000 + n) for n in range(4)]
    for place, movie_id in enumerate(ids):
        for rater in range(4 - place):
            await conn.execute(
                "INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, 'movie', %s, 5)",
                (await add_user(conn, movie_id * 10 + rater), movie_id),
            )
    await catalog_repository.recompute_rating_aggregates(conn)
    return ids


@pytest.fixture
def sign_in(app: FastAPI, conn):
    """A token for a new account that can sign in, made without the rate-limited registration."""

    async def signed_in(number: int) -> tuple[int, dict[str, str]]:
        cursor = await conn.execute(
            "INSERT INTO users (name, email, password_hash) VALUES ('Reader', %s, 'not a hash') RETURNING id",
            (f"reader{number}@example.com",),
        )
        user = (await cursor.fetchone())["id"]
        return user, {"Authorization": f"Bearer {app.state.token_codec.issue(user)}"}

    return signed_in


def experiment(surface: str = "popular", kind: str = "ab", **changes) -> dict:
    return {
        "name": "Popular against itself",
        "surface": surface,
        "kind": kind,
        "variants": [
            {"name": "control", "configuration": "default", "share": 0.5},
            {"name": "treatment", "configuration": "popular", "share": 0.5},
        ],
        **changes,
    }


async def created(client: httpx.AsyncClient, admin: dict[str, str], body: dict) -> dict:
    response = await client.post("/admin/experiments", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def started(client: httpx.AsyncClient, admin: dict[str, str], body: dict) -> dict:
    made = await created(client, admin, body)
    response = await client.post(f"/admin/experiments/{made['id']}/start", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/auth/me", headers=headers)).json()["id"]


async def test_the_configurations_a_variant_may_use(client: httpx.AsyncClient, admin) -> None:
    response = await client.get("/admin/experiments/configurations", headers=admin)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["name"] for item in items] == CONFIGURATION_NAMES
    assert items[0]["surfaces"] == ["personalized", "similar", "popular", "search"]
    assert items[1]["surfaces"] == ["personalized", "popular"]


async def test_only_administrators_see_experiments(client: httpx.AsyncClient) -> None:
    ordinary = await register(client, email="ordinary@example.com")

    assert (await client.get("/admin/experiments", headers=ordinary)).status_code == 403
    assert (await client.post("/admin/experiments", json=experiment(), headers=ordinary)).status_code == 403
    assert (await client.get("/admin/experiments")).status_code == 401


async def test_a_new_experiment_is_a_draft(client: httpx.AsyncClient, admin) -> None:
    made = await created(client, admin, experiment(expected_daily_users=100))

    assert made["status"] == "draft"
    assert made["surface"] == "popular"
    assert made["kind"] == "ab"
    assert made["variants"] == experiment()["variants"]
    assert made["expected_daily_users"] == 100
    assert made["started_at"] is None and made["stopped_at"] is None
    listed = (await client.get("/admin/experiments", headers=admin)).json()["items"]
    assert [item["id"] for item in listed] == [made["id"]]
    assert (await client.get(f"/admin/experiments/{made['id']}", headers=admin)).json() == made


def variants(*shares_and_configurations: tuple[str, float]) -> list[dict]:
    return [
        {"name": f"v{n}", "configuration": configuration, "share": share}
        for n, (configuration, share) in enumerate(shares_and_configurations)
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variants": variants(("default", 0.5), ("popular", 0.6))}, "the variants' shares must sum to 1, not 1.1"),
        (
            {"variants": variants(("default", 0.5), ("magic", 0.5))},
            "unknown configuration 'magic'; one of: " + ", ".join(CONFIGURATION_NAMES),
        ),
        (
            {"variants": variants(("default", 0.5), ("keyword", 0.5))},
            "configuration 'keyword' does not serve the popular surface",
        ),
        (
            {"kind": "interleaving", "variants": variants(("default", 0.4), ("popular", 0.3), ("default", 0.3))},
            "an interleaving experiment merges exactly two variants",
        ),
        (
            {
                "variants": [
                    {"name": "same", "configuration": "default", "share": 0.5},
                    {"name": "same", "configuration": "popular", "share": 0.5},
                ]
            },
            "variant names must differ",
        ),
    ],
)
async def test_bad_definitions_are_refused_with_the_reason(
    client: httpx.AsyncClient, admin, changes: dict, message: str
) -> None:
    response = await client.post("/admin/experiments", json=experiment(**changes), headers=admin)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == [{"field": "body", "message": message}]


async def test_one_experiment_runs_on_a_surface_and_a_stopped_one_stays_stopped(
    client: httpx.AsyncClient, admin
) -> None:
    first = await started(client, admin, experiment())
    second = await created(client, admin, experiment(name="Another"))

    refused = await client.post(f"/admin/experiments/{second['id']}/start", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"Experiment {first['id']} (Popular against itself) is running on the popular surface; pause or stop it first."
    )
    paused = await client.post(f"/admin/experiments/{first['id']}/pause", headers=admin)
    assert paused.json()["status"] == "paused"
    assert (await client.post(f"/admin/experiments/{second['id']}/start", headers=admin)).json()["status"] == "running"
    stopped = await client.post(f"/admin/experiments/{first['id']}/stop", headers=admin)
    assert stopped.json()["status"] == "stopped"
    again = await client.post(f"/admin/experiments/{first['id']}/start", headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"Experiment {first['id']} is stopped: it cannot start."


@pytest.mark.parametrize("path", ["", "/results", "/start", "/pause", "/stop"])
async def test_unknown_experiments_are_404(client: httpx.AsyncClient, admin, path: str) -> None:
    method = client.get if path in ("", "/results") else client.post
    response = await method(f"/admin/experiments/987654{path}", headers=admin)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Experiment 987654 does not exist."


async def test_every_list_carries_its_own_list_id_and_no_experiment_outside_one(
    client: httpx.AsyncClient, films
) -> None:
    first = (await client.get("/recommendations/popular")).json()
    second = (await client.get("/recommendations/popular")).json()

    assert uuid.UUID(first["list_id"]) != uuid.UUID(second["list_id"])
    assert "experiment" not in first
    assert [item["id"] for item in first["items"]] == films


async def test_assignment_is_sticky_and_by_client_id_for_anonymous_callers(
    client: httpx.AsyncClient, app: FastAPI, admin, films
) -> None:
    running = await started(client, admin, experiment())
    shares = [("control", 0.5), ("treatment", 0.5)]
    clients = [f"browser-{n:04d}" for n in range(8)]

    seen = {
        client_id: [
            (await client.get("/recommendations/popular", headers={"X-Client-Id": client_id})).json()["experiment"]
            for _ in range(2)
        ]
        for client_id in clients
    }
    nobody = (await client.get("/recommendations/popular")).json()

    for client_id, tags in seen.items():
        expected = {"id": running["id"], "variant": variant_for(running["id"], f"client:{client_id}", shares)}
        assert tags == [expected, expected]
    assert {tags[0]["variant"] for tags in seen.values()} == {"control", "treatment"}
    assert "experiment" not in nobody
    assert app.state.exposure_log.pending == 17


async def test_a_bad_client_id_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/recommendations/popular", headers={"X-Client-Id": "short"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "header.X-Client-Id"


async def test_stopping_returns_everyone_to_the_default_at_once(client: httpx.AsyncClient, admin, films) -> None:
    running = await started(client, admin, experiment())
    caller = {"X-Client-Id": "browser-0001"}
    during = (await client.get("/recommendations/popular", headers=caller)).json()

    await client.post(f"/admin/experiments/{running['id']}/stop", headers=admin)
    after = (await client.get("/recommendations/popular", headers=caller)).json()

    assert during["experiment"]["id"] == running["id"]
    assert "experiment" not in after


async def test_a_personalized_variant_serves_its_configuration(client: httpx.AsyncClient, admin, films, conn) -> None:
    """A user in the `popular` variant gets the popular order without what they rated; one in
    `default` gets the default blend (here, with one 5-star rating of the last film and no trained
    model, led by what the user-kNN and content find)."""
    body = experiment(
        surface="personalized",
        variants=[
            {"name": "control", "configuration": "default", "share": 0.0},
            {"name": "treatment", "configuration": "popular", "share": 1.0},
        ],
    )
    running = await started(client, admin, body)
    reader = await register(client, email="reader@example.com")
    await client.post("/ratings", json={"item_type": "movie", "item_id": films[3], "rating": 5}, headers=reader)

    listed = (await client.get("/recommendations/personalized", headers=reader)).json()

    assert listed["experiment"] == {"id": running["id"], "variant": "treatment"}
    assert [item["id"] for item in listed["items"]] == films[:3]


async def measure(client: httpx.AsyncClient, app: FastAPI, conn, admin, running: dict) -> dict:
    """The experiment's results once the lists served so far are written."""
    await app.state.exposure_log.flush(conn)
    response = await client.get(f"/admin/experiments/{running['id']}/results", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_results_count_what_each_variant_s_lists_led_to(
    client: httpx.AsyncClient, app: FastAPI, conn, admin, films, sign_in
) -> None:
    """Four signed-in readers; the test reads which variant each is in. Every list is the four
    films. Clicks: each control reader clicks film 0 (first place) of their list once; the first
    treatment reader clicks films 0 and 2 (first and third place), the others nothing; the first
    treatment reader also rates film 2, 4 stars, after seeing it."""
    running = await started(client, admin, experiment())
    shares = [("control", 0.5), ("treatment", 0.5)]
    readers = []
    for n in range(12):
        user, headers = await sign_in(9000 + n)
        readers.append((headers, variant_for(running["id"], f"user:{user}", shares)))
    control = [headers for headers, variant in readers if variant == "control"][:2]
    treatment = [headers for headers, variant in readers if variant == "treatment"][:2]
    lists = {}
    for headers in control + treatment:
        lists[headers["Authorization"]] = (await client.get("/recommendations/popular", headers=headers)).json()

    def click(headers, film, list_id=None):
        body = {"kind": "click", "item_type": "movie", "item_id": film}
        body["list_id"] = list_id or lists[headers["Authorization"]]["list_id"]
        return client.post("/interactions", json=body, headers=headers)

    for headers in control:
        assert (await click(headers, films[0])).status_code == 201
        assert (await click(headers, films[0])).status_code == 201  # the same item again counts once
    assert (await click(treatment[0], films[0])).status_code == 201
    assert (await click(treatment[0], films[2])).status_code == 201
    # Not credited: another reader's list, and a list nobody was shown. Both are stored.
    assert (await click(treatment[1], films[1], lists[control[0]["Authorization"]]["list_id"])).status_code == 201
    assert (await click(treatment[1], films[1], str(uuid.uuid4()))).status_code == 201
    await client.post("/ratings", json={"item_type": "movie", "item_id": films[2], "rating": 4}, headers=treatment[0])
    # The rating was made after the list was shown (the test's transaction began before it).
    await conn.execute("UPDATE ratings SET created_at = clock_timestamp() WHERE rating = 4")

    results = await measure(client, app, conn, admin, running)

    by_name = {variant["name"]: variant for variant in results["variants"]}
    assert by_name["control"] | {"difference": None} == {
        "name": "control",
        "configuration": "default",
        "users": 2,
        "exposures": 2,
        "clicks": 2,
        "ctr": 1.0,
        "ctr_at": {"1": 1.0, "3": 1.0, "10": 1.0},
        "rating_rate": 0.0,
        "mean_rating": None,
        "coverage": 1.0,
        "difference": None,
    }
    treated = by_name["treatment"]
    assert {key: treated[key] for key in ("users", "exposures", "clicks", "ctr", "ctr_at")} == {
        "users": 2,
        "exposures": 2,
        "clicks": 2,
        "ctr": 1.0,
        "ctr_at": {"1": 0.5, "3": 1.0, "10": 1.0},
    }
    # 8 (reader, film) pairs shown in the treatment, one rated 4 stars within the window.
    assert (treated["rating_rate"], treated["mean_rating"], treated["coverage"]) == (0.125, 4.0, 1.0)
    # Per reader (clicks, lists): control (1, 1) and (1, 1), treatment (2, 1) and (0, 1).
    expected = statistics.ratio_difference(
        (np.array([1.0, 1.0]), np.array([1.0, 1.0])), (np.array([2.0, 0.0]), np.array([1.0, 1.0]))
    )
    assert treated["difference"] == {
        "value": expected.value,
        "relative": expected.relative,
        "ci": [expected.ci_low, expected.ci_high],
        "p_value": expected.p_value,
        "significant": False,
    }
    assert treated["difference"]["value"] == 0.0
    assert results["verdict"]["winner"] is None
    # 2 users against 2 planned as 50/50: chi-square 0, p-value 1.
    assert results["srm"] == {"p_value": 1.0, "flagged": False}
    assert results["minimum_detectable_effect"] is None
    assert results["interleaving"] is None


async def test_a_draft_tells_the_effect_its_expected_traffic_can_detect(
    client: httpx.AsyncClient, app, conn, admin
) -> None:
    draft = await created(client, admin, experiment(expected_daily_users=100))

    results = await measure(client, app, conn, admin, draft)

    # No list served on the surface yet: an assumed CTR of 0.05. 100 users a day for 14 days, one
    # list each, 700 per variant: (z_0.975 + z_0.8) · sqrt(0.05 · 0.95 · (1/700 + 1/700))
    # = (1.959964 + 0.841621) · sqrt(0.0475 · 0.00285714) = 2.801585 · 0.01164965 = 0.032637.
    assert results["minimum_detectable_effect"] == {
        "expected_users": 1400,
        "baseline_ctr": 0.05,
        "baseline_measured": False,
        "absolute": 0.032637,
        "relative": 0.6527,
    }


async def test_interleaving_credits_each_click_to_the_variant_that_put_the_item_there(
    client: httpx.AsyncClient, app: FastAPI, conn, admin, films
) -> None:
    """Both variants serve the popular list here, so the merged list is the four films with the
    teams' picks alternating; a click on an item the first team put there is a win for it."""
    body = experiment(
        surface="popular",
        kind="interleaving",
        variants=[
            {"name": "control", "configuration": "default", "share": 0.5},
            {"name": "treatment", "configuration": "popular", "share": 0.5},
        ],
    )
    running = await started(client, admin, body)
    reader = await register(client, email="reader@example.com")

    listed = (await client.get("/recommendations/popular", headers=reader)).json()
    await app.state.exposure_log.flush(conn)
    cursor = await conn.execute("SELECT teams, variant FROM list_exposures WHERE list_id = %s", (listed["list_id"],))
    stored = await cursor.fetchone()
    # Both variants serve the same popular list here: the draft alternates the teams' picks.
    assert listed["experiment"] == {"id": running["id"], "variant": "interleaved"}
    assert [item["id"] for item in listed["items"]] == films
    assert stored["variant"] == "interleaved"
    assert sorted(stored["teams"]) == [0, 0, 1, 1]
    first_team_film = films[stored["teams"].index(0)]
    await client.post(
        "/interactions",
        json={"kind": "click", "item_type": "movie", "item_id": first_team_film, "list_id": listed["list_id"]},
        headers=reader,
    )

    results = await measure(client, app, conn, admin, running)

    assert results["interleaving"]["lists"] == 1
    assert results["interleaving"]["wins"] == {"control": 1, "treatment": 0}
    assert results["interleaving"]["ties"] == 0
    assert results["interleaving"]["share"]["variant"] == "control"
    assert results["interleaving"]["share"]["value"] == 1.0
    assert [variant["clicks"] for variant in results["variants"]] == [1, 0]
    assert results["verdict"]["winner"] is None


async def test_a_full_exposure_queue_drops_and_counts_but_serves(
    client: httpx.AsyncClient, app: FastAPI, films
) -> None:
    app.state.exposure_log = ExposureLog(capacity=1)

    answers = [(await client.get("/recommendations/popular")).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert (app.state.exposure_log.pending, app.state.exposure_log.dropped) == (1, 2)


async def test_a_failing_exposure_write_is_counted_and_never_raised(
    client: httpx.AsyncClient, app: FastAPI, films
) -> None:
    log = app.state.exposure_log
    await client.get("/recommendations/popular")
    await client.get("/recommendations/popular")
    unreachable = AsyncConnectionPool(UNREACHABLE_DATABASE_URL, open=False)

    await log._write(unreachable, keep_days=90)

    assert (log.pending, log.dropped) == (0, 2)


@pytest.mark.parametrize("degrees_of_freedom", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("statistic", [0.0, 0.5, 3.841459, 10.0, 40.0])
def test_the_chi_square_tail_agrees_with_scipy(statistic: float, degrees_of_freedom: int) -> None:
    from scipy import stats  # the API's process does without SciPy; the test compares with it

    assert statistics.chi_square_tail(statistic, degrees_of_freedom) == pytest.approx(
        stats.chi2.sf(statistic, degrees_of_freedom), rel=1e-9, abs=1e-15
    )


def test_the_chi_square_tail_by_hand() -> None:
    # One degree of freedom at 3.841459 is the familiar 5% point; two at 2 is e^-1.
    assert statistics.chi_square_tail(3.841459, 1) == pytest.approx(0.05, abs=1e-7)
    assert statistics.chi_square_tail(2.0, 2) == pytest.approx(0.36787944117144233, rel=1e-12)


async def test_a_list_whose_record_cannot_be_made_is_still_served(conn) -> None:
    log = ExposureLog(capacity=10)

    async def odd_list(configuration, skip: int, limit: int) -> bytes:
        return b'{"hits": [{"name": "no item_type here"}]}'

    async def connect():
        return conn

    body = await experiments_service.serve_list(
        surface=Surface.POPULAR,
        caller=experiments_service.Caller(user_id=None, client_id="browser-0001"),
        skip=0,
        limit=5,
        running=experiments_service.RunningExperiments(refresh_seconds=0),
        exposures=log,
        connect=connect,
        compute=odd_list,
    )

    served = json.loads(body)
    assert served["hits"] == [{"name": "no item_type here"}]
    assert uuid.UUID(served["list_id"])
    assert (log.pending, log.dropped) == (0, 1)


async def test_prometheus_counts_lists_and_credited_clicks_per_experiment_and_variant(
    client: httpx.AsyncClient, app: FastAPI, conn, admin, films, sign_in
) -> None:
    running = await started(client, admin, experiment())
    user, headers = await sign_in(1)
    variant = variant_for(running["id"], f"user:{user}", [("control", 0.5), ("treatment", 0.5)])
    labels = {"experiment": str(running["id"]), "variant": variant}

    listed = (await client.get("/recommendations/popular", headers=headers)).json()
    await app.state.exposure_log.flush(conn)
    click = {"kind": "click", "item_type": "movie", "item_id": films[1], "list_id": listed["list_id"]}
    await client.post("/interactions", json=click, headers=headers)

    assert REGISTRY.get_sample_value("cinelibre_experiment_exposures_total", labels) == 1.0
    assert REGISTRY.get_sample_value("cinelibre_experiment_interactions_total", labels | {"kind": "click"}) == 1.0


async def test_a_signed_out_visitor_s_click_is_credited_by_their_client_id(
    client: httpx.AsyncClient, app: FastAPI, conn, admin, films
) -> None:
    running = await started(client, admin, experiment())
    shares = [("control", 0.5), ("treatment", 0.5)]
    visitor, stranger = {"X-Client-Id": "browser-visitor-1"}, {"X-Client-Id": "browser-stranger"}
    listed = (await client.get("/recommendations/popular", headers=visitor)).json()
    await app.state.exposure_log.flush(conn)
    path = f"/lists/{listed['list_id']}/interactions"

    def film(kind: str, movie_id: int) -> dict:
        return {"kind": kind, "item_type": "movie", "item_id": movie_id}

    clicked = await client.post(path, json=film("click", films[0]), headers=visitor)
    # Not credited: a client the list was not shown to; a view.
    await client.post(path, json=film("click", films[1]), headers=stranger)
    await client.post(path, json=film("view", films[2]), headers=visitor)
    without_client = await client.post(path, json=film("click", films[0]))
    unknown_item = await client.post(path, json=film("click", 987654), headers=visitor)

    assert clicked.status_code == 201
    assert clicked.json() == {"kind": "click", "item_type": "movie", "item_id": films[0], "list_id": listed["list_id"]}
    assert without_client.status_code == 422
    assert without_client.json()["error"]["details"][0]["field"] == "header.X-Client-Id"
    assert unknown_item.status_code == 404
    results = await measure(client, app, conn, admin, running)
    variant = variant_for(running["id"], "client:browser-visitor-1", shares)
    by_name = {row["name"]: row for row in results["variants"]}
    assert (by_name[variant]["users"], by_name[variant]["exposures"], by_name[variant]["clicks"]) == (1, 1, 1)
    assert by_name[variant]["ctr_at"] == {"1": 1.0, "3": 1.0, "10": 1.0}
