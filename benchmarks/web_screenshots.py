"""Screenshots of the web app's main pages, on a desktop (1280x800) and a phone (390x844), written
to docs/screenshots/. Starts `cinelibre serve` on a throw-away data directory with the demo
catalogue and the built app (built first when stale), signs up a reader who has rated a few films,
and photographs what they see in the system's Chromium.

    .venv/bin/python benchmarks/web_screenshots.py [--out docs/screenshots]
"""

import argparse
import itertools
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import REPOSITORY, benchmark_environment, cinelibre_serving, free_port, run_cinelibre
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INDEXING_TIMEOUT_SECONDS = 300
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# A taste the For you list can follow: the reader loves some popular films and dislikes others.
READER_STARS = [5, 4.5, 1, 5, 2, 4, 4.5, 1.5]
SEARCH_TEXT = "astronauts looking for a new home"
# Colours kept in a screenshot: the app's flat palette loses nothing visible, the files a third.
PALETTE_COLOURS = 256


@dataclass(frozen=True)
class Reader:
    email: str
    token: str


@contextmanager
def serving_built_app(*serve_args: str) -> Iterator[str]:
    """`cinelibre serve` with the demo catalogue, fully indexed for search, serving web/dist as
    `cinelibre web build` leaves it; yields the server's base URL."""
    run_cinelibre("web", "build", env=benchmark_environment())
    with tempfile.TemporaryDirectory() as folder:
        env = benchmark_environment(
            CINELIBRE_DATA_DIR=str(Path(folder) / "data"),
            PORT=str(free_port()),
            WEB_BUILD="never",
            RETRAIN_AFTER_NEW_RATINGS="0",
        )
        with cinelibre_serving(env, *serve_args) as server:
            wait_until_catalogue_is_indexed(server.base_url)
            yield server.base_url


def wait_until_catalogue_is_indexed(base_url: str) -> None:
    """Search answers are partial until the demo catalogue is embedded, after start-up."""
    deadline = time.monotonic() + INDEXING_TIMEOUT_SECONDS
    for attempt in itertools.count():
        # A new query each time, so that no cached partial answer is read.
        answer = httpx.get(f"{base_url}/search/semantic", params={"q": f"indexed yet {attempt}"}, timeout=30)
        if answer.status_code == 200 and answer.json()["partial"] is False:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the demo catalogue was not indexed within {INDEXING_TIMEOUT_SECONDS} s")
        time.sleep(1)


def sign_up_reader(base_url: str) -> tuple[Reader, int]:
    """A reader with a few ratings; also returns a film they did not rate, for its page."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
        answer = http.post("/auth/register", json={"email": email, "password": "screenshots only", "name": "Asha"})
        answer.raise_for_status()
        token = answer.json()["access_token"]
        films = http.get("/movies", params={"sort": "popularity", "limit": len(READER_STARS) + 1}).json()["items"]
        for film, stars in zip(films, READER_STARS, strict=False):
            rated = http.post(
                "/ratings",
                headers={"Authorization": f"Bearer {token}"},
                json={"item_id": film["id"], "item_type": "movie", "rating": stars},
            )
            rated.raise_for_status()
    return Reader(email, token), films[-1]["id"]


def shrink(path: Path) -> None:
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def take_screenshots(base_url: str, out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    reader, film_id = sign_up_reader(base_url)
    pages = [
        ("home", "/", lambda page: page.get_by_role("list", name="Recommended for you")),
        ("browse", "/movies", lambda page: page.get_by_role("list", name="Movies", exact=True)),
        ("item", f"/movies/{film_id}", lambda page: page.get_by_role("list", name="Similar films")),
        (
            "search",
            "/search?q=" + SEARCH_TEXT.replace(" ", "+"),
            lambda page: page.get_by_role("list", name="Search results"),
        ),
        ("account", "/account", lambda page: page.get_by_role("heading", name="Delete my account")),
    ]
    written = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for device, viewport in VIEWPORTS.items():
            context = browser.new_context(base_url=base_url, viewport=viewport, reduced_motion="reduce")
            context.add_init_script(f"localStorage.setItem('cinelibre.token', '{reader.token}')")
            page = context.new_page()
            for name, path, loaded in pages:
                page.goto(path)
                expect(loaded(page)).to_be_visible(timeout=30_000)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}-{device}.png"
                page.screenshot(path=target)
                shrink(target)
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs" / "screenshots")
    args = parser.parse_args()
    with serving_built_app() as base_url:
        for path in take_screenshots(base_url, args.out):
            print(f"{path.stat().st_size / 1024:6.0f} KB  {path}")


if __name__ == "__main__":
    main()
