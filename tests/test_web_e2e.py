"""The web app in a real Chromium against a real `cinelibre serve` serving the built app (web/dist,
built once per run by `cinelibre web build` when stale): signing up, rating, the For you list
changing live over /ws, search, an item and its similar items, exporting and deleting an account,
an administrator starting a retrain and running an experiment, a click from a served list credited
to that list, importing an IMDb export, a film and the book it adapts; and axe-core on every page.
Any console error or uncaught exception in the page fails the test that caused it."""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import pytest

from cinelibre.experiments.assignment import variant_for
from tests.live_server import SETTINGS_LEFT_OUT, Server, stop_leftover_database
from tests.test_scale_out import database_url_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists() or shutil.which("npm") is None:
    pytest.skip(
        "browser tests need Chromium (/usr/bin/chromium) and npm (Node.js) to build the web app; .ci/run installs both",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Locator, Page, expect, sync_playwright  # noqa: E402

WEB_DIR = Path(__file__).parents[1] / "web"
AXE_SCRIPT = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = json.loads((WEB_DIR / "package.json").read_text())["devDependencies"]["axe-core"]
PASSWORD = "a long enough password"
# Generous for a machine busy with other tests: a page, a search or a live update normally takes
# well under a second.
STEP_TIMEOUT_MS = 20_000
INDEXING_TIMEOUT_SECONDS = 300
TRAINING_TIMEOUT_SECONDS = 240
# The ten films rated in the live-update test, and the stars each gets: a taste, not one score.
STARS = [5, 4.5, 4, 5, 1, 4.5, 2, 5, 3.5, 4]
SERIOUS_IMPACTS = {"serious", "critical"}
expect.set_options(timeout=STEP_TIMEOUT_MS)


@dataclass
class Visitor:
    """A browser tab and everything it reported as going wrong."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def new_tab(self) -> Page:
        return self.watch(self.page.context.new_page())


@dataclass
class Account:
    email: str
    name: str
    token: str


@pytest.fixture(scope="module")
def built_web_app() -> None:
    """web/dist as `npm run build` makes it from the sources as they are now."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_LEFT_OUT}
    build = subprocess.run(
        [sys.executable, "-m", "cinelibre", "web", "build"], env=environment, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (WEB_DIR / "dist" / "index.html").is_file()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("web-e2e") / "data"
    yield folder
    stop_leftover_database(folder)


@pytest.fixture(scope="module")
def server(built_web_app: None, data_dir: Path) -> Iterator[Server]:
    """The demo catalogue, the checkout's web/dist, and no retrain started by ratings alone (so
    recommendations change only by what a test does). Every browser and API call comes from one
    address, more recommendation lists a minute than one person asks for: the limit is raised."""
    started = Server(
        data_dir,
        env={
            "JWT_SECRET_KEY": "web-e2e-secret-that-is-long-enough",
            "RETRAIN_AFTER_NEW_RATINGS": "0",
            "RECOMMENDATION_RATE_LIMIT": "600/minute",
        },
    )
    wait_until_catalogue_is_indexed(started.base_url)
    yield started
    assert started.interrupt() == 0


def wait_until_catalogue_is_indexed(base_url: str) -> None:
    """`cinelibre serve` embeds the demo catalogue after it starts answering; until then searches
    are partial, and one made meanwhile would not be the one a test compares with."""
    deadline = time.monotonic() + INDEXING_TIMEOUT_SECONDS
    for attempt in itertools.count():
        # A new query each time: an answer from the search cache would stay partial.
        answer = httpx.get(f"{base_url}/search/semantic", params={"q": f"indexed yet {attempt}"}, timeout=30)
        if answer.status_code == 200 and answer.json()["partial"] is False:
            return
        assert time.monotonic() < deadline, f"the demo catalogue was not indexed in time: {answer.text}"
        time.sleep(1)


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"Accept": "application/json"}) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    opened = browser.new_context(
        base_url=server.base_url, accept_downloads=True, viewport={"width": 1280, "height": 800}
    )
    yield opened
    opened.close()


@pytest.fixture
def visitor(context: BrowserContext) -> Iterator[Visitor]:
    """A tab; after the test, none of its tabs may have logged an error."""
    tab = Visitor(page=context.new_page())
    tab.watch(tab.page)
    yield tab
    assert tab.errors == [], "the browser reported errors:\n" + "\n".join(tab.errors)


