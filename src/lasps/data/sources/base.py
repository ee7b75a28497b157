"""The ``Source`` protocol and the plumbing shared by network sources (the registry is
:mod:`lasps.data.sources.registry`).

A source (DESIGN §2.2) answers four questions, each as store-shaped pandas frames:

- :meth:`Source.stocks` — the listing on a date (``STOCK_COLUMNS``);
- :meth:`Source.daily` — daily prices of a date range as a :class:`~lasps.data.bundle.MarketBundle`
  (prices + the stock rows of the codes in it + ``unavailable`` reasons);
- :meth:`Source.index` — one index (``1001`` KOSPI, ``2001`` KOSDAQ) over a date range;
- :meth:`Source.flows` — investor flows (KRW net buy value) over a date range.

Dates are ``datetime.date`` (trading days in KST). Network sources share :class:`PoliteCaller`: a pause
between requests (``settings.pykrx_delay_s``), retries with exponential backoff on transient errors,
and scrubbing of secrets from every log line and error message.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np
import pandas as pd

from lasps.data.bundle import MarketBundle
from lasps.dates import parse_date
from lasps.errors import LaspsError

log = logging.getLogger(__name__)

#: Index codes LASPS stores (DESIGN §2.1).
INDEX_CODES: dict[str, str] = {"1001": "KOSPI", "2001": "KOSDAQ"}

T = TypeVar("T")
FetchMode = Literal["by_date", "by_range"]


class SourceError(LaspsError):
    """A data source failed (network, login, empty or malformed response) after its retries."""


@runtime_checkable
class Source(Protocol):
    """What every market data source provides (DESIGN §2.2).

    Attributes
    ----------
    name:
        Registry name (``pykrx``, ``fdr`` …), recorded in ``source_runs``.
    price_basis:
        ``'raw'`` (as traded; the store derives adjustments from the change ratio) or ``'adjusted'``
        (already back-adjusted; stored with no derived adjustments). A code never mixes bases.
    fetch_mode:
        ``'by_date'``: one set of requests per trading day covers every code (pykrx);
        ``'by_range'``: one request per code covers a date range (FinanceDataReader, files).
        :func:`lasps.data.update.update_store` uses it to batch requests.
    """

    name: str
    price_basis: str
    fetch_mode: FetchMode

    def stocks(self, date: dt.date) -> pd.DataFrame:
        """Listed codes on ``date``: columns ``STOCK_COLUMNS`` (sector columns may be empty)."""
        ...

    def daily(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> MarketBundle:
        """Daily prices for trading days in ``[date_from, date_to]`` (all codes when ``codes`` is None)."""
        ...

    def index(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        """Index prices (``INDEX_COLUMNS``) of ``code`` (``1001``/``2001``) in ``[date_from, date_to]``."""
        ...

    def flows(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> pd.DataFrame:
        """Investor flows (``FLOW_COLUMNS``, KRW) in the range; raises ``UnavailableError`` if not offered."""
        ...


# -- shared helpers --------------------------------------------------------------------------------
def as_date(value: str | dt.date | dt.datetime | pd.Timestamp | np.datetime64) -> dt.date:
    """A ``datetime.date`` from a date-like value or an ISO ``YYYY-MM-DD`` string
    (:func:`lasps.dates.parse_date`)."""
    return parse_date(value, option="date")


def blank_halted(prices: pd.DataFrame) -> int:
    """KRX/pykrx halt convention: on a halted day open = high = low = 0 and the close is carried over.

    Sets open/high/low to NaN on such rows (in place; the close is kept) and returns how many rows
    changed. A single zero among O/H/L is left for validation to report.
    """
    o = prices["open"].to_numpy(dtype="float64")
    h = prices["high"].to_numpy(dtype="float64")
    low = prices["low"].to_numpy(dtype="float64")
    halted = (o == 0) & (h == 0) & (low == 0)
    n = int(halted.sum())
    if n:
        for col, arr in (("open", o), ("high", h), ("low", low)):
            arr = arr.copy()
            arr[halted] = np.nan
            prices[col] = arr
    return n


class PoliteCaller:
    """Calls a client function politely: a pause between requests, retries with backoff, no secrets.

    Parameters
    ----------
    source:
        Source name used in log lines and errors.
    delay_s:
        Seconds to wait before every request except the first (``settings.pykrx_delay_s``).
    sleep:
        Injectable sleep (tests pass a recorder).
    retries:
        Extra attempts after a transient failure (any exception except programming errors and
        :class:`LaspsError`); the n-th retry waits ``backoff_s * 2**(n-1)`` seconds.
    secrets:
        Strings (login id, password) replaced by ``***`` in every message this class emits.
    """

    def __init__(self, *, source: str, delay_s: float, sleep: Callable[[float], None] = time.sleep,
                 retries: int = 3, backoff_s: float = 2.0, secrets: Sequence[str] = ()) -> None:
        self.source = source
        self.delay_s = float(delay_s)
        self.sleep = sleep
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self._secrets = tuple(s for s in secrets if s)
        self.requests = 0

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def __call__(self, label: str, fn: Callable[..., T], *args: Any, cached: bool = False,
                 **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)``; ``label`` names the request in logs (e.g. ``get_market_ohlcv``).

        ``cached=True`` marks a call the client answers from memory (no pause before it).
        """
        shown = self.scrub(", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())]))
        for attempt in range(self.retries + 1):
            if not cached and attempt == 0 and self.requests > 0 and self.delay_s > 0:
                self.sleep(self.delay_s)  # a retry already waited its (longer) backoff
            if not cached:
                self.requests += 1
            log.debug("%s: %s(%s)", self.source, label, shown)
            try:
                return fn(*args, **kwargs)
            except (LaspsError, TypeError, AttributeError, NameError, NotImplementedError):
                raise
            except Exception as exc:  # network clients raise anything
                message = self.scrub(f"{type(exc).__name__}: {exc}")
                if attempt >= self.retries:
                    raise SourceError(
                        f"{self.source}: {label}({shown}) failed after {attempt + 1} attempts: {message}",
                        where=f"{self.source} {label}",
                        fix="check the network connection and the login (KRX_ID/KRX_PW for pykrx), then "
                            "run the same command again; days already stored are kept",
                    ) from None
                wait = self.backoff_s * (2**attempt)
                log.warning("%s: %s(%s) failed (%s); retry %d/%d in %.1f s", self.source, label, shown,
                            message, attempt + 1, self.retries, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
