"""The process's own memory."""

import contextlib
import ctypes


def return_freed_memory() -> None:
    """Hand back to the OS what was allocated and freed since (glibc keeps freed memory for reuse
    otherwise, and a 512 MB instance counts it)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
