"""Keep freed memory for reuse on glibc, so big per-step buffers do not page-fault every step.

:func:`keep_freed_memory` asks malloc to keep large blocks in its heap (an ensemble measured 25%
slower without), and :func:`worker_environment` gives worker processes ``MALLOC_ARENA_MAX=1``, which
threads other than the main one need for the same. Linux/glibc only; ``INITSENS_MALLOC_TUNING=0``
opts out. See the docs' :doc:`Performance </performance>` page.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
_done = False


def _tuning() -> bool:
    return os.environ.get("INITSENS_MALLOC_TUNING", "1") != "0" and sys.platform.startswith("linux")


@contextlib.contextmanager
def worker_environment() -> Iterator[None]:
    """While processes are started inside it, they inherit ``MALLOC_ARENA_MAX=1`` (unless tuning is
    off or the variable is already set); this process's own environment is restored afterwards.
    """
    if not _tuning() or "MALLOC_ARENA_MAX" in os.environ:
        yield
        return
    os.environ["MALLOC_ARENA_MAX"] = "1"
    try:
        yield
    finally:
        os.environ.pop("MALLOC_ARENA_MAX", None)


def keep_freed_memory() -> bool:
    """Tune glibc malloc once per process (see module docstring); True when the setting took
    effect.
    """
    global _done
    if _done or not _tuning():
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): leave the allocator alone
        return False
    _done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))
    return _done
