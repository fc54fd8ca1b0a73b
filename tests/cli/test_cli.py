"""The command line: outputs, provenance and clean one-line errors (exit code 2)."""

import json
import subprocess
import sys

import pytest

from theorykit import __version__
from theorykit.cli import main
from theorykit.committee.simulate.backends import resolve_backend

BASE = {
    "model": {"K": 2, "M": 2, "activation": "erf", "normalization": "sqrt"},
    "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0},
    "eta": 0.5,
    "small_lr": False,
    "init": {"kind": "random", "N": 400, "sigma_J": 0.3, "seed": 7},
    "alpha": [0, 1, 10, 100],
}


def _case(tmp_path, case, name="case.json"):
    path = tmp_path / name
    path.write_text(json.dumps(case))
    return str(path)


def test_solve_writes_results_and_provenance(tmp_path):
    out = tmp_path / "out.json"
    assert main(["solve", _case(tmp_path, BASE), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["alpha"] == [0, 1, 10, 100]
    assert len(data["eps_g"]) == 4 and all(e > 0 for e in data["eps_g"])
    assert data["theorykit_version"] == __version__ and data["seed"] == 7
    assert data["case"] == BASE
    assert len(data["final"]["r"]) == 4 and len(data["final"]["r"][0]) == 2


def test_solve_is_bit_reproducible(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    case = _case(tmp_path, BASE)
    main(["solve", case, "-o", str(a)])
    main(["solve", case, "-o", str(b)])
    assert a.read_text() == b.read_text()


def test_toml_and_explicit_overlaps(tmp_path):
    toml = """
eta = 0.5
alpha = [0.0, 2.0]
[model]
K = 1
M = 1
activation = "linear"
[spectrum]
kind = "explicit"
eigenvalues = [1.5, 0.5]
fractions = [0.5, 0.5]
[init]
r = [[[0.0]], [[0.0]]]
q = [[[0.1]], [[0.1]]]
t = [[[0.5]], [[0.5]]]
"""
    path = tmp_path / "case.toml"
    path.write_text(toml)
    out = tmp_path / "o.json"
    assert main(["solve", str(path), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["eps_g"][0] == pytest.approx(0.5 * (1.5 * 0.6 + 0.5 * 0.6))


BAD = [
    ({"model": {"K": 0}}, "model.K"),
    ({"model": {"K": 2, "M": 2, "activation": "__import__('os')"}}, "model.activation"),
    ({"eta": -1}, "eta"),
    ({"eta": 0}, "eta"),
    ({"spectrum": {"kind": "power_law", "L": 4, "beta": -1.5}}, "spectrum.beta"),
    ({"spectrum": {"kind": "explicit", "eigenvalues": [1, 2], "fractions": [0.3, 0.3]}}, "spectrum.fractions"),
    ({"alpha": [0, 10, 5]}, "alpha"),
    ({"init": {"r": [[[0.0]]], "q": [[[1.0]]], "t": [[[1.0]]]}}, "init.r"),
    ({"etaa": 1}, "did you mean 'eta'"),
    ({"model": {"K": 2, "M": 2, "normalisation": "sqrt"}}, "did you mean 'normalization'"),
    ({"init": {"kind": "random", "N": 400, "sigma_J": 0.3, "seed": 0, "extra": 1}}, "init.extra"),
    ({"simulation": {"N": 100, "backend": "opencl"}}, "simulation.backend"),
]


@pytest.mark.parametrize("patch,field", BAD)
def test_bad_input_one_line_exit_2(tmp_path, capsys, patch, field):
    case = {**BASE, **patch}
    code = main(["solve", _case(tmp_path, case), "-o", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert field in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


def test_malformed_files(tmp_path, capsys):
    for name, text in (("a.json", "{not json"), ("b.json", '{"eta": NaN}'), ("c.toml", "x = [")):
        path = tmp_path / name
        path.write_text(text)
        assert main(["solve", str(path), "-o", str(tmp_path / "o.json")]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert main(["solve", str(tmp_path / "missing.json"), "-o", "x.json"]) == 2


def test_non_psd_initial_overlaps(tmp_path, capsys):
    case = {
        **BASE,
        "model": {"K": 1, "M": 1},
        "spectrum": {"kind": "explicit", "eigenvalues": [1.0]},
        "init": {"r": [[[2.0]]], "q": [[[1.0]]], "t": [[[1.0]]]},
    }
    assert main(["solve", _case(tmp_path, case), "-o", str(tmp_path / "o.json")]) == 2
    assert "positive semi-definite" in capsys.readouterr().err


def test_numerical_failure_exit_1(tmp_path, capsys):
    case = {**BASE, "model": {"K": 2, "M": 2, "activation": "linear"}, "eta": 10.0, "alpha": [0, 1, 1000]}
    assert main(["solve", _case(tmp_path, case), "-o", str(tmp_path / "o.json")]) == 1
    assert "numerical failure" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_simulate_command(tmp_path):
    out = tmp_path / "sim.json"
    case = {**BASE, "alpha": [0, 0.5, 1.0], "simulation": {"N": 200, "seeds": 2, "n_test": 200}}
    assert main(["simulate", _case(tmp_path, case), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [0, 1] and len(data["eps_g"]) == 3 and data["N"] == 200
    assert data["backend"] == resolve_backend("auto")
    assert main(["simulate", _case(tmp_path, case), "-o", str(out), "--backend", "numpy", "--seeds", "1"]) == 0
    assert json.loads(out.read_text())["seeds"] == [0]


def test_module_entry_point_and_version():
    result = subprocess.run([sys.executable, "-m", "theorykit", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_derive_latex(tmp_path, capsys):
    assert main(["derive", _case(tmp_path, BASE), "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\left\langle g'(u_{i})\,g'(u_{x}) \right\rangle" in out


def test_solve_exponential_at_a_large_size(tmp_path):
    """K = M = 8, L = 256 (16 384 unknowns, eigenvalue spread 6.5e4) through the CLI with the
    structured integrator; the result matches the API's LSODA reference to 1e-3 relative
    (the integrator's global error at rtol 1e-7 is ~1e-4 on such runs)."""
    import numpy as np

    from theorykit import CommitteeModel, Spectrum, random_overlaps, solve
    from theorykit.committee.solve.integrate import SolverConfig

    case = {
        "model": {"K": 8, "M": 8},
        "spectrum": {"kind": "power_law", "L": 256, "beta": 1.0},
        "eta": 0.05,
        "init": {"kind": "random", "N": 256, "sigma_J": 0.01, "seed": 1},
        "alpha": [0, 1, 10, 50],
        "solver": {"method": "exponential", "rtol": 1e-7},
    }
    out = tmp_path / "big.json"
    assert main(["solve", _case(tmp_path, case), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["solver"]["method"] == "exponential" and data["status"] == "success"
    assert np.asarray(data["final"]["q"]).shape == (256, 8, 8)
    model = CommitteeModel(8, 8, Spectrum.power_law(256, 1.0))
    ref = solve(
        model,
        0.05,
        random_overlaps(model, 256, 0.01, 1),
        [0, 1, 10, 50],
        SolverConfig(method="LSODA", rtol=1e-10, atol=1e-13),
    )
    assert np.allclose(data["eps_g"], ref.eps_g, rtol=1e-3, atol=0)


def _choices(command: str, option: str) -> list:
    from theorykit.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if a.dest == option).choices)


def test_cli_choices_are_the_librarys():
    """Every name the library accepts is accepted by the CLI (both come from the schema and the registry)."""
    from theorykit.committee.schema import FLAVOURS, SGD_BACKENDS, SOLVER_METHODS
    from theorykit.figures import FIGURES
    from theorykit.rf.schema import RF_METHODS

    assert _choices("solve", "method") == list(SOLVER_METHODS)
    assert {"auto", "exponential"} <= set(SOLVER_METHODS)
    assert _choices("solve", "flavour") == list(FLAVOURS) and "mpmath" in FLAVOURS
    assert _choices("simulate", "backend") == list(SGD_BACKENDS)
    assert _choices("rf", "method") == list(RF_METHODS)
    assert set(_choices("figure", "name")) == set(FIGURES) == set(_choices("reproduce", "only"))


def test_solve_runs_every_method_the_docs_recommend(tmp_path):
    case = _case(tmp_path, BASE)
    results = {}
    for method, flavour in (("exponential", "auto"), ("DOP853", "mpmath"), ("LSODA", "auto")):
        out = tmp_path / f"{method}.json"
        assert main(["solve", case, "-o", str(out), "--method", method, "--flavour", flavour]) == 0
        data = json.loads(out.read_text())
        assert data["solver"]["method"] == method
        results[method] = data["eps_g"]
    # the exponential integrator's global error is larger than its local rtol (docs/performance.md)
    assert results["exponential"] == pytest.approx(results["LSODA"], rel=1e-3)
    assert results["DOP853"] == pytest.approx(results["LSODA"], rel=1e-5)


def test_argparse_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["solve", _case(tmp_path, BASE), "-o", str(tmp_path / "x.json"), "--method", "RK4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice" in err[0] and "'exponential'" in err[0]


def test_solve_writes_netcdf_csv_and_json_trajectories(tmp_path):
    """The same run in three formats; R, Q against the covariance the system assembles itself."""
    import csv

    import numpy as np
    import xarray as xr

    from theorykit.committee.case import parse_case
    from theorykit.committee.solve.eigenmode import EigenmodeSystem

    case = {**BASE, "model": {"K": 2, "M": 3, "activation": "erf"}, "eta": 0.3, "alpha": [0.5, 3.0, 20.0]}
    path = _case(tmp_path, case)
    for suffix in ("nc", "csv", "json"):
        assert main(["solve", path, "-o", str(tmp_path / f"out.{suffix}")]) == 0
    ds = xr.open_dataset(tmp_path / "out.nc", engine="h5netcdf")
    parsed = parse_case(case)
    system = EigenmodeSystem.build(parsed.model, 0.3, parsed.init.t)
    for a in range(ds.sizes["alpha"]):
        state = system.pack(ds["r"].values[a], ds["q"].values[a])
        C = system.covariance(state)
        np.testing.assert_allclose(ds["R"].values[a], C[:2, 2:], rtol=1e-13)
        np.testing.assert_allclose(ds["Q"].values[a], C[:2, :2], rtol=1e-13)
    assert list(ds["alpha"].values) == [0.5, 3.0, 20.0] and json.loads(ds.attrs["case"]) == case
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [float(r["alpha"]) for r in rows] == [0.5, 3.0, 20.0]
    assert [float(r["R_1_2"]) for r in rows] == list(ds["R"].values[:, 1, 2])
    data = json.loads((tmp_path / "out.json").read_text())
    assert np.array_equal(np.array(data["trajectory"]["Q"]), ds["Q"].values)
    assert main(["solve", path, "-o", str(tmp_path / "out.txt")]) == 2


def test_plateau_and_linear_write_netcdf_with_their_json_numbers(tmp_path):
    """``-o .nc`` holds the same numbers as ``-o .json``: the plateau's decimal strings to the digits
    asked for (not float's 15), its certified enclosures as an attribute; the linear curve per alpha."""
    import xarray as xr

    plateau = {"model": {"K": 2, "M": 3, "activation": "erf"}, "spectrum": {"kind": "power_law", "L": 3, "beta": 0.3}}
    path = _case(tmp_path, {**plateau, "eta": 0.3})
    for suffix in ("nc", "json"):
        assert main(["plateau", path, "-o", str(tmp_path / f"p.{suffix}"), "--dps", "30", "--certify"]) == 0
    ds = xr.open_dataset(tmp_path / "p.nc", engine="h5netcdf")
    data = json.loads((tmp_path / "p.json").read_text())
    for name in ("R", "Q", "C", "eps_g", "escape_rate"):
        assert float(ds[name]) == data[name]
        assert str(ds[f"{name}_decimal"].values) == data["decimal"][name] and len(data["decimal"][name]) > 25
    assert json.loads(ds.attrs["enclosures"]) == data["enclosures"] and ds.attrs["command"] == "plateau"
    assert list(ds["R_l"].values) == data["heights"]["R_l"]

    linear = {**BASE, "model": {"K": 2, "M": 3, "activation": "linear"}, "eta": 0.3, "alpha": [0.5, 3.0, 20.0]}
    path = _case(tmp_path, linear)
    for suffix in ("nc", "json"):
        assert main(["linear", path, "-o", str(tmp_path / f"l.{suffix}"), "--dps", "25"]) == 0
    ds = xr.open_dataset(tmp_path / "l.nc", engine="h5netcdf")
    data = json.loads((tmp_path / "l.json").read_text())
    assert list(ds["alpha"].values) == [0.5, 3.0, 20.0] and list(ds["eps_g_decimal"].values) == data["eps_g"]
    assert json.loads(ds.attrs["case"]) == linear and ds.attrs["exponent"] == data["exponent"]
    assert main(["plateau", path, "-o", str(tmp_path / "p.csv")]) == 2  # refused before any work


def test_curves_write_csv_tables_with_the_netcdf_numbers(tmp_path):
    """simulate, linear and rf write ``.csv``: one row per output time, the same numbers as the
    ``.nc`` of the same run (per seed for the simulation, the decimal strings for ``--dps``)."""
    import csv

    import xarray as xr

    def both(command, path, *options):
        for suffix in ("nc", "csv"):
            assert main([command, path, "-o", str(tmp_path / f"{command}.{suffix}"), *options]) == 0
        with xr.open_dataset(tmp_path / f"{command}.nc", engine="h5netcdf") as ds:
            return ds.load(), list(csv.DictReader((tmp_path / f"{command}.csv").open()))

    linear = {**BASE, "model": {"K": 2, "M": 3, "activation": "linear"}, "eta": 0.3, "alpha": [0.5, 3.0, 20.0]}
    ds, rows = both("linear", _case(tmp_path, linear), "--dps", "25")
    assert [float(r["alpha"]) for r in rows] == [0.5, 3.0, 20.0]
    assert [r["eps_g_decimal"] for r in rows] == list(ds["eps_g_decimal"].values)
    assert [float(r["eps_g"]) for r in rows] == list(ds["eps_g"].values)

    sim = {**BASE, "alpha": [0.0, 1.0, 2.0], "simulation": {"N": 40, "seeds": 2}}
    ds, rows = both("simulate", _case(tmp_path, sim))
    assert [float(r["alpha"]) for r in rows] == [0.0, 1.0, 2.0]
    for seed in range(2):
        assert [float(r[f"eps_g_{seed}"]) for r in rows] == list(ds["eps_g"].values[seed])
    # per-mode overlaps (2 seeds x 4 modes x 2 x 2 = 32 per point) flattened with alpha moved first
    assert [float(r["r_1_3_0_1"]) for r in rows] == list(ds["r"].values[1, :, 3, 0, 1])

    rf = {"N": 40, "P": 20, "a": 0.5, "gamma": 0.1, "T": 0.0, "noise": 0.1, "times": [0.5, 2.0]}
    ds, rows = both("rf", _case(tmp_path, rf))
    assert [float(r["time"]) for r in rows] == [0.5, 2.0]
    assert [float(r["bias"]) for r in rows] == list(ds["bias"].values)
    asym = {"model": {"K": 2, "M": 2}, "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0}, "eta": 0.1}
    assert main(["asymptotics", _case(tmp_path, asym), "-o", str(tmp_path / "a.csv")]) == 2  # not a curve


def test_simulate_asymptotics_and_rf_write_netcdf(tmp_path):
    """The same numbers in ``-o .nc`` as in ``-o .json`` for the other result commands."""
    import numpy as np
    import xarray as xr

    def both(command, path, *options):
        for suffix in ("nc", "json"):
            assert main([command, path, "-o", str(tmp_path / f"{command}.{suffix}"), *options]) == 0
        with xr.open_dataset(tmp_path / f"{command}.nc", engine="h5netcdf") as ds:
            return ds.load(), json.loads((tmp_path / f"{command}.json").read_text())

    case = {**BASE, "simulation": {"N": 60, "seeds": 2, "n_test": 50}, "alpha": [0.5, 1.0]}
    ds, data = both("simulate", _case(tmp_path, case))
    assert np.array_equal(ds["eps_g"].values, np.array(data["eps_g_per_seed"])) and ds.attrs["command"] == "simulate"
    assert json.loads(ds.attrs["seeds"]) == data["seeds"] == [0, 1]

    late = {"model": {"K": 2, "M": 2, "activation": "erf"}, "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0}}
    ds, data = both("asymptotics", _case(tmp_path, {**late, "eta": 0.3}, "late.json"), "--dps", "20")
    assert float(ds["eps_rate"]) == data["eps_rate"] and json.loads(ds.attrs["regimes"]) == data["regimes"]

    rf = {"N": 12, "P": 7, "a": 0.3, "gamma": 0.1, "times": [0.1, 1.0, 10.0]}
    ds, data = both("rf", _case(tmp_path, rf, "rf.json"))
    assert list(ds["eps_g"].values) == data["eps_g"] and json.loads(ds.attrs["settings"]) == data["settings"]
    assert main(["rf", _case(tmp_path, rf, "rf.json"), "-o", str(tmp_path / "rf.txt")]) == 2
