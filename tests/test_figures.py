"""Figure commands write PNG, PDF and JSON (the quick ones in the default run)."""

import json

import numpy as np
import pytest

from theorykit.cli import main


def _check(tmp_path, name):
    assert main(["figure", name, "-o", str(tmp_path)]) == 0
    for ext in ("png", "pdf", "json"):
        assert (tmp_path / f"{name}.{ext}").stat().st_size > 1000
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_fig2_left(tmp_path):
    data = _check(tmp_path, "fig2_left")
    assert data["theorykit_version"] and len(data["eps_g_exact"]) == len(data["alpha"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fig2_right", "fig3_left", "fig4", "fig5"])
def test_slow_figures(tmp_path, name):
    _check(tmp_path, name)


def test_unknown_figure(tmp_path, capsys):
    assert main(["figure", "fig99", "-o", str(tmp_path)]) == 2
    assert "fig2_left" in capsys.readouterr().err


def test_plateau_window_measures_entry_and_exit():
    from theorykit.figures.plateau_figures import plateau_window

    alpha = np.linspace(0, 10, 101)
    eps = np.where(alpha < 2, 1.0, np.where(alpha < 7, 0.1, 0.01))
    assert plateau_window(alpha, eps, 0.1) == (2.0, 7.0)
    entry, exit_ = plateau_window(alpha, np.where(alpha < 2, 1.0, 0.1), 0.1)
    assert entry == 2.0 and np.isnan(exit_)  # the run ends on the plateau
