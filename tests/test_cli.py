import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.conftest import recreate_database
from tests.test_movielens import LINKS_CSV, MOVIES_CSV, RATINGS_CSV


def cinelibre(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cinelibre", *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_import_movielens_command_reports_counts_and_is_idempotent(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli")
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(MOVIES_CSV, encoding="utf-8")
    (folder / "links.csv").write_text(LINKS_CSV)
    (folder / "ratings.csv").write_text(RATINGS_CSV)

    first = cinelibre("import", "movielens", str(folder), database_url=database_url, cwd=tmp_path)
    second = cinelibre("import", "movielens", str(folder), database_url=database_url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert "4 films read, 4 added, 0 linked to films already here; 2 users added; 4 ratings written." in first.stderr
    assert "4 films read, 0 added, 0 linked to films already here; 0 users added; 0 ratings written." in second.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM ratings").fetchone() == (4,)


def test_import_of_a_folder_that_is_not_movielens_fails_clearly(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli")

    result = cinelibre("import", "movielens", str(tmp_path), database_url=database_url, cwd=tmp_path)

    assert result.returncode == 2
    assert "is not a MovieLens folder" in result.stderr


def test_db_url_prints_the_configured_connection_string(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli")

    result = cinelibre("db", "url", database_url=database_url, cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout == database_url + "\n"


def test_train_command_trains_and_versions_the_rating_model(server_url: str, tmp_path: Path) -> None:
    database_url = recreate_database(server_url, "cinelibre_cli")
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(MOVIES_CSV, encoding="utf-8")
    (folder / "links.csv").write_text(LINKS_CSV)
    (folder / "ratings.csv").write_text(RATINGS_CSV)
    empty = cinelibre("train", database_url=database_url, cwd=tmp_path)
    cinelibre("import", "movielens", str(folder), database_url=database_url, cwd=tmp_path)

    first = cinelibre("train", database_url=database_url, cwd=tmp_path)
    second = cinelibre("train", database_url=database_url, cwd=tmp_path)

    assert empty.returncode == 1
    assert "Not trained: no ratings to learn from yet." in empty.stderr
    assert first.returncode == 0, first.stderr
    assert "Rating model v1: 4 ratings of 3 items." in first.stderr
    assert "Rating model v2: 4 ratings of 3 items." in second.stderr


def test_evaluate_without_matplotlib_says_which_extra_to_install(tmp_path: Path) -> None:
    # None in sys.modules makes `import matplotlib` fail as it does where the extra is not installed.
    hide_matplotlib = "import sys; sys.modules['matplotlib'] = None; from cinelibre.cli import app; app()"

    result = subprocess.run(
        [sys.executable, "-c", hide_matplotlib, "evaluate", "--dataset", str(tmp_path)],
        env=os.environ | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "the chart needs pip install 'cinelibre[evaluation]'." in result.stderr
