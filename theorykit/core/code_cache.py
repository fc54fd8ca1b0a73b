"""Content-addressed cache of generated modules.

* The key is the sha256 of the *expression fingerprint* (the ``srepr`` of every expression
  the module is generated from) together with the theorykit, SymPy, NumPy and Python
  versions; the file is ``<key>.py`` in :func:`cache_dir`.
* Files are written atomically (temporary file in the same directory, then ``os.replace``),
  so two processes racing for the same entry both end with one complete file.
* Every file carries the sha256 of its own body on its first line.  A file whose body does
  not match (truncated, edited, or planted) is never imported: it is rebuilt.
* Modules are imported with :mod:`importlib` from source; nothing is unpickled.  Numba, when
  used, keeps its own ``__pycache__`` next to the file (``cache=True``).
* A *recipe* (``recipe_<key>.json``, plain JSON written atomically) maps the inputs a module is
  made from -- names, settings and a hash of the generating code, all known without deriving
  anything -- to the module's file: a warm process loads its module without SymPy
  (:func:`recipe_lookup`, :func:`recipe_store`).  A recipe whose module is missing or fails its
  check is ignored.

The directory is ``$THEORYKIT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/theorykit`` or
``~/.cache/theorykit``.  Clear it with ``theorykit cache clear`` or :func:`clear_cache`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import types
from importlib.metadata import version
from pathlib import Path

from .._version import __version__
from .atomic import write_text_atomic

_HEADER = "# theorykit-sha256: "


def cache_dir() -> Path:
    """Directory holding generated modules (created on demand)."""
    env = os.environ.get("THEORYKIT_CACHE_DIR")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "theorykit"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clear_cache() -> int:
    """Delete every cached module; returns the number of files removed."""
    path = cache_dir()
    count = 0
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        count += 1
    return count


@functools.cache  # installed versions do not change under a running process
def _versions() -> str:
    # read from the installed metadata: importing SymPy to ask its version would cost half a
    # second; parsing that metadata costs 2 ms, once per process rather than per cache look-up
    return (
        f"theorykit={__version__};sympy={version('sympy')};numpy={version('numpy')};python={platform.python_version()}"
    )


def cache_key(fingerprint: str) -> str:
    return hashlib.sha256((_versions() + "\n" + fingerprint).encode()).hexdigest()


def _body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _valid(path: Path) -> bool:
    try:
        text = path.read_text()
    except OSError:
        return False
    first, _, body = text.partition("\n")
    return first.startswith(_HEADER) and first[len(_HEADER) :] == _body_hash(body)


def _write_atomic(path: Path, body: str) -> None:
    write_text_atomic(path, f"{_HEADER}{_body_hash(body)}\n{body}")


def load_source(fingerprint: str, make_source, injected: dict | None = None) -> tuple[types.ModuleType, Path, bool]:
    """Return the module for ``fingerprint``, generating it with ``make_source()`` if needed.

    Parameters
    ----------
    fingerprint : str
        Canonical text of the expressions the source is generated from.
    make_source : callable
        Zero-argument function returning the module text (only called on a miss).
    injected : dict, optional
        Globals placed in the module before it runs (numeric kernels), as ``_INJECTED``.

    Returns
    -------
    module, path, hit
        ``hit`` is True when a valid cached file was used.
    """
    key = cache_key(fingerprint)
    path = cache_dir() / f"tk_{key[:40]}.py"
    hit = _valid(path)
    if not hit:
        _write_atomic(path, make_source())
        if not _valid(path):  # pragma: no cover - would mean the file system lies
            raise OSError(f"cache file {path} failed its integrity check right after writing")
    return _import(path, injected), path, hit


def _recipe_path(recipe: str, kind: str = "recipe") -> Path:
    """The cache file of ``kind`` (``recipe`` records, ``derived`` data) for a recipe and these versions."""
    key = hashlib.sha256((_versions() + "\n" + recipe).encode()).hexdigest()
    return cache_dir() / f"{kind}_{key[:40]}.json"


def recipe_lookup(recipe: str) -> tuple[types.ModuleType, Path, dict] | None:
    """The module a recipe was stored for, with the recipe's notes; None when there is none (or it
    does not check out: a missing or altered module file, an unreadable record)."""
    try:
        record = json.loads(_recipe_path(recipe).read_text())
        name = record["module"]
        if not isinstance(name, str) or Path(name).name != name:  # only a file in the cache itself
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    path = cache_dir() / name
    if not _valid(path):
        return None
    return _import(path, None), path, record.get("notes", {})


def recipe_store(recipe: str, path: Path, notes: dict) -> None:
    """Record that ``recipe`` makes the module at ``path`` (in the cache), with JSON ``notes``."""
    write_text_atomic(_recipe_path(recipe), json.dumps({"module": path.name, "notes": notes}))


def derived_lookup(recipe: str) -> tuple[bool, object]:
    """``(True, value)`` when JSON data derived from ``recipe`` (by these versions) is cached, else
    ``(False, None)``.  Data only -- read with ``json``, never evaluated; a file whose body does not
    match its hash, or that was stored for another recipe, counts as missing."""
    path = _recipe_path(recipe, "derived")
    if not _valid(path):
        return False, None
    try:
        record = json.loads(path.read_text().partition("\n")[2])
    except (OSError, ValueError):
        return False, None
    if not isinstance(record, dict) or record.get("recipe") != recipe or "value" not in record:
        return False, None
    return True, record["value"]


def derived_store(recipe: str, value) -> None:
    """Cache JSON ``value`` as what ``recipe`` derives (atomically, with its hash)."""
    _write_atomic(_recipe_path(recipe, "derived"), json.dumps({"recipe": recipe, "value": value}))


def _import(path: Path, injected: dict | None) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    module._INJECTED = dict(injected or {})
    # Registered under its content-hash name so that numba's on-disk cache can find the
    # module's globals again in a later process (the name is unique per content).
    if not injected:
        sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
