"""``lasps.Workspace``: the one object all work goes through (DESIGN §1).

A workspace is a LASPS home directory (``$LASPS_HOME``, default ``./lasps_home``) with its settings
(``lasps.toml`` + environment), its market store (``lasps.duckdb``) and its alpha catalogue (the 101
paper alphas, 201–205 and the user's own). CLI commands, the daily pipeline, the service and the
Python API take a workspace instead of a bare path::

    import lasps

    ws = lasps.Workspace.open("lasps_home")
    panel = ws.panel(start="2024-01-01")                 # lasps.data.panel.Panel, (T dates, N codes)
    close = panel.frame("close")                         # DataFrame: index dates, columns codes
    alphas = ws.alphas.compute([1, 101])                 # {name: DataFrame dates × codes}
    res = ws.research.evaluate([1, 101])                 # ranking, daily IC (see lasps.python_api)
    bt = ws.backtest.run("single", "101", start="2025-01-01")
    factor_data = ws.research.to_alphalens(101)          # alphalens' factor_data frame

The store is opened through :meth:`Workspace.store` — read-only unless a write asks for it, for one
short unit of work at a time, because DuckDB admits one writer *or* many readers per file across
processes and the daily pipeline, the service and the CLI share the file. Nothing else constructs a
:class:`~lasps.data.store.MarketStore`.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lasps.alpha.catalogue import get_catalogue
from lasps.config import Settings, ensure_home, get_settings
from lasps.data.panel_loader import load_panel
from lasps.data.store import MarketStore, db_path

if TYPE_CHECKING:
    from lasps.alpha.catalogue import Catalogue
    from lasps.data.panel import Panel


class Workspace:
    """Paths, settings, the market store and the catalogue of one LASPS home.

    Parameters
    ----------
    home:
        The home directory (``$LASPS_HOME``).
    settings:
        Settings for it (default: from ``lasps.toml`` and the environment, with ``home`` on top).
    """

    def __init__(self, home: Path | str, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else get_settings(home=Path(home))
        self._home = Path(home)

    @classmethod
    def open(cls, home: Path | str | None = None, *, create: bool = False, **overrides: Any) -> Workspace:
        """The workspace at ``home`` (default ``$LASPS_HOME`` / ``lasps.toml`` / ``./lasps_home``).

        ``create=True`` makes the directory (and checks it is writable); ``overrides`` are settings
        (e.g. ``universe_min_history=20``).
        """
        settings = get_settings(home=Path(home) if home is not None else None, **overrides)
        ws = cls(settings.home, settings)
        if create:
            ensure_home(ws.home)
        return ws

    def __repr__(self) -> str:
        return f"Workspace({str(self.home)!r})"

    # -- paths -------------------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        """The home directory."""
        return self._home

    @property
    def db_path(self) -> Path:
        """``home/lasps.duckdb``."""
        return db_path(self.home)

    def path(self, *parts: str) -> Path:
        """A path under the home (``ws.path("research", "rank_latest.csv")``)."""
        return self.home.joinpath(*parts)

    def ensure(self) -> Workspace:
        """Create the home directory if needed (:class:`~lasps.errors.ConfigError` when not writable)."""
        ensure_home(self.home)
        return self

    # -- the store ---------------------------------------------------------------------------------
    def store(self, *, write: bool = False) -> MarketStore:
        """The market store, read-only unless ``write`` (use as a context manager; a write migrates an
        older store to the current schema first)."""
        return MarketStore(self.home, read_only=not write)

    def init_synthetic(self, stocks: int = 500, years: float = 4.0, seed: int = 7, end: str = "2026-10-30") -> int:
        """Replace the store's market with the built-in synthetic KRX market (what ``lasps data init --source
        synthetic --replace`` does: deterministic from ``seed``); returns the price rows written."""
        import json

        from lasps.data.sources.synthetic import generate_synthetic

        self.ensure()
        args = json.dumps({"source": "synthetic", "stocks": stocks, "years": years, "seed": seed, "end": end},
                          sort_keys=True)
        bundle = generate_synthetic(stocks=stocks, years=years, seed=seed, end=end)
        with self.store(write=True) as store:
            return store.write_bundle(bundle, kind="init", replace=True, detail=args)

    def sessions(self) -> np.ndarray:
        """Every stored price date (``datetime64[D]``, ascending)."""
        with self.store() as store:
            return store.sessions()

    def session_before(self, start: dt.date, rows: int) -> dt.date:
        """The stored session ``rows`` sessions before ``start`` (``start`` itself when none is stored
        before it or ``rows <= 0``): where a computation must start for ``rows`` sessions of warm-up."""
        with self.store() as store:
            return store.warmup_start(start, rows)

    # -- the catalogue -----------------------------------------------------------------------------
    @cached_property
    def catalogue(self) -> Catalogue:
        """The alpha catalogue: built-ins plus the user alphas stored in this home (read once;
        :meth:`reload_catalogue` after ``lasps alpha add``)."""
        return get_catalogue(self.home)

    def reload_catalogue(self) -> Catalogue:
        """Re-read the user alphas."""
        self.__dict__.pop("catalogue", None)
        return self.catalogue

    # -- the Python API ----------------------------------------------------------------------------
    def panel(self, fields: list[str] | None = None, start: str | dt.date | None = None,
              end: str | dt.date | None = None, universe: str = "default", min_history: int | None = None) -> Panel:
        """A dense ``(T dates, N codes)`` :class:`~lasps.data.panel.Panel` (see
        :func:`lasps.data.panel_loader.load_panel`); ``panel.frame(field)`` gives a DataFrame."""
        return load_panel(fields, start=start, end=end, universe=universe, home=self.home,
                          min_history=self.settings.universe_min_history if min_history is None else min_history)

    @cached_property
    def alphas(self) -> Any:
        """Alpha values (:class:`lasps.python_api.AlphasAPI`)."""
        from lasps.python_api import AlphasAPI  # research/backtest load numba and scipy: only when used

        return AlphasAPI(self)

    @cached_property
    def research(self) -> Any:
        """Evaluation (:class:`lasps.python_api.ResearchAPI`)."""
        from lasps.python_api import ResearchAPI  # research/backtest load numba and scipy: only when used

        return ResearchAPI(self)

    @cached_property
    def backtest(self) -> Any:
        """Portfolio simulation (:class:`lasps.python_api.BacktestAPI`)."""
        from lasps.python_api import BacktestAPI  # research/backtest load numba and scipy: only when used

        return BacktestAPI(self)


def as_workspace(where: Workspace | Path | str | None) -> Workspace:
    """``where`` when it is a workspace, else the workspace at that home (``None``: the default home)."""
    if isinstance(where, Workspace):
        return where
    return Workspace.open(where)


__all__ = ["Workspace", "as_workspace"]
