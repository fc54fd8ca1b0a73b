"""Saving a figure with its numbers and provenance."""

from __future__ import annotations

from pathlib import Path


def save_figure(fig, out_dir: str | Path, name: str, numbers: dict, settings: dict) -> list[Path]:
    from ..cli import _provenance, _write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.json"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    _write_json(paths[2], _provenance(f"figure {name}", settings, numbers))
    return paths
