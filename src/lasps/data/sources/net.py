"""Guards around third-party network clients (pykrx, FinanceDataReader): timeouts and quiet stdout.

Neither library takes a timeout, and pykrx prints the KRX login ID to stdout when it logs in. Every
client call of a LASPS source runs inside :func:`guarded`:

* a ``requests`` call made without an explicit ``timeout`` gets ``timeout_s`` (both libraries use
  ``requests``; the default is installed once, on ``requests.Session.request``, and only acts while a
  :func:`guarded` block is running in the same context — outside one it passes calls through unchanged);
* whatever the library prints to stdout is captured and dropped (login IDs never reach a terminal or
  a log).

Retries with backoff are :class:`~lasps.data.sources.base.PoliteCaller`'s job.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: Default seconds per HTTP request of a source client.
DEFAULT_TIMEOUT_S = 30.0

_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("lasps_source_timeout", default=None)
_MARK = "_lasps_default_timeout"


def _install_default_timeout() -> None:
    """Make ``requests`` use the active :func:`guarded` timeout when a call gives none (idempotent)."""
    try:
        import requests
    except ImportError:  # pragma: no cover - both clients depend on requests
        return
    original = requests.Session.request
    if getattr(original, _MARK, False):
        return

    def request(self: Any, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        timeout = _TIMEOUT.get()
        if timeout is not None and kwargs.get("timeout") is None and len(args) < 7:  # 7th after url
            kwargs["timeout"] = timeout
        return original(self, method, url, *args, **kwargs)

    setattr(request, _MARK, True)
    requests.Session.request = request  # type: ignore[method-assign]


@contextlib.contextmanager
def guarded(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """Run a block with ``timeout_s`` as the default HTTP timeout and stdout captured and dropped."""
    _install_default_timeout()
    token = _TIMEOUT.set(float(timeout_s))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        _TIMEOUT.reset(token)


def guard(fn: Callable[..., T], timeout_s: float = DEFAULT_TIMEOUT_S) -> Callable[..., T]:
    """``fn`` wrapped in :func:`guarded`."""

    def call(*args: Any, **kwargs: Any) -> T:
        with guarded(timeout_s):
            return fn(*args, **kwargs)

    call.__name__ = getattr(fn, "__name__", "call")
    return call


def active_timeout() -> float | None:
    """The default HTTP timeout of the running :func:`guarded` block (None outside one)."""
    return _TIMEOUT.get()


__all__ = ["DEFAULT_TIMEOUT_S", "active_timeout", "guard", "guarded"]
