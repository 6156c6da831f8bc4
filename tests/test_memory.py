"""fincast._memory gives the allocator's free space back to the operating system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fincast._memory import _malloc_trim, release_freed_memory

_CHILD = textwrap.dedent(
    """
    import numpy as np
    from fincast._memory import release_freed_memory

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    # 2,000 arrays of 64 KiB (below glibc's mmap threshold: they live in its heap); the
    # last one stays, so the heap's top is pinned and free() alone cannot shrink it
    blocks = [np.ones(8192) for _ in range(2000)]
    keep = blocks[-1]
    del blocks
    before = rss()
    release_freed_memory()
    print(before, rss())
    """
)


@pytest.mark.skipif(_malloc_trim() is None, reason="glibc's malloc_trim is not available")
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True
    ).stdout
    before, after = (float(v) for v in out.split())
    assert before - after > 80  # of the 125 MB freed but held by the heap


def test_release_can_be_called_again_at_once() -> None:
    release_freed_memory()
    release_freed_memory()
