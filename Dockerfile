# CineLibre API image.
#
#   docker build -t cinelibre .
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://... -e JWT_SECRET_KEY=... cinelibre
#
# Without DATABASE_URL the container starts the embedded PostgreSQL, with its files in
# CINELIBRE_DATA_DIR (/home/cinelibre/.cinelibre). To keep them, mount a volume there that user
# 10001 can write (a new named volume is: Docker copies the directory's ownership into it).
# The embedding model is installed with the Python packages: no network is needed at run time.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# ---- web: the web app's static files (web/dist), built once here --------------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /web
# The packages first, exactly as package-lock.json has them, so source changes reuse this layer.
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- builder: a virtual environment with CineLibre and its dependencies ----------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build

# The dependencies first, exactly as locked (every file checked against its SHA-256), so code
# changes reuse this (large) layer; then CineLibre itself, which brings nothing else.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps .

# ---- runtime --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} cinelibre \
    && useradd --system --uid ${APP_UID} --gid cinelibre --create-home --home-dir /home/cinelibre \
        --shell /usr/sbin/nologin cinelibre

COPY --from=builder /opt/venv /opt/venv
# The API serves the web app from WEB_APP_DIR/dist; the image has no Node, so it never builds.
COPY --from=web /web/dist /opt/cinelibre-web/dist

ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/cinelibre \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    CINELIBRE_DATA_DIR=/home/cinelibre/.cinelibre \
    WEB_APP_DIR=/opt/cinelibre-web \
    WEB_BUILD=never \
    HOST=0.0.0.0 \
    PORT=8000

USER cinelibre
WORKDIR /home/cinelibre

# Build-time check that the bundled model loads without any network and embeds a query. It also
# writes the constant-folded copy of the model into $CINELIBRE_DATA_DIR/models, so the first
# start does not have to. (ENVIRONMENT stays development here: production requires a JWT secret.)
RUN mkdir -p "$CINELIBRE_DATA_DIR" \
    && python -c "from cinelibre.settings import Settings; \
from cinelibre.search.embedder import Embedder, EMBEDDING_DIMENSION; \
vector = Embedder(Settings()).embed_query('a family drama in Kerala'); \
assert vector.shape == (EMBEDDING_DIMENSION,), vector.shape; \
print('embedding model OK:', vector.shape)"

ENV ENVIRONMENT=production

EXPOSE 8000

# Liveness only (the process answers); /health/ready also checks the database and the model.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8000'), timeout=4)" || exit 1

# Shell form so that $PORT expands; exec hands PID 1 (and SIGTERM) to gunicorn.
CMD exec gunicorn -w 1 -k uvicorn.workers.UvicornWorker 'cinelibre.app:create_app()' --bind 0.0.0.0:$PORT