def register(api: httpx.Client, name: str = "Web Tester") -> Account:
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    answer = api.post("/auth/register", json={"email": email, "password": PASSWORD, "name": name})
    assert answer.status_code == 201, answer.text
    return Account(email=email, name=name, token=answer.json()["access_token"])


def sign_up_in_browser(page: Page, name: str) -> str:
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    page.goto("/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return email


def sign_in_as(context: BrowserContext, account: Account) -> None:
    """The token where the app keeps it (web/src/api/token.ts), as if the account had signed in."""
    context.add_init_script(f"localStorage.setItem('cinelibre.token', {json.dumps(account.token)})")


def grant_admin(account: Account, data_dir: Path) -> None:
    """As an operator does it: `cinelibre users grant-admin` on the server's database."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_LEFT_OUT}
    granted = subprocess.run(
        [sys.executable, "-m", "cinelibre", "users", "grant-admin", account.email],
        env=environment | {"DATABASE_URL": database_url_of(data_dir)},
        capture_output=True,
        text=True,
    )
    assert granted.returncode == 0, granted.stdout + granted.stderr
    said = " ".join((granted.stdout + granted.stderr).split())
    assert said == f"{account.email} is now an administrator.", said


def model_version(api: httpx.Client) -> int | None:
    """The id of the rating model serving, from /metrics; None before the first training."""
    metrics = api.get("/metrics")
    assert metrics.status_code == 200, metrics.text
    found = re.search(r'^cinelibre_model_version\{kind="rating"\} ([\d.]+)$', metrics.text, re.MULTILINE)
    return int(float(found.group(1))) if found else None


def rate(api: httpx.Client, account: Account, movie_id: int, stars: float) -> None:
    answer = api.post(
        "/ratings",
        headers={"Authorization": f"Bearer {account.token}"},
        json={"item_id": movie_id, "item_type": "movie", "rating": stars},
    )
    assert answer.status_code in (200, 201), answer.text


def popular_films(api: httpx.Client, count: int) -> list[dict]:
    answer = api.get("/movies", params={"sort": "popularity", "limit": count})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def titles_of(items: list[dict]) -> list[str]:
    return [item["title"] for item in items]


def stars_label(stars: float) -> str:
    return "1 star" if stars == 1 else f"{stars:g} stars"


# Journeys


def test_signing_up_and_rating_ten_films_changes_for_you_live_without_a_reload(
    visitor: Visitor, api: httpx.Client
) -> None:
    home = visitor.page
    name = "Live Tester"
    email = sign_up_in_browser(home, name)
    expect(home).to_have_url(re.compile(r"/$"))
    expect(home.get_by_role("heading", name="For you", level=2)).to_be_visible()
    home.evaluate("window.loadedOnce = true")
    token = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    before = api.get("/recommendations/personalized", headers=auth).json()["items"]

    for_you = home.get_by_role("list", name="Recommended for you", exact=True).get_by_role("heading")
    expect(for_you).to_have_text(titles_of(before))

    films = popular_films(api, len(STARS))
    rating_tab = visitor.new_tab()
    for film, stars in zip(films, STARS, strict=True):
        rating_tab.goto(f"/movies/{film['id']}")
        expect(rating_tab.get_by_role("heading", level=1)).to_have_text(film["title"])
        rating_tab.get_by_role("group", name=f"Rate {film['title']}").get_by_role(
            "radio", name=stars_label(stars), exact=True
        ).check()
        expect(rating_tab.get_by_text(f"You rated it {stars_label(stars)}.")).to_be_visible()

    rating_tab.goto("/me/ratings")
    rows = rating_tab.get_by_role("table", name="My ratings, newest first").get_by_role("row")
    expect(rows).to_have_count(1 + len(STARS))
    rated = dict(
        zip(
            rows.locator("td:first-child").all_inner_texts(),
            rows.locator("td:nth-child(3)").all_inner_texts(),
            strict=True,
        )
    )
    assert {title: label.split()[-2:] for title, label in rated.items()} == {
        film["title"]: stars_label(stars).split() for film, stars in zip(films, STARS, strict=True)
    }

    # The list /ws sends is what GET /recommendations/personalized answers with its defaults, once
    # every rating and view has arrived.
    after = api.get("/recommendations/personalized", headers=auth).json()["items"]
    assert titles_of(after) != titles_of(before)
    expect(for_you).to_have_text(titles_of(after))
    expect(home.get_by_role("status").filter(has_text="For you updated")).to_have_text(
        f"For you updated: {len(after)} recommendations"
    )
    assert home.evaluate("window.loadedOnce") is True, "the home page was reloaded"
    assert {film["id"] for film in films}.isdisjoint(item["id"] for item in after if item["item_type"] == "movie")


def test_a_search_shows_the_results_the_api_finds_and_an_item_opens_with_its_similar_items(
    visitor: Visitor, api: httpx.Client
) -> None:
    page = visitor.page
    query = "a robot sent back in time"
    expected = api.get("/search/semantic", params={"q": query, "limit": 24}).json()
    assert expected["partial"] is False and expected["items"], "the demo catalogue should be indexed and answer"
    expected = expected["items"]
    assert expected[0]["title"] == "The Terminator"

    page.goto("/search")
    page.get_by_role("searchbox", name="Search").fill(query)
    expect(page.get_by_role("status").filter(has_text="result")).to_have_text(f"{len(expected)} results")
    expect(page.get_by_role("list", name="Search results").get_by_role("heading")).to_have_text(titles_of(expected))
    expect(page).to_have_url(re.compile(r"/search\?q=a\+robot\+sent\+back\+in\+time$"))

    first = expected[0]
    plural = "movies" if first["item_type"] == "movie" else "books"
    page.get_by_role("list", name="Search results").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/{plural}/{first['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape(first["title"])))

    similar = api.get(
        f"/recommendations/similar/{first['item_type']}/{first['id']}", params={"limit": 6, "target_type": "movie"}
    ).json()["items"]
    assert similar
    expect(page.get_by_role("list", name="Similar films").get_by_role("heading")).to_have_text(titles_of(similar))
    page.get_by_role("list", name="Similar films").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/movies/{similar[0]['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(similar[0]["title"])


def test_exporting_my_data_downloads_my_ratings_and_deleting_the_account_signs_me_out(
    visitor: Visitor, context: BrowserContext, api: httpx.Client
) -> None:
    account = register(api, name="Leaving Soon")
    film = popular_films(api, 1)[0]
    rate(api, account, film["id"], 4.5)
    sign_in_as(context, account)
    page = visitor.page

    page.goto("/account")
    expect(page.get_by_text(f"Signed in as {account.name} ({account.email}).")).to_be_visible()
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export my data").click()
    download = downloading.value
    assert re.fullmatch(r"cinelibre-export-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    exported = json.loads(Path(download.path()).read_text())
    assert exported["account"]["email"] == account.email
    assert [(r["item_id"], r["item_type"], r["rating"]) for r in exported["ratings"]] == [(film["id"], "movie", 4.5)]

    page.get_by_label("Password to confirm").fill(PASSWORD)
    page.get_by_label("I understand that this cannot be undone").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account and everything kept about it have been deleted.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()
    assert page.evaluate("localStorage.getItem('cinelibre.token')") is None
    assert api.post("/auth/login", json={"email": account.email, "password": PASSWORD}).status_code == 401


def test_an_administrator_starts_a_retrain_from_the_admin_page(
    visitor: Visitor, context: BrowserContext, api: httpx.Client, data_dir: Path
) -> None:
    account = register(api, name="Admin Person")
    grant_admin(account, data_dir)
    sign_in_as(context, account)
    page = visitor.page

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()
    serving_before = model_version(api)
    page.get_by_role("button", name="Retrain now").click()
    expect(page.get_by_role("status")).to_have_text(
        "Started. It runs in the background; refresh the list to follow it."
    )

    # The run started from the page really trains: a newer rating model starts serving.
    deadline = time.monotonic() + TRAINING_TIMEOUT_SECONDS
    while (serving := model_version(api)) == serving_before:
        assert time.monotonic() < deadline, "no new model within the time a retrain of the demo takes"
        time.sleep(1)
    assert serving is not None and (serving_before is None or serving > serving_before)


def test_a_visitor_who_is_not_an_administrator_sees_no_admin_page(
    visitor: Visitor, context: BrowserContext, api: httpx.Client
) -> None:
    sign_in_as(context, register(api))
    page = visitor.page
    page.goto("/admin")
    expect(page.get_by_text("This page is for administrators of this CineLibre.")).to_be_visible()
    expect(page.get_by_role("button", name="Retrain now")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)


# Accessibility


@dataclass(frozen=True)
class Screen:
    """A page of the app, and what shows once it has loaded what it asks the API for."""

    name: str
    path: str
    signed_in: bool
    loaded: Callable[[Page], Locator]


def named_list(name: str) -> Callable[[Page], Locator]:
    return lambda page: page.get_by_role("list", name=name, exact=True)


def heading(name: str) -> Callable[[Page], Locator]:
    return lambda page: page.get_by_role("heading", name=name, exact=True)


SCREENS = [
    Screen("home signed out", "/", False, named_list("Popular films and books")),
    Screen("home signed in", "/", True, named_list("Recommended for you")),
    Screen("browse movies", "/movies", False, named_list("Movies")),
    Screen("browse books", "/books", False, named_list("Books")),
    Screen("movie page", "/movies/{movie_id}", True, named_list("Similar books")),
    Screen("search with results", "/search?q=space+travel", False, named_list("Search results")),
    Screen("sign in", "/signin", False, heading("Sign in")),
    Screen("sign up", "/signup", False, heading("Create an account")),
    Screen("my ratings", "/me/ratings", True, lambda page: page.get_by_role("table", name="My ratings, newest first")),
    Screen("history", "/me/history", True, lambda page: page.get_by_text("Viewed").first),
    Screen("account", "/account", True, heading("Delete my account")),
    Screen("admin", "/admin", True, heading("Sync runs")),
]


@pytest.fixture(scope="module")
def axe_script(built_web_app: None) -> str:
    """axe-core as `npm ci` installed it for the build."""
    assert AXE_SCRIPT.is_file(), f"{AXE_SCRIPT} is missing: run npm ci in web/"
    return AXE_SCRIPT.read_text()


@pytest.fixture(scope="module")
def reviewer(api: httpx.Client, data_dir: Path) -> Account:
    """An administrator with a few ratings and a view, so that every signed-in page has content."""
    account = register(api, name="Ada Reviewer")
    grant_admin(account, data_dir)
    for film, stars in zip(popular_films(api, 3), [5, 4, 2], strict=True):
        rate(api, account, film["id"], stars)
    viewed = api.post(
        "/interactions",
        headers={"Authorization": f"Bearer {account.token}"},
        json={"kind": "view", "item_id": popular_films(api, 4)[3]["id"], "item_type": "movie"},
    )
    assert viewed.status_code == 201, viewed.text
    return account


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.name for screen in SCREENS])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    screen: Screen, visitor: Visitor, context: BrowserContext, api: httpx.Client, reviewer: Account, axe_script: str
) -> None:
    if screen.signed_in:
        sign_in_as(context, reviewer)
    page = visitor.page
    page.goto(screen.path.format(movie_id=popular_films(api, 5)[4]["id"]))
    expect(screen.loaded(page)).to_be_visible()
    page.wait_for_load_state("networkidle")
    serious = serious_violations(page, axe_script)
    assert serious == [], f"axe-core on {screen.path}:\n" + "\n".join(serious)


def serious_violations(page: Page, axe_script: str) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now, one line each."""
    # Evaluated, not added as a <script>: the app's Content-Security-Policy allows no inline script.
    page.evaluate(axe_script)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"] == {"name": "axe-core", "version": AXE_VERSION}
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in SERIOUS_IMPACTS
    ]


