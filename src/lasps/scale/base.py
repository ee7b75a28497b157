"""The executor contract shared by the local and the Ray executor (DESIGN §10).

An :class:`Executor` runs one function over many small work items, in parallel, next to one large
read-only object that every item needs — in LASPS that object is the market :class:`~lasps.data.panel.Panel`
(or an :class:`~lasps.research.evaluate.Evaluation`) and the items are alpha batches, walk-forward
configurations or evaluation batches::

    with get_executor("ray") as ex:
        handle = ex.put(panel)                       # shipped once (object store / shared file)
        for result in ex.map(task, items, shared=handle):
            ...                                      # task(panel, item) ran in a worker

Rules every task follows (what makes the executors interchangeable):

* ``fn`` is a module-level function (or a picklable callable) — it is sent to worker processes by
  reference; ``fn(shared, item)`` when ``shared`` is given, else ``fn(item)``.
* The shared object arrives **read-only** in a worker (zero-copy views of the object store or of a
  shared-memory file); a task that needs to write makes its own copy.
* Items and results are pickled; keep results small (statistics, names) or accept that they travel.
* Results are a pure function of ``(shared, item)``: the same bits whatever executor, worker count or
  completion order (numba kernels here split work by columns or rows, never by thread count).

Each task sets the numba thread count of its worker to the CPUs the executor gives it, so that
``workers x threads`` never oversubscribes the machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

__all__ = [
    "EXECUTOR_NAMES",
    "Executor",
    "Shared",
    "balanced_chunks",
    "call_task",
    "cpu_count",
    "limit_threads",
    "windowed",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_NAMES: tuple[str, ...] = ("local", "ray")
"""Names accepted by :func:`lasps.scale.get_executor` (``LASPS_EXECUTOR``, ``executor`` in lasps.toml)."""


class Shared(Generic[T]):
    """Handle of an object placed once in an executor's shared storage (see :meth:`Executor.put`).

    Pass it as ``shared=`` to :meth:`Executor.map` any number of times; the object is not copied
    again. :meth:`release` frees the storage (also done by :meth:`Executor.close`).
    """

    #: Name of the executor kind that created the handle (``"local"`` or ``"ray"``).
    kind: str = "abstract"
    #: Bytes the object occupies in shared storage (0 when it is passed by reference in-process).
    nbytes: int = 0

    def release(self) -> None:
        """Free the shared copy (idempotent). Tasks already running keep their view."""


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn`` over work items in parallel next to one shared object (see the module docstring)."""

    #: ``"local"`` or ``"ray"``.
    name: str

    @property
    def workers(self) -> int:
        """How many tasks run at the same time (the default number of batches to split work into)."""
        ...

    def put(self, obj: T) -> Shared[T]:
        """Place ``obj`` once in shared storage and return its handle."""
        ...

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, shared: Any = None) -> Iterator[R]:
        """Yield ``fn(shared, item)`` (or ``fn(item)``) for every item, **in input order**, lazily.

        ``shared`` is a :class:`Shared` handle or a plain object (placed in shared storage for this
        call only and released afterwards). A task's exception is raised here.
        """
        ...

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[Any], *,
                       shared: Any = None) -> Iterator[tuple[int, R]]:
        """Yield ``(index of the item, result)`` as tasks finish (completion order)."""
        ...

    def close(self) -> None:
        """Release shared objects and workers (and the Ray instance the executor started)."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


# ------------------------------------------------------------------------------------- helpers


def limit_threads(threads: int) -> int:
    """Set this thread's numba thread count to ``threads`` (bounded by what numba allows); returns it.

    Called at the start of every task; imports numba only when the process already uses it or the
    task is about to (cheap: numba is cached after the first import).
    """
    threads = max(1, int(threads))
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a core dependency
        return threads
    n = min(threads, int(getattr(numba.config, "NUMBA_NUM_THREADS", threads)))
    numba.set_num_threads(n)
    return n


def call_task(fn: Callable[..., R], threads: int | None, has_shared: bool, shared: Any, item: Any) -> R:
    """Run one task in a worker: limit numba threads, then ``fn(shared, item)`` or ``fn(item)``."""
    if threads:
        limit_threads(threads)
    return fn(shared, item) if has_shared else fn(item)


def balanced_chunks(items: list[T], n: int) -> list[list[T]]:
    """Split ``items`` into at most ``n`` contiguous chunks whose lengths differ by at most one."""
    n = max(1, min(int(n), len(items)))
    if not items:
        return []
    q, r = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        stop = start + q + (1 if i < r else 0)
        out.append(items[start:stop])
        start = stop
    return out


def windowed(items: Iterable[Any], submit: Callable[[Any], Any], wait_some: Callable[[list[Any]], list[Any]],
             result: Callable[[Any], R], cancel: Callable[[Any], None], max_in_flight: int,
             ordered: bool) -> Iterator[tuple[int, R]]:
    """Drive asynchronous tasks with at most ``max_in_flight`` submitted-but-unconsumed results.

    ``submit(item)`` starts a task and returns its token (a future, an object reference);
    ``wait_some(tokens)`` blocks until at least one is finished and returns the finished ones;
    ``result(token)`` fetches a result (raising the task's exception); ``cancel(token)`` abandons a
    task when the consumer stops early. Yields ``(index, result)`` in input order when ``ordered``,
    else in completion order. Items are read lazily, so a generator of items is fine.
    """
    source = enumerate(items)
    pending: dict[Any, int] = {}
    early: dict[int, R] = {}
    next_out = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) + len(early) < max_in_flight:
                try:
                    i, item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending[submit(item)] = i
            if not pending:
                break
            for token in sorted(wait_some(list(pending)), key=lambda t: pending[t]):
                i = pending.pop(token)
                value = result(token)
                if ordered:
                    early[i] = value
                else:
                    yield i, value
            while ordered and next_out in early:
                yield next_out, early.pop(next_out)
                next_out += 1
    finally:
        for token in pending:
            cancel(token)


def cpu_count() -> int:
    """CPUs this process may run on (affinity-aware where the platform says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
