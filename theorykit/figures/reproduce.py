"""``theorykit reproduce``: every implemented paper figure into one folder, cached by content hash.

Each figure is written as PNG, PDF and JSON (the numbers, with provenance).  A figure is redone
only when its key changed: the sha256 of its module's source, the theorykit version and the
size (quick or full).  The key is stored in ``DIR/.reproduce/NAME.sha256`` after the figure
succeeded (atomically), so an interrupted run redoes only what is missing.  Changes elsewhere
in the library are not part of the key: use ``force=True`` (``--force``) after them.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import time
from pathlib import Path

from .._version import __version__
from ..core.atomic import write_text_atomic
from ..core.errors import CaseError
from ..core.progress import Progress
from . import FIGURES


def figure_key(name: str, full: bool) -> str:
    module = sys.modules[FIGURES[name].__module__]
    text = f"{__version__}\n{name}\nfull={full}\n{inspect.getsource(module)}"
    return hashlib.sha256(text.encode()).hexdigest()


def _outputs(out: Path, name: str) -> list[Path]:
    return [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.json"]


def reproduce(
    out_dir: str | Path,
    only: list[str] | None = None,
    full: bool = False,
    force: bool = False,
    progress=None,
    on_done=None,
) -> dict[str, dict]:
    """Make (or reuse) the figures; returns ``{name: {"status": "made"|"cached", "paths", "seconds"}}``.

    ``on_done(name, entry)`` is called as each figure finishes (the CLI prints a line).
    """
    names = list(FIGURES) if not only else list(only)
    for name in names:
        if name not in FIGURES:
            raise CaseError("only", f"unknown figure {name!r}; accepted: {sorted(FIGURES)}")
    out = Path(out_dir)
    report = {}
    for name in names:
        key = figure_key(name, full)
        key_file = out / ".reproduce" / f"{name}.sha256"
        paths = _outputs(out, name)
        cached = not force and key_file.is_file() and key_file.read_text().strip() == key
        if cached and all(p.is_file() for p in paths):
            report[name] = {"status": "cached", "paths": paths, "seconds": 0.0}
            if on_done:
                on_done(name, report[name])
            continue
        start = time.monotonic()
        with Progress(1, f"{name:18s}", enabled=progress) as bar:
            paths = FIGURES[name](full=full).save(out)
            bar.update(1)
        write_text_atomic(key_file, key + "\n")
        report[name] = {"status": "made", "paths": paths, "seconds": time.monotonic() - start}
        if on_done:
            on_done(name, report[name])
    return report
