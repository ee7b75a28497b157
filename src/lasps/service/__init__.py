"""The LASPS service (DESIGN §9): ``create_app(home)`` — JSON API, dashboard, token-protected order endpoints.

See :mod:`lasps.service.app` for the endpoints, :mod:`lasps.service.pages` for the dashboard and
:mod:`lasps.service.data` for how it reads while other processes write.
"""

from __future__ import annotations

from lasps.service.app import create_app

__all__ = ["create_app"]
