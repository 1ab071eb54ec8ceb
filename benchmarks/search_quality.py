"""Search quality as served: nDCG@10 and top-3 hit rate of GET /search/semantic over the graded
query set (benchmarks/data/search_queries.json), per kind of query, for vector-only, full-text-only
and hybrid search, in two states of the catalogue:

- demo: the demo catalogue, every item embedded;
- movielens: the demo catalogue plus ml-latest-small (`cinelibre import movielens`, then
  `cinelibre embed`), every item embedded.

    .venv/bin/python benchmarks/search_quality.py [--state demo|movielens|both] [--split tune|report|all]
        [--modes vector,fulltext,hybrid] [--label hybrid-after] [--json OUT] [--baseline BEFORE.json]

The API runs as `cinelibre serve` on a throw-away embedded database with RATE_LIMITS=off and
SEARCH_CACHE_SECONDS=0, and is asked over HTTP with its default threshold: what is served is what
is measured. Every query is asked once per mode; the tables show the tune half, the report half
and all queries (`--split` shows one of them). `--label` names the hybrid column (e.g.
hybrid-before, hybrid-after); `--baseline` adds the columns of an earlier `--json` file, so a
change is read against the figures it started from. The commit measured must be clean
(`--allow-uncommitted` measures a working tree anyway, and says so in the results).

The MovieLens folder is --dataset, else $CINELIBRE_SHARED_DATA/movielens/ml-latest-small.
"""

import argparse
import asyncio
import json
import os
from pathlib import Path

import httpx
import psycopg
from harness import (
    ScratchDatabase,
    benchmark_environment,
    cinelibre_serving,
    command_line,
    free_port,
    git_commit,
    load_embedded_demo,
    machine_description,
    markdown_table,
    print_table,
    run_cinelibre,
    scratch_database,
)
from psycopg.rows import dict_row

from cinelibre.database.connection import prepare_connection
from cinelibre.search import quality
from cinelibre.search.schemas import SearchMode

QUERY_SET = Path(__file__).parent / "data" / "search_queries.json"
SHARED_DATA = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
DATASET = SHARED_DATA / "movielens" / "ml-latest-small"
STATES = ("demo", "movielens")
SPLITS = ("tune", "report", "all")
K = 10


def hybrid_column(mode: SearchMode, label: str) -> str:
    return label if mode is SearchMode.HYBRID else mode.value


async def judgements_of(url: str) -> list[quality.Judgement]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        await prepare_connection(conn)
        return await quality.load_judgements(conn, quality.read_relevance_set(QUERY_SET))


def require_everything_embedded(client: httpx.Client) -> None:
    """A state is measured only once every item has a vector from the current model: a half-embedded
    catalogue would measure the embedding's progress, not the ranking."""
    status = client.get("/search/status").json()
    if status["missing"] or status["outdated"]:
        raise SystemExit(f"not every item is embedded ({status}); run `cinelibre embed` first")


def ask(client: httpx.Client, judgement: quality.Judgement, mode: SearchMode) -> list[dict]:
    params = {"q": judgement.query, "type": judgement.scope.value, "limit": K, "mode": mode.value}
    response = client.get("/search/semantic", params=params)
    if response.status_code != 200:
        raise SystemExit(f"{judgement.query!r} ({mode.value}) answered {response.status_code}: {response.text}")
    return response.json()["items"]


def measure_state(database: ScratchDatabase, modes: list[SearchMode], label: str) -> tuple[dict, dict]:
    """Summaries per column, split and kind, and every query's answer per column, as JSON-ready dicts."""
    judgements = asyncio.run(judgements_of(database.url))
    env = benchmark_environment(
        DATABASE_URL=database.url,
        PORT=str(free_port()),
        CINELIBRE_DATA_DIR=str(database.data_dir),
        RATE_LIMITS="off",
        SEARCH_CACHE_SECONDS="0",
    )
    summaries: dict[str, dict] = {}
    answers: dict[str, list] = {}
    with cinelibre_serving(env, "--no-demo") as server, httpx.Client(base_url=server.base_url, timeout=60) as client:
        require_everything_embedded(client)
        for mode in modes:
            column = hybrid_column(mode, label)
            scores, answers[column] = [], []
            for judgement in judgements:
                items = ask(client, judgement, mode)
                query_score = quality.score(judgement, [f"{item['item_type']}:{item['id']}" for item in items], K)
                scores.append(query_score)
                answers[column].append(
                    {
                        "query": judgement.query,
                        "kind": judgement.kind,
                        "split": judgement.split,
                        "ndcg": round(query_score.ndcg, 4),
                        "top3_hit": query_score.top3_hit,
                        "answer": [f"{item['item_type']}:{item['title']} ({item['year']})" for item in items],
                    }
                )
            summaries[column] = {
                split: {
                    kind: vars(summary)
                    for kind, summary in quality.summarise(
                        s for s in scores if split == "all" or s.judgement.split == split
                    ).items()
                }
                for split in SPLITS
            }
    return summaries, answers


