"""The process's own memory."""

import contextlib
import ctypes


def return_freed_memory() -> None:
    """Hand back to the OS what was allocated and freed since (glibc keeps freed memory for reuse
    otherwise, and a 512 MB instance counts it)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# glibc's mallopt() parameter for the most arenas it will create.
_M_ARENA_MAX = -8
# Two arenas: the event loop's thread and one shared by the worker threads (embedding, model
# loading). glibc's default, eight per core, gives each thread that ever allocated a heap of its
# own to keep: after 45 s of uncached searches at concurrency 16 a worker held 246 MB, 238 MB
# with two.
API_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = API_MALLOC_ARENAS) -> None:
    """Cap the heaps glibc keeps for threads (what MALLOC_ARENA_MAX does, from inside the process,
    however it was started). Call it before threads start."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to cap
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, arenas)
