"""The embedded server: its socket folder stays private however long the data path, and a start
after the process that started it was killed (`kill -9`) takes over or clears what it left."""

import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import psycopg
import pytest

from cinelibre.database.embedded import open_database
from cinelibre.database.embedded_server import is_postgres_of

OPEN_AND_WAIT = """
import sys, time
from pathlib import Path
from cinelibre.database.embedded import open_database
database = open_database(None, Path(sys.argv[1]))
print(database.url, flush=True)
time.sleep(600)
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's own temporary folder, which another pytest run may close to other users
    # (the embedded server's system user among them) while this one runs.
    with tempfile.TemporaryDirectory(prefix="cinelibre-embedded-") as folder:
        yield Path(folder) / "data"
        for process in psutil.process_iter():  # whatever a failed test left running
            if is_postgres_of(process.pid, (Path(folder) / "data" / "pgdata").resolve()):
                process.kill()


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


def answers(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1").fetchone()[0]


def killed_after_opening(data_dir: Path) -> int:
    """Open the database in a child process, then kill -9 that process; returns the server's pid."""
    child = subprocess.Popen([sys.executable, "-c", OPEN_AND_WAIT, str(data_dir)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().startswith("postgresql://")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    return postmaster_pid(data_dir)


def test_a_long_data_path_gets_a_private_socket_folder(data_dir: Path) -> None:
    deep = data_dir / ("a-long-folder-name-" * 6)
    with open_database(None, deep) as database:
        socket_dir = Path(parse_qs(urlsplit(database.url).query)["host"][0])
        mode, owner = stat.S_IMODE(socket_dir.stat().st_mode), socket_dir.stat().st_uid
        server_owner = psutil.Process(postmaster_pid(deep)).uids().real
        reachable = answers(database.url)

    assert socket_dir.parent == Path(tempfile.gettempdir()) and socket_dir.name.startswith("cinelibre-pg-")
    assert (oct(mode), owner, reachable) == (oct(0o700), server_owner, 1)
    assert not socket_dir.exists()  # removed with the server


def test_a_start_after_kill_9_takes_the_server_over_and_close_stops_it(data_dir: Path) -> None:
    orphan = killed_after_opening(data_dir)

    database = open_database(None, data_dir)
    reused = postmaster_pid(data_dir)
    reachable = answers(database.url)
    database.close()

    assert (reused, reachable) == (orphan, 1)
    assert not psutil.pid_exists(orphan) or not is_postgres_of(orphan, (data_dir / "pgdata").resolve())
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_lock_files_naming_another_live_process_are_cleared(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"
    with open_database(None, data_dir):
        stopped = postmaster_pid(data_dir)
        left_behind = {name: (pgdata / name).read_text() for name in ("postmaster.pid", ".s.PGSQL.5432.lock")}
    # As after a reboot or a container restart: the files are back, and the pid they record now
    # belongs to another program.
    with subprocess.Popen(["sleep", "60"]) as unrelated:
        for name, text in left_behind.items():
            (pgdata / name).write_text(text.replace(str(stopped), str(unrelated.pid), 1))

        with open_database(None, data_dir) as database:
            restarted = postmaster_pid(data_dir)
            reachable = answers(database.url)
        unrelated_alive = unrelated.poll() is None
        unrelated.kill()

    assert restarted not in (stopped, unrelated.pid) and reachable == 1 and unrelated_alive
    assert not (pgdata / "postmaster.pid").exists()
