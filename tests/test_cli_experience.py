"""What a user of the `cinelibre` command sees: progress bars on a terminal, log lines that are
text on a terminal and JSON elsewhere, the server's start-up line and its refusal of a taken port,
the next command after an import without embedding, where `evaluate` writes, and a start that
loads no heavy library. Commands run as a user runs them: in a subprocess, on a pseudo-terminal
where the terminal matters."""

import json
import logging
import os
import pty
import re
import secrets
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from cinelibre.app import ready_message
from cinelibre.database.embedded import open_database
from cinelibre.database.embedded_server import is_postgres_of
from cinelibre.logs import chosen_format
from cinelibre.settings import Settings
from tests.conftest import recreate_database
from tests.live_server import SETTINGS_LEFT_OUT, Server
from tests.test_embedded_database import answers
from tests.test_movielens import LINKS_CSV, MOVIES_CSV, RATINGS_CSV

EMBED_NEXT = (
    "Next: run `cinelibre embed`, so that search finds them by meaning and not only by their words "
    "(`cinelibre serve` also embeds them after it starts, unless EMBED_ON_START=false)."
)
CATALOGUE_LINES = [
    '{"item_type": "movie", "title": "The Quiet Harbour", "year": 1999, "overview": "A fisherman rebuilds a boat."}',
    '{"item_type": "book", "title": "Letters from the Valley", "year": 2004}',
]
# Colours, cursor moves and line clearing: what a terminal interprets and a reader never sees.
TERMINAL_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TEXT_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) \[-\] [a-z_.]+: .+$")
# Opens the embedded database of a data folder, says its address, and closes it when told to,
# writing what the embedded module logs to stderr.
OPEN_UNTIL_TOLD = """
import logging, sys
from pathlib import Path
from cinelibre.database.embedded import open_database
messages = logging.getLogger("cinelibre.database.embedded")
messages.addHandler(logging.StreamHandler())
messages.setLevel(logging.INFO)
database = open_database(None, Path(sys.argv[1]))
print(database.url, flush=True)
sys.stdin.readline()
database.close()
"""
HEAVY_MODULES = (
    "fastapi",
    "starlette",
    "pydantic",
    "psycopg",
    "psycopg_pool",
    "numpy",
    "scipy",
    "matplotlib",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "httpx",
    "fastembed",
    "onnxruntime",
)


def environment(**settings: str) -> dict[str, str]:
    """This environment without database or secret settings, plus `settings`."""
    kept = {name: value for name, value in os.environ.items() if name not in SETTINGS_LEFT_OUT}
    return kept | {"COLUMNS": "200"} | settings


def cinelibre(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinelibre", *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd
    )


