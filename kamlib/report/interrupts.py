"""Stopping a run cleanly: Ctrl-C (SIGINT) and SIGTERM become :class:`Interrupted`, raised in the main thread,
so the run's ``finally`` blocks remove its temporary folder, data snapshot and lock; a step that must not be
cut in half (replacing a month's report by the new one) defers the signal until it is done."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``left`` says what the run removed and what it left as it was."""

    def __init__(self, signum: int, left: str = ""):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.left = signum, left

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}" + (f": {self.left}" if self.left else "")


class Interrupts:
    """While active (a context manager, in the main thread only): SIGINT and SIGTERM raise :class:`Interrupted`,
    except inside :meth:`deferred`, which raises it when the block ends."""

    def __init__(self):
        self._previous: dict = {}
        self._deferring = 0
        self._pending: int | None = None
        self._raised = False

    def _handle(self, signum, frame):
        if self._raised:            # already stopping: a second Ctrl-C does not cut the clean-up short
            return
        if self._deferring:
            self._pending = signum
            return
        self._raised = True
        raise Interrupted(signum)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    @contextmanager
    def deferred(self):
        """A block a signal does not cut: the interruption is raised after it."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring and self._pending is not None:
            signum, self._pending = self._pending, None
            self._raised = True
            raise Interrupted(signum)


def ignore_in_worker() -> None:
    """In a pool worker: Ctrl-C at the terminal reaches the whole process group; the main process decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
