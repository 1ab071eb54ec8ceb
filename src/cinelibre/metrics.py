"""Prometheus metrics. Request metrics are counted as requests pass (middleware.RequestMetrics);
the rest describe shared state (models, sync runs, pools) and are read when /metrics is scraped,
so every instance reports the same models and runs."""

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The *_created series (when each counter was made) say nothing an operator needs here.
disable_created_metrics()

# Buckets around what the service aims for: most answers in a few milliseconds, none near a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_requests = Counter(
    "cinelibre_http_requests", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
http_request_duration = Histogram(
    "cinelibre_http_request_duration_seconds",
    "Time to answer, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
http_requests_in_progress = Gauge("cinelibre_http_requests_in_progress", "Requests being answered now.")
unhandled_errors = Counter("cinelibre_unhandled_errors", "Requests that ended in an unexpected exception.", ["route"])

db_pool_connections = Gauge(
    "cinelibre_db_pool_connections",
    "Database pool connections: open, idle, and requests waiting for one.",
    ["pool", "state"],
)
model_version = Gauge("cinelibre_model_version", "Id of the model serving, by kind (rating, ranking).", ["kind"])
model_age = Gauge("cinelibre_model_age_seconds", "Time since the serving model was trained.", ["kind"])
sync_runs = Gauge(
    "cinelibre_sync_runs",
    "Catalogue sync runs by source and outcome (finished, finished_with_errors, running).",
    ["source", "status"],
)
sync_last_success = Gauge(
    "cinelibre_sync_last_success_timestamp_seconds", "When the source's last error-free run finished.", ["source"]
)
cache_requests = Counter(
    "cinelibre_cache_requests",
    "Cache lookups by cache (popular, personalized, query_embedding) and result.",
    ["cache", "result"],
)
embedding_model_loaded = Gauge("cinelibre_embedding_model_loaded", "1 once the embedding model is loaded.")
