"""The Python API behind :class:`lasps.Workspace`: ``ws.alphas``, ``ws.research``, ``ws.backtest``.

Every result is a pandas object with a documented shape (see ``docs/tutorial.md``):

* **wide** frames are *dates × codes*: a ``DatetimeIndex`` named ``date`` (trading dates, ascending) and
  columns named ``code`` (6-character KRX codes as strings);
* **long** frames have one row per record and name their columns;
* :meth:`ResearchAPI.to_alphalens` gives alphalens' ``factor_data``: a ``(date, asset)`` MultiIndex,
  one forward-return column per period (``1D``, ``5D``, …), ``factor``, ``factor_quantile`` and, when
  asked, ``group``.

Timing is the research contract (:class:`~lasps.research.timing.Timing`, DESIGN §4): a value dated t
uses data through the close of t; forward returns are entered at the next open by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from lasps.alpha.engine import alpha_lookback, compile_alphas
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError
from lasps.research import io as rio
from lasps.research.alpha_values import stored_or_computed
from lasps.research.evaluate import EvalConfig, evaluate_arrays
from lasps.research.forward import panel_forward_returns
from lasps.research.splits import SplitSpec

if TYPE_CHECKING:
    from lasps.alpha.catalogue import Catalogue
    from lasps.config import Settings
    from lasps.data.panel import Panel
    from lasps.research.evaluate import Evaluation


class Workspace(Protocol):
    """What the API needs of :class:`lasps.workspace.Workspace` (which builds these objects)."""

    @property
    def home(self) -> Path: ...
    settings: Settings
    catalogue: Catalogue
    alphas: AlphasAPI

    def panel(self, fields: list[str] | None = None, start: str | dt.date | None = None,
              end: str | dt.date | None = None, universe: str = "default",
              min_history: int | None = None) -> Panel: ...

    def session_before(self, start: dt.date, rows: int) -> dt.date: ...

AlphaKeys = int | str | Sequence[int | str] | None


def wide_frame(values: np.ndarray, dates: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """A ``(T, N)`` array as a *dates × codes* frame (index ``date``, columns ``code``)."""
    return pd.DataFrame(np.asarray(values), index=pd.DatetimeIndex(dates, name="date"),
                        columns=pd.Index([str(c) for c in codes], name="code"))


def _quantile(x: pd.Series, quantiles: int) -> pd.Series:
    """Equal-count buckets 1..``quantiles`` of one date (alphalens' rule); NaN when they cannot be formed."""
    try:
        return pd.qcut(x, quantiles, labels=False) + 1
    except ValueError:
        return pd.Series(np.nan, index=x.index)


class AlphasAPI:
    """Alpha values of a workspace (``ws.alphas``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def names(self, alphas: AlphaKeys = None) -> list[str]:
        """Catalogue names for ids/names (``1`` or ``"1"`` -> ``alpha_001``); None = every stored alpha, or
        the whole catalogue when none is stored."""
        if alphas is None:
            stored = rio.stored_alpha_names(self.ws.home)
            return stored or list(self.ws.catalogue)
        keys = [alphas] if isinstance(alphas, int | str) else list(alphas)
        out: list[str] = []
        for key in keys:
            for k in rio.parse_alpha_keys(str(key)):
                name = self.ws.catalogue.resolve(int(k) if k.isdigit() else k).name
                if name not in out:
                    out.append(name)
        return out

    def compute(self, alphas: AlphaKeys, start: str | dt.date | None = None, end: str | dt.date | None = None,
                universe: str = "default") -> dict[str, pd.DataFrame]:
        """Compute alphas with the engine over ``[start, end]`` (each alpha's warm-up is loaded before
        ``start``); ``{name: dates × codes frame}``. Alphas the data cannot provide are left out
        (:meth:`unavailable` says why)."""
        names = self.names(alphas)
        s = parse_optional_date(start, option="start")
        warm = max((alpha_lookback(self.ws.catalogue[n]) for n in names), default=0)
        load_start = self.ws.session_before(s, warm) if s is not None else None
        panel = self.ws.panel(start=load_start, end=end, universe=universe)
        first = 0 if s is None else int(np.searchsorted(panel.dates, np.datetime64(s, "D")))
        program = compile_alphas(names, panel, catalogue=self.ws.catalogue)
        self._unavailable = dict(program.unavailable)
        out: dict[str, pd.DataFrame] = {}
        for name, arr in program.run(panel):
            out[name] = wide_frame(arr[first:], panel.dates[first:], panel.codes)
        return out

    def unavailable(self) -> dict[str, str]:
        """``{alpha: reason}`` of the last :meth:`compute`."""
        return dict(getattr(self, "_unavailable", {}))


@dataclass
class ResearchResult:
    """One evaluation (:meth:`ResearchAPI.evaluate`).

    Attributes
    ----------
    evaluation:
        The :class:`~lasps.research.evaluate.Evaluation` (arrays: ``ic`` is ``(V, T)``, …).
    ranking:
        Long frame, one row per variant and split (``train``, ``val``, ``test``, ``all``) with the columns
        of ``research/rank_latest.csv``: ``variant, split, n_days, coverage, ic_mean, ic_std, ic_ir,
        ic_t_nw, hit_rate, q_spread, ls_return, lo_return, turnover``.
    ic:
        Daily rank IC, *dates × variants* (index ``date`` = signal date; known ``lag`` sessions later).
    run_id:
        The run id when the results were written (``write=True``), else None.
    """

    evaluation: Evaluation
    ranking: pd.DataFrame
    ic: pd.DataFrame
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def top(self, split: str = "test", by: str = "ic_ir", n: int = 10) -> pd.DataFrame:
        """The ``n`` best rows of ``split`` by ``by`` (choosing from it is in-sample selection)."""
        rows = self.ranking[self.ranking["split"] == split]
        return rows.sort_values(by, ascending=False, kind="mergesort").head(n).reset_index(drop=True)


class ResearchAPI:
    """Evaluation of alphas (``ws.research``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def evaluate(self, alphas: AlphaKeys = None, *, start: str | dt.date | None = None,
                 end: str | dt.date | None = None, universe: str = "default", horizon: int = 5, entry: str = "open",
                 quantiles: int = 10, train_end: str = "2022-12-31", val_end: str = "2023-12-31",
                 write: bool = False) -> ResearchResult:
        """Evaluate alphas in both directions (stored values where a file exists, computed otherwise).

        ``write=True`` also writes the research files and ``eval_*`` rows exactly as ``lasps eval`` does
        (:func:`lasps.research.results.write_evaluation`).
        """
        cfg = EvalConfig(horizon=horizon, entry=entry, quantiles=quantiles,
                         splits=SplitSpec(train_end=train_end, val_end=val_end))
        names = self.ws.alphas.names(alphas)
        stored = set(rio.stored_alpha_names(self.ws.home))
        computed = [n for n in names if n not in stored]
        panel = self.ws.panel(start=start, end=end, universe=universe)
        unavailable: dict[str, str] = {}
        values = stored_or_computed(panel, names, computed, home=self.ws.home, catalogue=self.ws.catalogue,
                                    unavailable=unavailable)
        fwd = panel_forward_returns(panel, cfg.horizon, cfg.entry)
        ev = evaluate_arrays(values, fwd, panel.universe_mask, panel.dates, panel.codes, cfg, unavailable=unavailable)
        ev.unavailable.update(unavailable)
        run_id = None
        if write:
            from lasps.research.results import write_evaluation

            params = {"alphas": names, "horizon": horizon, "entry": entry, "quantiles": quantiles,
                      "universe": universe, "start": str(start) if start else None, "end": str(end) if end else None,
                      "train_end": train_end, "val_end": val_end}
            files = write_evaluation(self.ws, ev, command="python", params=params)
            run_id, table = files.run_id, files.table
        else:
            from lasps.research.ranking import rank_table

            table = rank_table(ev)
        ic = pd.DataFrame(ev.ic.T, index=pd.DatetimeIndex(ev.dates, name="date"),
                          columns=pd.Index(list(ev.variants), name="variant"))
        return ResearchResult(ev, table.frame, ic, run_id, [ev.splits.note])

    def to_alphalens(self, alpha: int | str, *, periods: Sequence[int] = (1, 5), quantiles: int = 5,
                     start: str | dt.date | None = None, end: str | dt.date | None = None,
                     universe: str = "default", entry: str = "open", groupby_sector: bool = False,
                     reverse: bool = False) -> pd.DataFrame:
        """alphalens' ``factor_data`` for one alpha (``alphalens.utils.get_clean_factor_and_forward_returns``).

        Index: ``(date, asset)`` MultiIndex (``datetime64`` signal dates, codes as strings). Columns: one
        forward return per period named ``f"{p}D"`` (:class:`~lasps.research.timing.Timing`: next-open
        entry ``open[t+1+p] / open[t+1] - 1`` by default, ``entry="close"`` for ``close[t+p] / close[t] - 1``),
        ``factor`` (the alpha, negated when ``reverse``), ``factor_quantile`` (1..``quantiles`` per date,
        equal-count buckets as alphalens' ``pd.qcut``) and, with ``groupby_sector``, ``group`` (the KRX
        sector label of IndNeutralize). Rows: codes in the universe on that date whose factor and every
        forward return are finite (alphalens drops the others too).

        Feed it to alphalens' tear sheets or its performance functions as is.
        """
        (name,) = self.ws.alphas.names(alpha)
        values = self.ws.alphas.compute(name, start=start, end=end, universe=universe)
        if name not in values:
            reason = self.ws.alphas.unavailable().get(name, "not computable from the stored data")
            raise ConfigError(f"{name} is unavailable: {reason}", where="alpha")
        factor = values[name]
        panel = self.ws.panel(start=factor.index[0].date(), end=end, universe=universe)
        if len(panel.dates) != len(factor.index):  # pragma: no cover - same store, same filter
            raise ConfigError("the factor and the price panel do not line up")
        mask = panel.universe_mask if panel.universe_mask is not None else np.ones(panel.shape, dtype=bool)
        x = np.where(mask, factor.to_numpy(dtype=np.float64), np.nan)
        if reverse:
            x = -x
        cols: dict[str, np.ndarray] = {}
        for p in periods:
            cols[f"{int(p)}D"] = panel_forward_returns(panel, int(p), entry).values
        ok = np.isfinite(x)
        for v in cols.values():
            ok &= np.isfinite(v)
        ti, ni = np.nonzero(ok)
        index = pd.MultiIndex.from_arrays([pd.DatetimeIndex(panel.dates[ti]), np.asarray(
            [str(c) for c in panel.codes], dtype=object)[ni]], names=["date", "asset"])
        frame = pd.DataFrame({k: v[ti, ni] for k, v in cols.items()}, index=index)
        frame["factor"] = x[ti, ni]
        if groupby_sector:
            labels = np.asarray([*panel.industry_labels, "unknown"], dtype=object)
            ind = panel.industry if panel.industry is not None else np.full(len(panel.codes), -1)
            frame["group"] = labels[np.where(ind[ni] >= 0, ind[ni], len(labels) - 1)]
        q = frame.groupby(level="date", group_keys=False)["factor"].apply(_quantile, quantiles)
        frame["factor_quantile"] = q.reindex(frame.index)
        frame = frame.dropna(subset=["factor_quantile"])
        frame["factor_quantile"] = frame["factor_quantile"].astype(int)
        return frame


@dataclass
class BacktestResult:
    """One simulated strategy (:meth:`BacktestAPI.run`).

    Attributes
    ----------
    summary:
        ``summary.json``'s content: strategy, parameters and ``total_return, annual_return, volatility,
        sharpe, max_drawdown, win_rate, profit_factor, turnover, fees, taxes, excess_return`` (fractions,
        KRW for fees/taxes; after commission, tax and slippage).
    daily:
        Frame indexed by ``date``: ``cash, positions_value, total_value, benchmark`` (KRW; benchmark =
        KOSPI scaled to the initial capital).
    trades:
        Long frame: ``date, code, side, qty, price, fee, tax, reason``.
    output:
        The runner's :class:`~lasps.backtest.runner.RunOutput`.
    """

    summary: dict[str, Any]
    daily: pd.DataFrame
    trades: pd.DataFrame
    output: Any


class BacktestAPI:
    """Portfolio simulation with KRX rules and costs (``ws.backtest``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def run(self, strategy: str = "single", alphas: str = "101", start: str | None = None, end: str | None = None,
            *, top: int = 5, rebalance: int = 5, capital: float = 100_000_000.0, universe: str = "default",
            write: bool = False) -> BacktestResult:
        """Simulate ``strategy`` on ``alphas`` (the ``lasps backtest run --alphas`` forms: ``1,4,44_rev``,
        ``top10:prior`` …) over ``[start, end]``; ``write=True`` also writes ``backtests/<run_id>/``."""
        from lasps.backtest.runner import RunParams, run_backtest  # loads scipy/empyrical: only when used

        params = RunParams(top=top, rebalance=rebalance, capital=capital, universe=universe, write=write)
        out = run_backtest(self.ws.home, strategy, alphas, start, end, params)
        daily = out.result.daily_frame()
        daily["date"] = pd.to_datetime(daily["date"])
        return BacktestResult(dict(out.summary), daily.set_index("date"), out.result.trades.reset_index(drop=True), out)


__all__ = ["AlphasAPI", "BacktestAPI", "BacktestResult", "ResearchAPI", "ResearchResult", "wide_frame"]
