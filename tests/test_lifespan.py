"""Shutting down waits for the background work, so nothing uses the pools after they close."""

import asyncio

from cinelibre.admin.jobs import ChildProcessLauncher
from cinelibre.app import _stop


async def test_shutdown_cancels_background_tasks_and_waits_for_their_cleanup() -> None:
    cleaned_up: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # cleanup that itself awaits, as closing a connection does
            cleaned_up.append(name)

    background = [asyncio.create_task(forever("embedding")), asyncio.create_task(forever("retraining"))]
    await asyncio.sleep(0)

    await _stop(background, ChildProcessLauncher("postgresql://unused"))

    assert sorted(cleaned_up) == ["embedding", "retraining"]
    assert all(task.cancelled() for task in background)


async def test_shutdown_ends_a_child_job_still_running() -> None:
    launcher = ChildProcessLauncher("postgresql://unused")
    child = await asyncio.create_subprocess_exec("sleep", "60")
    waiting = asyncio.create_task(launcher._wait(child, ("train",)))
    launcher._running.add(waiting)
    await asyncio.sleep(0)

    await asyncio.wait_for(launcher.stop_all(), timeout=10)

    assert child.returncode == -15  # SIGTERM
    assert waiting.cancelled()
