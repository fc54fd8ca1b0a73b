"""Paper-figure reproductions: each writes PNG, PDF and the JSON numbers behind it."""

from .late_figures import FIGURES as _LATE
from .linear_figures import FIGURES as _LINEAR
from .plateau_figures import FIGURES as _PLATEAU
from .rf_figures import FIGURES as _RF

FIGURES = {**_LATE, **_LINEAR, **_PLATEAU, **_RF}

__all__ = ["FIGURES"]