def cinelibre_on_a_terminal(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    """Exit status and the lines a terminal shows, every redraw of a progress bar among them."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cinelibre", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env | {"TERM": "xterm-256color"},
        cwd=cwd,
    )
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    text = TERMINAL_CONTROL.sub("", output.decode())
    return process.wait(timeout=30), [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]


def bar(description: str, count: str) -> re.Pattern[str]:
    """A finished progress bar: its description (padded to the longest of those shown together),
    the bar, the count, the time taken and the time left."""
    return re.compile(rf"^{re.escape(description)} +━+ {re.escape(count)} \d:\d\d:\d\d \d:\d\d:\d\d$")


def movielens_folder(parent: Path) -> Path:
    folder = parent / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(MOVIES_CSV, encoding="utf-8")
    (folder / "links.csv").write_text(LINKS_CSV)
    (folder / "ratings.csv").write_text(RATINGS_CSV)
    return folder


def tiny_ml100k(folder: Path) -> Path:
    """An ml-100k-shaped folder (u.data, fold 1, u.item with 19 genre flags): 30 users, 40 films."""
    folder.mkdir()
    rows = sorted(
        {(user, (user * 7 + step * 3) % 40 + 1, (user + step) % 5 + 1) for user in range(1, 31) for step in range(20)}
    )

    def lines(selected: list[tuple[int, int, int]]) -> str:
        return "".join(f"{user}\t{item}\t{stars}\t881250949\n" for user, item, stars in selected)

    (folder / "u.data").write_text(lines(rows))
    (folder / "u1.base").write_text(lines([row for index, row in enumerate(rows) if index % 5]))
    (folder / "u1.test").write_text(lines([row for index, row in enumerate(rows) if not index % 5]))
    genres = ("|".join("1" if (item + genre) % 6 == 0 else "0" for genre in range(19)) for item in range(1, 41))
    (folder / "u.item").write_text(
        "".join(
            f"{item}|Film {item} (1995)|01-Jan-1995||https://example.org/{item}|{flags}\n"
            for item, flags in enumerate(genres, 1)
        )
    )
    return folder


def test_starting_the_command_and_its_help_load_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from cinelibre.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit as end:\n"
        f"    print(end.code, sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))\n"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)

    assert result.stdout.splitlines()[-1] == "0 []", result.stderr


def test_serve_on_a_taken_port_says_so_in_one_line_before_starting_anything(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_port")
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]

        result = cinelibre(
            "serve",
            env=environment(DATABASE_URL=database_url, PORT=str(port), CINELIBRE_DATA_DIR=str(tmp_path)),
            cwd=tmp_path,
        )

    assert result.returncode == 2
    assert result.stderr == f"Port {port} on 127.0.0.1 is already in use: stop the other server or set PORT\n"
    assert result.stdout == ""
    with psycopg.connect(database_url) as conn:  # not migrated: the database was never opened
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_serve_logs_where_the_api_and_its_docs_are_once_it_answers(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_ready")
    server = Server(
        tmp_path / "data", "--no-demo", env={"DATABASE_URL": database_url, "EMBED_ON_START": "false", "COLUMNS": "200"}
    )
    status = server.interrupt()

    lines = Path(server.log.name).read_text().splitlines()
    records = [json.loads(line) for line in lines]  # not a terminal: every line is JSON
    messages = [record["message"] for record in records]
    assert status == 0
    assert messages.count(f"CineLibre is ready on {server.base_url} — API docs at {server.base_url}/docs") == 1
    assert messages.index("Application startup complete.") < messages.index(
        f"CineLibre is ready on {server.base_url} — API docs at {server.base_url}/docs"
    )
    assert "embedded database stopped" not in messages  # DATABASE_URL: no embedded server was started


def test_the_ready_line_says_when_the_api_docs_are_off() -> None:
    production = Settings(_env_file=None, environment="production", jwt_secret_key=secrets.token_urlsafe(32))
    docs_off = Settings(_env_file=None, api_docs_enabled=False)
    docs_on = Settings(
        _env_file=None, environment="production", jwt_secret_key=secrets.token_urlsafe(32), api_docs_enabled=True
    )

    assert ready_message(production, "0.0.0.0", 8000) == (
        "CineLibre is ready on http://0.0.0.0:8000 — API docs are off (API_DOCS_ENABLED=true serves them at /docs)"
    )
    assert ready_message(docs_off, "127.0.0.1", 9000) == (
        "CineLibre is ready on http://127.0.0.1:9000 — API docs are off (API_DOCS_ENABLED=true serves them at /docs)"
    )
    assert (
        ready_message(docs_on, "::1", 8000)
        == "CineLibre is ready on http://[::1]:8000 — API docs at http://[::1]:8000/docs"
    )


@pytest.mark.parametrize(
    ("log_format", "environment_name", "to_terminal", "chosen"),
    [
        ("auto", "development", True, "text"),
        ("auto", "development", False, "json"),
        ("auto", "production", True, "json"),
        ("auto", "production", False, "json"),
        ("json", "development", True, "json"),
        ("text", "production", False, "text"),
    ],
)
def test_log_format_auto_is_text_only_on_a_terminal_outside_production(
    log_format: str, environment_name: str, to_terminal: bool, chosen: str
) -> None:
    settings = Settings(
        _env_file=None, log_format=log_format, environment=environment_name, jwt_secret_key=secrets.token_urlsafe(32)
    )

    assert chosen_format(settings, to_terminal=to_terminal) == chosen


def test_log_format_is_auto_unless_set() -> None:
    assert Settings(_env_file=None).log_format == "auto"


def test_train_on_a_terminal_shows_a_bar_and_text_log_lines_never_json(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_train")
    env = environment(DATABASE_URL=database_url, CINELIBRE_DATA_DIR=str(tmp_path / "data"))
    cinelibre("import", "movielens", "--no-embed", str(movielens_folder(tmp_path)), env=env, cwd=tmp_path)

    status, lines = cinelibre_on_a_terminal("train", env=env, cwd=tmp_path)

    assert status == 0
    assert lines[-1] == "Rating model v1: 4 ratings of 3 items."
    assert any(bar("Training", "4/4").match(line) for line in lines), lines
    logged = [line for line in lines if TEXT_LOG_LINE.match(line)]
    assert [line.split(" ", 4)[4] for line in logged] == [
        "cinelibre.recommend.training: models v1 trained on 4 ratings and 0 views of 3 items"
    ]
    assert not [line for line in lines if line.startswith("{")]


def test_import_catalogue_on_a_terminal_shows_each_step_and_embeds_what_it_added(
    server_url: str, tmp_path: Path
) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_catalogue")
    catalogue = tmp_path / "items.jsonl"
    catalogue.write_text("\n".join(CATALOGUE_LINES) + "\n")
    env = environment(DATABASE_URL=database_url, CINELIBRE_DATA_DIR=str(tmp_path / "data"))

    status, lines = cinelibre_on_a_terminal("import", "catalogue", str(catalogue), env=env, cwd=tmp_path)

    assert status == 0
    assert any(bar("Importing items.jsonl", "2/2").match(line) for line in lines), lines
    assert any(bar("Embedding with all-MiniLM-L6-v2-int8", "2/2").match(line) for line in lines), lines
    assert lines[-2:] == [
        "Catalogue items.jsonl: 2 added, 0 updated, 0 unchanged, 0 bad lines skipped.",
        "Embedded 2 new or changed items with all-MiniLM-L6-v2-int8.",
    ]
    with psycopg.connect(database_url) as conn:
        embedded = conn.execute(
            "SELECT (SELECT count(*) FROM movie_embeddings) + (SELECT count(*) FROM book_embeddings)"
        )
        assert embedded.fetchone() == (2,)


def test_import_catalogue_without_embedding_prints_the_next_command(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_catalogue")
    catalogue = tmp_path / "items.jsonl"
    catalogue.write_text("\n".join(CATALOGUE_LINES) + "\n")
    env = environment(DATABASE_URL=database_url, CINELIBRE_DATA_DIR=str(tmp_path / "data"))

    result = cinelibre("import", "catalogue", "--no-embed", str(catalogue), env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "Catalogue items.jsonl: 2 added, 0 updated, 0 unchanged, 0 bad lines skipped.\n"
        f"New and changed items are not embedded yet. {EMBED_NEXT}\n"
    )
    with psycopg.connect(database_url) as conn:
        embedded = conn.execute(
            "SELECT (SELECT count(*) FROM movie_embeddings) + (SELECT count(*) FROM book_embeddings)"
        )
        assert embedded.fetchone() == (0,)


def test_import_movielens_on_a_terminal_counts_the_ratings_file_and_prints_the_next_command(
    server_url: str, tmp_path: Path
) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli_movielens")
    folder = movielens_folder(tmp_path)
    env = environment(DATABASE_URL=database_url, CINELIBRE_DATA_DIR=str(tmp_path / "data"))
    size = (folder / "ratings.csv").stat().st_size

    status, lines = cinelibre_on_a_terminal("import", "movielens", "--no-embed", str(folder), env=env, cwd=tmp_path)

    assert status == 0
    assert any(bar("Loading ml-latest-small ratings", f"{size}/{size} bytes").match(line) for line in lines), lines
    assert lines[-1] == f"4 items are not embedded yet. {EMBED_NEXT}"


def test_evaluate_writes_the_chart_and_results_to_out_and_says_where(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")
    out = tmp_path / "evaluation of fold 1"

    result = cinelibre(
        "evaluate", "--dataset", str(dataset), "--folds", "1", "--out", str(out), env=environment(), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == f"Chart and results written to {out}\n"
    assert sorted(path.name for path in out.iterdir()) == ["evaluation.png", "results.json"]
    assert (out / "evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    assert (results["dataset"], results["folds"]) == ("ml-100k", [1])
    assert list(results["algorithms"]) == [
        "global mean",
        "bias baseline",
        "most rated",
        "popular (Bayesian average)",
        "user-kNN (Pearson)",
        "item-kNN (cosine)",
        "biased MF (ALS)",
        "MF biases + neighbours (kNN baseline)",
        "biased MF + neighbours",
        "rating model (learnt blend)",
        "EASE",
        "EASE on centred ratings",
        "EASE top 200 (ranking model)",
        "hybrid without MMR",
        "hybrid (served)",
    ]
    assert sorted(results["algorithms"]["EASE"]) == sorted(
        ["NDCG@10", "P@10", "R@10", "coverage", "ILS", "novelty", "NDCG@10 1-20", "NDCG@10 21-100", "NDCG@10 >100"]
        + ["fit s"]
    )
    assert len(results["algorithms"]["EASE"]["NDCG@10"]) == 1
    assert "cold_start" not in results and "views" not in results


def test_evaluate_with_cold_start_and_views_prints_and_writes_both(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")
    out = tmp_path / "out"

    result = cinelibre(
        "evaluate",
        "--dataset",
        str(dataset),
        "--folds",
        "1",
        "--out",
        str(out),
        "--cold-start",
        "--views",
        env=environment(),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    # The tiny folder's users have about 16 training ratings each: too few to be cut down.
    assert result.stderr == f"Cold start: no test user has 20 training ratings.\nChart and results written to {out}\n"
    assert "Views: NDCG@10 on the test folds" in result.stdout
    assert "half the ratings + the other half as views" in result.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["cold_start"]["users"] == [0]
    assert list(results["views"]["rows"]) == [
        "half the ratings",
        "half the ratings + the other half as views",
        "all the ratings",
    ]


def test_evaluate_tune_writes_tuning_json_and_a_table_per_setting(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")
    out = tmp_path / "tuning"

    result = cinelibre(
        "evaluate",
        "--dataset",
        str(dataset),
        "--folds",
        "1",
        "--out",
        str(out),
        "--tune",
        env=environment(),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == f"Tuning results written to {out / 'tuning.json'}\n"
    assert sorted(path.name for path in out.iterdir()) == ["tuning.json"]
    tuning = json.loads((out / "tuning.json").read_text())
    names = [setting["name"] for setting in tuning["settings"]]
    assert names == [
        "EASE regularisation",
        "EASE neighbours kept (None: dense)",
        "EASE rating emphasis (ratings centred on the user's mean)",
        "rating model factors",
        "rating model regularisation",
        "rating model neighbours",
        "rating model shrinkage",
        "rating model blend (learnt: weights fitted on these ratings)",
        "hybrid diversity",
    ]
    assert all(name.split(" (")[0] in result.stdout for name in names)
    assert result.stdout.count("winner") == len(names)


def test_evaluate_on_a_terminal_counts_each_algorithm_on_each_fold(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")

    status, lines = cinelibre_on_a_terminal(
        "evaluate",
        "--dataset",
        str(dataset),
        "--folds",
        "1",
        "--out",
        str(tmp_path / "out"),
        env=environment(),
        cwd=tmp_path,
    )

    assert status == 0
    assert any(bar("Evaluating 15 algorithms on fold 1", "15/15").match(line) for line in lines), lines
    assert lines[-1] == f"Chart and results written to {tmp_path / 'out'}"


def test_evaluate_writes_under_the_data_directory_by_default_never_where_it_runs(tmp_path: Path) -> None:
    dataset = tiny_ml100k(tmp_path / "ml-100k")
    data = tmp_path / "data"
    working = tmp_path / "working"
    working.mkdir()

    result = cinelibre(
        "evaluate",
        "--dataset",
        str(dataset),
        "--folds",
        "1",
        env=environment(CINELIBRE_DATA_DIR=str(data)),
        cwd=working,
    )

    assert result.returncode == 0, result.stderr
    [written] = (data / "evaluations").iterdir()
    assert re.fullmatch(r"ml-100k-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", written.name)
    assert result.stderr == f"Chart and results written to {written}\n"
    assert sorted(path.name for path in written.iterdir()) == ["evaluation.png", "results.json"]
    assert list(working.iterdir()) == []


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """Outside pytest's temporary folder, as in test_embedded_database.py (its other users)."""
    with tempfile.TemporaryDirectory(prefix="cinelibre-cli-") as folder:
        yield Path(folder) / "data"
        for process in psutil.process_iter():  # whatever a failed test left running
            if is_postgres_of(process.pid, (Path(folder) / "data" / "pgdata").resolve()):
                process.kill()


def opened_in_another_process(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", OPEN_UNTIL_TOLD, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    return holder, holder.stdout.readline().strip()


def closed(holder: subprocess.Popen[str]) -> list[str]:
    """Tell the holder to close its database; what it logged."""
    _, logged = holder.communicate("close\n", timeout=60)
    return logged.splitlines()


def test_a_command_on_the_server_another_process_started_does_not_say_it_stopped_it(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    holder, url = opened_in_another_process(embedded_data_dir)

    result = cinelibre("train", env=environment(CINELIBRE_DATA_DIR=str(embedded_data_dir)), cwd=tmp_path)
    still_answering = answers(url)
    holder_logged = closed(holder)

    assert result.returncode == 1
    assert "Not trained: no ratings to learn from yet." in result.stderr
    assert "embedded database" not in result.stderr
    assert still_answering == 1
    assert holder_logged == ["embedded database stopped"]


def test_the_process_that_started_the_server_says_it_left_it_running_for_another(
    embedded_data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cinelibre.database.embedded")
    holder, _ = opened_in_another_process(embedded_data_dir)
    joined = open_database(None, embedded_data_dir)

    holder_logged = closed(holder)
    still_answering = answers(joined.url)
    joined.close()

    assert holder_logged == ["embedded database left running: other processes still use it"]
    assert still_answering == 1
    # Last to use it, this process did stop it, and says so.
    assert [record.getMessage() for record in caplog.records] == ["embedded database stopped"]
    assert not (embedded_data_dir / "pgdata" / "postmaster.pid").exists()
