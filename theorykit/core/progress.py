"""A minimal progress bar on stderr that stays silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time


class Progress:
    """Context manager: ``with Progress(total, "solve") as bar: bar.update(done)``.

    ``enabled=None`` means "only on a terminal", so logs and CI output stay clean.
    Redraws at most ten times a second.
    """

    def __init__(self, total: float, label: str = "", enabled: bool | None = None, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self.total = float(total) if total else 1.0
        self.label = label
        self._last = 0.0
        self._start = time.monotonic()
        self._done = 0.0

    def __enter__(self) -> Progress:
        return self

    def update(self, done: float) -> None:
        if not self.enabled:
            return
        self._done = max(self._done, float(done))
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        self._draw()

    def _draw(self) -> None:
        frac = min(max(self._done / self.total, 0.0), 1.0)
        width = 30
        filled = int(width * frac)
        elapsed = time.monotonic() - self._start
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * frac:5.1f}% {elapsed:6.1f}s")
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._done = self.total if exc[0] is None else self._done
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
