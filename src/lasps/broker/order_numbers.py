"""Broker order numbers: one comparison rule for every width a broker writes them in.

Kiwoom answers an order (kt10000–kt10003) with a 5-digit ``ord_no`` (``"00024"``) and lists the same
order (ka10075/ka10076) with 7 digits (``"0000024"``); OpenAPI+ writes 7 digits too. Exact string
comparison would take them for two orders, so everything that compares order numbers — the journal,
reconciliation, cancel and modify — compares :func:`order_key` instead.
"""

from __future__ import annotations

#: Width of an order number in Kiwoom's lists (ka10075 ``ord_no``: "주문번호 7자리 숫자").
KIWOOM_ORDER_NO_WIDTH = 7


def order_key(value: object) -> str:
    """The comparison key of an order number: digits without leading zeros (``"00024"`` → ``"24"``).

    All-zero numbers give ``"0"``; numbers with other characters (paper broker ids) are only stripped
    of surrounding blanks. ``None`` gives ``""``.
    """
    s = "" if value is None else str(value).strip()
    if s.isdigit():
        return s.lstrip("0") or "0"
    return s


def same_order_no(a: object, b: object) -> bool:
    """True if ``a`` and ``b`` name the same order (both non-empty, equal :func:`order_key`)."""
    ka, kb = order_key(a), order_key(b)
    return bool(ka) and ka == kb


def kiwoom_order_no(value: object) -> str:
    """An order number in Kiwoom's list form: digits zero-padded to 7 (``"00024"`` → ``"0000024"``).

    Non-digit values are returned stripped, unchanged; empty values give ``""``.
    """
    s = "" if value is None else str(value).strip()
    if s.isdigit():
        return order_key(s).zfill(KIWOOM_ORDER_NO_WIDTH)
    return s


__all__ = ["KIWOOM_ORDER_NO_WIDTH", "kiwoom_order_no", "order_key", "same_order_no"]
