"""Sweeps: the grid, the labelled dataset, failures recorded, the per-point cache and resume,
on the local pool and on a real Dask LocalCluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from theorykit.cli import main  # noqa: E402
from theorykit.committee.linear_network import linear_learning_curve  # noqa: E402
from theorykit.committee.model import CommitteeModel, Spectrum  # noqa: E402
from theorykit.committee.solve.initial import random_overlaps  # noqa: E402
from theorykit.core.errors import CaseError  # noqa: E402
from theorykit.sweeps import largest_first, read_sweep, run_sweep  # noqa: E402

LINEAR = """
command = "linear"
[grid]
eta = [0.3, 0.05]
"spectrum.L" = [2, 5, 3]
[case]
eta = 0.1
alpha = [1.5, 10.0, 40.0]
[case.model]
K = 2
M = 3
activation = "linear"
[case.spectrum]
kind = "power_law"
L = 4
beta = 0.3
[case.init]
kind = "random"
N = 300
sigma_J = 0.2
seed = 4
"""


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _sweep_file(tmp_path, text=LINEAR, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_dataset_matches_the_api_point_by_point(tmp_path, cache):
    """K != M, eta = 0.3 (not a binary float), an alpha list not starting at 0, L not sorted."""
    ds = run_sweep(read_sweep(_sweep_file(tmp_path)))
    assert ds["eps_g"].dims == ("eta", "spectrum.L", "alpha")
    assert list(ds["spectrum.L"].values) == [2, 5, 3] and list(ds["alpha"].values) == [1.5, 10.0, 40.0]
    assert (ds["status"] == "ok").all()
    for eta in (0.3, 0.05):
        for L in (2, 5, 3):
            model = CommitteeModel(2, 3, Spectrum.power_law(L, 0.3), "linear")
            init = random_overlaps(model, 300, 0.2, 4)
            curve = linear_learning_curve(model, eta, init, [1.5, 10.0, 40.0])
            got = ds["eps_g"].sel(eta=eta, **{"spectrum.L": L}).values
            np.testing.assert_allclose(got, curve.eps_g, rtol=1e-14)
    assert json.loads(ds.attrs["base_case"])["model"]["M"] == 3 and ds.attrs["command"] == "linear"
    # every axis says what it is, from the same schema as the docs and the errors
    from theorykit.committee.schema import COMMITTEE

    for axis in ("eta", "spectrum.L", "alpha"):
        assert ds[axis].attrs["long_name"] == COMMITTEE[axis].meaning


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, cache):
    text = LINEAR.replace("eta = [0.3, 0.05]", "eta = [0.3, -1.0]")
    ds = run_sweep(read_sweep(_sweep_file(tmp_path, text)))
    bad = ds.sel(eta=-1.0)
    assert (bad["status"] == "bad_input").all()
    assert all(str(m).startswith("theorykit: error: eta: must be a number in (0,") for m in bad["message"].values)
    assert np.isnan(bad["eps_g"].values).all()
    assert (ds.sel(eta=0.3)["status"] == "ok").all() and np.isfinite(ds.sel(eta=0.3)["eps_g"].values).all()


def test_cached_points_are_not_recomputed_and_a_damaged_entry_is(tmp_path, cache):
    sweep = read_sweep(_sweep_file(tmp_path))
    first = run_sweep(sweep)
    entries = sorted((cache / "sweeps").glob("*.json"))
    assert len(entries) == 6
    entries[0].write_text('{"status": "ok", "res')  # as if cut mid-write by something else
    stamps = {p: p.stat().st_mtime_ns for p in entries[1:]}
    time.sleep(0.01)
    done = []
    second = run_sweep(sweep, on_point=lambda n, total: done.append((n, total)))
    assert done[0] == (5, 6) and done[-1] == (6, 6)  # five from the cache, one recomputed
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    xr.testing.assert_identical(first, second)


def test_zip_axis_and_bad_sweep_files(tmp_path, cache):
    text = LINEAR.replace(
        '[grid]\neta = [0.3, 0.05]\n"spectrum.L" = [2, 5, 3]', '[zip]\neta = [0.3, 0.05]\n"spectrum.L" = [2, 5]'
    )
    ds = run_sweep(read_sweep(_sweep_file(tmp_path, text)))
    assert ds["eps_g"].dims == ("eta|spectrum.L", "alpha") and ds.sizes["eta|spectrum.L"] == 2
    assert ds["eta|spectrum.L"].attrs["long_name"].startswith("eta: learning rate")
    for bad, field in [
        (LINEAR.replace('command = "linear"', 'command = "rm"'), "command"),
        (LINEAR.replace("eta = [0.3, 0.05]", "eta = []"), "grid.eta"),
        (text.replace('"spectrum.L" = [2, 5]', '"spectrum.L" = [2]'), "zip"),
        (LINEAR + "\n[extra]\nx = 1\n", "extra"),
    ]:
        with pytest.raises(CaseError, match=f"^{field}"):
            read_sweep(_sweep_file(tmp_path, bad, "bad.toml"))


def test_points_are_handed_out_largest_first(tmp_path):
    text = """
