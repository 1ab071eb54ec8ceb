"""Two API processes on different ports sharing one PostgreSQL, as two instances of a deployment
would: what one writes, the other serves; a model trained by a separate `cinelibre train` process
is served by both. The second reads shared data through DATABASE_READ_URL, here a read-only
session on the same server (a stand-in for a replica: any write sent through it would fail)."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import SETTINGS_LEFT_OUT, Server, stop_leftover_database

# Generous: both instances embed the demo catalogue in the background just after they start.
get = partial(httpx.get, timeout=30)
post = partial(httpx.post, timeout=30)

SECRET = "scale-out-test-secret-that-is-long-enough"
POPULAR_CACHE_SECONDS = 1.0
SHARED_SETTINGS = {
    "JWT_SECRET_KEY": SECRET,
    "POPULAR_CACHE_SECONDS": str(POPULAR_CACHE_SECONDS),
    "RETRAIN_AFTER_NEW_RATINGS": "0",  # training is the separate process below
    "LOG_FORMAT": "json",
}


class Instances:
    def __init__(self, first: Server, second: Server, database_url: str) -> None:
        self.first, self.second, self.database_url = first, second, database_url


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    first_dir = tmp_path_factory.mktemp("first") / "data"
    first = Server(first_dir, env=SHARED_SETTINGS)
    try:
        url = database_url_of(first_dir)
        read_only = url + ("&" if "?" in url else "?") + "options=-c%20default_transaction_read_only%3Don"
        second = Server(
            tmp_path_factory.mktemp("second") / "data",
            env=SHARED_SETTINGS | {"DATABASE_URL": url, "DATABASE_READ_URL": read_only},
        )
        try:
            yield Instances(first, second, url)
        finally:
            assert second.interrupt() == 0
    finally:
        first.interrupt()
        stop_leftover_database(first_dir)


def database_url_of(data_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_LEFT_OUT} | {"CINELIBRE_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "cinelibre", "db", "url"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.splitlines()[0]


def register(server: Server, name: str) -> dict[str, str]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = post(server.base_url + "/auth/register", json={"email": email, "password": "long enough", "name": name})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def rate(server: Server, auth: dict[str, str], movie_id: int, stars: float) -> None:
    response = post(
        server.base_url + "/ratings", headers=auth, json={"item_id": movie_id, "item_type": "movie", "rating": stars}
    )
    assert response.status_code in (200, 201), response.text


def metric_value(server: Server, name: str, **labels: str) -> float | None:
    text = get(server.base_url + "/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_a_rating_posted_to_one_instance_changes_the_others_personalized_list(instances: Instances) -> None:
    auth = register(instances.first, "viewer")
    for movie_id, stars in [(1, 5.0), (2, 4.5), (3, 1.0)]:
        rate(instances.first, auth, movie_id, stars)
    personalized = instances.second.base_url + "/recommendations/personalized"
    hits = metric_value(instances.second, "cinelibre_cache_requests_total", cache="personalized", result="hit") or 0
    before = [item["id"] for item in get(personalized, headers=auth).json()["items"]]
    again = [item["id"] for item in get(personalized, headers=auth).json()["items"]]
    assert again == before
    assert (
        metric_value(instances.second, "cinelibre_cache_requests_total", cache="personalized", result="hit") == hits + 1
    )

    rate(instances.first, auth, before[0], 4.0)
    after = [item["id"] for item in get(personalized, headers=auth).json()["items"]]

    assert before[0] not in after
    assert len(after) == len(before)


def test_a_rating_posted_to_one_instance_shows_in_the_others_popular_counts(instances: Instances) -> None:
    popular = instances.second.base_url + "/recommendations/popular"
    top = get(popular, params={"limit": 1}).json()["items"][0]
    raters = [register(instances.first, f"fan{n}") for n in range(2)]
    for auth in raters:
        rate(instances.first, auth, top["id"], 5.0)

    time.sleep(POPULAR_CACHE_SECONDS + 0.2)
    counts = {item["id"]: item["rating_count"] for item in get(popular, params={"limit": 100}).json()["items"]}

    assert counts[top["id"]] == top["rating_count"] + 2


def test_writes_go_to_the_primary_and_shared_reads_to_the_read_url(instances: Instances) -> None:
    auth = register(instances.second, "writer")
    rate(instances.second, auth, 5, 3.5)

    assert get(instances.second.base_url + "/movies/5").json()["rating_count"] >= 1
    assert get(instances.first.base_url + "/ratings/my", headers=auth).json()["items"][0]["item_id"] == 5
    assert metric_value(instances.second, "cinelibre_db_pool_connections", pool="read", state="size") >= 1
    assert metric_value(instances.first, "cinelibre_db_pool_connections", pool="read", state="size") is None


def test_a_model_trained_by_a_separate_process_is_served_by_both(instances: Instances) -> None:
    auth = register(instances.first, "predicted")
    for movie_id, stars in [(1, 4.0), (2, 3.5), (4, 2.0)]:
        rate(instances.first, auth, movie_id, stars)
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_LEFT_OUT} | {"DATABASE_URL": instances.database_url}
    subprocess.run([sys.executable, "-m", "cinelibre", "train"], env=env, check=True, capture_output=True)

    versions = [
        metric_value(server, "cinelibre_model_version", kind="rating") for server in (instances.first, instances.second)
    ]
    predictions = [
        get(server.base_url + "/recommendations/predict/movie/7", headers=auth).json()
        for server in (instances.first, instances.second)
    ]

    assert versions[0] is not None and versions[0] == versions[1]
    assert predictions[0]["method"] == "rating model"
    assert predictions[0] == predictions[1]


def test_log_lines_are_json_and_carry_the_callers_request_id(instances: Instances) -> None:
    request_id = str(uuid.uuid4())
    response = get(instances.first.base_url + "/movies", params={"limit": 1}, headers={"X-Request-ID": request_id})
    unnamed = get(instances.first.base_url + "/movies/999999")
    time.sleep(0.2)  # the access line is written after the response

    lines = [json.loads(line) for line in Path(instances.first.log.name).read_text().splitlines()]
    access = {line["request_id"]: line for line in lines if line["logger"] == "cinelibre.access"}

    assert response.headers["X-Request-ID"] == request_id
    assert all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    assert access[request_id]["route"] == "/movies"
    assert access[request_id]["status"] == 200
    made_here = unnamed.headers["X-Request-ID"]
    assert len(made_here) == 32 and access[made_here]["route"] == "/movies/{movie_id}"
    assert access[made_here]["status"] == 404
