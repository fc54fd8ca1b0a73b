"""Figure commands write PNG, PDF and JSON (the quick ones in the default run)."""

import json

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
@pytest.mark.parametrize("name", ["fig2_right", "fig3_left"])
def test_slow_figures(tmp_path, name):
    _check(tmp_path, name)


def test_unknown_figure(tmp_path, capsys):
    assert main(["figure", "fig99", "-o", str(tmp_path)]) == 2
    assert "fig2_left" in capsys.readouterr().err
