"""``theorykit reproduce``: figures into one folder, reused when their content key is unchanged."""

from __future__ import annotations

from theorykit.cli import main
from theorykit.figures.reproduce import reproduce


def test_reproduce_makes_then_reuses_and_redoes_on_a_changed_key(tmp_path):
    first = reproduce(tmp_path, only=["fig2_left"])
    assert first["fig2_left"]["status"] == "made"
    assert all(p.is_file() for p in first["fig2_left"]["paths"])
    assert reproduce(tmp_path, only=["fig2_left"])["fig2_left"]["status"] == "cached"
    (tmp_path / ".reproduce" / "fig2_left.sha256").write_text("not the key\n")
    assert reproduce(tmp_path, only=["fig2_left"])["fig2_left"]["status"] == "made"
    (tmp_path / "fig2_left.png").unlink()  # a missing output is redone too
    assert reproduce(tmp_path, only=["fig2_left"])["fig2_left"]["status"] == "made"
    assert reproduce(tmp_path, only=["fig2_left"], force=True)["fig2_left"]["status"] == "made"


def test_reproduce_cli_unknown_figure_is_one_line_exit_2(tmp_path, capsys):
    assert main(["reproduce", "-o", str(tmp_path), "--only", "fig7"]) == 2
    err = capsys.readouterr().err
    assert "fig3_right" in err and "fig6" in err and len(err.strip().splitlines()) == 1
