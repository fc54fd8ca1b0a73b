"""Command-line interface: ``theorykit <command>`` (also ``python -m theorykit``).

Exit codes: 0 success, 1 numerical failure, 2 bad input (one line on stderr, no traceback
unless ``--debug``).  The parser (:mod:`theorykit.cli.parser`) imports no solver: each command's
module is imported when that command runs, so ``theorykit --version`` and ``--help`` are quick.
"""

from __future__ import annotations

import importlib
import logging
import sys

from ..core import progress
from ..core.errors import CaseError, NumericalFailure, TheorykitError
from .parser import UsageError, build_parser


def _run(args) -> int:
    module, name = args.func.split(":")
    return getattr(importlib.import_module(module, __name__), name)(args)


class _Stderr(logging.Handler):
    """Log records as ``theorykit: message`` lines on the stderr of the moment (looked up per record)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"theorykit: {self.format(record)}", file=sys.stderr, flush=True)
        except Exception:  # pragma: no cover - logging's own convention
            self.handleError(record)


def _show_log_lines() -> None:
    """theorykit's log lines (progress off a terminal) on stderr, once per process."""
    logger = logging.getLogger("theorykit")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
        logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 2
    _show_log_lines()
    progress.set_mode(args.progress_mode or "auto")
    try:
        return _run(args)
    except CaseError as exc:
        if args.debug:
            raise
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 2
    except NumericalFailure as exc:
        if args.debug:
            raise
        print(f"theorykit: numerical failure: {exc}", file=sys.stderr)
        return 1
    except TheorykitError as exc:
        if args.debug:
            raise
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 1
