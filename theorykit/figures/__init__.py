"""Paper-figure reproductions: each writes PNG, PDF and the JSON numbers behind it."""

from .linear_figures import FIGURES

__all__ = ["FIGURES"]
