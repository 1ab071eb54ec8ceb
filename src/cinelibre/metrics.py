"""Prometheus metrics. Request metrics are counted as requests pass (middleware.RequestMetrics);
the rest describe shared state (models, sync runs, pools) and are read when /metrics is scraped,
so every instance reports the same models and runs."""

import asyncio

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

# The loop is woken this often to see how late it wakes: often enough to catch a stall of a tenth of
# a second, rarely enough to cost nothing (20 wake-ups a second).
LAG_SAMPLE_SECONDS = 0.05
event_loop_lag = Histogram(
    "cinelibre_event_loop_lag_seconds",
    "How late the event loop ran a timer it had been asked to run: the time every request waited for "
    "the loop, beyond its own work.",
    buckets=LATENCY_BUCKETS,
)


async def watch_event_loop_lag() -> None:
    """Until cancelled, sleep LAG_SAMPLE_SECONDS at a time and record how much later than that the
    loop woke: anything that holds the loop (a slow regular expression, a blocking call) shows here."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(LAG_SAMPLE_SECONDS)
        event_loop_lag.observe(max(0.0, loop.time() - asked - LAG_SAMPLE_SECONDS))


experiment_exposures = Counter(
    "cinelibre_experiment_exposures",
    "Lists served inside an experiment, by experiment and variant.",
    ["experiment", "variant"],
)
experiment_interactions = Counter(
    "cinelibre_experiment_interactions",
    "Clicks and views sent with the list_id of a list served inside an experiment, by experiment, variant and kind.",
    ["experiment", "variant", "kind"],
)
exposures_recorded = Counter("cinelibre_exposures_recorded", "Served lists written to list_exposures.")
exposures_dropped = Counter(
    "cinelibre_exposures_dropped",
    "Served lists not recorded: the queue was full (queue_full), their record could not be made (record_failed) "
    "or writing their batch failed (write_failed).",
    ["reason"],
)
