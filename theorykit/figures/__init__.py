"""Paper-figure reproductions: each writes PNG, PDF and the JSON numbers behind it."""

from .linear_figures import FIGURES as _LINEAR
from .plateau_figures import FIGURES as _PLATEAU

FIGURES = {**_LINEAR, **_PLATEAU}

__all__ = ["FIGURES"]
