"""IC decay (issue 15): IC by horizon 1 … 20 on fixed rows, checked with an alpha that peeks."""

from __future__ import annotations

import numpy as np

from lasps.research.decay import ICDecay, decay_rows
from lasps.research.forward import forward_returns
from tests.research.conftest import random_panel


def test_decay_rows_leave_room_for_the_longest_horizon() -> None:
    rows = decay_rows(100, 30, max_horizon=20, step=5)
    assert rows[-1] == 100 - 2 - 20 and rows[0] >= 100 - 2 - 20 - 29 and np.all(np.diff(rows) == 5)
    assert len(decay_rows(10, 30, max_horizon=20)) == 0


def test_an_alpha_equal_to_the_5_day_return_has_ic_one_at_h5_only() -> None:
    panel, _ = random_panel(T=200, N=40, seed=4)
    peek = forward_returns(panel.field("open"), None, 5, "open").values  # look-ahead on purpose
    d = ICDecay(panel, decay_rows(200, 120))
    ic = d.of(peek)
    assert ic.shape == (20,)
    assert ic[4] == 1.0
    assert np.all(ic[np.arange(20) != 4] < 1.0) and ic[0] < ic[3] < ic[4] > ic[5] > ic[19]
    into: dict[str, list[float]] = {}
    assert [n for n, _ in d.tap(iter([("peek", peek)]), into)] == ["peek"] and into["peek"][4] == 1.0
