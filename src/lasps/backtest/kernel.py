"""The daily simulation loop (numba). Pure arrays in, arrays out; see :mod:`lasps.backtest.simulator`.

Per session ``t`` in ``[start, end]``:

1. **Rebalance** (when ``t`` is a fill row and the rebalance is active): value the book at the open
   (cash + shares x open, or the last mark when a code does not trade); the target value of each of
   the ``k_slots`` slots is ``value / k_slots``. First sells: codes no longer targeted are sold in full,
   targeted codes above their target quantity are trimmed. Then buys in target order, each up to
   ``floor(target / (price x (1 + commission)))`` shares and never more than the cash allows.
   Sells need ``not halted and not locked_down``, buys ``not halted and not locked_up`` and a code that
   is not being delisted; a sell that cannot fill stays **pending** and is retried at each later open.
2. **Retry** (other sessions): pending sells are tried again at the open.
3. **Delisting**: a held code whose last traded session is ``t`` is sold at its close (with costs).
4. **Mark**: positions are valued at the last known close; invariants are checked (cash >= 0,
   fees >= 0, taxes >= 0).

Only held codes are visited, so a session costs O(held) and a rebalance O(held + K).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Trade reasons (``reason`` codes of the trade records).
REASONS: tuple[str, ...] = ("rebalance", "trim", "exit", "retry", "delisted")
R_REBALANCE, R_TRIM, R_EXIT, R_RETRY, R_DELISTED = range(5)
#: Counters of orders that could not fill.
BLOCKED: tuple[str, ...] = ("buy_locked_up", "sell_locked_down", "buy_halted", "sell_halted")

#: Kernel status codes.
OK, OVERFLOW, NEGATIVE_CASH, NEGATIVE_COST = 0, 1, 2, 3

_EPS = 1e-9


@numba.njit(cache=True)
def _cost(value: float, rate: float, round_krw: bool) -> float:  # pragma: no cover - numba
    c = value * rate
    if round_krw:
        c = math.floor(c + _EPS)
    return c


@numba.njit(cache=True)
def _record(n, cap, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason,
            t, j, side, q, price, fee, tax, reason):  # pragma: no cover - numba
    if n < cap:
        tr_row[n] = t
        tr_col[n] = j
        tr_side[n] = side
        tr_qty[n] = q
        tr_price[n] = price
        tr_fee[n] = fee
        tr_tax[n] = tax
        tr_reason[n] = reason
    return n + 1


@numba.njit(cache=True)
def simulate_kernel(open_, close_ff, halted, locked_up, locked_down, delist_row, tax_rate,
                    fill_rows, targets, active, start, end, capital, k_slots, commission, slippage,
                    round_krw, cap):  # pragma: no cover - numba
    """Run one simulation. Shapes: prices/masks ``(T, N)``, ``delist_row (N,)``, ``tax_rate (T,)``,
    ``fill_rows (R,)`` ascending, ``targets (R, K)`` code indices best first (-1 = empty),
    ``active (R,)``. Returns daily arrays over ``[start, end]``, trade records (the first ``n`` of
    ``cap``), blocked counters, the final quantities, the status and the row where it was raised."""
    _T, N = open_.shape
    D = end - start + 1
    cash_d = np.zeros(D)
    pos_d = np.zeros(D)
    fee_d = np.zeros(D)
    tax_d = np.zeros(D)
    buy_d = np.zeros(D)
    sell_d = np.zeros(D)
    nheld_d = np.zeros(D, dtype=np.int64)
    tr_row = np.empty(cap, dtype=np.int64)
    tr_col = np.empty(cap, dtype=np.int64)
    tr_side = np.empty(cap, dtype=np.int8)
    tr_qty = np.empty(cap, dtype=np.int64)
    tr_price = np.empty(cap, dtype=np.float64)
    tr_fee = np.empty(cap, dtype=np.float64)
    tr_tax = np.empty(cap, dtype=np.float64)
    tr_reason = np.empty(cap, dtype=np.int8)
    blocked = np.zeros(4, dtype=np.int64)

    qty = np.zeros(N, dtype=np.int64)
    mark = np.zeros(N)
    held = np.empty(N, dtype=np.int64)
    n_held = 0
    pending = np.zeros(N, dtype=np.bool_)
    intarget = np.zeros(N, dtype=np.bool_)
    cash = capital
    n = 0
    status = 0
    bad = -1
    R = fill_rows.shape[0]
    K = targets.shape[1]
    r = 0
    while r < R and fill_rows[r] < start:
        r += 1
    buy_mult = 1.0 + slippage
    sell_mult = 1.0 - slippage

    for t in range(start, end + 1):
        d = t - start
        fees = 0.0
        taxes = 0.0
        bought = 0.0
        sold = 0.0
        is_fill = r < R and fill_rows[r] == t
        if is_fill and active[r]:
            # ---- value at the open
            value = cash
            for h in range(n_held):
                j = held[h]
                p = open_[t, j]
                value += qty[j] * (p if p > 0 else mark[j])
            tv = value / k_slots
            for s in range(K):
                j = targets[r, s]
                if j >= 0:
                    intarget[j] = True
            # ---- sells: exits and trims
            for h in range(n_held):
                j = held[h]
                p0 = open_[t, j]
                if intarget[j]:
                    pending[j] = False
                    if halted[t, j] or locked_down[t, j]:
                        continue
                    tq = math.floor(tv / (p0 * buy_mult * (1.0 + commission)))
                    q = qty[j] - tq
                    reason = R_TRIM
                else:
                    if halted[t, j]:
                        blocked[3] += 1
                        pending[j] = True
                        continue
                    if locked_down[t, j]:
                        blocked[1] += 1
                        pending[j] = True
                        continue
                    q = qty[j]
                    reason = R_EXIT
                if q <= 0:
                    continue
                px = p0 * sell_mult
                val = q * px
                fee = _cost(val, commission, round_krw)
                tax = _cost(val, tax_rate[t], round_krw)
                cash += val - fee - tax
                qty[j] -= q
                pending[j] = False
                fees += fee
                taxes += tax
                sold += val
                n = _record(n, cap, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason,
                            t, j, -1, q, px, fee, tax, reason)
            # ---- buys, best target first
            for s in range(K):
                j = targets[r, s]
                if j < 0:
                    continue
                if halted[t, j]:
                    if qty[j] == 0:
                        blocked[2] += 1
                    continue
                if locked_up[t, j]:
                    if qty[j] == 0:
                        blocked[0] += 1
                    continue
                if delist_row[j] >= 0 and t >= delist_row[j]:
                    continue
                px = open_[t, j] * buy_mult
                unit = px * (1.0 + commission)
                tq = math.floor(tv / unit)
                q = tq - qty[j]
                afford = math.floor(cash / unit)
                if afford < q:
                    q = afford
                while q > 0:
                    val = q * px
                    fee = _cost(val, commission, round_krw)
                    if val + fee <= cash:
                        break
                    q -= 1
                if q <= 0:
                    continue
                val = q * px
                fee = _cost(val, commission, round_krw)
                cash -= val + fee
                if qty[j] == 0:
                    mark[j] = open_[t, j]
                qty[j] += q
                fees += fee
                bought += val
                n = _record(n, cap, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason,
                            t, j, 1, q, px, fee, 0.0, R_REBALANCE)
            for s in range(K):
                j = targets[r, s]
                if j >= 0:
                    intarget[j] = False
        else:
            # ---- retry pending sells
            for h in range(n_held):
                j = held[h]
                if not pending[j] or qty[j] <= 0 or halted[t, j] or locked_down[t, j]:
                    continue
                q = qty[j]
                px = open_[t, j] * sell_mult
                val = q * px
                fee = _cost(val, commission, round_krw)
                tax = _cost(val, tax_rate[t], round_krw)
                cash += val - fee - tax
                qty[j] = 0
                pending[j] = False
                fees += fee
                taxes += tax
                sold += val
                n = _record(n, cap, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason,
                            t, j, -1, q, px, fee, tax, R_RETRY)
        if is_fill:
            r += 1
        # ---- rebuild the held list (sells removed codes, buys added codes)
        m = 0
        for h in range(n_held):
            j = held[h]
            if qty[j] > 0:
                held[m] = j
                m += 1
        n_held = m
        if is_fill:
            for s in range(K):
                j = targets[r - 1, s]
                if j >= 0 and qty[j] > 0:
                    dup = False
                    for h in range(n_held):
                        if held[h] == j:
                            dup = True
                            break
                    if not dup:
                        held[n_held] = j
                        n_held += 1
        # ---- delisting at the close, then mark to market
        pos = 0.0
        m = 0
        for h in range(n_held):
            j = held[h]
            c = close_ff[t, j]
            if c > 0:
                mark[j] = c
            if delist_row[j] >= 0 and t >= delist_row[j]:
                q = qty[j]
                val = q * mark[j]
                fee = _cost(val, commission, round_krw)
                tax = _cost(val, tax_rate[t], round_krw)
                cash += val - fee - tax
                qty[j] = 0
                pending[j] = False
                fees += fee
                taxes += tax
                sold += val
                n = _record(n, cap, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason,
                            t, j, -1, q, mark[j], fee, tax, R_DELISTED)
                continue
            held[m] = j
            m += 1
            pos += qty[j] * mark[j]
        n_held = m
        cash_d[d] = cash
        pos_d[d] = pos
        fee_d[d] = fees
        tax_d[d] = taxes
        buy_d[d] = bought
        sell_d[d] = sold
        nheld_d[d] = n_held
        if n > cap:
            status = OVERFLOW
            bad = t
            break
        if cash < -1e-6:
            status = NEGATIVE_CASH
            bad = t
            break
        if fees < 0.0 or taxes < 0.0 or pos < 0.0:
            status = NEGATIVE_COST
            bad = t
            break
    return (cash_d, pos_d, fee_d, tax_d, buy_d, sell_d, nheld_d,
            tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax, tr_reason, n,
            blocked, qty, status, bad)
