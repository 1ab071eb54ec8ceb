"""What a cross-encoder reranking stage over the top 30 fused hits would cost CineLibre. Prints
what it found and two tables.

    .venv/bin/python benchmarks/search_rerank.py [--candidates 30] [--rounds 1]

CineLibre has no reranker because no cross-encoder can be installed from PyPI (see "Reranking"
in docs/search.md). This script keeps that finding checkable and measures the price one would
have, so the question can be settled quickly if a packaged cross-encoder appears:

1. Availability: every cross-encoder FastEmbed supports, loaded with the hub switched off
   (HF_HUB_OFFLINE=1, an empty cache), as the service runs. Each is expected to fail.
2. Cost, with a stand-in of the same shape: the small cross-encoders FastEmbed lists
   (ms-marco-MiniLM-L-6-v2) are 6-layer, 384-wide BERT encoders with the uncased vocabulary,
   exactly the encoder of CineLibre's embedding model. So the folded all-MiniLM-L6-v2 session,
   fed (query, document) pairs the way a cross-encoder is, does the same work (a cross-encoder
   adds one 384 x 1 product). The pairs are each query of the relevance set with the `document`
   of its top hybrid hits on the demo catalogue, in one batch per query as FastEmbed sends them.
   Latency is timed one search at a time and with 16 searches at once (one ONNX thread, the
   session serialised as the embedder's is).
3. Memory: the resident memory a second session adds to a process, measured in a child process.

It cannot measure quality: that needs the model.
"""

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from harness import load_embedded_demo, p50_p99, print_table, scratch_database
from psycopg.rows import dict_row

from cinelibre.database.connection import prepare_connection
from cinelibre.search import quality
from cinelibre.search import service as search_service
from cinelibre.search.embedder import BUNDLED_MODEL, BUNDLED_TOKENIZER, Embedder
from cinelibre.search.repository import SearchFilters
from cinelibre.search.schemas import SearchMode, SearchScope
from cinelibre.settings import Settings

RELEVANCE_SET = Path(__file__).parents[1] / "tests" / "data" / "search_relevance.json"
# The ms-marco cross-encoders read up to 512 word pieces per (query, document) pair.
PAIR_MAX_TOKENS = 512
CONCURRENCY = 16


def offline_cross_encoders() -> dict[str, str]:
    """Each FastEmbed cross-encoder and what happened when loading it without the hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    outcomes = {}
    with tempfile.TemporaryDirectory() as cache:
        for description in TextCrossEncoder.list_supported_models():
            name = description["model"]
            try:
                TextCrossEncoder(name, cache_dir=cache, threads=1)
                outcomes[name] = "loaded"
            except Exception as error:
                outcomes[name] = f"{type(error).__name__}: {error}"
    return outcomes


async def candidate_documents(url: str, settings: Settings, candidates: int) -> list[tuple[str, list[str]]]:
    """Each relevance-set query with the documents of its first `candidates` hybrid hits."""
    await load_embedded_demo(url, settings)
    embedder = Embedder(settings)
    pairs = []
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        await prepare_connection(conn)
        for entry in quality.read_relevance_set(RELEVANCE_SET):
            ranked = await search_service.ranking(
                conn,
                embedder=embedder,
                query=entry["query"],
                scope=SearchScope(entry["type"]),
                filters=SearchFilters(),
                mode=SearchMode.HYBRID,
            )
            documents = []
            for item_type, item_id, _ in ranked[:candidates]:
                table = "movies" if item_type.value == "movie" else "books"
                cursor = await conn.execute(f"SELECT document FROM {table} WHERE id = %s", (item_id,))
                documents.append((await cursor.fetchone())["document"])
            pairs.append((entry["query"], documents))
    return pairs


def open_session(model_file: Path) -> Any:
    """A session as the embedder opens one: one ONNX thread, no memory arena."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def pair_batches(pairs: list[tuple[str, list[str]]]) -> list[dict[str, np.ndarray]]:
    """Each query's (query, document) pairs as one padded model input."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(BUNDLED_TOKENIZER))
    tokenizer.enable_truncation(PAIR_MAX_TOKENS)
    tokenizer.enable_padding()
    batches = []
    for query, documents in pairs:
        encoded = tokenizer.encode_batch([(query, document) for document in documents])
        batches.append(
            {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
        )
    return batches


def timed_reranks(session: Any, batches: list[dict[str, np.ndarray]], *, workers: int) -> list[float]:
    """Seconds per rerank, waiting included, with `workers` searches at once. The session is
    serialised as the embedder's is: called concurrently, each call holds its own attention
    buffers, and 16 at once took a process past 4.8 GB."""
    lock = threading.Lock()

    def rerank(batch: dict[str, np.ndarray]) -> float:
        started = time.perf_counter()
        with lock:
            session.run(None, batch)
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(rerank, batches))


def resident_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def session_memory(model_file: Path, largest: dict[str, np.ndarray]) -> tuple[float, float]:
    """In a fresh process: RSS added by opening a session, and peak added by its largest rerank."""
    import onnxruntime

    onnxruntime.get_available_providers()  # the runtime loaded first: its memory is not the session's
    before = resident_mb("VmRSS")
    session = open_session(model_file)
    opened = resident_mb("VmRSS")
    session.run(None, largest)
    return opened - before, resident_mb("VmHWM") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=30, help="fused hits a reranker would score")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the queries per measurement")
    args = parser.parse_args()

    print("Cross-encoders FastEmbed supports, loaded with the hub off:")
    for name, outcome in offline_cross_encoders().items():
        print(f"  {name}: {outcome[:160]}")

    with scratch_database() as database:
        pairs = asyncio.run(candidate_documents(database.url, database.settings, args.candidates))
        model_file = database.settings.data_dir / "models" / BUNDLED_MODEL / "model.onnx"
        batches = pair_batches(pairs)
        session = open_session(model_file)
        session.run(None, batches[0])  # the first run allocates; it is not a search
        runs = batches * args.rounds
        tokens = [int(batch["attention_mask"].sum(axis=1).max()) for batch in batches]
        rows = [
            ("1 at a time", *_latency_cells(timed_reranks(session, runs, workers=1))),
            (f"{CONCURRENCY} at once", *_latency_cells(timed_reranks(session, runs, workers=CONCURRENCY))),
        ]
        largest = max(batches, key=lambda batch: batch["input_ids"].size)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            opened, peak = pool.apply(session_memory, (model_file, largest))

    print_table(
        f"Reranking {args.candidates} hybrid hits per query, MiniLM-L6 shape, one ONNX thread "
        f"({len(pairs)} queries x {args.rounds}; longest pair per batch: median {int(np.median(tokens))}, "
        f"max {max(tokens)} word pieces)",
        ("searches", "rerank p50 / p99 ms", "mean ms"),
        rows,
        right_aligned=("rerank p50 / p99 ms", "mean ms"),
    )
    print_table(
        "Memory a second session adds to a process",
        ("opened MB", "peak with the largest batch MB"),
        [(f"{opened:.0f}", f"{peak:.0f}")],
        right_aligned=("opened MB", "peak with the largest batch MB"),
    )


def _latency_cells(latencies: list[float]) -> tuple[str, str]:
    return p50_p99(latencies), f"{1000 * float(np.mean(latencies)):.1f}"


if __name__ == "__main__":
    main()
