"""The compiled loop shared by units on several threads."""

from __future__ import annotations

import threading
import time

from fincast.models.fastfit import _CompiledOnce


def test_the_first_call_compiles_in_one_thread_later_calls_run_together():
    running, peak = [0], []
    guard = threading.Lock()

    def fn(x):
        with guard:
            running[0] += 1
            peak.append(running[0])
        time.sleep(0.05)
        with guard:
            running[0] -= 1
        return x * 2

    once = _CompiledOnce(fn)

    def call_twice_at_once():
        out: list[int] = []
        threads = [threading.Thread(target=lambda: out.append(once(3))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    assert call_twice_at_once() == [6, 6]
    assert max(peak) == 1  # the first (compiling) call was alone
    peak.clear()
    assert call_twice_at_once() == [6, 6]
    assert max(peak) == 2  # compiled: the threads run together
