"""A figure's numbers, computed once, drawn onto any Axes, saved as PNG, PDF and JSON.

The numbers a figure holds are exactly what its JSON file holds: :class:`FigureData` keeps them
in their JSON form (lists back as float arrays, ``null`` as NaN), so a figure drawn right after
it was computed and one drawn later from its saved JSON (:meth:`FigureData.from_json`) are the
same drawing, and the picture never shows a number the JSON does not record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .output import ReprAsHTML, _jsonable, new_figure, provenance, write_json

#: Keys :func:`~theorykit.core.output.provenance` adds around a figure's numbers in its JSON.
_PROVENANCE_KEYS = ("theorykit_version", "command", "versions", "case")


def as_saved(numbers: dict) -> dict:
    """``numbers`` as its JSON file will hold them: NaN refused (a figure's JSON has none: a
    missing value is given as ``None``), then every list of numbers (nested lists of equal
    lengths too) read back as an array -- integer when it holds only integers, float with NaN
    for ``None`` otherwise; dicts, strings and lists of them kept."""
    return _arrays(json.loads(json.dumps(numbers, allow_nan=False, default=_jsonable)))


def _arrays(value):
    if isinstance(value, dict):
        return {key: _arrays(item) for key, item in value.items()}
    if isinstance(value, list):
        if _numeric(value):
            try:
                return np.array(value, dtype=float if _has_none(value) else None)
            except ValueError:  # ragged nested lists: each row its own array
                pass
        return [_arrays(item) for item in value]
    return value


def _has_none(value) -> bool:
    return value is None or (isinstance(value, list) and any(_has_none(item) for item in value))


def _as_json(value):
    """The inverse of :func:`_arrays`: arrays as lists, NaN as ``None``."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _as_json(value.tolist())
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _numeric(value) -> bool:
    """A number, ``None`` or a (nested) list holding only those."""
    if isinstance(value, list):
        return all(_numeric(item) for item in value)
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def layout(panels: int = 1, width: float = 5.5):
    """Decorator of a drawing function ``draw(data, axes)``: it draws ``panels`` Axes side by side,
    each ``width`` inches wide in a new figure."""

    def mark(drawer):
        drawer.panels, drawer.width = panels, width
        return drawer

    return mark


@dataclass(frozen=True, repr=False)
class FigureData(ReprAsHTML):
    """The numbers behind one figure, and how to draw them.

    Attributes
    ----------
    name : str
        The figure's name (its files are ``name.png``, ``name.pdf``, ``name.json``).
    numbers : dict
        What is drawn, in its saved form (:func:`as_saved`).
    settings : dict
        The figure's parameters (sizes, seeds, ``full``): the ``case`` of its JSON.
    drawer : callable
        ``drawer(data, axes)`` draws ``data`` onto a list of Axes, as many as its :func:`layout`
        says (one by default).
    """

    name: str
    numbers: dict
    settings: dict
    drawer: Callable[[FigureData, Sequence], None]

    @classmethod
    def create(cls, name: str, numbers: dict, settings: dict, drawer) -> FigureData:
        """A FigureData whose numbers and settings are taken into their saved form."""
        return cls(name, as_saved(numbers), as_saved(settings), drawer)

    @classmethod
    def from_json(cls, path: str | Path, drawer) -> FigureData:
        """The figure saved at ``path`` (a ``name.json`` written by :meth:`save`), to draw again."""
        path = Path(path)
        saved = json.loads(path.read_text())
        numbers = {key: value for key, value in saved.items() if key not in _PROVENANCE_KEYS}
        return cls(path.stem, _arrays(numbers), _arrays(saved["case"]), drawer)

    @property
    def panels(self) -> int:
        return getattr(self.drawer, "panels", 1)

    def draw(self, ax=None):
        """Draw the figure and return its :class:`matplotlib.figure.Figure`.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or sequence of Axes, optional
            Where to draw: one Axes for a one-panel figure, ``panels`` Axes otherwise.  By
            default a new figure of ``panels`` Axes side by side (laid out tightly).

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding the (first) Axes.
        """
        if ax is None:
            fig, axes = new_figure(self.panels, getattr(self.drawer, "width", 5.5))
            axes = np.atleast_1d(axes)
            self.drawer(self, list(axes))
            fig.tight_layout()
            return fig
        axes = list(np.atleast_1d(np.asarray(ax, dtype=object)))
        if len(axes) != self.panels:
            raise ValueError(
                f"{self.name} draws {self.panels} panel(s): ax must hold {self.panels} Axes, got {len(axes)}"
            )
        self.drawer(self, axes)
        return axes[0].figure

    def save(self, out_dir: str | Path, fig=None) -> list[Path]:
        """Write ``name``.png/.pdf/.json into ``out_dir``; draws a new figure unless ``fig`` is
        given, and closes the figure it drew.  Returns the three paths."""
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"{self.name}.png", out / f"{self.name}.pdf", out / f"{self.name}.json"]
        drawn = fig is None
        fig = self.draw() if drawn else fig
        fig.savefig(paths[0], dpi=150)
        fig.savefig(paths[1])
        write_json(paths[2], provenance(f"figure {self.name}", _as_json(self.settings), _as_json(self.numbers)))
        if drawn:
            plt.close(fig)
        return paths

    def __repr__(self) -> str:
        keys = ", ".join(self.numbers)
        return f"FigureData({self.name!r}, {self.panels} panel(s); numbers: {keys})"
