"""`cinelibre experiments`: defining, starting, pausing and stopping experiments and reporting
their results from the command line, against a real database. The commands run in this process
through Typer's runner (each one opens the database as `cinelibre` does), which keeps the file fast;
tests/test_cli.py runs other commands as a subprocess."""

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from cinelibre import terminal
from cinelibre.cli import app
from cinelibre.database import migrate
from cinelibre.experiments import repository
from cinelibre.experiments.exposures import Exposure
from cinelibre.settings import get_settings
from tests.conftest import recreate_database

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TWO_VARIANTS = ["--variant", "control=default:0.5", "--variant", "treatment=popular:1/2"]
# An hour ago: every list was shown before the clicks and ratings the tests make now.
SHOWN_AT = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture(scope="module")
def migrated_database(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_cli_experiments")
    migrate.upgrade_to_head(url)
    return url


@pytest.fixture
def database(migrated_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The file's database emptied, with ids from 1 again; the commands pointed at it and run in
    an empty folder (no .env read, the default chart written there), on a wide terminal."""
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "TRUNCATE experiments, list_exposures, interactions, ratings, users, movies RESTART IDENTITY CASCADE"
        )
    monkeypatch.setenv("DATABASE_URL", migrated_database)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(terminal.console, "_width", 200)
    get_settings.cache_clear()
    yield migrated_database
    get_settings.cache_clear()


def cinelibre(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def add_films_and_readers(url: str, films: int, readers: int) -> None:
    with psycopg.connect(url) as conn:
        for number in range(1, films + 1):
            conn.execute("INSERT INTO movies (title, year) VALUES (%s, 2000)", (f"Film {number}",))
        for number in range(1, readers + 1):
            conn.execute(
                "INSERT INTO users (name, imported_from, external_id) VALUES ('Reader', 'test', %s)", (number,)
            )


def show(url: str, exposures: list[Exposure]) -> None:
    """Write the lists as the API's exposure log does, in one batch."""

    async def write() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await repository.write_exposures(conn, [exposure.row() for exposure in exposures])

    asyncio.run(write())


def shown(list_id: uuid.UUID, experiment_id: int, variant: str, films: list[int], **who: object) -> Exposure:
    return Exposure(
        list_id=list_id,
        surface="popular",
        user_id=who.get("user_id"),  # type: ignore[arg-type]
        client_id=who.get("client_id"),  # type: ignore[arg-type]
        experiment_id=experiment_id,
        variant=variant,
        items=[("movie", film) for film in films],
        teams=who.get("teams"),  # type: ignore[arg-type]
        first_position=1,
        shown_at=SHOWN_AT,
    )


def click(url: str, user_id: int, film: int, list_id: uuid.UUID) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO interactions (user_id, kind, item_type, item_id, list_id) "
            "VALUES (%s, 'click', 'movie', %s, %s)",
            (user_id, film, list_id),
        )


def table_rows(text: str) -> list[list[str]]:
    """The cells of each body row of the tables in `text` (rich draws them between │ bars)."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in text.splitlines() if "│" in line]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (its first chunk, IHDR)."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


ZERO_ROW = ["0", "0", "0", "0.00%", "0.00%", "0.00%", "0.00%", "0.00%", "—", "0.00%"]
# The chart's size: 9 by 5.5 inches at 120 dots per inch.
CHART_SIZE = (1080, 660)


def test_the_configurations_are_listed_with_the_surfaces_they_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal.console, "_width", 200)

    listed = cinelibre("experiments", "configurations")

    assert listed.exit_code == 0
    rows = table_rows(listed.stdout)
    assert [row[:2] for row in rows] == [
        ["default", "personalized, similar, popular, search"],
        ["popular", "personalized, popular"],
        ["collaborative", "personalized, similar"],
        ["content", "personalized, similar"],
        ["no-diversity", "personalized"],
        ["more-diversity", "personalized"],
        ["semantic", "search"],
        ["keyword", "search"],
    ]
    assert rows[0][2] == "What CineLibre serves today on every surface."


def test_a_draft_tells_the_effect_it_can_detect_and_starts_with_nothing_shown_yet(
    database: str, tmp_path: Path
) -> None:
    empty = cinelibre("experiments", "list")
    made = cinelibre(
        "experiments", "create", "Popular against itself", "--surface", "popular", *TWO_VARIANTS,
        "--expected-daily-users", "100",
    )  # fmt: skip
    listed = cinelibre("experiments", "list")
    draft = cinelibre("experiments", "report", "1")

    assert lines(empty.stderr) == ["No experiments yet: `cinelibre experiments create` defines one."]
    assert made.exit_code == 0
    assert made.stdout == "1\n"
    assert lines(made.stderr) == [
        "Experiment 1 (Popular against itself) is a draft on the popular surface: `cinelibre experiments report 1` "
        "tells the effect it can detect, `cinelibre experiments start 1` starts it."
    ]
    assert table_rows(listed.stdout) == [
        ["1", "Popular against itself", "popular", "ab", "draft", "control (default): 50%, treatment (popular): 50%"]
    ]
    assert draft.exit_code == 0
    assert table_rows(draft.stdout) == [["control (default)", *ZERO_ROW], ["treatment (popular)", *ZERO_ROW]]
    # No list served on the surface yet: an assumed CTR of 5%; 100 users a day for 14 days, 700 lists
    # per variant: 2.801585 · sqrt(0.05 · 0.95 · (1/700 + 1/700)) = 0.032637, 65.27% of 0.05.
    chart = tmp_path / "experiment-1.png"
    assert lines(draft.stderr) == [
        "Experiment 1, Popular against itself: an A/B test on the popular surface, draft.",
        "treatment against control: nothing to compare yet (no list shown to one of them).",
        "Verdict: No winner yet: nothing to compare treatment with control on so far.",
        "Detectable effect: with 1,400 users over 14 days and a baseline CTR of 5.00% (assumed: the surface has "
        "served no list yet), the smallest difference this experiment reliably detects (80% power, alpha 0.05) is "
        "3.26 percentage points (65.3% relative).",
        f"Chart written to {chart.resolve()}",
    ]
    assert png_size(chart) == CHART_SIZE
    assert 10_000 < chart.stat().st_size < 500_000

    started = cinelibre("experiments", "start", "1")
    running = cinelibre("experiments", "report", "1", "--no-png")
    listed = cinelibre("experiments", "list")

    assert lines(started.stderr) == [
        "Experiment 1 (Popular against itself) is running. Running API processes follow within 1 s "
        "(EXPERIMENTS_REFRESH_SECONDS)."
    ]
    assert table_rows(running.stdout) == [["control (default)", *ZERO_ROW], ["treatment (popular)", *ZERO_ROW]]
    assert lines(running.stderr) == [
        "Experiment 1, Popular against itself: an A/B test on the popular surface, running.",
        "treatment against control: nothing to compare yet (no list shown to one of them).",
        "Verdict: No winner yet: nothing to compare treatment with control on so far.",
    ]
    assert table_rows(listed.stdout)[0][4] == "running"


@pytest.mark.parametrize(
    ("variants", "changes", "message"),
    [
        (
            ["control=default:0.5", "treatment=popular:0.6"],
            [],
            "the variants' shares must sum to 1, not 1.1",
        ),
        (
            ["control=default:50%", "treatment=magic:50%"],
            [],
            "unknown configuration 'magic'; one of: default, popular, collaborative, content, no-diversity, "
            "more-diversity, semantic, keyword",
        ),
        (
            ["control=default:0.5", "treatment=keyword:0.5"],
            [],
            "configuration 'keyword' does not serve the popular surface",
        ),
        (
            ["a=default:1/3", "b=popular:1/3", "c=default:1/3"],
            ["--kind", "interleaving"],
            "an interleaving experiment merges exactly two variants",
        ),
        (["control=default:1"], [], "--variant: List should have at least 2 items after validation, not 1"),
        (
            ["control=default:0.5", "treatment=popular:1.5"],
            [],
            "--variant treatment=popular:1.5, share: Input should be less than or equal to 1",
        ),
        (
            ["control=default:0.5", "treatment=popular:half"],
            [],
            "--variant treatment=popular:half, share: Input should be a valid number, unable to parse string as a "
            "number",
        ),
        (
            ["control=default:0.5", "treatment=popular:0.5"],
            ["--surface", "home"],
            "--surface: Input should be 'personalized', 'similar', 'popular' or 'search'",
        ),
        (
            ["control=default:0.5", "treatment=popular:0.5"],
            ["--expected-daily-users", "0"],
            "--expected-daily-users: Input should be greater than or equal to 1",
        ),
        (
            ["control=default:0.5", "treatment"],
            [],
            "--variant treatment is not NAME=CONFIGURATION:SHARE (e.g. control=default:0.5)",
        ),
    ],
)
def test_a_bad_definition_is_refused_in_one_line(
    database: str, variants: list[str], changes: list[str], message: str
) -> None:
    options = ["--surface", "popular", *(argument for text in variants for argument in ("--variant", text))]

    refused = cinelibre("experiments", "create", "A bad one", *options, *changes)

    assert refused.exit_code == 2
    assert refused.stderr == f"Not created: {message}.\n"
    assert refused.stdout == ""
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM experiments").fetchone() == (0,)


def test_unknown_ids_and_moves_the_api_refuses_fail_clearly(database: str) -> None:
    for name in ("Popular against itself", "Another"):
        cinelibre("experiments", "create", name, "--surface", "popular", *TWO_VARIANTS)
    cinelibre("experiments", "start", "1")

    busy = cinelibre("experiments", "start", "2")
    paused = cinelibre("experiments", "pause", "1")
    second = cinelibre("experiments", "start", "2")
    stopped = cinelibre("experiments", "stop", "1")
    again = cinelibre("experiments", "start", "1")
    unknown = [cinelibre("experiments", *command, "987654") for command in (["start"], ["stop"], ["report"])]

    assert (busy.exit_code, busy.stderr) == (
        1,
        "Experiment 1 (Popular against itself) is running on the popular surface; pause or stop it first.\n",
    )
    refresh = "Running API processes follow within 1 s (EXPERIMENTS_REFRESH_SECONDS)."
    assert lines(paused.stderr) == [
        f"Experiment 1 (Popular against itself) is paused: its users get the default until it resumes. {refresh}"
    ]
    assert lines(second.stderr) == [f"Experiment 2 (Another) is running. {refresh}"]
    assert lines(stopped.stderr) == [
        f"Experiment 1 (Popular against itself) is stopped for good: its users get the default, its results "
        f"stay. {refresh}"
    ]
    assert (again.exit_code, again.stderr) == (1, "Experiment 1 is stopped: it cannot start.\n")
    assert [(result.exit_code, result.stderr) for result in unknown] == [(1, "Experiment 987654 does not exist.\n")] * 3
    assert not Path("experiment-987654.png").exists()


def test_the_report_counts_what_each_variant_s_lists_led_to(database: str, tmp_path: Path) -> None:
    """Five films, four readers. Control: readers 1 and 2 see films 1-4; reader 1 clicks film 1
    (first place) twice, which counts once. Treatment: readers 3 and 4 see films 5, 4, 3; reader 3
    clicks films 5 and 3 (first and third place) and rates film 3 four stars, reader 4 clicks film 4
    (second place) and film 1 from reader 1's list, which is not credited."""
    add_films_and_readers(database, films=5, readers=4)
    cinelibre("experiments", "create", "Popular against itself", "--surface", "popular", *TWO_VARIANTS)
    cinelibre("experiments", "start", "1")
    lists = [uuid.uuid4() for _ in range(4)]
    show(
        database,
        [
            shown(lists[0], 1, "control", [1, 2, 3, 4], user_id=1),
            shown(lists[1], 1, "control", [1, 2, 3, 4], user_id=2),
            shown(lists[2], 1, "treatment", [5, 4, 3], user_id=3),
            shown(lists[3], 1, "treatment", [5, 4, 3], user_id=4),
        ],
    )
    for reader, film, list_id in [(1, 1, 0), (1, 1, 0), (3, 5, 2), (3, 3, 2), (4, 4, 3), (4, 1, 0)]:
        click(database, reader, film, lists[list_id])
    with psycopg.connect(database) as conn:
        conn.execute("INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (3, 'movie', 3, 4)")
    chart = tmp_path / "ab.png"

    report = cinelibre("experiments", "report", "1", "--png", str(chart))

    assert report.exit_code == 0
    # Control: 1 click in 2 lists; treatment: 3 clicks in 2 lists, 1 of them at first place, 1 of
    # the 6 (reader, film) pairs shown rated; coverage 4 and 3 of the 5 films.
    assert table_rows(report.stdout) == [
        ["control (default)", "2", "2", "1", "50.00%", "50.00%", "50.00%", "50.00%", "0.00%", "—", "80.00%"],
        ["treatment (popular)", "2", "2", "3", "150.00%", "50.00%", "150.00%", "150.00%", "16.67%", "4.00", "60.00%"],
    ]
    # Per reader (clicks, lists): control (1, 1), (0, 1); treatment (2, 1), (1, 1). Each arm's
    # delta-method variance: var([0.5, -0.5]) / (2 · 1²) = 0.25; the difference's standard error
    # sqrt(0.5) = 0.707107, its margin 1.959964 · 0.707107 = 1.385904 around +1.0; the p-value
    # 2 · P(Z > 1.414214) = 0.157299.
    assert lines(report.stderr) == [
        "Experiment 1, Popular against itself: an A/B test on the popular surface, running.",
        "treatment against control: CTR +100.00 pp (+200.0%), 95% interval -38.59 pp to +238.59 pp, p = 0.157.",
        "Verdict: No winner yet: no variant differs from control with p below 0.05 (alpha 0.05).",
        "Users split between the variants as their shares say (sample ratio check p = 1.000).",
        f"Chart written to {chart.resolve()}",
    ]
    assert png_size(chart) == CHART_SIZE
    assert 10_000 < chart.stat().st_size < 500_000


def test_an_interleaving_report_gives_each_variant_s_share_of_the_lists_won(database: str, tmp_path: Path) -> None:
    """Four readers see films 1-4, each list with the teams that put the films there. Reader 1
    clicks film 1 (control's pick), reader 2 film 2 (control's), reader 3 film 2 (treatment's),
    reader 4 films 1 and 2 (one each: a tie)."""
    add_films_and_readers(database, films=5, readers=4)
    variants = ["--variant", "control=default:50%", "--variant", "treatment=popular:50%"]
    cinelibre("experiments", "create", "Interleaved", "--surface", "popular", "--kind", "interleaving", *variants)
    cinelibre("experiments", "start", "1")
    lists = [uuid.uuid4() for _ in range(4)]
    teams = [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [0, 1, 0, 1]]
    show(
        database,
        [
            shown(list_id, 1, "interleaved", [1, 2, 3, 4], user_id=reader, teams=teams[reader - 1])
            for reader, list_id in enumerate(lists, 1)
        ],
    )
    for reader, film in [(1, 1), (2, 2), (3, 2), (4, 1), (4, 2)]:
        click(database, reader, film, lists[reader - 1])

    report = cinelibre("experiments", "report", "1")

    assert report.exit_code == 0
    # Each team's clicks in the 4 lists: control 3 (2 at first place), treatment 2 (none there);
    # each team put 2 of the 4 films into every list, all 4 films over the lists (80% of 5).
    assert table_rows(report.stdout) == [
        ["control (default)", "4", "4", "3", "75.00%", "50.00%", "75.00%", "75.00%", "0.00%", "—", "80.00%"],
        ["treatment (popular)", "4", "4", "2", "50.00%", "0.00%", "50.00%", "50.00%", "0.00%", "—", "80.00%"],
    ]
    # Wins per reader: control [1, 1, 0, 0], decided [1, 1, 1, 0]: share 2/3. Delta method:
    # var([1/3, 1/3, -2/3, 0]) = 2/9, over 4 · 0.75² gives 0.098765; margin 1.959964 · 0.314270 =
    # 0.615953, so 5.1% to 100% (clipped). Against an even split: Σd = 0.5 over sqrt(0.75), z =
    # 0.577350, p = 0.563703.
    assert lines(report.stderr) == [
        "Experiment 1, Interleaved: interleaving on the popular surface, running.",
        "treatment against control: CTR -25.00 pp (-33.3%), 95% interval -99.85 pp to +49.85 pp, p = 0.513.",
        "Verdict: No winner yet: control won 66.7% of the decided lists (p = 0.564, not below 0.05).",
        "Interleaving: 4 lists; control won 2, treatment won 1, 1 tied, the rest had no click. control won 66.7% "
        "of the decided lists, 95% interval 5.1% to 100.0%, p = 0.564 against an even split.",
        f"Chart written to {(tmp_path / 'experiment-1.png').resolve()}",
    ]
    assert png_size(tmp_path / "experiment-1.png") == CHART_SIZE


def test_a_split_unlike_the_shares_is_flagged(database: str) -> None:
    """Twenty anonymous visitors, all in the control of a 50/50 experiment: chi-square
    (20 - 10)² / 10 + (0 - 10)² / 10 = 20 with one degree of freedom, p = 7.7e-6."""
    cinelibre("experiments", "create", "Lopsided", "--surface", "popular", *TWO_VARIANTS)
    cinelibre("experiments", "start", "1")
    show(
        database,
        [shown(uuid.uuid4(), 1, "control", [1], client_id=f"browser-{number:04d}") for number in range(20)],
    )

    report = cinelibre("experiments", "report", "1", "--no-png")

    assert report.exit_code == 0
    assert lines(report.stderr) == [
        "Experiment 1, Lopsided: an A/B test on the popular surface, running.",
        "treatment against control: nothing to compare yet (no list shown to one of them).",
        "Verdict: No winner yet: nothing to compare treatment with control on so far.",
        "Warning: sample ratio mismatch (p < 0.001): the users split control 20, treatment 0, not as the shares "
        "50%, 50% say. Assignment or exposure logging is broken somewhere: do not trust these results until it is "
        "found.",
    ]


def test_a_report_without_matplotlib_says_which_extra_to_install(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes Matplotlib missing, as it is where the extra is not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    report = cinelibre("experiments", "report", "1")

    assert report.exit_code == 2
    assert report.stderr == "The chart needs Matplotlib: pip install 'cinelibre[evaluation]' (or pass --no-png).\n"


def test_the_chart_module_loads_matplotlib_only_to_draw() -> None:
    probe = "import sys, cinelibre.experiments.report_chart; print('matplotlib' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)

    assert result.stdout == "False\n"
