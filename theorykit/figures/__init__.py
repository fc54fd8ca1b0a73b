"""Paper-figure reproductions: each writes PNG, PDF and the JSON numbers behind it."""

from .linear_figures import FIGURES as _LINEAR
from .plateau_figures import FIGURES as _PLATEAU
from .rf_figures import FIGURES as _RF

FIGURES = {**_LINEAR, **_PLATEAU, **_RF}

__all__ = ["FIGURES"]
