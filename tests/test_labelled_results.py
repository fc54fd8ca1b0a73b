"""Every result object as a labelled xarray Dataset: dimensions named, values those of the object,
a NetCDF round trip that loses nothing, and a repr short enough to read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import theorykit as tk


def _round_trip(ds: xr.Dataset, tmp_path) -> xr.Dataset:
    path = tmp_path / f"result{len(list(tmp_path.iterdir()))}.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as opened:
        back = opened.load()
    xr.testing.assert_identical(back, ds)
    return back


def test_simulation_dataset(tmp_path):
    model = tk.CommitteeModel(2, 3, tk.Spectrum.power_law(3, 0.3, fractions=[0.2, 0.3, 0.5]))
    init = tk.random_overlaps(model, 60, 0.3, 0)
    sim = tk.simulate(model, 0.3, [0.5, 1.0, 2.5], 60, seeds=2, init=init, n_test=50, progress=False)
    ds = _round_trip(sim.to_xarray(), tmp_path)
    assert ds["r"].dims == ("seed", "alpha", "mode", "student", "teacher") and ds.sizes["teacher"] == 3
    assert np.array_equal(ds["eps_g"].values, sim.eps_g) and list(ds["alpha"].values) == [0.5, 1.0, 2.5]
    assert json.loads(ds.attrs["model"])["M"] == 3 and ds.attrs["N"] == 60
    assert len(repr(sim)) < 300


def test_late_phase_dataset(tmp_path):
    from theorykit.committee.late_phase import late_asymptotics

    # K = M = 2, L = 8, eta = 0.3: the case whose mpmath QR used to stop after 4 x dps sweeps
    result = late_asymptotics(tk.CommitteeModel(2, 2, tk.Spectrum.power_law(8, 1.0)), 0.3, dps=20)
    assert abs(float(result.precise["eps_rate"]) / result.eps_rate - 1) < 1e-10  # mpmath against the float route
    ds = _round_trip(result.to_xarray(), tmp_path)
    assert float(ds["exponent"]) == 0.5 and float(ds["eps_rate"]) == result.eps_rate
    assert json.loads(ds.attrs["regimes"]) == json.loads(json.dumps(result.regimes, default=float))
    assert len(repr(result)) < 300


def test_random_feature_datasets(tmp_path):
    from theorykit.rf.dmft import solve_rf
    from theorykit.rf.model import RandomFeatureModel
    from theorykit.rf.simulate import simulate_rf

    model = RandomFeatureModel(N=20, P=10, a=0.3, gamma=0.1, noise=0.1)
    theory = solve_rf(model, [0.1, 1.0, 10.0])
    ds = _round_trip(theory.to_xarray(), tmp_path)
    assert list(ds["time"].values) == [0.1, 1.0, 10.0] and np.array_equal(ds["eps_g"].values, theory.eps_g)
    assert np.allclose(sum(ds[f"term_{name}"].values for name in theory.terms), theory.eps_g, rtol=1e-12)
    sim = simulate_rf(model, [0.1, 1.0, 10.0], draws=4, seed=1)
    ds = _round_trip(sim.to_xarray(), tmp_path)
    assert ds["per_draw"].dims == ("draw", "time") and np.array_equal(ds["eps_g_se"].values, sim.eps_g_se)
    assert len(repr(theory)) < 300 and len(repr(sim)) < 300


@pytest.mark.parametrize("dps", [None, 25])
def test_plateau_dataset(tmp_path, dps):
    plateau = tk.find_plateau(tk.CommitteeModel(2, 3, tk.Spectrum.power_law(3, 0.3)), 0.3, dps=dps)
    ds = _round_trip(plateau.to_xarray(), tmp_path)
    assert float(ds["R"]) == plateau.R and ds["R_matrix"].dims == ("student", "teacher")
    assert ("R_decimal" in ds) == (dps is not None) and len(repr(plateau)) < 300
    if dps:
        assert abs(float(str(ds["R_decimal"].values)) - plateau.R) < 1e-12 and len(str(ds["R_decimal"].values)) > 25
