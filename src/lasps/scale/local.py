"""The local executor: in-process (default) or a pool of ``spawn``-ed worker processes on this machine.

``LocalExecutor()`` (one worker) runs every task in the calling process, one after another, with the
shared object passed by reference — the plain path, no copies, no pickling. ``LocalExecutor(workers=4)``
starts a :class:`concurrent.futures.ProcessPoolExecutor` with the **spawn** start method: numba's OpenMP
threading layer is not fork-safe once a parallel kernel has run in the parent, and a forked child of a
process with live thread pools can deadlock.

Shared storage for the pool is a file, written once per :meth:`LocalExecutor.put`: the object is pickled
with protocol 5 and its large buffers (every contiguous numpy array) are laid out **out of band**,
64-byte aligned, after the small pickle stream. A worker maps the file with ``mmap`` (copy-on-write,
``ACCESS_COPY``) and unpickles with those mapped buffers, so arrays are views of the page cache — no
copy, shared by every worker — and writable (a write copies only the touched page, privately). The file
goes to ``/dev/shm`` when it has room (memory-backed), else to the temporary directory. Each worker
keeps the last two shared objects it mapped, so consecutive tasks of a ``map`` reuse the mapping.

Pickling of tasks: ``fn`` and items go through the standard pickle, so ``fn`` must be importable
(module level) — lambdas and closures are refused by the pool (they work in-process).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import shutil
import struct
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from lasps.errors import ConfigError
from lasps.scale.base import Shared, call_task, cpu_count, windowed

__all__ = ["FileShared", "InProcessShared", "LocalExecutor", "load_shared", "write_shared"]

T = TypeVar("T")
R = TypeVar("R")

_MAGIC = b"LASPSSH1"
_ALIGN = 64
_HEADER = struct.Struct("<8sQQ")      # magic, pickle length, number of out-of-band buffers
_ENTRY = struct.Struct("<QQ")         # offset, length of one buffer
_CACHE_SIZE = 2


class InProcessShared(Shared[T]):
    """The shared object itself, for the in-process (one worker) mode: nothing is copied."""

    kind = "local"

    def __init__(self, obj: T) -> None:
        self.obj: T | None = obj

    def release(self) -> None:
        self.obj = None


class FileShared(Shared[T]):
    """A shared object written to a file (see the module docstring); picklable, so it can go to workers."""

    kind = "local"

    def __init__(self, path: str, token: str, nbytes: int) -> None:
        self.path = path
        self.token = token
        self.nbytes = nbytes

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FileShared, (self.path, self.token, self.nbytes))

    def __repr__(self) -> str:
        return f"FileShared({self.path!r}, {self.nbytes:,} bytes)"


def _pad(n: int) -> int:
    return (-n) % _ALIGN


def _choose_dir(nbytes: int, preferred: str | None) -> str:
    if preferred:
        return preferred
    shm = "/dev/shm"
    try:
        if os.path.isdir(shm) and os.access(shm, os.W_OK) and \
                shutil.disk_usage(shm).free > nbytes * 1.1 + (64 << 20):
            return shm
    except OSError:  # pragma: no cover - unusual mounts
        pass
    return tempfile.gettempdir()


def write_shared(obj: Any, directory: str | None = None) -> FileShared[Any]:
    """Pickle ``obj`` (protocol 5, large buffers out of band and aligned) into a new file; return its handle.

    ``directory`` defaults to ``/dev/shm`` when it has room for the object, else the temporary directory.
    """
    buffers: list[pickle.PickleBuffer] = []
    meta = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    sizes = [r.nbytes for r in raws]
    head = _HEADER.size + _ENTRY.size * len(raws)
    offset = head + len(meta)
    offsets = []
    for size in sizes:
        offset += _pad(offset)
        offsets.append(offset)
        offset += size
    total = offset
    token = uuid.uuid4().hex
    path = os.path.join(_choose_dir(total, directory), f"lasps-shared-{os.getpid()}-{token}.bin")
    try:
        with open(path, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, len(meta), len(raws)))
            for off, size in zip(offsets, sizes, strict=True):
                f.write(_ENTRY.pack(off, size))
            f.write(meta)
            pos = head + len(meta)
            for off, raw in zip(offsets, raws, strict=True):
                f.write(b"\0" * (off - pos))
                f.write(raw)
                pos = off + raw.nbytes
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise ConfigError(f"cannot write the shared object ({total:,} bytes) to {path}: {exc.strerror}",
                          where=path, fix="free space there, or pass tmpdir= to LocalExecutor") from exc
    finally:
        for r in raws:
            r.release()
    return FileShared(path, token, total)


_CACHE: OrderedDict[str, Any] = OrderedDict()


def load_shared(handle: FileShared[T]) -> T:
    """The object behind ``handle``, mapped copy-on-write (cached per process, the last two handles)."""
    obj = _CACHE.get(handle.token)
    if obj is not None:
        _CACHE.move_to_end(handle.token)
        return obj  # type: ignore[no-any-return]
    with open(handle.path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    view = memoryview(mm)
    magic, meta_len, nbuf = _HEADER.unpack_from(view, 0)
    if magic != _MAGIC:  # pragma: no cover - a foreign file
        raise ValueError(f"{handle.path} is not a LASPS shared-object file")
    entries = [_ENTRY.unpack_from(view, _HEADER.size + i * _ENTRY.size) for i in range(nbuf)]
    start = _HEADER.size + _ENTRY.size * nbuf
    buffers = [view[off:off + size] for off, size in entries]
    obj = pickle.loads(view[start:start + meta_len], buffers=buffers)
    _CACHE[handle.token] = obj
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return obj  # type: ignore[no-any-return]


def _pool_task(fn: Callable[..., R], threads: int | None, handle: FileShared[Any] | None, item: Any) -> R:
    """Entry point of a pool worker: resolve the shared object, then :func:`call_task`."""
    shared = load_shared(handle) if handle is not None else None
    return call_task(fn, threads, handle is not None, shared, item)


class LocalExecutor:
    """Executor on this machine: in-process for one worker, else a ``spawn`` process pool.

    Parameters
    ----------
    workers:
        Tasks at a time. ``None`` or 1: in the calling process (no copies, no pickling); ``0``: one per
        CPU; ``n > 1``: a pool of ``n`` spawned processes.
    threads:
        numba threads per pool worker (default: CPUs // workers, at least 1). Ignored in-process (the
        process keeps its own setting).
    tmpdir:
        Where shared-object files go (default ``/dev/shm`` when it has room, else the temp directory).
    max_in_flight:
        Tasks submitted but not yet consumed (default ``2 * workers``): bounds the memory that finished
        but unread results hold.
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, threads: int | None = None, tmpdir: str | Path | None = None,
                 max_in_flight: int | None = None) -> None:
        if workers is not None and workers < 0:
            raise ConfigError(f"workers must be >= 0, got {workers}", where="--workers",
                              fix="use 1 (in-process), 0 (one per CPU) or a positive number")
        n = 1 if workers is None else (cpu_count() if workers == 0 else int(workers))
        self._workers = n
        self.threads = max(1, int(threads)) if threads else max(1, cpu_count() // n)
        self.tmpdir = str(tmpdir) if tmpdir is not None else None
        self.max_in_flight = max(1, int(max_in_flight)) if max_in_flight else 2 * n
        self._pool: ProcessPoolExecutor | None = None
        self._handles: list[Shared[Any]] = []
        self._closed = False

    # ------------------------------------------------------------------------------ protocol

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def in_process(self) -> bool:
        """True when tasks run in the calling process (one worker)."""
        return self._workers == 1

    def put(self, obj: T) -> Shared[T]:
        """In-process: a reference to ``obj``; pool: ``obj`` written once to a shared file."""
        self._check_open()
        handle: Shared[T] = InProcessShared(obj) if self.in_process else write_shared(obj, self.tmpdir)
        self._handles.append(handle)
        return handle

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, shared: Any = None) -> Iterator[R]:
        for _, result in self._run(fn, items, shared, ordered=True):
            yield result

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[Any], *,
                       shared: Any = None) -> Iterator[tuple[int, R]]:
        return self._run(fn, items, shared, ordered=False)

    def close(self) -> None:
        """Shut the pool down and delete the shared files (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for h in self._handles:
            h.release()
        self._handles.clear()
        self._closed = True

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "in-process" if self.in_process else f"{self._workers} spawned processes x {self.threads} threads"
        return f"LocalExecutor({mode})"

    # ------------------------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this executor is closed")

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _shared(self, shared: Any) -> tuple[Shared[Any] | None, bool]:
        """``(handle, temporary)``: a handle for ``shared`` and whether this call must release it."""
        if shared is None:
            return None, False
        if isinstance(shared, Shared):
            expected = InProcessShared if self.in_process else FileShared
            if not isinstance(shared, expected):
                raise ConfigError("this shared handle was made by another executor",
                                  fix="pass the handle to the executor whose put() made it, or the object itself")
            return shared, False
        handle: Shared[Any] = InProcessShared(shared) if self.in_process else write_shared(shared, self.tmpdir)
        return handle, True

    def _run(self, fn: Callable[..., R], items: Iterable[Any], shared: Any, ordered: bool) -> Iterator[tuple[int, R]]:
        self._check_open()
        handle, temporary = self._shared(shared)
        try:
            if self.in_process:
                obj = handle.obj if isinstance(handle, InProcessShared) else None
                for i, item in enumerate(items):
                    yield i, call_task(fn, None, handle is not None, obj, item)
                return
            pool = self._ensure_pool()
            file_handle = handle if isinstance(handle, FileShared) else None

            def submit(item: Any) -> Future[R]:
                return pool.submit(_pool_task, fn, self.threads, file_handle, item)

            def wait_some(futures: list[Future[R]]) -> list[Future[R]]:
                return list(wait(futures, return_when=FIRST_COMPLETED)[0])

            yield from windowed(items, submit, wait_some, lambda f: f.result(), lambda f: f.cancel(),
                                self.max_in_flight, ordered)
        finally:
            if temporary and handle is not None:
                handle.release()
