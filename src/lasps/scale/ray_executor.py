"""The Ray executor (optional extra: ``pip install 'lasps[ray]'``).

The shared object goes into Ray's object store **once** (:meth:`RayExecutor.put` = ``ray.put``); every
task gets the object reference as a top-level argument, which Ray resolves in the worker to zero-copy,
**read-only** numpy views of the store on that node (one transfer per node, not per task). Tasks are
``@ray.remote`` calls of :func:`lasps.scale.base.call_task` with ``num_cpus = cpus_per_task``, and each
task sets its numba thread count to the same number.

Connecting: ``RayExecutor(address)`` joins a running cluster (``"auto"``, ``"host:6379"`` or a Ray client
URL ``"ray://host:10001"``); without an address it starts a local instance (``num_cpus`` CPUs, no
dashboard) that :meth:`RayExecutor.close` shuts down again. If Ray is already initialised in this
process (a notebook, a test fixture), that instance is used and left running. Every node of a cluster
needs the same Python environment with ``lasps`` installed (or pass ``init_kwargs={"runtime_env": …}``)
and, for tasks that read or write ``$LASPS_HOME``, the same home on a shared filesystem.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from lasps.errors import ConfigError
from lasps.scale.base import Shared, call_task, windowed

__all__ = ["RayExecutor", "RayShared", "import_ray"]

T = TypeVar("T")
R = TypeVar("R")

INSTALL_FIX = "pip install 'lasps[ray]' (or pip install 'ray[default]'), or use executor = \"local\""


def import_ray() -> Any:
    """Import ``ray`` or raise a :class:`~lasps.errors.ConfigError` that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("the 'ray' executor needs Ray, which is not installed in this environment",
                          where="executor = 'ray' (--executor, LASPS_EXECUTOR or lasps.toml)",
                          fix=INSTALL_FIX) from exc
    return ray


class RayShared(Shared[T]):
    """An object in the Ray object store (holds the ``ObjectRef``; dropping it lets Ray free the object)."""

    kind = "ray"

    def __init__(self, ref: Any) -> None:
        self.ref: Any = ref

    def release(self) -> None:
        self.ref = None

    def __repr__(self) -> str:
        return f"RayShared({self.ref!r})"


class RayExecutor:
    """Executor on a Ray cluster (or a local Ray instance); see the module docstring.

    Parameters
    ----------
    address:
        Cluster to join (``LASPS_RAY_ADDRESS``); ``None`` starts a local instance.
    num_cpus:
        CPUs of the local instance (ignored when joining a cluster).
    cpus_per_task:
        CPUs Ray reserves per task, and the numba threads each task uses (default 1).
    max_in_flight:
        Tasks submitted but not yet consumed (default ``2 * workers``); bounds object-store use by
        finished results.
    init_kwargs:
        Extra ``ray.init`` arguments (``runtime_env``, ``namespace`` …).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, cpus_per_task: int = 1,
                 max_in_flight: int | None = None, init_kwargs: dict[str, Any] | None = None) -> None:
        ray = import_ray()
        self._ray = ray
        self._owns = False
        if cpus_per_task < 1:
            raise ConfigError(f"cpus_per_task must be >= 1, got {cpus_per_task}")
        self.cpus_per_task = int(cpus_per_task)
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            if address and address != "local":
                kwargs["address"] = address
            elif num_cpus is not None:
                kwargs["num_cpus"] = int(num_cpus)
            kwargs.update(init_kwargs or {})
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot start or join Ray at {address or 'a new local instance'}: {exc}",
                                  where="ray_address (LASPS_RAY_ADDRESS or lasps.toml)",
                                  fix="start the head node with `ray start --head` and pass its address "
                                      "(e.g. LASPS_RAY_ADDRESS=auto or host:6379), or leave it unset "
                                      "for a local instance") from exc
            self._owns = True
        self._remote = ray.remote(call_task)
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        self._workers = max(1, int(cpus // self.cpus_per_task))
        self.max_in_flight = max(1, int(max_in_flight)) if max_in_flight else 2 * self._workers
        self._handles: list[RayShared[Any]] = []
        self._closed = False

    # ------------------------------------------------------------------------------ protocol

    @property
    def workers(self) -> int:
        """Cluster CPUs // cpus_per_task (read when the executor was made)."""
        return self._workers

    def put(self, obj: T) -> Shared[T]:
        """``ray.put(obj)``: one copy in the object store, read zero-copy by the tasks on each node."""
        self._check_open()
        handle: RayShared[T] = RayShared(self._ray.put(obj))
        self._handles.append(handle)
        return handle

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, shared: Any = None) -> Iterator[R]:
        for _, result in self._run(fn, items, shared, ordered=True):
            yield result

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[Any], *,
                       shared: Any = None) -> Iterator[tuple[int, R]]:
        return self._run(fn, items, shared, ordered=False)

    def close(self) -> None:
        """Drop the shared objects; shut Ray down if this executor started it (idempotent)."""
        for h in self._handles:
            h.release()
        self._handles.clear()
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False
        self._closed = True

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayExecutor({self._workers} workers x {self.cpus_per_task} CPU)"

    # ------------------------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this executor is closed")

    def _run(self, fn: Callable[..., R], items: Iterable[Any], shared: Any, ordered: bool) -> Iterator[tuple[int, R]]:
        self._check_open()
        ray = self._ray
        if shared is None:
            ref = None
        elif isinstance(shared, Shared):
            if not isinstance(shared, RayShared):
                raise ConfigError("this shared handle was made by another executor",
                                  fix="pass the handle to the executor whose put() made it, or the object itself")
            ref = shared.ref
        else:
            ref = ray.put(shared)  # for this call only: dropped with the generator
        remote = self._remote.options(num_cpus=self.cpus_per_task)
        has_shared = shared is not None

        def submit(item: Any) -> Any:
            return remote.remote(fn, self.cpus_per_task, has_shared, ref, item)

        def wait_some(refs: list[Any]) -> list[Any]:
            return list(ray.wait(refs, num_returns=1)[0])

        def cancel(r: Any) -> None:
            with contextlib.suppress(Exception):  # already finished, or the cluster is gone
                ray.cancel(r)

        yield from windowed(items, submit, wait_some, ray.get, cancel, self.max_in_flight, ordered)
