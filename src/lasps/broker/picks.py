"""Turning the daily picks into orders (``lasps daily --orders paper``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from lasps.broker.base import Broker, OrderRequest, Side
from lasps.errors import ConfigError

DEFAULT_COMMISSION = 0.00015


def orders_from_picks(picks: Sequence[tuple[str, float]], capital: float, broker: Broker | None,
                      prices: Mapping[str, float], *, market: bool = False,
                      commission: float = DEFAULT_COMMISSION) -> list[OrderRequest]:
    """Orders that move the account from its current positions to the target weights of ``picks``.

    Parameters
    ----------
    picks:
        ``(code, weight)`` pairs; weights ≥ 0 summing to at most 1 (the rest stays in cash).
    capital:
        KRW to allocate (e.g. the account's total value).
    broker:
        Current holdings come from ``broker.positions()``; ``None`` means start from cash.
    prices:
        Reference price per code (e.g. the previous close); it sets the share counts and, unless
        ``market``, the limit price. It must be a valid quote price (on the tick); the guard rejects
        others.
    market:
        Market orders instead of limit orders at the reference price.
    commission:
        Buys are sized so that value + commission fits in the allocation.

    Returns sells first (positions not picked, or above target), then buys; whole shares only, codes
    whose target rounds to zero shares are skipped. Nothing is sent: pass each request to
    :meth:`lasps.broker.manager.OrderManager.place`.
    """
    if not math.isfinite(capital) or capital < 0:
        raise ConfigError(f"capital must be a non-negative amount, got {capital!r}", where="capital")
    weights: dict[str, float] = {}
    for code, w in picks:
        if not math.isfinite(w) or w < 0:
            raise ConfigError(f"weight of {code} must be >= 0, got {w!r}", where="picks")
        weights[code] = weights.get(code, 0.0) + float(w)
    if sum(weights.values()) > 1.0 + 1e-9:
        raise ConfigError(f"weights sum to {sum(weights.values()):.4f} > 1", where="picks",
                          fix="normalise the weights (the remainder stays in cash)")
    held = {p.code: p.qty for p in (broker.positions() if broker is not None else [])}
    target: dict[str, int] = {}
    for code, w in weights.items():
        px = prices.get(code)
        if px is None or not math.isfinite(px) or px <= 0:
            raise ConfigError(f"no usable reference price for pick {code}", where="prices")
        target[code] = math.floor(capital * w / (px * (1.0 + commission)) + 1e-9)
    sells: list[OrderRequest] = []
    buys: list[OrderRequest] = []
    for code in sorted(set(held) | set(target)):
        delta = target.get(code, 0) - held.get(code, 0)
        if delta == 0:
            continue
        px = prices.get(code)
        limit = None if market or px is None else float(px)  # a holding without a price is sold at market
        if delta < 0:
            sells.append(OrderRequest(code, Side.SELL, -delta, limit))
        else:
            buys.append(OrderRequest(code, Side.BUY, delta, limit))
    return sells + buys


__all__ = ["orders_from_picks"]
