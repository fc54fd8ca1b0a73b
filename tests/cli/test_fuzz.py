"""Fuzzing the committee case schema and the case-file reader (hypothesis, profile-scaled).

Any mutation of a valid case -- a field replaced by junk (NaN, inf, huge integers, long
strings, empty or deeply nested lists, tables), an unknown field added, a whole table
replaced -- either parses or raises :class:`~theorykit.core.errors.CaseError` with a one-line
message that names a field; nothing else escapes.  Malformed files and injection strings
in every text field get exit code 2 and one line from the CLI, and are never evaluated.
The table of bad inputs in docs/cli.md lists what each gets.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorykit.cli import main
from theorykit.committee.case import parse_case, read_case_file
from theorykit.committee.schema import COMMITTEE
from theorykit.core.errors import CaseError
from theorykit.core.schema import SHOWN_CHARS

FUZZ = settings(max_examples=settings.default.max_examples * 10)  # parsing is cheap: 150 in CI

VALID = {
    "model": {"K": 2, "M": 1, "activation": "erf", "normalization": "sqrt", "noise": 0.0, "weight_decay": 0.0},
    "spectrum": {"kind": "power_law", "L": 2, "beta": 1.0},
    "eta": 0.5,
    "small_lr": False,
    "init": {
        "r": [[[0.1]], [[0.0]]],
        "q": [[[0.5, 0.1], [0.1, 0.5]], [[0.5, 0.0], [0.0, 0.5]]],
        "t": [[[0.5]], [[0.5]]],
    },
    "alpha": [0.0, 1.0],
    "solver": {"method": "DOP853", "rtol": 1e-6, "atol": 1e-9, "flavour": "auto", "max_step": 1.0, "max_rhs": 1000},
    "simulation": {"N": 100, "seeds": 2, "n_test": 100, "sigma_J": 0.01, "backend": "numpy"},
}

INJECTIONS = [
    "__import__('os').system('echo pwned')",
    "exec('print(1)')",
    "erf; import os",
    "lambda: 0",
    "${HOME}",
    "{{7*7}}",
    "'; DROP TABLE cases; --",
    "../../etc/passwd",
    "\x00\x1b[31m",
    "x" * 100_000,
]

deep_lists = st.recursive(st.integers(-3, 3), lambda inner: st.lists(inner, max_size=3), max_leaves=30)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 10**30, 10**400, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324]),
    st.text(max_size=30),
    st.sampled_from(INJECTIONS),
    st.just([]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    deep_lists,
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)

# the same case with the other branches of the schema: a random start, an explicit spectrum
VALID_RANDOM = {
    **copy.deepcopy(VALID),
    "spectrum": {"kind": "explicit", "eigenvalues": [1.5, 0.5], "fractions": [0.5, 0.5]},
    "init": {"kind": "random", "N": 40, "sigma_J": 0.1, "seed": 3},
}
# ... and a per-unit read-out instead of the normalisation
VALID_READOUT = copy.deepcopy(VALID_RANDOM)
del VALID_READOUT["model"]["normalization"]
VALID_READOUT["model"]["second_layer"] = {"student": [0.5, 1.0], "teacher": [0.7], "eta": 0.1}
BASES = {"overlaps": VALID, "random": VALID_RANDOM, "readout": VALID_READOUT}


def _leaves(case: dict) -> list[tuple[str, str | None]]:
    nested = [(section, key) for section, body in case.items() if isinstance(body, dict) for key in body]
    return nested + [(key, None) for key, value in case.items() if not isinstance(value, dict)]


LEAVES = [(base, *leaf) for base, case in BASES.items() for leaf in _leaves(case)]
# a valid but huge random start (init.N up to 1e8) would only measure memory, not the schema
JUNK = JUNK.filter(lambda v: not (isinstance(v, int) and 10**5 < v <= 10**8))


def _with(valid: dict, section: str, key: str | None, value) -> dict:
    """A copy of ``valid`` with ``section`` (``key`` None) or ``section.key`` set to ``value``."""
    case = copy.deepcopy(valid)
    if key is None:
        case[section] = value
    else:
        case[section][key] = value
    return case


def _assert_clean(error: CaseError) -> None:
    text = str(error)
    assert "\n" not in text and len(text) < 400 + 2 * SHOWN_CHARS, text
    assert error.field and error.message


@FUZZ
@given(st.sampled_from(LEAVES), JUNK)
def test_any_field_replaced_by_junk_parses_or_gives_a_clean_case_error(leaf, junk):
    base, section, key = leaf
    case = _with(BASES[base], section, key, junk)
    try:
        parse_case(case)
    except CaseError as error:
        _assert_clean(error)
        assert error.field.split(".")[0] in (section, "CASE", "init") or error.field.startswith("spectrum")


@FUZZ
@given(st.sampled_from([None, *[s for s, body in VALID.items() if isinstance(body, dict)]]), st.text(max_size=20), JUNK)
def test_unknown_fields_are_rejected_with_their_name(section, key, value):
    case = copy.deepcopy(VALID)
    table = case if section is None else case[section]
    if key in table:
        return
    table[key] = value
    with pytest.raises(CaseError) as info:
        parse_case(case)
    _assert_clean(info.value)
    assert "unknown field" in info.value.message


@FUZZ
@given(st.sampled_from([s for s, body in VALID.items() if isinstance(body, dict)]), JUNK)
def test_a_whole_table_replaced_by_junk_is_a_clean_error(section, junk):
    case = copy.deepcopy(VALID)
    case[section] = junk
    try:
        parse_case(case)
    except CaseError as error:
        _assert_clean(error)


TEXT_FIELDS = [
    ("model", "activation"),
    ("model", "normalization"),
    ("spectrum", "kind"),
    ("solver", "method"),
    ("solver", "flavour"),
    ("simulation", "backend"),
]


@pytest.mark.parametrize("section,key", TEXT_FIELDS)
@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_in_every_text_field_are_plain_bad_values(section, key, text, tmp_path, capfd):
    case = copy.deepcopy(VALID)
    case[section][key] = text
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    code = main(["solve", str(path), "-o", str(tmp_path / "out.json")])
    out, err = capfd.readouterr()  # file-descriptor level: a shell command run by eval would print here
    assert code == 2 and err.startswith(f"theorykit: error: {section}.{key}:"), err
    assert err.count("\n") == 1 and "pwned" not in out and len(err) < 600  # err may quote the value
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_as_field_names_and_init_kind(text, tmp_path, capfd):
    for case in ({**VALID, text: 1}, {**VALID, "init": {"kind": text, "N": 10}}):
        path = tmp_path / "case.json"
        path.write_text(json.dumps(case))
        assert main(["solve", str(path), "-o", str(tmp_path / "out.json")]) == 2
        out, err = capfd.readouterr()
        assert err.count("\n") == 1 and "pwned" not in out and len(err) < 600


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)), st.sampled_from([".json", ".toml"]))
def test_malformed_files_give_one_line_and_exit_2(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"case{suffix}"
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    try:
        data = read_case_file(path)
    except CaseError as error:
        _assert_clean(error)
        return
    try:  # it happened to be a valid document: then the schema answers
        parse_case(data)
    except CaseError as error:
        _assert_clean(error)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # deep nesting
        '{"eta": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"eta": 1e999}',  # overflows to inf
        '{"eta": Infinity}',
        '{"alpha": []}',
        '{"model": {"K": ' + "9" * 5000 + "}}",  # a 5000-digit integer
        "",
        "\ufeff{}",
    ],
)
def test_pathological_json_is_a_clean_error(text, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(text, encoding="utf-8")
    assert main(["solve", str(path), "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 600


@FUZZ
@given(st.sampled_from(["student", "teacher", "eta"]), JUNK)
def test_any_second_layer_field_replaced_by_junk_gives_a_clean_case_error(key, junk):
    case = copy.deepcopy(VALID_READOUT)
    case["model"]["second_layer"][key] = junk
    try:
        parse_case(case)
    except CaseError as error:
        _assert_clean(error)
        assert error.field.startswith("model.second_layer"), error.field


def test_every_schema_field_is_exercised_by_the_fuzzer():
    """A field added to the schema must be added to the fuzzer's valid cases too."""
    covered = {f"{section}.{key}" if key else section for _, section, key in LEAVES}
    covered |= {f"model.second_layer.{key}" for key in VALID_READOUT["model"]["second_layer"]}
    assert set(COMMITTEE.names()) - {"dps"} <= covered, set(COMMITTEE.names()) - covered  # dps: a CLI flag


