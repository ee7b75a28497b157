"""The source registry: a source by its ``--source`` name (DESIGN §2.2).

Kept apart from :mod:`lasps.data.sources.base` (which every source imports) so that the registry can
import the sources without an import loop. The network sources are imported when they are asked for:
``pykrx`` and ``FinanceDataReader`` are optional extras (``pip install -e '.[sources]'``), and the
synthetic market compiles numba kernels — ``lasps data import`` needs none of them.
"""

from __future__ import annotations

from typing import Any

from lasps.config import Settings
from lasps.data.sources.base import Source
from lasps.errors import ConfigError

#: Names accepted by :func:`get_source` (``--source``).
KNOWN_SOURCES: tuple[str, ...] = ("synthetic", "pykrx", "fdr", "files")


def get_source(name: str, settings: Settings, **options: Any) -> Source:
    """Instantiate the source registered as ``name``.

    ``options`` go to the source's constructor (e.g. ``client=`` for a recorded/fake client in tests,
    ``path=`` and ``fmt=`` for ``files``). Raises :class:`ConfigError` for an unknown name (listing the
    known ones) or a source whose optional dependency is missing.
    """
    key = (name or "").strip().lower()
    if key == "pykrx":
        from lasps.data.sources.pykrx_source import PykrxSource

        return PykrxSource(settings, **options)
    if key in {"fdr", "financedatareader"}:
        from lasps.data.sources.fdr_source import FdrSource

        return FdrSource(settings, **options)
    if key == "files":
        from lasps.data.sources.files import FilesSource

        if "path" not in options:
            raise ConfigError("the files source needs a path", where="--source files",
                              fix="use `lasps data import PATH` to import files")
        return FilesSource(**options)
    if key == "synthetic":
        try:
            from lasps.data.sources import synthetic as synthetic_module
        except ImportError as exc:  # pragma: no cover - depends on another module being present
            raise ConfigError("the synthetic source is not available in this installation",
                              where="--source synthetic", fix="reinstall LASPS") from exc
        cls = getattr(synthetic_module, "SyntheticSource", None)
        if cls is None:  # pragma: no cover
            raise ConfigError("lasps.data.sources.synthetic defines no SyntheticSource",
                              where="--source synthetic", fix="use `lasps data init --source synthetic`")
        try:
            return cls(settings=settings, **options)  # type: ignore[no-any-return]
        except TypeError:  # pragma: no cover - constructor without settings
            return cls(**options)  # type: ignore[no-any-return]
    raise ConfigError(
        f"unknown data source {name!r}",
        where="--source",
        fix=f"use one of: {', '.join(KNOWN_SOURCES)}",
    )


__all__ = ["KNOWN_SOURCES", "get_source"]
