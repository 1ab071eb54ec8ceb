"""The embedded PostgreSQL (with pgvector) used when no DATABASE_URL is configured."""

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "cinelibre"


class EmbeddedPostgres:
    """A PostgreSQL server whose files live in `<data_dir>/pgdata`.

    The server is shared by every process of this user that opens the same data
    directory and is stopped when the last of them calls `stop()` (or exits).
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        self._server = None
        # Whether this process started the server (rather than finding it running).
        self.started_here = False

    def start(self) -> str:
        # Imported here: the package is only needed when the embedded server is used.
        from cinelibre.database.embedded_server import open_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = open_server(self.pgdata)
        self.started_here = self._server.started_here
        self._ensure_database()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the embedded database is not running")
        return self._server.get_uri(database=EMBEDDED_DATABASE_NAME)

    def _ensure_database(self) -> None:
        import psycopg

        assert self._server is not None
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')

    def stop(self) -> None:
        if self._server is not None:
            from cinelibre.database.embedded_server import remove_private_folder

            server, self._server = self._server, None
            socket_dir = server.get_postmaster_info().socket_dir
            # cleanup() stops the server only when this process is the last to use it: another
            # process (`cinelibre serve`, say) may keep it running, and then nothing stopped here.
            server.cleanup()
            if server.stopped:
                remove_private_folder(socket_dir)
                logger.info("embedded database stopped")
            else:
                # Worth a line only from the process that started it, whose user expects it to stop.
                level = logging.INFO if self.started_here else logging.DEBUG
                logger.log(level, "embedded database left running: other processes still use it")


class DatabaseHandle:
    """The database this process uses: DATABASE_URL, or the embedded server it started."""

    def __init__(self, url: str, embedded: EmbeddedPostgres | None) -> None:
        self.url = url
        self._embedded = embedded

    @property
    def is_embedded(self) -> bool:
        return self._embedded is not None

    def close(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()

    def __enter__(self) -> "DatabaseHandle":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_database(database_url: str | None, data_dir: Path) -> DatabaseHandle:
    if database_url is not None:
        return DatabaseHandle(database_url, None)
    embedded = EmbeddedPostgres(data_dir)
    return DatabaseHandle(embedded.start(), embedded)
