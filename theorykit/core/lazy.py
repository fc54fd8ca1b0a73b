"""Package APIs whose names are imported on first use (PEP 562), so importing a package is cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, namespace: dict, where: dict[str, str]) -> tuple[Callable, Callable]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names live in the modules
    ``where`` names (relative, e.g. ``".model"``); a name, once loaded, is kept in ``namespace``.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_exports("theorykit.core", ns, {"CaseError": ".errors"})
    >>> getattr_("CaseError").__name__, "CaseError" in ns
    ('CaseError', True)
    """

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