RF_VALID = {
    "N": 8,
    "P": 4,
    "a": 0.5,
    "gamma": 0.0,
    "T": 0.0,
    "noise": 0.0,
    "teacher_exponent": 0.0,
    "normalization": "sum",
    "loss": "sum",
    "times": [0.1, 1.0],
    "method": "laplace",
    "dps": 20,
    "simulation": {"draws": 3, "seed": 0},
}
RF_LEAVES = [(key, None) for key in RF_VALID if key != "simulation"] + [("simulation", k) for k in ("draws", "seed")]
RF_LEAVES.append(("eigenvalues", None))


@FUZZ
@given(st.sampled_from(RF_LEAVES), JUNK)
def test_random_feature_fields_replaced_by_junk_parse_or_give_a_clean_case_error(leaf, junk):
    from theorykit.rf.case import parse_rf_case

    section, key = leaf
    case = _with(RF_VALID, section, key, junk)
    try:
        parse_rf_case(case)
    except CaseError as error:
        _assert_clean(error)
        assert error.field.split(".")[0] in (section, "CASE")


def test_every_random_feature_field_is_fuzzed():
    from theorykit.rf.schema import RANDOM_FEATURES

    covered = {f"{s}.{k}" if k else s for s, k in RF_LEAVES}
    assert set(RANDOM_FEATURES.names()) <= covered, set(RANDOM_FEATURES.names()) - covered
