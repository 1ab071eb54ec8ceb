"""The web app in a real Chromium against a real `cinelibre serve` serving the built app (web/dist,
built once per run by `cinelibre web build` when stale): signing up, rating, the For you list
changing live over /ws, search, an item and its similar items, exporting and deleting an account,
an administrator starting a retrain; and axe-core on every page. Any console error or uncaught
exception in the page fails the test that caused it."""

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

import httpx
import pytest

from tests.live_server import SETTINGS_LEFT_OUT, Server, stop_leftover_database
from tests.test_scale_out import database_url_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists() or shutil.which("npm") is None:
    pytest.skip(
        "browser tests need Chromium (/usr/bin/chromium) and npm (Node.js) to build the web app; .ci/run installs both",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect, sync_playwright  # noqa: E402

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
    recommendations change only by what a test does)."""
    started = Server(
        data_dir, env={"JWT_SECRET_KEY": "web-e2e-secret-that-is-long-enough", "RETRAIN_AFTER_NEW_RATINGS": "0"}
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

    # Evaluated, not added as a <script>: the app's Content-Security-Policy allows no inline script.
    page.evaluate(axe_script)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"] == {"name": "axe-core", "version": AXE_VERSION}
    serious = [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in SERIOUS_IMPACTS
    ]
    assert serious == [], f"axe-core on {screen.path}:\n" + "\n".join(serious)
