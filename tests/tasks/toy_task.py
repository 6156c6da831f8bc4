"""A toy task, defined in one file: the size of the next h-step move, |log return|.

It is registered by one line (``register(AbsMove())``) in the test that uses it; nothing
else in fincast knows about it.
"""

from __future__ import annotations

import pandas as pd

from fincast.tasks import HorizonInputs, Task


class AbsMove(Task):
    """|h-step log return|; naive: the size of the last h-step move."""

    name = "absmove"
    description = "toy: size of the next h-step move, |log return|"
    plot_ylabel = "|h-step log return|"

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        return inp.fwd.abs(), inp.past.abs()
