"""Writing results: JSON with provenance (atomic, no NaN), and figures (PNG, PDF and their numbers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .._version import __version__
from .atomic import replaced_atomically, write_text_atomic


class ReprAsHTML:
    """Mixin: notebooks show the object's compact ``repr`` (preformatted), not a default dump."""

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(repr(self))}</pre>"


def write_json(path: str | Path, payload: dict) -> None:
    """Write JSON atomically; refuses NaN/inf (a result with them is a failure, not data)."""
    text = json.dumps(payload, indent=1, allow_nan=False, default=_jsonable)
    write_text_atomic(path, text + "\n")


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def versions() -> dict:
    """Versions of the core dependencies and of every optional one this process has imported."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["numpy", "scipy", "sympy", "mpmath"]
    names += [name for name in ("numba", "matplotlib", "torch", "threadpoolctl") if name in sys.modules]
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - imported but not installed as a distribution
            out[name] = getattr(sys.modules.get(name), "__version__", "unknown")
    return out


def provenance(command: str, case: dict, extra: dict) -> dict:
    """What every output records: the theorykit version, the command, dependency versions and the case."""
    return {
        "theorykit_version": __version__,
        "command": command,
        "versions": versions(),
        "case": case,
        **extra,
    }


def provenance_attrs(command: str, case: dict, extra: dict) -> dict:
    """:func:`provenance` as NetCDF attributes: numbers and strings kept, everything else
    (the case, the versions, nested results) as JSON strings."""
    out = {}
    for key, value in provenance(command, case, extra).items():
        if isinstance(value, np.generic):
            value = value.item()
        keep = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        out[key] = value if keep else json.dumps(value, default=_jsonable)
    return out


def write_netcdf(dataset, path: str | Path) -> None:
    """Write an :class:`xarray.Dataset` as NetCDF-4 (h5netcdf), atomically
    (:func:`~theorykit.core.atomic.replaced_atomically`): a reader never sees half a file."""
    with replaced_atomically(path) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")


#: A variable along the table's rows with more than this many values per row is left to .nc / .json.
TABLE_COLUMNS_PER_VARIABLE = 64


def curve_table(dataset, dim: str, flatten: tuple[str, ...] = ()) -> str:
    """CSV text of a result's dataset along one dimension (``alpha`` or ``time``): one row per
    point, the coordinate first, then every variable along ``dim`` -- one column for a curve,
    ``name_i_j`` for each entry of a variable with more dimensions, ``dim`` moved first
    (``R_0_1`` is ``R[:, 0, 1]``; ``eps_g_2`` of a simulation is seed 2)
    when it has at most :data:`TABLE_COLUMNS_PER_VARIABLE` entries per point or is named in
    ``flatten``.  Decimal strings stay strings.  Attributes (provenance) are not part of a table:
    they are in the ``.json`` and ``.nc`` outputs.
    """
    import pandas as pd

    table = pd.DataFrame(index=pd.Index(dataset[dim].values, name=dim))
    for name, variable in dataset.data_vars.items():
        if dim not in variable.dims:
            continue
        values = variable.transpose(dim, ...).values
        if values.ndim == 1:
            table[name] = values
            continue
        per_point = int(np.prod(values.shape[1:]))
        if per_point > TABLE_COLUMNS_PER_VARIABLE and name not in flatten:
            continue
        for index in np.ndindex(*values.shape[1:]):
            table["_".join([name, *map(str, index)])] = values[(slice(None), *index)]
    return table.to_csv()


def labelled_dataset(data: dict, coords: dict | None = None, attrs: dict | None = None):
    """The :class:`xarray.Dataset` of a result's ``to_xarray``: variables ``{name: (dims, values,
    attrs)}``, coordinates, attributes, stamped with the theorykit version."""
    import xarray as xr

    return xr.Dataset(data, coords=coords or {}, attrs={**(attrs or {}), "theorykit_version": __version__})


def new_figure(ncols: int = 1, width: float = 5.5):
    """A figure with ``ncols`` axes side by side, on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, 4))


def save_figure(fig, out_dir: str | Path, name: str, numbers: dict, settings: dict) -> list[Path]:
    """Write ``name``.png/.pdf/.json into ``out_dir`` and close the figure."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.json"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    write_json(paths[2], provenance(f"figure {name}", settings, numbers))
    plt.close(fig)
    return paths
