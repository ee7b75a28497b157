"""Data layer: the DuckDB market store, the ``Panel``, calendar, universe & sectors, checks, sources.

Public API::

    from lasps.data import load_panel, Panel
"""

from lasps.data.panel import Panel
from lasps.data.panel_loader import load_panel

__all__ = ["Panel", "load_panel"]
