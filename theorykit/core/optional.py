"""Probes for optional dependencies, answered without importing them (an import can take seconds)."""

from __future__ import annotations

import importlib.util


def available(name: str) -> bool:
    """Whether the package ``name`` can be imported (numba, torch, flint, ...)."""
    return importlib.util.find_spec(name) is not None


def numba_available() -> bool:
    """Whether numba is installed: the generated kernels and the integrator's inner loops then compile."""
    return available("numba")
