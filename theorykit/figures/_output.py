"""Creating and saving a figure (PNG, PDF and the JSON numbers with provenance)."""

from __future__ import annotations

from pathlib import Path


def new_figure(ncols: int = 1, width: float = 5.5):
    """A figure with ``ncols`` axes side by side, on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, 4))


def save_figure(fig, out_dir: str | Path, name: str, numbers: dict, settings: dict) -> list[Path]:
    """Write ``name``.png/.pdf/.json into ``out_dir`` and close the figure."""
    import matplotlib.pyplot as plt

    from ..cli import _provenance, _write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.json"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    _write_json(paths[2], _provenance(f"figure {name}", settings, numbers))
    plt.close(fig)
    return paths
