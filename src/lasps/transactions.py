"""One ``BEGIN … COMMIT / ROLLBACK`` helper shared by every store (DuckDB market store, SQLite journal,
paper broker): an exception inside the block rolls everything back and re-raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

C = TypeVar("C")


@contextmanager
def transaction(con: C, begin: str = "BEGIN TRANSACTION") -> Iterator[C]:
    """Run the block in one transaction on ``con`` (anything with ``execute``); yields ``con``.

    SQLite writers pass ``begin="BEGIN IMMEDIATE"`` to take the write lock up front.
    """
    execute: Any = con.execute  # type: ignore[attr-defined]
    execute(begin)
    try:
        yield con
    except BaseException:
        execute("ROLLBACK")
        raise
    else:
        execute("COMMIT")
