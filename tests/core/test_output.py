"""CSV tables of result datasets (``theorykit.core.output.curve_table``)."""

from __future__ import annotations

import csv
import io

import numpy as np

from theorykit.core.output import TABLE_COLUMNS_PER_VARIABLE, curve_table, labelled_dataset


def test_curve_table_rows_columns_and_the_width_limit():
    """One row per point along the named axis wherever it sits among a variable's dimensions;
    variables wider than the limit per point are left out unless named; strings stay strings."""
    alpha = np.array([0.5, 3.0])
    wide = np.arange(2 * 9 * 9, dtype=float).reshape(2, 9, 9)  # 81 > 64 per point
    data = {
        "eps_g": (("alpha",), np.array([0.1, 0.01]), {}),
        "per_seed": (("seed", "alpha"), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), {}),
        "wide": (("alpha", "i", "j"), wide, {}),
        "digits": (("alpha",), np.array(["0.1000000000000000000001", "0.01"]), {}),
        "scalar": ((), 7.0, {}),
    }
    dataset = labelled_dataset(data, coords={"alpha": ("alpha", alpha)})
    assert 9 * 9 > TABLE_COLUMNS_PER_VARIABLE
    rows = list(csv.DictReader(io.StringIO(curve_table(dataset, "alpha"))))
    assert [float(r["alpha"]) for r in rows] == [0.5, 3.0]
    assert [float(r["per_seed_2"]) for r in rows] == [5.0, 6.0]
    assert rows[0]["digits"] == "0.1000000000000000000001"
    assert not any(name.startswith("wide") or name == "scalar" for name in rows[0])
    rows = list(csv.DictReader(io.StringIO(curve_table(dataset, "alpha", flatten=("wide",)))))
    assert [float(r["wide_8_3"]) for r in rows] == list(wide[:, 8, 3])
