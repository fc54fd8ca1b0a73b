"""Compile generated C to a shared library in the code cache, and load it with :mod:`ctypes`.

* The compiler is ``$THEORYKIT_CC`` when set (an empty value turns C off), else the first of
  ``cc``, ``gcc``, ``clang`` on the ``PATH``; without one, :func:`compiler` is None and callers
  use their numba or NumPy code instead.
* Flags: :data:`FLAGS` -- optimised, IEEE arithmetic kept (no ``-ffast-math``: NaN and inf
  propagate, so numerical failure stays detectable), ``-fno-math-errno`` only lets ``sqrt``
  compile to one instruction.
* The library of a source is ``c_<key>.so`` in :func:`~theorykit.core.code_cache.cache_dir`,
  ``key`` the sha256 of the source, the flags and the platform; the source is kept beside it
  as ``c_<key>.c`` and the sha256 of the library's bytes as ``c_<key>.sha256``.  All are
  written atomically (a temporary file, then ``os.replace``), so racing processes end with one
  complete library.  A library whose bytes do not match their recorded hash (damaged, replaced)
  or that fails to load is rebuilt from its source, once.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from .atomic import replaced_atomically, write_text_atomic
from .code_cache import cache_dir

#: Compiler flags (part of every library's key).
FLAGS = ("-O2", "-fno-math-errno", "-fPIC", "-shared")

#: Environment variable naming the C compiler ("" turns C code off).
COMPILER_VARIABLE = "THEORYKIT_CC"


class CompileError(RuntimeError):
    """The C compiler failed on a generated source (the message holds its output)."""


def compiler() -> str | None:
    """Path of the C compiler to use, or None when there is none (or ``$THEORYKIT_CC`` is empty)."""
    chosen = os.environ.get(COMPILER_VARIABLE)
    if chosen is not None:
        return shutil.which(chosen) if chosen else None
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


def library_key(source: str) -> str:
    """Cache key of the library built from ``source`` on this platform with :data:`FLAGS`."""
    identity = f"{sys.platform}|{platform.machine()}|{' '.join(FLAGS)}\n{source}"
    return hashlib.sha256(identity.encode()).hexdigest()[:40]


def library_path(key: str) -> Path:
    return cache_dir() / f"c_{key}.so"


def build_library(source: str) -> str:
    """Compile ``source`` into the cache (unless it is there); returns its key for :func:`load_library`."""
    key = library_key(source)
    write_text_atomic(cache_dir() / f"c_{key}.c", source)
    if not _intact(key):
        _compile(key)
    return key


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(key: str) -> bool:
    path, record = library_path(key), cache_dir() / f"c_{key}.sha256"
    try:
        return record.read_text().strip() == _digest(path)
    except OSError:
        return False


def _compile(key: str) -> None:
    cc = compiler()
    if cc is None:
        raise CompileError(f"no C compiler (set ${COMPILER_VARIABLE} or put cc on the PATH) to build c_{key}.so")
    source = cache_dir() / f"c_{key}.c"
    if not source.exists() or library_key(source.read_text()) != key:
        # the source is named by its own hash: a file that does not match it is never compiled
        raise CompileError(
            f"the source {source.name} of a cached C library is gone or altered (clear the cache: theorykit cache clear)"
        )
    with replaced_atomically(library_path(key)) as tmp:
        done = subprocess.run(
            [cc, *FLAGS, "-o", str(tmp), str(source), "-lm"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise CompileError(f"{cc} failed on {source} (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
        digest = _digest(tmp)
    write_text_atomic(cache_dir() / f"c_{key}.sha256", digest)


def load_library(key: str) -> ctypes.CDLL:
    """The library of ``key``, built from its cached source if the library is missing or does not load."""
    path = library_path(key)
    if not _intact(key):
        _compile(key)
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        # a library from another machine sharing this cache, or a damaged file: rebuild once
        _compile(key)
        return ctypes.CDLL(str(path))
