"""Shared machinery that imports no model: errors, schema rules, precision, certified balls, output,
the generated-code cache, progress, threads, optional-dependency probes and an explicit
integrator (:mod:`.dop853`).

The curated API (names load on first use): the errors (:class:`CaseError`,
:class:`NumericalFailure`, :class:`DerivationError`, :class:`TheorykitError`); field rules
(:class:`Schema`, :class:`Field`); precision (:func:`lift`, :func:`exact`, :func:`two_precisions`,
:class:`Precise`); :class:`Enclosure`; output (:func:`write_json`, :func:`provenance`); the cache
(:func:`cache_dir`, :func:`clear_cache`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

_WHERE = {
    "CaseError": ".errors",
    "DerivationError": ".errors",
    "NumericalFailure": ".errors",
    "TheorykitError": ".errors",
    "Field": ".schema",
    "Schema": ".schema",
    "Precise": ".precision",
    "exact": ".precision",
    "lift": ".precision",
    "two_precisions": ".precision",
    "Enclosure": ".balls",
    "provenance": ".output",
    "write_json": ".output",
    "cache_dir": ".code_cache",
    "clear_cache": ".code_cache",
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)

if TYPE_CHECKING:  # the names as static analysers and IDEs should see them
    from .balls import Enclosure  # noqa: F401
    from .code_cache import cache_dir, clear_cache  # noqa: F401
    from .errors import CaseError, DerivationError, NumericalFailure, TheorykitError  # noqa: F401
    from .output import provenance, write_json  # noqa: F401
    from .precision import Precise, exact, lift, two_precisions  # noqa: F401
    from .schema import Field, Schema  # noqa: F401
