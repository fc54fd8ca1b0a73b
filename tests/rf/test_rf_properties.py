"""Random-feature DMFT and simulator, property-based (hypothesis, bounded examples).

Random valid models never crash and satisfy the invariants (eps_g >= 0, bias and variance
>= 0, eps_g = teacher + labels + thermal, identical seeds give identical simulations);
random invalid case fields always give the clean one-line error; injection strings in the
text fields are rejected as values, never evaluated.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorykit.cli import main
from theorykit.core.errors import CaseError
from theorykit.rf import RandomFeatureModel, simulate_rf, solve_rf
from theorykit.rf.case import parse_rf_case

SETTINGS = settings(max_examples=settings.default.max_examples * 4 // 3)  # profile-scaled (tests/conftest.py)


@st.composite
def rf_models(draw):
    return RandomFeatureModel(
        N=draw(st.integers(1, 60)),
        P=draw(st.integers(1, 60)),
        a=draw(st.floats(0.05, 3.0)),
        gamma=draw(st.sampled_from([0.0, 1e-3, 0.1, 2.0])),
        T=draw(st.sampled_from([0.0, 1e-3, 0.05])),
        noise=draw(st.sampled_from([0.0, 0.1, 1.0])),
        teacher_exponent=draw(st.sampled_from([0.0, 0.0, 0.7])),
        normalization=draw(st.sampled_from(["sum", "first"])),
        loss=draw(st.sampled_from(["sum", "mean"])),
    )


TIMES = np.array([0.0, 1e-3, 0.1, 10.0, 1e3, 1e5])


@SETTINGS
@given(rf_models())
def test_dmft_invariants(model):
    curve = solve_rf(model, TIMES)
    scale = curve.eps_g.max()
    assert np.all(curve.eps_g >= -1e-9 * scale)
    assert np.all(curve.bias >= -1e-9 * scale)
    assert np.all(curve.variance >= -1e-7 * scale)
    assert np.allclose(sum(curve.terms.values()), curve.eps_g, rtol=0, atol=1e-14 * scale)
    assert curve.eps_g[0] == pytest.approx(0.5 * np.dot(model.eta, model.teacher_variances))


@SETTINGS
@given(rf_models(), st.integers(0, 2**32))
def test_simulation_invariants_and_reproducibility(model, seed):
    first = simulate_rf(model, TIMES, draws=3, seed=seed)
    again = simulate_rf(model, TIMES, draws=3, seed=seed)
    assert np.array_equal(first.eps_g, again.eps_g) and np.array_equal(first.bias, again.bias)
    assert np.all(first.per_draw >= -1e-12 * first.per_draw.max())


BAD_VALUES = [0, -1, 1.5, "10", None, [], {}, True, float("inf"), 10**30]
TEXT_INJECTIONS = ["__import__('os').system('echo pwned')", "exec('1')", "sum; rm -rf /", "x" * 100_000, "{{7*7}}"]


@SETTINGS
@given(st.sampled_from(["N", "P"]), st.sampled_from(BAD_VALUES))
def test_invalid_counts_give_case_errors(field, value):
    case = {"N": 10, "P": 5, "times": [1.0], field: value}
    with pytest.raises(CaseError) as info:
        parse_rf_case(case)
    assert info.value.field == field and "\n" not in str(info.value)


@SETTINGS
@given(
    st.sampled_from(["a", "gamma", "T", "noise", "teacher_exponent"]),
    st.sampled_from([-1.0, "0.5", None, [1], float("nan"), 1e300]),
)
def test_invalid_numbers_give_case_errors(field, value):
    case = {"N": 10, "P": 5, "times": [1.0], field: value}
    with pytest.raises(CaseError) as info:
        parse_rf_case(case)
    assert info.value.field == field


@pytest.mark.parametrize("field", ["normalization", "loss", "method"])
@pytest.mark.parametrize("text", TEXT_INJECTIONS)
def test_injection_strings_in_text_fields_are_plain_bad_values(field, text, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"N": 10, "P": 5, "times": [1.0], field: text}))
    code = main(["rf", str(path), "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"theorykit: error: {field}:")
    assert len(err.strip().splitlines()) == 1 and "pwned" not in capsys.readouterr().out


def test_rf_cli_json_is_bit_identical_for_the_same_seed(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"N": 30, "P": 10, "a": 0.5, "noise": 0.2, "times": [0.1, 1.0]}))
    outputs = []
    for name in ("a.json", "b.json"):
        assert main(["rf", str(path), "-o", str(tmp_path / name), "--simulate", "--draws", "4", "--seed", "9"]) == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
