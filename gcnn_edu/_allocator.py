"""Keep freed memory in the process, so that training does not page-fault the same tensors in at
every step.

A training step allocates and frees the same large tensors every time (activations, their
gradients, the reductions' temporaries: megabytes each at batch 32). With glibc's defaults a block
above 128 KiB is mapped fresh from the kernel when it is allocated and handed back when it is freed,
or the top of the heap is trimmed back to the kernel, so the next step touches new pages again and
pays a page fault for every 4 KiB of them. :func:`keep_freed_memory` raises glibc's two thresholds
(``mallopt``): blocks below 32 MiB come from the heap, and freed memory is kept until 1 GiB of it
lies unused. The process then holds its peak memory, as PyTorch's own CUDA allocator does.

Only where memory goes changes, never a value: the same run gives the same bits either way
(``tests/test_training.py`` trains a model both ways and compares every weight). Measured with
``benchmarks/bench_allocator.py`` on the project's 2-core AMD EPYC, one thread, batch 32, a training
step of the study's models took 6 to 16 % less time (Z2CNN 37.7 -> 32.5 ms, the UvA G-CNN 190.6 ->
173.3 ms). The ``gcnn-edu`` command and the workers of ``gcnn-edu reproduce`` call it; in a notebook
or script, call ``gcnn_edu.training.keep_freed_memory()`` before training. Elsewhere than Linux with
glibc it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit machines (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 2**30


def keep_freed_memory() -> bool:
    """Ask glibc to serve blocks below 32 MiB from its heap and to keep up to 1 GiB of freed memory
    (``mallopt(M_MMAP_THRESHOLD, 32 MiB)``, ``mallopt(M_TRIM_THRESHOLD, 1 GiB)``), for this process.
    Returns whether both settings took; False where the C library is not glibc."""
    if not _is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr (Windows), or no such name (macOS, musl)
        return False
