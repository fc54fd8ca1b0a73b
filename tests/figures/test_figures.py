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


def test_a_figure_draws_into_given_axes_and_again_from_its_json(tmp_path):
    """Computed once: drawn into a caller's Axes (the Figure returned, nothing saved), and drawn
    again from the saved JSON with the same lines -- the picture shows the JSON's numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theorykit.figures import FIGURES, load_figure

    data = FIGURES["fig2_left"]()
    fig, ax = plt.subplots()
    assert data.draw(ax) is fig and not list(tmp_path.iterdir())
    first = [line.get_ydata() for line in ax.lines]
    assert len(first) >= 2
    np.testing.assert_array_equal(first[0], data.numbers["eps_g_exact"][1:])
    paths = data.save(tmp_path)
    again = load_figure(paths[2])
    assert again.settings == data.settings
    redrawn = again.draw()
    for old, new in zip(first, (line.get_ydata() for line in redrawn.axes[0].lines), strict=True):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="1 panel"):
        data.draw([ax, ax])
    plt.close("all")


def test_saved_numbers_keep_integers_and_missing_values():
    """The saved form: integer lists stay integer, ``None`` is NaN in an array and ``null`` again
    in the JSON; NaN itself is refused (a result with NaN is a failure, not data)."""
    from theorykit.core.figure_data import _as_json, as_saved

    saved = as_saved({"seeds": [0, 1], "eps": [0.5, None], "rows": [{"w": [1, 2]}], "ragged": [[1], [2, 3]]})
    assert saved["seeds"].dtype.kind == "i" and np.isnan(saved["eps"][1])
    assert _as_json(saved) == {"seeds": [0, 1], "eps": [0.5, None], "rows": [{"w": [1, 2]}], "ragged": [[1], [2, 3]]}
    with pytest.raises(ValueError):
        as_saved({"eps": [float("nan")]})


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fig1", "fig2_right", "fig3_left", "fig4", "fig5", "fig6"])
def test_slow_figures(tmp_path, name):
    _check(tmp_path, name)


@pytest.mark.slow
def test_readout_figure_numbers(tmp_path):
    """The trained read-out's weights at the end: ODE against the SGD mean within 3 % (4 seeds,
    N = 1000); the trained curve starts above the fixed one (its read-out starts small)."""
    data = _check(tmp_path, "readout")
    for panel in data["panels"].values():
        trained, fixed = panel["trained"], panel["fixed"]
        np.testing.assert_allclose(trained["v_sgd_mean"][-1], trained["v_ode"][-1], rtol=0.03)
        assert trained["eps_g_ode"][5] > fixed["eps_g_ode"][5]


def test_fig3_right_floor_matches_sgd(tmp_path):
    """The exact floor against long SGD runs (2 seeds, 2000 test points; 6 outputs averaged):
    SGD's stationary fluctuation of ~O(eta) relative plus the seed spread allow 15 %."""
    data = _check(tmp_path, "fig3_right")
    for n, mean, exact in zip(data["sgd_N_l"], data["sgd_floor_mean"], data["sgd_floor_theory"]):
        assert abs(mean / exact - 1) < 0.15, (n, mean, exact)
    assert 0.2 < data["digits"]["beta_fit"] < 0.5


def test_unknown_figure(tmp_path, capsys):
    assert main(["figure", "fig99", "-o", str(tmp_path)]) == 2
    assert "fig2_left" in capsys.readouterr().err


def test_plateau_window_measures_entry_and_exit():
    from theorykit.committee.figures.plateau_figures import plateau_window

    alpha = np.linspace(0, 10, 101)
    eps = np.where(alpha < 2, 1.0, np.where(alpha < 7, 0.1, 0.01))
    assert plateau_window(alpha, eps, 0.1) == (2.0, 7.0)
    entry, exit_ = plateau_window(alpha, np.where(alpha < 2, 1.0, 0.1), 0.1)
    assert entry == 2.0 and np.isnan(exit_)  # the run ends on the plateau


def test_late_start_is_the_first_alpha_after_which_students_stay_close():
    """Synthetic trajectory: far, close, far again, then close for good -> the last entry wins."""
    from types import SimpleNamespace

    from theorykit.committee.late_phase import late_start_index

    lam = np.array([1.0])
    t = np.eye(2)[None]
    dev = np.array([1.0, 0.05, 0.5, 0.08, 0.02])
    r = t[None] * (1 - dev)[:, None, None, None]
    sol = SimpleNamespace(r=r, q=r.copy())
    assert late_start_index(sol, t, lam) == 3
    assert late_start_index(SimpleNamespace(r=r[:3], q=r[:3]), t, lam) is None


def test_power_law_guide_has_the_predicted_slope_and_starts_after_the_late_start():
    from types import SimpleNamespace

    from theorykit.committee.figures.late_figures import power_law_guide

    alpha = np.concatenate([[0.0], np.geomspace(1, 1e4, 200)])
    eps = 3.0 * np.concatenate([[1.0], alpha[1:] ** -0.5])
    asym = SimpleNamespace(exponent=0.5, window=(5.0, 2e3))  # nu of alpha^-nu
    guide = power_law_guide(asym, alpha, eps, start=50.0)
    assert guide["window"] == [50.0, 2e3]
    assert np.allclose(guide["eps_g"], 3.0 * guide["alpha"] ** -0.5, rtol=1e-3)
    assert power_law_guide(asym, alpha, eps, start=5e3) is None  # window over before the late start
    assert power_law_guide(SimpleNamespace(exponent=None, window=None), alpha, eps, 1.0) is None