def import_movielens(database: ScratchDatabase, dataset: Path) -> None:
    env = benchmark_environment(DATABASE_URL=database.url, CINELIBRE_DATA_DIR=str(database.data_dir))
    print(f"importing {dataset} and embedding it (a few minutes)...", flush=True)
    run_cinelibre("import", "movielens", str(dataset), env=env)
    run_cinelibre("embed", env=env)


def cell(summary: dict | None) -> str:
    return f"{summary['ndcg']:.3f} / {summary['top3_hit_rate']:.0%}" if summary else "–"


def tables(results: dict, split: str) -> tuple[list[str], list[list[str]]]:
    """One row per state and kind; one 'nDCG@10 / top-3 hit rate' column per measured column."""
    columns = list(dict.fromkeys(column for state in results.values() for column in state))
    rows = []
    for state, by_column in results.items():
        kinds = list(dict.fromkeys(kind for column in by_column.values() for kind in column[split]))
        kinds.sort(key=lambda kind: (kind == "all", kind))
        for kind in kinds:
            counts = {column[split][kind]["queries"] for column in by_column.values() if kind in column[split]}
            rows.append(
                [state, kind, "/".join(map(str, sorted(counts)))]
                + [cell(by_column.get(column, {}).get(split, {}).get(kind)) for column in columns]
            )
    return ["state", "kind", "queries", *columns], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", choices=(*STATES, "both"), default="both")
    parser.add_argument("--split", choices=SPLITS, help="show one half (default: tune, report and all)")
    parser.add_argument("--modes", default="vector,fulltext,hybrid", help="comma-separated search modes")
    parser.add_argument("--label", default="hybrid", help="the hybrid column's name, e.g. hybrid-after")
    parser.add_argument("--json", type=Path, help="write the results (and every answer) to this file")
    parser.add_argument("--baseline", type=Path, help="an earlier --json file whose columns are shown alongside")
    parser.add_argument("--dataset", type=Path, default=DATASET, help="the ml-latest-small folder")
    parser.add_argument("--allow-uncommitted", action="store_true", help="measure a working tree with changes")
    args = parser.parse_args()
    modes = [SearchMode(mode.strip()) for mode in args.modes.split(",")]
    states = STATES if args.state == "both" else (args.state,)
    commit = git_commit()
    if "uncommitted" in commit and not args.allow_uncommitted:
        raise SystemExit(f"{commit}: measure a clean commit (a clean clone), or pass --allow-uncommitted")
    if "movielens" in states and not args.dataset.is_dir():
        raise SystemExit(f"no MovieLens folder at {args.dataset}: pass --dataset")

    results: dict[str, dict] = {}
    answers: dict[str, dict] = {}
    with scratch_database() as database:
        asyncio.run(load_embedded_demo(database.url, database.settings))
        for state in states:
            if state == "movielens":
                import_movielens(database, args.dataset)
            results[state], answers[state] = measure_state(database, modes, args.label)

    report = {
        "commit": commit,
        "machine": machine_description(),
        "command": command_line(),
        "query_set": str(QUERY_SET.relative_to(Path(__file__).parents[1])),
        "k": K,
        "results": results,
        "answers": answers,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = results
    if args.baseline:
        baseline = json.loads(args.baseline.read_text(encoding="utf-8"))["results"]
        shown = {state: baseline.get(state, {}) | results[state] for state in results}
    print(f"commit {commit}; {report['machine']}\n{report['command']}")
    for split in (args.split,) if args.split else SPLITS:
        columns, rows = tables(shown, split)
        title = f"Search quality, {split} queries: nDCG@{K} / top-3 hit rate ({QUERY_SET.name})"
        print_table(title, columns, rows, right_aligned=columns[2:], min_width=140)
        print("\n".join([f"**{split}**", "", *markdown_table(columns, rows, right_aligned=columns[2:]), ""]))


if __name__ == "__main__":
    main()
