"""The compiled loop shared by units on several threads."""

from __future__ import annotations

import threading
import time

import numpy as np

from fincast.models.fastfit import _TracedAlone


class _Probe:
    """A stand-in for a jitted function that records how many calls overlap."""

    def __init__(self) -> None:
        self.running, self.peak, self.guard = 0, [], threading.Lock()

    def __call__(self, x):
        with self.guard:
            self.running += 1
            self.peak.append(self.running)
        time.sleep(0.05)
        with self.guard:
            self.running -= 1
        return x * 2


def _at_once(*calls):
    out: list = []
    threads = [threading.Thread(target=lambda c=c: out.append(c())) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_new_inputs_compile_in_one_thread_known_inputs_run_together():
    probe = _Probe()
    once = _TracedAlone(probe)
    assert _at_once(lambda: once(3), lambda: once(3)) == [6, 6]
    assert max(probe.peak) == 1  # the first (compiling) call was alone
    probe.peak.clear()
    assert _at_once(lambda: once(3), lambda: once(3)) == [6, 6]
    assert max(probe.peak) == 2  # compiled: the threads run together
    probe.peak.clear()
    x = np.ones(4)  # a shape not seen yet traces again: alone, even after the first call
    assert [list(v) for v in _at_once(lambda: once(x), lambda: once(x))] == [[2.0] * 4] * 2
    assert max(probe.peak) == 1


def test_the_functions_of_one_trainer_never_trace_at_once():
    """Tracing the training step and the evaluation of one reference model at the same
    time let a tracer of one escape into the other (UnexpectedTracerError in a tune trial
    whose inner folds train on two threads)."""
    probe = _Probe()
    lock = threading.RLock()
    train, evaluate = _TracedAlone(probe, lock), _TracedAlone(probe, lock)
    assert _at_once(lambda: train(1), lambda: evaluate(2)) in ([2, 4], [4, 2])
    assert max(probe.peak) == 1
    probe.peak.clear()
    assert sorted(_at_once(lambda: train(1), lambda: evaluate(2))) == [2, 4]
    assert max(probe.peak) == 2  # both known now: in parallel