# Experiments

# The server writes the lists it served once a second (EXPOSURE_FLUSH_SECONDS); a busy machine may
# take longer.
EXPOSURE_TIMEOUT_SECONDS = 15
T = TypeVar("T")


def wait_for(read: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """`read()` again until `done` holds of its answer; fails saying `what` was awaited."""
    deadline = time.monotonic() + EXPOSURE_TIMEOUT_SECONDS
    while not done(answer := read()):
        assert time.monotonic() < deadline, f"{what}: still {answer!r}"
        time.sleep(0.2)
    return answer


def clients_per_variant(experiment_id: int, shares: list[tuple[str, float]], each: int) -> dict[str, list[str]]:
    """Client ids the experiment assigns to each variant, `each` per variant, found with the API's
    own assignment rule."""
    found: dict[str, list[str]] = {name: [] for name, _ in shares}
    numbers = itertools.count()
    while any(len(clients) < each for clients in found.values()):
        client = f"e2e-client-{experiment_id}-{next(numbers)}"
        chosen = found[variant_for(experiment_id, f"client:{client}", shares)]
        if len(chosen) < each:
            chosen.append(client)
    return found


def test_an_administrator_creates_starts_reads_and_stops_an_ab_experiment_on_the_admin_page(
    visitor: Visitor, context: BrowserContext, api: httpx.Client, data_dir: Path
) -> None:
    account = register(api, name="Eve Experimenter")
    grant_admin(account, data_dir)
    sign_in_as(context, account)
    auth = {"Authorization": f"Bearer {account.token}"}
    page = visitor.page
    name = f"Popular order {uuid.uuid4().hex[:8]}"
    shares = [("default", 0.5), ("popular", 0.5)]

    page.goto("/admin")
    form = page.get_by_role("form", name="New experiment")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Surface").select_option(label="Popular")
    form.get_by_label("Kind").select_option(label="A/B test")
    for legend, (variant, _) in zip(["Variant 1 (control)", "Variant 2"], shares, strict=True):
        fields = form.get_by_role("group", name=legend, exact=True)
        fields.get_by_label("Variant name").fill(variant)
        fields.get_by_label("Configuration").select_option(variant)
        fields.get_by_label("Share (%)").fill("50")
    expect(form.get_by_text("Shares add up to")).to_have_text("Shares add up to 100%.")
    form.get_by_role("button", name="Create experiment").click()
    expect(form.get_by_role("status")).to_have_text(
        f"Created “{name}” as a draft. Start it from the list when it is ready."
    )

    created = [item for item in api.get("/admin/experiments", headers=auth).json()["items"] if item["name"] == name]
    assert [(e["surface"], e["kind"], e["status"], e["variants"]) for e in created] == [
        (
            "popular",
            "ab",
            "draft",
            [{"name": n, "configuration": n, "share": share} for n, share in shares],
        )
    ]
    experiment_id = created[0]["id"]

    row = (
        page.get_by_role("table", name="Experiments, newest first")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=name, exact=True))
    )
    described = row.get_by_role("cell").filter(has_not=page.get_by_role("button"))
    expect(described).to_have_text(["Popular", "A/B test", "draft", "default (default): 50%, popular (popular): 50%"])
    row.get_by_role("button", name=f"Start {name}", exact=True).click()
    expect(described.nth(2)).to_have_text("running")
    expect(row.get_by_role("button")).to_have_text([f"Pause {name}", f"Stop {name}", f"Results of {name}"])

    # Two visitors in each variant see a popular list, each tagged with the variant the API's
    # assignment rule gives them.
    clients = clients_per_variant(experiment_id, shares, each=2)
    for variant, ids in clients.items():
        for client in ids:
            served = api.get("/recommendations/popular", headers={"X-Client-Id": client})
            assert served.status_code == 200, served.text
            assert served.json()["experiment"] == {"id": experiment_id, "variant": variant}
    results = wait_for(
        lambda: api.get(f"/admin/experiments/{experiment_id}/results", headers=auth).json(),
        lambda answer: [v["users"] for v in answer["variants"]] == [2, 2],
        "the four lists served in the experiment",
    )
    verdict = "No winner yet: no variant differs from default with p below 0.05 (alpha 0.05)."
    assert results["verdict"] == {"winner": None, "reason": verdict}

    row.get_by_role("button", name=f"Results of {name}", exact=True).click()
    shown = page.get_by_role("region", name=f"Results: {name}", exact=True)
    per_variant = shown.get_by_role("table", name="Each variant's users and what they did; the first is the control.")
    expect(per_variant.get_by_role("columnheader")).to_have_text(
        ["Variant", "Configuration", "Users", "Exposures", "Clicks", "CTR", "CTR@1", "CTR@3", "CTR@10"]
        + ["Rated within 7 days", "Mean rating", "Coverage"]
    )
    for index, (variant, _) in enumerate(shares):
        coverage = f"{results['variants'][index]['coverage'] * 100:.2f}%"
        expect(per_variant.locator("tbody tr").nth(index).locator("th, td")).to_have_text(
            [variant, variant, "2", "2", "0", "0.00%", "0.00%", "0.00%", "0.00%", "0.00%", "—", coverage]
        )
    against_control = shown.get_by_role("table", name="Each variant against the control (default), in CTR")
    expect(against_control.get_by_role("columnheader")).to_have_text(
        ["Variant", "Difference", "Relative", "95% interval", "p-value", "Significant"]
    )
    expect(against_control.locator("tbody tr").locator("th, td")).to_have_text(
        ["popular", "0.00 pp", "—", "0.00 pp to 0.00 pp", "1.000", "No"]
    )
    expect(shown.get_by_role("paragraph").filter(has_text="Verdict:")).to_have_text(f"Verdict: no winner. {verdict}")
    expect(shown.get_by_role("paragraph").filter(has_text="Users split between")).to_have_text(
        "Users split between the variants as their shares say (sample ratio check p = 1.000)."
    )

    # Stop asks first, since a stopped experiment never runs again.
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name=f"Stop {name}", exact=True).click()
    expect(described.nth(2)).to_have_text("stopped")
    expect(row.get_by_role("button")).to_have_text([f"Results of {name}"])
    assert asked == [f"Stop “{name}”? A stopped experiment cannot start again."]
    stopped = api.get(f"/admin/experiments/{experiment_id}", headers=auth)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    after = api.get("/recommendations/popular", headers={"X-Client-Id": clients["popular"][0]})
    assert "experiment" not in after.json(), "a stopped experiment assigns nobody"


