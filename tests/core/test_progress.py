"""Progress output: log lines off a terminal (periodic, with fraction and time), a bar on one,
nothing when quiet; and the CLI's flags."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from theorykit.core import progress
from theorykit.core.progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _auto_mode():
    yield
    progress.set_mode("auto")


def test_off_a_terminal_it_logs_fraction_and_elapsed_time(caplog):
    caplog.set_level(logging.INFO, logger="theorykit.progress")
    stream = io.StringIO()
    with Progress(200.0, "solve", stream=stream, log_every=0.0) as bar:
        for done in (50.0, 40.0, 150.0):  # a step back (a rejected trial) is ignored
            bar.update(done)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("solve:  25.0% done,") and lines[1].startswith("solve:  75.0% done,")
    assert lines[-1].startswith("solve: done after") and len(lines) == 3
    assert stream.getvalue() == ""  # no bar drawn into a pipe


def test_short_runs_off_a_terminal_stay_silent(caplog):
    caplog.set_level(logging.INFO, logger="theorykit.progress")
    with Progress(10.0, "solve", stream=io.StringIO()) as bar:  # 10 s between lines: none here
        bar.update(10.0)
    with Progress(1, "fig1", stream=io.StringIO(), log_every=0.0) as bar:  # done in one go: nothing to report
        bar.update(1)
    assert caplog.records == []


def test_on_a_terminal_a_bar_and_quiet_silences_everything(caplog):
    caplog.set_level(logging.INFO, logger="theorykit.progress")
    tty = _Tty()
    with Progress(4.0, "sweep", stream=tty) as bar:
        bar.update(2.0)
    assert "sweep" in tty.getvalue() and "4/4" in tty.getvalue()
    progress.set_mode("quiet")
    quiet = _Tty()
    with Progress(4.0, "sweep", stream=quiet, log_every=0.0) as bar:
        bar.update(2.0)
    assert quiet.getvalue() == "" and caplog.records == []


def test_cli_progress_off_a_terminal_and_quiet(tmp_path):
    """A real process with stderr in a pipe: --progress draws the bar there, --quiet prints nothing."""
    case = {
        "model": {"K": 1, "M": 1, "activation": "linear"},
        "spectrum": {"kind": "explicit", "eigenvalues": [1.0]},
        "eta": 0.3,
        "alpha": [0.5, 2.0],
        "init": {"r": [[[0.0]]], "q": [[[0.1]]], "t": [[[1.0]]]},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    run = lambda *flags: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "theorykit", *flags, "solve", str(path), "-o", str(tmp_path / "o.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "solve" in run("--progress").stderr and "100%" in run("--progress").stderr
    assert run("--quiet").stderr == ""
    assert run().stderr == ""  # a short run in a pipe: no bar, and no log line before 10 s
