"""Lighthouse scores of the web app, served by `cinelibre serve` with the built app and the demo
catalogue: the home page and a film's page, each with Lighthouse's mobile preset (a mid-range phone
on a throttled 4G link) and its desktop preset, in the system's Chromium. Prints the median of
each category over the runs, and the first-load JavaScript, gzipped (`npm run size`).
Targets: performance 90 or more, accessibility 95 or more.

    .venv/bin/python benchmarks/web_lighthouse.py [--runs 3]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess

import httpx
from harness import REPOSITORY, print_table
from web_screenshots import CHROMIUM, serving_built_app

WEB_DIR = REPOSITORY / "web"
CATEGORIES = {"performance": "performance", "accessibility": "accessibility", "best-practices": "best practices"}
PRESETS = ("mobile", "desktop")  # mobile is Lighthouse's default; desktop needs --preset=desktop
TARGETS = {"performance": 90, "accessibility": 95}
# What the performance score is made of, to say why a page misses its target.
METRICS = {
    "first-contentful-paint": ("FCP s", 1000, ".2f"),
    "largest-contentful-paint": ("LCP s", 1000, ".2f"),
    "total-blocking-time": ("TBT ms", 1, ".0f"),
    "cumulative-layout-shift": ("CLS", 1, ".3f"),
}


def lighthouse_scores(url: str, preset: str) -> dict[str, float]:
    """One Lighthouse run on `url`: each category's score out of 100, and the METRICS."""
    command = [
        "npx",
        "--no-install",
        "lighthouse",
        url,
        "--chrome-flags=--headless --no-sandbox",
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    finished = subprocess.run(
        command, cwd=WEB_DIR, env=os.environ | {"CHROME_PATH": CHROMIUM}, capture_output=True, text=True
    )
    if finished.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{finished.stderr[-3000:]}")
    report = json.loads(finished.stdout)
    scores: dict[str, float] = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    return scores | {name: report["audits"][name]["numericValue"] / unit for name, (_, unit, _) in METRICS.items()}


def first_load_kilobytes() -> str:
    finished = subprocess.run(["npm", "run", "size"], cwd=WEB_DIR, capture_output=True, text=True)
    found = re.search(r"([\d.]+) KB\s+first-load JavaScript", finished.stdout)
    if finished.returncode != 0 or found is None:
        raise SystemExit(f"npm run size failed:\n{finished.stdout}{finished.stderr}")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page and preset (median shown)")
    args = parser.parse_args()
    if shutil.which("npx") is None:
        raise SystemExit("npx (Node.js) is needed: Lighthouse is a dev dependency of web/")

    rows = []
    with serving_built_app() as base_url:
        film = httpx.get(f"{base_url}/movies", params={"sort": "popularity", "limit": 1}, timeout=30).json()["items"][0]
        pages = {"home": "/", f"film page ({film['title']})": f"/movies/{film['id']}"}
        for page, path in pages.items():
            for preset in PRESETS:
                runs = [lighthouse_scores(base_url + path, preset) for _ in range(args.runs)]
                medians = {name: statistics.median(run[name] for run in runs) for name in [*CATEGORIES, *METRICS]}
                missed = [name for name, target in TARGETS.items() if medians[name] < target]
                rows.append(
                    (
                        page,
                        preset,
                        *(f"{medians[name]:.0f}" for name in CATEGORIES),
                        *(f"{medians[name]:{shown}}" for name, (_, _, shown) in METRICS.items()),
                        "below target: " + ", ".join(missed) if missed else "met",
                    )
                )
    print_table(
        f"Lighthouse {args.runs} runs each, median; first-load JavaScript {first_load_kilobytes()} KB gzipped",
        ("page", "preset", *CATEGORIES.values(), *(label for label, _, _ in METRICS.values()), "targets"),
        rows,
        right_aligned=(*CATEGORIES.values(), *(label for label, _, _ in METRICS.values())),
        min_width=150,
    )


if __name__ == "__main__":
    main()
