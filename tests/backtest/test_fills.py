"""Fill rules: locked limits (from lasps.krx.rules), halts and delistings."""

from __future__ import annotations

import numpy as np

from lasps.backtest.fills import delisting_rows, ffill_rows, fill_masks

NAN = np.nan


def _dates(*ds: str) -> np.ndarray:
    return np.array(ds, dtype="datetime64[D]")


def test_locked_up_at_the_upper_limit_of_the_previous_close() -> None:
    # base 9,980 (2023 table, tick 10): width 2,994 -> 2,990; upper 12,970, lower 6,990
    close = np.array([[9_980.0], [12_970.0]])
    for open_, up, down in ((12_970.0, True, False), (12_960.0, False, False), (6_990.0, False, True),
                            (7_000.0, False, False)):
        m = fill_masks(np.array([[9_980.0], [open_]]), close, np.ones((2, 1)), _dates("2024-05-02", "2024-05-03"))
        assert bool(m.locked_up[1, 0]) is up
        assert bool(m.locked_down[1, 0]) is down
        assert bool(m.can_buy[1, 0]) is not up
        assert bool(m.can_sell[1, 0]) is not down
    # the first row has no base price: never locked
    assert not m.locked_up[0, 0] and not m.locked_down[0, 0]


def test_old_tick_tables_and_15_percent_limit() -> None:
    # 2022 (old tables), base 55,500: KOSPI tick 100 (50,000-100,000) and KOSDAQ tick 100 (>= 50,000);
    # width 16,650 -> 16,600, upper 72,100 on both markets
    d = _dates("2022-06-02", "2022-06-03")
    close = np.array([[55_500.0, 55_500.0], [72_100.0, 72_100.0]])
    open_ = np.array([[55_500.0, 55_500.0], [72_100.0, 72_100.0]])
    m = fill_masks(open_, close, np.ones((2, 2)), d, np.array(["KOSPI", "KOSDAQ"], dtype=object))
    assert m.locked_up[1].tolist() == [True, True]
    # 2015-06-12 (±15 %): base 10,000 -> upper 11,500; an open of 11,500 is locked, 12,000 is impossible
    d15 = _dates("2015-06-11", "2015-06-12")
    m15 = fill_masks(np.array([[10_000.0], [11_500.0]]), np.array([[10_000.0], [11_500.0]]), np.ones((2, 1)), d15)
    assert m15.locked_up[1, 0]
    # from 2015-06-15 (±30 %) the same open is not locked
    d30 = _dates("2015-06-12", "2015-06-15")
    m30 = fill_masks(np.array([[10_000.0], [11_500.0]]), np.array([[10_000.0], [11_500.0]]), np.ones((2, 1)), d30)
    assert not m30.locked_up[1, 0]


def test_base_after_a_halt_is_the_close_before_it() -> None:
    close = np.array([[10_000.0], [NAN], [NAN], [13_000.0]])
    open_ = np.array([[10_000.0], [NAN], [NAN], [13_000.0]])
    vol = np.array([[5.0], [NAN], [0.0], [5.0]])
    m = fill_masks(open_, close, vol, _dates("2024-05-02", "2024-05-03", "2024-05-07", "2024-05-08"))
    assert m.halted[:, 0].tolist() == [False, True, True, False]
    assert m.locked_up[3, 0]  # base 10,000 -> upper 13,000
    assert not m.can_buy[1, 0] and not m.can_sell[2, 0]


def test_zero_volume_is_a_halt_even_with_a_price() -> None:
    m = fill_masks(np.array([[100.0], [100.0]]), np.array([[100.0], [100.0]]), np.array([[1.0], [0.0]]),
                   _dates("2024-05-02", "2024-05-03"))
    assert m.halted[1, 0] and not m.can_buy[1, 0] and not m.can_sell[1, 0]


def test_ffill_rows() -> None:
    x = np.array([[NAN, 1.0], [2.0, NAN], [NAN, 0.0], [3.0, 4.0]])
    out = ffill_rows(x)
    np.testing.assert_array_equal(out[:, 0], [NAN, 2.0, 2.0, 3.0])
    np.testing.assert_array_equal(out[:, 1], [1.0, 1.0, 1.0, 4.0])


def test_delisting_rows() -> None:
    close = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, NAN], [NAN, 1.0, NAN], [NAN, 1.0, NAN]])
    d = _dates("2024-05-02", "2024-05-03", "2024-05-07", "2024-05-08")
    # inferred: codes whose prices stop before the last row
    assert delisting_rows(close, d).tolist() == [1, -1, 0]
    # with the stocks table: code 2 is only halted (not delisted), code 0 delisted on 05-07
    dl = np.array(["2024-05-07", "NaT", "NaT"], dtype="datetime64[D]")
    assert delisting_rows(close, d, dl).tolist() == [1, -1, -1]
