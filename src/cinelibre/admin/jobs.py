"""Long jobs (training, syncs) started from the API run as `cinelibre ...` child processes, as
the background retraining does: the API keeps its memory and event loop, and each job's own lock
keeps two runs of it apart however they were started."""

import asyncio
import logging
import os
import sys
from typing import Protocol

logger = logging.getLogger(__name__)


class JobLauncher(Protocol):
    async def start(self, *args: str) -> None: ...


class ChildProcessLauncher:
    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._running: set[asyncio.Task[int]] = set()

    async def start(self, *args: str) -> None:
        """Start `cinelibre *args` against this API's database and return at once."""
        child = await self._spawn(args)
        waiting = asyncio.create_task(self._wait(child, args))
        self._running.add(waiting)  # a reference, so the task is not collected before it ends
        waiting.add_done_callback(self._running.discard)

    async def run(self, *args: str) -> int:
        """Run `cinelibre *args` against this API's database to its end; its exit code."""
        return await self._wait(await self._spawn(args), args)

    async def _spawn(self, args: tuple[str, ...]) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cinelibre",
            *args,
            env=os.environ | {"DATABASE_URL": self._database_url},
            stdin=asyncio.subprocess.DEVNULL,
        )
        logger.info("started `cinelibre %s` (pid %s)", " ".join(args), child.pid)
        return child

    async def wait_all(self) -> list[int]:
        """The exit codes of the children still running, once they end."""
        return list(await asyncio.gather(*self._running))

    async def stop_all(self) -> None:
        """At shutdown: end the children still running and wait for them. Stopping is safe for
        every job: an unfinished training leaves the serving models in place, and a sync resumes
        after its last finished page on the next run."""
        for waiting in self._running:
            waiting.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    @staticmethod
    async def _wait(child: asyncio.subprocess.Process, args: tuple[str, ...]) -> int:
        try:
            code = await child.wait()
        except asyncio.CancelledError:
            logger.warning("stopping `cinelibre %s` (pid %s): the API is shutting down", " ".join(args), child.pid)
            if child.returncode is None:
                child.terminate()
            await asyncio.shield(child.wait())
            raise
        log = logger.info if code == 0 else logger.warning
        log("`cinelibre %s` (pid %s) ended with exit code %s", " ".join(args), child.pid, code)
        return code
