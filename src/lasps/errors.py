"""Errors that LASPS raises on bad input.

Every user-facing error says *what* is wrong, *where* (file, column, row, option) and *how to fix it*.
The CLI turns any :class:`LaspsError` into a red message and exit code 2; nothing is half-written
because every write happens inside a transaction that is only committed after validation.
"""

from __future__ import annotations


class LaspsError(Exception):
    """Base class for errors caused by the user's input or environment (exit code 2)."""

    exit_code: int = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"where: {self.where}")
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return "\n  ".join(parts)


class InputDataError(LaspsError):
    """Input data (a file, a source response) is malformed: missing columns, bad codes, bad dates."""


class ConfigError(LaspsError):
    """A setting, option or environment variable is invalid (unknown source, unwritable home …)."""


class StoreError(LaspsError):
    """The market store is missing, empty, locked or at an unsupported schema version."""


class UnavailableError(LaspsError):
    """A requested field or computation needs data that the loaded source does not provide."""