def test_late_overlay_follows_the_ode_after_specialisation():
    """K = M = 2, L = 1 at N = 256 (Fig. 1's first curve): the linearised curve from the late
    start tracks the tight-tolerance ODE to 3 % (the start deviation is 10 %, its square ~1 %)."""
    from theorykit import CommitteeModel, Spectrum, random_overlaps, solve
    from theorykit.committee.figures.late_figures import late_curve, ode_config

    model = CommitteeModel(2, 2, Spectrum.power_law(1, 1.0))
    init = random_overlaps(model, 256, 0.01, 0)
    alpha = np.linspace(0, 8000, 161)
    sol = solve(model, 0.1, init, alpha, ode_config(model.spectrum, 1e-7)).raise_for_status()
    late = late_curve(model, 0.1, sol, init.t)
    assert late is not None and 2000 < late["start"] < 6000
    ode = sol.eps_g[alpha >= late["start"]]
    assert np.max(np.abs(late["eps_g"] / ode - 1)) < 0.03


def test_sgd_bars_stay_positive_on_log_axes():
    """fig2/fig3's SGD bars span the seeds' range: with a wide spread, mean - std < 0 would run
    to zero on a log axis; the drawn lower ends are the smallest seed values, all positive."""
    from types import SimpleNamespace

    from theorykit.committee.figures.linear_figures import _sim_numbers, _sim_points
    from theorykit.core.figure_data import as_saved
    from theorykit.core.output import new_figure

    eps = np.array([[1e-3, 0.2, 1e-4], [0.5, 0.01, 2e-4], [1e-3, 0.02, 1e-4]])  # seeds x alpha
    sim = SimpleNamespace(
        alpha=np.array([1.0, 10.0, 100.0]),
        eps_g=eps,
        mean=lambda name: eps.mean(axis=0),
        spread=lambda name: eps.std(axis=0, ddof=1),
    )
    numbers = as_saved(_sim_numbers(sim))
    assert np.any(numbers["sim_mean"] - numbers["sim_std"] < 0)  # the case the old bars got wrong
    fig, ax = new_figure()
    _sim_points(ax, sim.alpha, numbers, "C0", "SGD")
    (container,) = ax.containers
    lower_ends = container.lines[2][0].get_segments()
    # mean - (mean - min): the smallest seed value, to rounding
    np.testing.assert_allclose([segment[0][1] for segment in lower_ends], eps.min(axis=0), rtol=1e-12)
    assert "range over seeds" in ax.get_legend_handles_labels()[1][0]


def test_matched_split_follows_the_final_pairing():
    """fig4's matched/unmatched overlaps: student i ends on teacher (i + 1) mod K; the matched mean
    must follow those pairs at every time, the unmatched mean the rest (the old K x M average mixed them)."""
    from theorykit.committee.figures.plateau_figures import _matched_split

    K, L, T = 3, 2, 4
    rng = np.random.default_rng(0)
    r = rng.uniform(0.0, 0.1, size=(T, L, K, K))
    pairs = [(i, (i + 1) % K) for i in range(K)]
    for i, m in pairs:
        r[-1, :, i, m] = 0.9
    matched, other = _matched_split(r, np.array([0.7, 0.3]))
    expected = np.mean([r[:, :, i, m] for i, m in pairs], axis=0)
    rest = [(i, m) for i in range(K) for m in range(K) if (i, m) not in pairs]
    np.testing.assert_allclose(matched, expected, rtol=1e-14)
    np.testing.assert_allclose(other, np.mean([r[:, :, i, m] for i, m in rest], axis=0), rtol=1e-14)


def test_plot_learning_curve_returns_its_figure_and_draws_the_overlap_estimate():
    """A new Axes by default, the Figure returned; SGD drawn from the measured overlaps (no
    test-set noise) with the seeds' range shaded, positive on the log axis."""
    from types import SimpleNamespace

    from theorykit.committee.plotting import plot_learning_curve

    alpha = np.array([0.0, 1.0, 10.0])
    overlaps = np.array([[0.2, 0.1, 0.01], [0.3, 0.05, 0.02]])
    sim = SimpleNamespace(
        alpha=alpha, eps_g=overlaps * 3, eps_g_overlaps=overlaps, N=100, seeds=[0, 1], mean=None, spread=None
    )
    fig = plot_learning_curve(simulation=sim, label="x")
    (ax,) = fig.axes
    drawn = ax.lines[0].get_ydata()
    np.testing.assert_allclose(drawn, overlaps.mean(axis=0))
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= overlaps.min() - 1e-15 and band.max() <= overlaps.max() + 1e-15
    fig = plot_learning_curve(simulation=sim, estimate="test_set")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), (overlaps * 3).mean(axis=0))
    with pytest.raises(ValueError, match="estimate"):
        plot_learning_curve(simulation=sim, estimate="mc")


def test_the_docs_name_every_registered_figure():
    """The figure lists of the README and docs/cli.md are written by hand: they must stay complete."""
    from pathlib import Path

    from theorykit.figures import FIGURES

    root = Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/cli.md"):
        text = (root / doc).read_text()
        assert "|".join(FIGURES) in text, doc
