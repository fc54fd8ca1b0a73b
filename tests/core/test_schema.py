"""The schema: rules, messages, and the generated docs page."""

from pathlib import Path

import numpy as np
import pytest

import theorykit as tk
from theorykit.case_docs import cases_page
from theorykit.committee.case import parse_case
from theorykit.committee.schema import COMMITTEE
from theorykit.core.errors import CaseError
from theorykit.core.schema import SHOWN_CHARS, Integer, Number, Numbers
from theorykit.rf.schema import RANDOM_FEATURES


def test_docs_page_is_the_schema():
    page = Path(__file__).resolve().parents[2] / "docs" / "cases.md"
    assert page.read_text() == cases_page(), (
        "docs/cases.md is out of date: python -c \"import theorykit.case_docs as s; print(s.cases_page(), end='')\" "
        "> docs/cases.md"
    )


@pytest.mark.parametrize(
    "rule,value",
    [
        (Integer(1, 5), True),
        (Integer(1, 5), 2.0),
        (Integer(1, 5), 6),
        (Number(0, 1, lo_open=True), 0),
        (Number(0, 1), float("nan")),
        (Number(0, 1), float("inf")),
        (Number(0, 1), 10**400),
        (Number(0, 1), "0.5"),
        (Numbers(1, increasing=True), [1, 1]),
        (Numbers(1), []),
        (Numbers(1), [[1.0]]),
        (Numbers(1), [1, [2]]),
        (Numbers(1), [10**400]),
        (Numbers(1), "123"),
        (Numbers(1), {"a": 1}),
    ],
)
def test_rules_reject_with_one_line_naming_the_field(rule, value):
    with pytest.raises(CaseError) as info:
        rule.check(value, "x.y")
    assert info.value.field == "x.y" and "\n" not in str(info.value)


def test_rejected_values_are_shown_shortened():
    with pytest.raises(CaseError) as info:
        COMMITTEE.check("model.normalization", "s" * 10**6)
    assert len(str(info.value)) < 200 + SHOWN_CHARS and "..." in str(info.value)


def test_near_miss_names_get_a_suggestion():
    with pytest.raises(CaseError, match="did you mean 'DOP853'"):
        COMMITTEE.check("solver.method", "DOP85")


def test_api_and_case_file_apply_the_same_rule():
    """One rule per field: the model class and the case reader reject the same value alike."""
    with pytest.raises(CaseError) as api:
        tk.CommitteeModel(1001, 1, tk.Spectrum.power_law(2, 1.0))
    with pytest.raises(CaseError) as case:
        parse_case(
            {"model": {"K": 1001, "M": 1}, "spectrum": {"L": 2, "beta": 1.0}, "eta": 1.0, "alpha": [0.0]},
            require_init=False,
        )
    assert str(api.value) == str(case.value)
    with pytest.raises(CaseError) as rf:
        tk.rf.RandomFeatureModel(N=3, P=2, a=1.0, T=-1.0)
    assert rf.value.field == "T" and "Langevin temperature" in rf.value.message


def test_values_are_normalised():
    assert type(COMMITTEE.check("model.K", np.int64(3))) is int
    assert COMMITTEE.check("solver.max_step", float("inf")) == float("inf")
    assert RANDOM_FEATURES.section("simulation") == {"draws", "seed"}
