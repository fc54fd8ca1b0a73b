"""Progress of long runs: a tqdm bar on a terminal or in a notebook, log lines everywhere else.

* On a terminal, or in a Jupyter kernel, a :mod:`tqdm.auto` bar (a widget in notebooks).
* Anywhere else (a pipe, a log file, CI) a line on the ``theorykit.progress`` logger (INFO)
  every :data:`LOG_EVERY` seconds with the fraction done and the elapsed time, and one when the
  run ends if any was written.  The CLI shows these lines on stderr; a library user sees them
  once they configure :mod:`logging`.
* :func:`set_mode` overrides the choice for the whole process (the CLI's ``--quiet`` and
  ``--progress``); ``enabled=False`` silences one run.
"""

from __future__ import annotations

import logging
import sys
import time

LOG = logging.getLogger("theorykit.progress")

#: Seconds between two log lines off a terminal.
LOG_EVERY = 10.0

MODES = ("auto", "quiet", "bar")
_mode = "auto"


def set_mode(mode: str) -> None:
    """``"auto"`` (a bar on a terminal or in a notebook, log lines elsewhere), ``"quiet"`` (nothing)
    or ``"bar"`` (a bar wherever stderr goes)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
    _mode = mode


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


class Progress:
    """Context manager: ``with Progress(total, "solve") as bar: bar.update(done)``.

    Parameters
    ----------
    total : float
        What ``done`` reaches at the end (alpha, seeds, points ...).
    label : str
    enabled : bool, optional
        False: silent; True or None: as the process-wide mode says (:func:`set_mode`).
    stream : file, optional
        Where the bar is drawn (default stderr).
    log_every : float, optional
        Seconds between log lines off a terminal (default :data:`LOG_EVERY`).
    """

    def __init__(
        self,
        total: float,
        label: str = "",
        enabled: bool | None = None,
        stream=None,
        log_every: float | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = float(total) if total else 1.0
        self.label = label.strip()
        self.log_every = LOG_EVERY if log_every is None else float(log_every)
        self._start = self._last_log = time.monotonic()
        self._done = 0.0
        self._logged = False
        self._bar = None
        if enabled is False or _mode == "quiet":
            self.kind = "off"
        elif _mode == "bar" or _in_notebook() or getattr(self.stream, "isatty", lambda: False)():
            self.kind = "bar"
        else:
            self.kind = "log"

    def __enter__(self) -> Progress:
        if self.kind == "bar":
            from tqdm.auto import tqdm

            # done is alpha, time, seeds or points: no rate in "it/s", and totals as written (2000, not 2000.0)
            layout = "{desc}: {percentage:3.0f}%|{bar}| {n:.6g}/{total:.6g} [{elapsed}<{remaining}]"
            self._bar = tqdm(total=self.total, desc=self.label, file=self.stream, mininterval=0.1, bar_format=layout)
        return self

    def update(self, done: float) -> None:
        """Report that ``done`` (of ``total``) is done; calls may come as often as wanted."""
        done = float(done)
        if done <= self._done:
            return
        step, self._done = done - self._done, done
        if self._bar is not None:
            self._bar.update(step)
        elif self.kind == "log" and done < self.total:  # the end is the closing line's to report
            now = time.monotonic()
            if now - self._last_log >= self.log_every:
                self._last_log, self._logged = now, True
                LOG.info("%s: %5.1f%% done, %.0f s elapsed", self.label, 100 * self.fraction, now - self._start)

    @property
    def fraction(self) -> float:
        return min(max(self._done / self.total, 0.0), 1.0)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            if exc[0] is None:
                self._bar.update(max(self.total - self._done, 0.0))
            self._bar.close()
        elif self._logged:
            state = "done" if exc[0] is None else f"stopped at {100 * self.fraction:.1f}%"
            LOG.info("%s: %s after %.0f s", self.label, state, time.monotonic() - self._start)
