"""The step journal of one daily run: ``$LASPS_HOME/pipeline/YYYY-MM-DD/state.json``.

One JSON document per trading date records, for every step of the pipeline, its status (``pending``,
``running``, ``done``, ``skipped``, ``failed``), when it started and finished, a small summary of what it
produced and the error of a failed attempt. It is rewritten **atomically** after every change (a temporary
file in the same directory, fsynced, then ``os.replace``), so a run killed at any instant — even with
SIGKILL — leaves either the previous or the next version of the journal, never half of one.

Resuming: a step whose status is ``done`` (and whose outputs are still on disk) is not run again; a step
left ``running`` by a killed process, or ``failed``, is simply run again — every step is idempotent (it
rewrites its own outputs atomically). Changing a parameter that a step depends on (``params`` below)
resets that step and every later one.

Only one process may work on a date at a time: :class:`RunLock` holds ``.lock`` (``O_EXCL``, with the
owner's pid); a lock whose owner is gone is taken over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lasps.errors import LaspsError
from lasps.files import json_safe, write_json

STATE_FILE = "state.json"
LOCK_FILE = ".lock"
STATUSES = ("pending", "running", "done", "skipped", "failed")


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class StepState:
    """One step's entry in the journal."""

    status: str = "pending"
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "started": self.started, "finished": self.finished,
                "seconds": self.seconds, "summary": self.summary, "error": self.error, "attempts": self.attempts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepState:
        status = d.get("status", "pending")
        return cls(status=status if status in STATUSES else "pending", started=d.get("started"),
                   finished=d.get("finished"), seconds=d.get("seconds"), summary=dict(d.get("summary") or {}),
                   error=d.get("error"), attempts=int(d.get("attempts") or 0))


class StepJournal:
    """The ``state.json`` of one date (see the module docstring).

    Parameters
    ----------
    directory:
        ``$LASPS_HOME/pipeline/YYYY-MM-DD``.
    steps:
        Step names in execution order.
    """

    def __init__(self, directory: Path, steps: Sequence[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATE_FILE
        self.order = tuple(steps)
        self.steps: dict[str, StepState] = {s: StepState() for s in self.order}
        self.params: dict[str, dict[str, Any]] = {}
        self.created: str = _now()
        self.runs: int = 0
        self.extra: dict[str, Any] = {}
        if self.path.is_file():
            self._load()

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # a journal we cannot read: start over, loudly
            raise LaspsError(f"cannot read the step journal {self.path}: {exc}", where=str(self.path),
                             fix="delete the file to start that date's run from the beginning") from exc
        for name, d in (doc.get("steps") or {}).items():
            if name in self.steps:
                self.steps[name] = StepState.from_dict(d)
        self.params = {k: dict(v) for k, v in (doc.get("params") or {}).items()}
        self.created = doc.get("created", self.created)
        self.runs = int(doc.get("runs") or 0)
        self.extra = dict(doc.get("extra") or {})

    def save(self) -> None:
        """Rewrite ``state.json`` atomically."""
        doc = {"created": self.created, "updated": _now(), "runs": self.runs, "order": list(self.order),
               "steps": {k: v.as_dict() for k, v in self.steps.items()}, "params": self.params,
               "extra": self.extra}
        write_json(self.path, doc)

    # -- transitions -----------------------------------------------------------------------------
    def reset_from(self, step: str) -> list[str]:
        """Mark ``step`` and every later step pending; returns the names that were not pending."""
        i = self.order.index(step)
        changed = [s for s in self.order[i:] if self.steps[s].status != "pending"]
        for s in self.order[i:]:
            self.steps[s] = StepState(attempts=self.steps[s].attempts)
        return changed

    def check_params(self, step: str, params: dict[str, Any]) -> bool:
        """Record ``params`` of ``step``; if they differ from the recorded ones, reset it and the later
        steps. Returns True when a reset happened."""
        clean = json_safe(params)
        old = self.params.get(step)
        self.params[step] = clean
        if old is not None and old != clean:
            self.reset_from(step)
            return True
        return False

    def is_done(self, step: str) -> bool:
        return self.steps[step].status in ("done", "skipped")

    def start(self, step: str) -> None:
        st = self.steps[step]
        st.status, st.started, st.finished, st.error = "running", _now(), None, None
        st.attempts += 1
        self.save()

    def finish(self, step: str, summary: dict[str, Any], seconds: float, *, skipped: bool = False) -> None:
        st = self.steps[step]
        st.status = "skipped" if skipped else "done"
        st.finished = _now()
        st.seconds = round(seconds, 3)
        st.summary = json_safe(summary)
        st.error = None
        self.save()

    def fail(self, step: str, error: str, seconds: float) -> None:
        st = self.steps[step]
        st.status, st.finished, st.seconds, st.error = "failed", _now(), round(seconds, 3), error
        self.save()

    def summary(self, step: str) -> dict[str, Any]:
        return self.steps[step].summary

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "runs": self.runs, "order": list(self.order),
                "steps": {k: v.as_dict() for k, v in self.steps.items()}, "params": self.params,
                "extra": self.extra}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


class RunLock:
    """Exclusive lock of one date's pipeline directory (``.lock`` holding ``pid@host``)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_FILE
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{os.getpid()}@{socket.gethostname()}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.path.read_text(encoding="utf-8").strip() if self.path.exists() else ""
                pid_s, _, host = owner.partition("@")
                if pid_s.isdigit() and host == socket.gethostname() and _pid_alive(int(pid_s)) \
                        and int(pid_s) != os.getpid():
                    raise LaspsError(f"another `lasps daily` (pid {pid_s}) is working on this date",
                                     where=str(self.path),
                                     fix="wait for it to finish; if it is gone, delete the .lock file") from None
                self.path.unlink(missing_ok=True)  # stale: its owner died (e.g. SIGKILL)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(me)
            self.held = True
            return
        raise LaspsError(f"cannot take the lock {self.path}", where=str(self.path))  # pragma: no cover

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    @contextmanager
    def hold(self) -> Iterator[RunLock]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()


__all__ = ["STATUSES", "RunLock", "StepJournal", "StepState"]
