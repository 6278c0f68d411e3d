"""Keep freed memory for reuse on glibc, so big per-step buffers do not page-fault every step.

glibc's malloc serves blocks above 32 MiB with mmap and returns them to the system when freed. An
ensemble's weight gradients are larger than that (10 members x 5000 x 512 floats = 98 MiB), so each
step used to map fresh pages and fault on every one of them: the benchmark measured the ensemble 25%
slower because of it. :func:`keep_freed_memory` asks malloc to serve large blocks from its heap and
not to trim it, so the next step reuses the same pages. The process then keeps its peak memory
until it exits. It applies to the whole process, only on Linux with glibc, and only when
``INITSENS_MALLOC_TUNING`` is not ``0``.

That reuse needs the thread that trains to allocate from glibc's main heap. Threads other than the
main one get their own arenas, whose heaps are capped at 64 MiB, so the big blocks fall back to fresh
mappings again: a chunk trained in another thread (as Dask workers do) was 1.44x slower. glibc reads
``MALLOC_ARENA_MAX=1`` (one arena for all threads) only at process start, so :func:`worker_environment`
gives it to the worker processes initsens starts (measured in a local Dask worker: 5.5 s -> 4.1 s for
a chunk that takes 3.9 s in-process).
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
    """While processes are started inside it, they inherit ``MALLOC_ARENA_MAX=1`` (unless tuning is off or
    the variable is already set); this process's own environment is restored afterwards.
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
    """Tune glibc malloc once per process (see module docstring); True when the setting took effect."""
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
