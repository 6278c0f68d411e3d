"""Keep freed memory for reuse on glibc, so big per-step buffers do not page-fault every step.

glibc's malloc serves blocks above 32 MiB with mmap and returns them to the system when freed. An
ensemble's weight gradients are larger than that (10 members x 5000 x 512 floats = 98 MiB), so each
step used to map fresh pages and fault on every one of them: the benchmark measured the ensemble 25%
slower because of it. :func:`keep_freed_memory` asks malloc to serve large blocks from its heap and
not to trim it, so the next step reuses the same pages. The process then keeps its peak memory
until it exits. It applies to the whole process, only on Linux with glibc, and only when
``INITSENS_MALLOC_TUNING`` is not ``0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc once per process (see module docstring); True when the setting took effect."""
    global _done
    if _done or os.environ.get("INITSENS_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): leave the allocator alone
        return False
    _done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))
    return _done
