"""Scale-out: run alpha batches and research sweeps on executors (DESIGN §10; ``docs/scale-out.md``).

Two executors implement the :class:`Executor` protocol, chosen by name (``executor`` in ``lasps.toml``,
``LASPS_EXECUTOR``, or ``--executor`` on the CLI):

``local`` (default)
    :class:`LocalExecutor` — in the calling process (one worker), or a pool of ``spawn``-ed processes on
    this machine with the shared object in a memory-mapped file.
``ray``
    :class:`RayExecutor` (optional extra ``pip install 'lasps[ray]'``) — a local Ray instance or the
    cluster at ``ray_address`` (``LASPS_RAY_ADDRESS``); the shared object goes to the object store once.

Users of the protocol: :func:`lasps.alpha.engine.compute` / :func:`~lasps.alpha.engine.run_batches`
(alpha batches that keep shared sub-expressions together), :func:`lasps.research.evaluate.evaluate_alphas`
(compute + evaluate per batch, only small statistics travel back) and
:func:`lasps.research.walkforward.walk_forward_grid` (one task per lookback x top-K configuration).
Every result is bit-for-bit the same as the in-process path.

This package depends on nothing above :mod:`lasps.errors`; Ray is imported only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lasps.errors import ConfigError
from lasps.scale.base import EXECUTOR_NAMES, Executor, Shared, balanced_chunks
from lasps.scale.local import LocalExecutor
from lasps.scale.ray_executor import RayExecutor, import_ray

if TYPE_CHECKING:
    from lasps.config import Settings
    from lasps.scale.ray_executor import RayExecutor

__all__ = [
    "EXECUTOR_NAMES",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "Shared",
    "balanced_chunks",
    "executor_name",
    "get_executor",
]


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":  # lazy: importing lasps.scale must not need (or import) ray
        from lasps.scale.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(name)


def executor_name(name: str | None, settings: Settings | None = None) -> str:
    """The executor name to use: ``name`` if given, else ``settings.executor``; validated and lower-cased."""
    raw = name if name is not None else (settings.executor if settings is not None else "local")
    key = str(raw).strip().lower()
    if key not in EXECUTOR_NAMES:
        raise ConfigError(f"unknown executor {raw!r}",
                          where="--executor, LASPS_EXECUTOR or executor in lasps.toml",
                          fix=f"choose one of {', '.join(EXECUTOR_NAMES)}")
    return key


def get_executor(name: str | None = None, settings: Settings | None = None, *, workers: int | None = None,
                 address: str | None = None, **kwargs: Any) -> Executor:
    """Make the executor called ``name`` (default: ``settings.executor``, else ``"local"``).

    Parameters
    ----------
    name:
        ``"local"`` or ``"ray"`` (case-insensitive).
    settings:
        Supplies the default name and ``ray_address``.
    workers:
        Local executor only: ``None``/1 in-process, 0 one per CPU, ``n`` spawned processes.
    address:
        Ray only: the cluster address; default ``settings.ray_address``; ``None`` starts a local instance.
    kwargs:
        Passed to the executor's constructor (``num_cpus``, ``cpus_per_task``, ``init_kwargs``, ``tmpdir`` …).

    Raises
    ------
    ConfigError
        For an unknown name, or ``"ray"`` when Ray is not installed (with the ``pip install`` fix).
    """
    key = executor_name(name, settings)
    if key == "local":
        return LocalExecutor(workers, **kwargs)

    import_ray()  # the install hint, before any other argument is looked at
    addr = address if address is not None else (settings.ray_address if settings is not None else None)
    return RayExecutor(addr or None, **kwargs)
