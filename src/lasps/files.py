"""Writing files: the one atomic writer and the one JSON contract.

Every file LASPS writes goes through this module, so a reader (the service, a second command, a run
resumed after ``kill -9``) sees either the previous version of a file or the next one, never half of one:

1. the bytes go to a temporary file **in the same directory** (``.NAME.XXXXXX.tmp``; same file system, so
   the rename below is atomic),
2. the temporary file is flushed and ``fsync``-ed (its contents are on disk before its name is),
3. it gets the usual permissions (``0o666`` minus the umask — ``mkstemp`` would leave ``0o600``),
4. it is renamed over the target (``os.replace``), and
5. the directory is ``fsync``-ed (the rename itself is on disk).

On any error (or ``KeyboardInterrupt``) the temporary file is removed and the target is untouched.

JSON: strict (RFC 8259) — NaN and ±inf are written as ``null``, numpy scalars and arrays as plain numbers
and lists, dates as ISO ``YYYY-MM-DD`` (datetimes ``YYYY-MM-DDTHH:MM:SS``), paths as strings; UTF-8 (no
``\\uXXXX`` escapes for Korean names); keys in insertion order unless ``sort_keys``; ``indent=2`` and a
final newline for files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_mode",
    "fsync_dir",
    "json_dumps",
    "json_safe",
    "publish_dir",
    "staging_dir",
    "write_json",
]


def file_mode() -> int:
    """``0o666`` minus the process umask: what a plain ``open(path, "w")`` would create."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(path: Path | str) -> None:
    """``fsync`` the directory ``path`` so that renames inside it survive a power cut (no-op where a
    directory cannot be opened, e.g. on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path | str) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_write(path: Path | str, write: Callable[[Path], object]) -> Path:
    """Create ``path`` atomically with ``write(tmp)``, a callable that writes the whole file at ``tmp``
    (e.g. ``lambda p: frame.to_parquet(p)``); parents are created. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring). Returns ``path``."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically, without newline translation. Returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def staging_dir(final: Path | str) -> Iterator[Path]:
    """A fresh temporary directory beside ``final`` (``.tmp-NAME-XXXXXX``) to fill and then
    :func:`publish_dir`; removed (with its contents) if the block raises."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish_dir(tmp: Path | str, final: Path | str) -> Path:
    """Move the filled directory ``tmp`` to ``final`` (same parent): every file in it is fsynced, an
    existing ``final`` is renamed aside first and removed after, and the parent is fsynced. A crash leaves
    either the old directory or the new one under ``final`` (at worst with a ``.old-PID`` beside it)."""
    tmp, final = Path(tmp), Path(final)
    for root, _dirs, names in os.walk(tmp):
        for name in names:
            _fsync_file(Path(root) / name)
        fsync_dir(root)
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def json_safe(obj: Any) -> Any:
    """``obj`` made of plain JSON values only: NaN/±inf -> None, numpy scalars -> Python numbers, numpy
    arrays/tuples/sets -> lists, mapping keys -> ``str``, dates -> ISO strings, paths -> ``str``; anything
    else unknown -> ``str(obj)``."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return json_safe(obj.tolist())
    if hasattr(obj, "item"):
        return json_safe(obj.item())
    return str(obj)


def json_dumps(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``obj`` as strict JSON text (see :func:`json_safe`), UTF-8 characters unescaped, no final newline."""
    return json.dumps(json_safe(obj), indent=indent, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)


def write_json(path: Path | str, obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write ``obj`` to ``path`` as strict JSON plus a final newline, atomically. Returns ``path``."""
    return atomic_write_text(path, json_dumps(obj, indent=indent, sort_keys=sort_keys) + "\n")