command = "solve"
[grid]
"spectrum.L" = [4, 16, 8]
eta = [0.3, 0.1]
[zip]
"model.K" = [1, 3]
seed = [900, 1]
[case]
eta = 0.5
"""
    sweep = read_sweep(_sweep_file(tmp_path, text))
    points = sweep.points()
    ordered = largest_first(sweep, points)
    sizes = [case["spectrum"]["L"] * case["model"]["K"] for _, case in ordered]
    assert sizes == [48, 48, 24, 24, 16, 16, 12, 12, 8, 8, 4, 4]  # the seed is no size
    # equal sizes keep the grid order (eta 0.3 before 0.1), and no point is lost or changed
    assert [case["eta"] for _, case in ordered[:2]] == [0.3, 0.1]
    assert sorted(map(str, ordered)) == sorted(map(str, points))


def test_cli_writes_netcdf_on_two_local_workers(tmp_path, cache):
    out = tmp_path / "out.nc"
    assert main(["sweep", str(_sweep_file(tmp_path)), "-o", str(out), "--workers", "2"]) == 0
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds["eps_g"].shape == (2, 3, 3) and (ds["status"] == "ok").all()
    assert main(["sweep", str(_sweep_file(tmp_path)), "-o", str(tmp_path / "o.nc"), "--workers", "0"]) == 2


def test_dask_local_cluster_gives_the_same_dataset_and_resumes_after_a_kill(tmp_path, cache):
    pytest.importorskip("distributed")
    sweep = _sweep_file(tmp_path)
    local = run_sweep(read_sweep(sweep))
    for entry in (cache / "sweeps").glob("*.json"):
        entry.unlink()
    # a dask sweep killed part way: some points cached, none half-written
    env = {**__import__("os").environ, "THEORYKIT_CACHE_DIR": str(cache)}
    argv = [sys.executable, "-m", "theorykit", "sweep", str(sweep), "-o", str(tmp_path / "k.nc")]
    proc = subprocess.Popen([*argv, "--scheduler", "dask", "--workers", "2"], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((cache / "sweeps").glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    cached = list((cache / "sweeps").glob("*.json"))
    assert 0 < len(cached) < 6  # killed part way (each point is a fresh worker task of ~0.3 s or more)
    assert all(json.loads(p.read_text())["status"] == "ok" for p in cached)
    resumed = run_sweep(read_sweep(sweep), workers=2, scheduler="dask")
    # Dask's workers compute on one thread: the same numbers up to round-off, the same everything else
    xr.testing.assert_allclose(local, resumed, rtol=1e-12, atol=0)
    assert local.attrs == resumed.attrs and (local["status"] == resumed["status"]).all()


def test_only_curves_over_time_take_the_alpha_dimension(tmp_path, cache):
    """Two output times and a two-number window: the window keeps its own dimension."""
    text = LINEAR.replace("alpha = [1.5, 10.0, 40.0]", "alpha = [1.5, 10.0]")
    ds = run_sweep(read_sweep(_sweep_file(tmp_path, text)))
    assert ds["eps_g"].dims[-1] == "alpha" and ds["window"].dims[-1] == "window_index"


def test_high_precision_points_keep_their_digits(tmp_path, cache):
    """``dps`` in the sweep's case: every point evaluated at 30 digits from the exact inputs, the
    values kept as the decimal strings written (a float variable would round them to 16)."""
    text = LINEAR.replace('"spectrum.L" = [2, 5, 3]', '"spectrum.L" = [2, 3]').replace(
        "eta = 0.1\n", "eta = 0.1\ndps = 30\n"
    )
    ds = run_sweep(read_sweep(_sweep_file(tmp_path, text)))
    assert ds["eps_g"].dims == ("eta", "spectrum.L", "alpha") and ds["eps_g"].dtype.kind == "U"
    assert (ds["agreement_digits"] >= 30).all()
    for eta in (0.3, 0.05):
        for L in (2, 3):
            model = CommitteeModel(2, 3, Spectrum.power_law(L, 0.3), "linear")
            init = random_overlaps(model, 300, 0.2, 4)
            expected = linear_learning_curve(model, eta, init, [1.5, 10.0, 40.0], dps=30).precise.strings()
            got = list(ds["eps_g"].sel(eta=eta, **{"spectrum.L": L}).values)
            assert got == expected and all(len(v.lstrip("0.")) >= 28 for v in got)
    path = tmp_path / "hp.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        assert list(back["eps_g"].values[0, 0]) == list(ds["eps_g"].values[0, 0])