def test_a_signed_in_visitors_click_on_a_popular_film_and_its_view_carry_the_list_id_they_were_served(
    visitor: Visitor, context: BrowserContext, api: httpx.Client, data_dir: Path
) -> None:
    account = register(api, name="Clicking Visitor")
    user_id = api.get("/auth/me", headers={"Authorization": f"Bearer {account.token}"}).json()["id"]
    sign_in_as(context, account)
    page = visitor.page

    with page.expect_response(re.compile(r"/recommendations/popular\?")) as answered:
        page.goto("/")
    served = answered.value.json()
    list_id = served["list_id"]
    place, film = next((i, item) for i, item in enumerate(served["items"]) if item["item_type"] == "movie")
    popular = page.get_by_role("list", name="Popular films and books", exact=True)
    expect(popular.get_by_role("heading")).to_have_text(titles_of(served["items"]))
    popular.get_by_role("listitem").nth(place).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/movies/{film['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(film["title"])

    with psycopg.connect(database_url_of(data_dir), autocommit=True) as database:

        def stored_interactions() -> list[tuple]:
            return database.execute(
                "SELECT kind, item_type, item_id, list_id::text FROM interactions WHERE user_id = %s ORDER BY kind",
                (user_id,),
            ).fetchall()

        def exposure() -> tuple | None:
            return database.execute(
                "SELECT surface, user_id, item_types[%(place)s], item_ids[%(place)s] FROM list_exposures "
                "WHERE list_id = %(list_id)s",
                {"place": place + 1, "list_id": list_id},
            ).fetchone()

        interactions = wait_for(stored_interactions, lambda rows: len(rows) >= 2, "the click and the view")
        shown = wait_for(exposure, lambda row: row is not None, "the popular list served to the visitor")
    assert interactions == [("click", "movie", film["id"], list_id), ("view", "movie", film["id"], list_id)]
    assert shown == ("popular", user_id, "movie", film["id"])


def test_experiment_results_on_the_admin_page_have_no_serious_or_critical_accessibility_violation(
    visitor: Visitor, context: BrowserContext, api: httpx.Client, reviewer: Account, axe_script: str
) -> None:
    """Drafts, so that the results show everything a draft's do: an A/B test's detectable effect
    and its three variants, an interleaving's table of wins."""
    auth = {"Authorization": f"Bearer {reviewer.token}"}
    suffix = uuid.uuid4().hex[:8]
    drafts = [
        {
            "name": f"Three recipes {suffix}",
            "surface": "personalized",
            "kind": "ab",
            "expected_daily_users": 500,
            "variants": [
                {"name": "default", "configuration": "default", "share": 0.34},
                {"name": "content", "configuration": "content", "share": 0.33},
                {"name": "collaborative", "configuration": "collaborative", "share": 0.33},
            ],
        },
        {
            "name": f"Meaning or words {suffix}",
            "surface": "search",
            "kind": "interleaving",
            "variants": [
                {"name": "semantic", "configuration": "semantic", "share": 0.5},
                {"name": "keyword", "configuration": "keyword", "share": 0.5},
            ],
        },
    ]
    for draft in drafts:
        created = api.post("/admin/experiments", headers=auth, json=draft)
        assert created.status_code == 201, created.text
    sign_in_as(context, reviewer)
    page = visitor.page
    page.goto("/admin")

    last_table = {
        "ab": "Each variant against the control (default), in CTR",
        "interleaving": "Wins in interleaved lists",
    }
    for draft in drafts:
        page.get_by_role("button", name=f"Results of {draft['name']}", exact=True).click()
        shown = page.get_by_role("region", name=f"Results: {draft['name']}", exact=True)
        expect(shown.get_by_role("table", name=last_table[draft["kind"]])).to_be_visible()
        page.wait_for_load_state("networkidle")
        serious = serious_violations(page, axe_script)
        assert serious == [], f"axe-core on the results of a {draft['kind']} draft:\n" + "\n".join(serious)


# Imports and adaptations

IMDB_EXPORT_HEADER = (
    "Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,"
    "Num Votes,Release Date,Directors"
)


@dataclass(frozen=True)
class ImdbRow:
    """A row of an IMDb ratings export: the film as IMDb names it, and the 1-10 score given there."""

    title: str
    year: int | None
    score: int
    rated_on: str


def imdb_export(rows: list[ImdbRow]) -> bytes:
    """An IMDb ratings.csv of these rows. The demo catalogue has no IMDb ids, and these Consts are
    nobody's, so every row is matched by its title and year."""
    lines = [IMDB_EXPORT_HEADER]
    for number, row in enumerate(rows, start=1):
        const = f"tt99{number:05d}"
        year = "" if row.year is None else str(row.year)
        lines.append(
            f"{const},{row.score},{row.rated_on},{row.title},{row.title},https://www.imdb.com/title/{const}/,"
            f"Movie,7.5,120,{year},Drama,1000,,"
        )
    return ("\n".join(lines) + "\n").encode()


def demo_film(api: httpx.Client, title: str, year: int) -> dict:
    answer = api.get("/movies", params={"q": title, "year_from": year, "year_to": year})
    assert answer.status_code == 200, answer.text
    found = [film for film in answer.json()["items"] if film["title"] == title]
    assert len(found) == 1, f"the demo catalogue should hold one {title} ({year}): {found}"
    return found[0]


def upload_imdb_export(page: Page, rows: list[ImdbRow]) -> Locator:
    """Imports the rows on the import page, as IMDb's ratings.csv; the answer's region."""
    form = page.get_by_role("form", name="Upload an export")
    form.get_by_role("radio", name="IMDb", exact=True).check()
    form.get_by_label("File", exact=True).set_input_files(
        files={"name": "ratings.csv", "mimeType": "text/csv", "buffer": imdb_export(rows)}
    )
    form.get_by_role("button", name="Import", exact=True).click()
    return page.get_by_role("region", name="Imported from IMDb", exact=True)


def test_a_visitor_imports_an_imdb_export_and_finds_its_films_rated_in_half_stars_on_my_ratings(
    visitor: Visitor, context: BrowserContext, api: httpx.Client
) -> None:
    # IMDb's 1-10 halved: 8 → 4 stars, 10 → 5, 5 → 2.5.
    rated = [
        ImdbRow("Mother India", 1957, 8, "2021-03-14"),
        ImdbRow("Pyaasa", 1957, 10, "2022-07-01"),
        ImdbRow("Interstellar", 2014, 5, "2023-01-20"),
    ]
    unknown = ImdbRow("Quixotic Zebra Wharf", 1931, 7, "2023-02-02")
    for row in rated:
        demo_film(api, row.title, row.year)
    sign_in_as(context, register(api, name="Imdb Importer"))
    page = visitor.page

    page.goto("/me/ratings")
    page.get_by_role("link", name="Import your ratings").click()
    expect(page).to_have_url(re.compile(r"/me/import$"))
    expect(page.get_by_role("heading", name="Import your ratings", level=1)).to_be_visible()
    answer = upload_imdb_export(page, [*rated, unknown])

    expect(page.get_by_role("status").filter(has_text="Import done")).to_have_text(
        "Import done: 3 rows of 4 matched, 0 rows await your choice."
    )
    expect(answer.get_by_role("term")).to_have_text(
        ["Rows read", "Matched", "Ratings added", "Ratings updated", "Wants added (watchlist, to-read)"]
        + ["Awaiting your choice", "Not found"]
    )
    expect(answer.get_by_role("definition")).to_have_text(["4", "3", "3", "0", "0", "0", "1"])
    expect(answer.get_by_role("group")).to_have_count(0)
    not_found = answer.get_by_role("table", name="Rows not found in the catalogue")
    expect(not_found.get_by_role("columnheader")).to_have_text(["Title", "Year", "File and line"])
    expect(not_found.locator("tbody tr td")).to_have_text(["Quixotic Zebra Wharf", "1931", "ratings.csv, line 5"])

    answer.get_by_role("link", name="See my ratings").click()
    rows = page.get_by_role("table", name="My ratings, newest first").locator("tbody tr")
    expect(rows).to_have_count(len(rated))
    shown = dict(
        zip(
            rows.locator("td:first-child").all_inner_texts(),
            rows.locator("td:nth-child(3)").all_inner_texts(),
            strict=True,
        )
    )
    assert {title: label.split()[-2:] for title, label in shown.items()} == {
        "Mother India": ["4", "stars"],
        "Pyaasa": ["5", "stars"],
        "Interstellar": ["2.5", "stars"],
    }
    expect(rows.locator("td:nth-child(2)")).to_have_text(["Film", "Film", "Film"])


def test_a_film_page_shows_the_book_it_is_based_on_and_the_book_page_the_film_adapted_from_it(
    visitor: Visitor, api: httpx.Client
) -> None:
    guide = demo_film(api, "Guide", 1965)
    books = api.get(f"/movies/{guide['id']}/source-books")
    assert books.status_code == 200, books.text
    assert [(book["title"], book["authors"], book["year"]) for book in books.json()["items"]] == [
        ("The Guide", ["R. K. Narayan"], 1958)
    ]
    novel_id = books.json()["items"][0]["id"]
    page = visitor.page

    page.goto(f"/movies/{guide['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide")
    expect(page.get_by_role("heading", name="Based on", level=2)).to_be_visible()
    based_on = page.get_by_role("list", name="Based on", exact=True)
    expect(based_on.get_by_role("heading")).to_have_text(["The Guide"])
    # The card's first line; a second gives the demo raters' average, which is theirs to change.
    expect(based_on.locator(".card__meta").first).to_have_text("Book, 1958 · R. K. Narayan")
    expect(page.get_by_role("heading", name="Adapted for the screen")).to_have_count(0)

    based_on.get_by_role("link", name="The Guide").click()
    expect(page).to_have_url(re.compile(rf"/books/{novel_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("The Guide")
    expect(page.get_by_role("heading", name="Adapted for the screen", level=2)).to_be_visible()
    adapted = page.get_by_role("list", name="Adapted for the screen", exact=True)
    expect(adapted.get_by_role("heading")).to_have_text(["Guide"])
    expect(adapted.locator(".card__meta").first).to_have_text("Film, 1965 · Hindi")
    expect(page.get_by_role("heading", name="Based on")).to_have_count(0)

    adapted.get_by_role("link", name="Guide", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/movies/{guide['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide")


def test_the_import_answer_and_an_adaptations_section_have_no_serious_or_critical_accessibility_violation(
    visitor: Visitor, context: BrowserContext, api: httpx.Client, axe_script: str
) -> None:
    """An answer with every part shown: the counts, a row awaiting a choice (Devdas without a year
    is the 1955 film or the 2002 one) and a row not found."""
    sign_in_as(context, register(api, name="Axe Importer"))
    page = visitor.page

    page.goto(f"/movies/{demo_film(api, 'Guide', 1965)['id']}")
    expect(page.get_by_role("list", name="Based on", exact=True).get_by_role("heading")).to_have_text(["The Guide"])
    page.wait_for_load_state("networkidle")
    serious = serious_violations(page, axe_script)
    assert serious == [], "axe-core on a film page with the book it is based on:\n" + "\n".join(serious)

    page.goto("/me/import")
    answer = upload_imdb_export(
        page,
        [
            ImdbRow("Pyaasa", 1957, 9, "2022-07-01"),
            ImdbRow("Devdas", None, 6, "2022-08-01"),
            ImdbRow("Quixotic Zebra Wharf", 1931, 7, "2023-02-02"),
        ],
    )
    expect(answer.get_by_role("definition")).to_have_text(["3", "1", "1", "0", "0", "1", "1"])
    choice = answer.get_by_role("group", name=re.compile("^“Devdas”"))
    expect(choice.get_by_role("radio")).to_have_count(3)
    expect(answer.get_by_role("table", name="Rows not found in the catalogue")).to_be_visible()
    page.wait_for_load_state("networkidle")
    serious = serious_violations(page, axe_script)
    assert serious == [], "axe-core on the import page with an answer:\n" + "\n".join(serious)
