"""A tiny progress bar for long CLI work (docs/design.md "Conventions": a bar on a terminal, quiet when piped).

It writes to stderr only when stderr is a terminal, and only once the work has
run for `delay` seconds, so short commands and piped output stay clean. No
dependency beyond the standard library.

    with Progress("deciding", total=len(items)) as bar:
        for item in items:
            work(item)
            bar.advance()

    with Progress("solving"):          # no total: an elapsed-time ticker
        opaque_call()

With a total the bar shows done/total, the rate and the time left.
"""

from __future__ import annotations

import sys
import threading
import time

WIDTH = 28


class Progress:
    """A bar (with `total`) or an elapsed-time ticker (without), drawn on a TTY stderr after `delay` seconds."""

    def __init__(self, label: str, total: int | None = None, *, stream=None, delay: float = 1.5,
                 interval: float = 0.2, enabled: bool | None = None):
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.delay, self.interval = delay, interval
        self.done = 0
        self._start = 0.0
        self._drawn = False
        self._since, self._done_at_since = 0.0, 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        self._start = self._since = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:  # wipe the bar so the command's own output starts on a clean line
            self.stream.write("\r" + " " * (len(self.label) + WIDTH + 40) + "\r")
            self.stream.flush()

    def advance(self, k: int = 1) -> None:
        """Count `k` more units of work done."""
        with self._lock:
            self.done += k

    def update(self, label: str, done: int, total: int | None) -> None:
        """Show `label` with `done` of `total` units (an elapsed-time ticker when total is None).

        The rate and the time left are measured from the moment this label and total first appeared.
        """
        with self._lock:
            if (label, total) != (self.label, self.total) or done < self.done:
                self._since, self._done_at_since = time.monotonic(), done
            self.label, self.done, self.total = label, done, total

    def set_label(self, label: str) -> None:
        """Change the text shown before the bar (e.g. the current step)."""
        with self._lock:
            self.label = label

    def _line(self) -> str:
        now = time.monotonic()
        elapsed = now - self._start
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(round(frac * WIDTH))
            line = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total}"
            span, done = now - self._since, self.done - self._done_at_since
            if done > 0 and span > 0:
                rate = done / span
                line += f", {rate:.3g}/s, {max(self.total - self.done, 0) / rate:.0f}s left"
            return line + f" {elapsed:5.1f}s"
        return f"{self.label} ... {elapsed:5.1f}s"

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            if time.monotonic() - self._start < self.delay:
                continue
            with self._lock:
                line = self._line()
            self.stream.write("\r" + line + "  ")
            self.stream.flush()
            self._drawn = True
