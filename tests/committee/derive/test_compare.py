"""compare_expressions: a user's hand derivation against the derived equations."""

import pytest
import sympy as sp

import theorykit as tk
from theorykit.committee.derive.expanded import expanded_isotropic_system

R, Q, T = sp.symbols("R_00 Q_00 T_00")
DOMAIN = {R: (-1, 1), Q: (0.1, 2), T: (0.1, 2)}
# Biehl & Schwarze (1995), K = M = 1, g = erf(z / sqrt 2), per unit eta
MINE = (
    2
    / sp.pi
    * ((T * (1 + Q) - R**2) / ((1 + Q) * sp.sqrt((1 + Q) * (1 + T) - R**2)) - R / ((1 + Q) * sp.sqrt(1 + 2 * Q)))
)


def test_a_correct_hand_derivation_agrees_both_ways():
    derived = expanded_isotropic_system("erf", 1, 1, "sqrt").rhs[0]
    report = tk.compare_expressions(MINE, derived, DOMAIN)
    assert report.symbolic is True and report.agree
    numeric_only = tk.compare_expressions(MINE, derived, DOMAIN, simplify=False, dps=40)
    assert numeric_only.symbolic is None and numeric_only.agree
    assert numeric_only.points > 10 and numeric_only.max_rel_difference < 1e-35


def test_a_typo_is_caught_and_located():
    derived = expanded_isotropic_system("erf", 1, 1, "sqrt").rhs[0]
    typo = MINE.subs(sp.sqrt(1 + 2 * Q), sp.sqrt(1 + Q))
    report = tk.compare_expressions(typo, derived, DOMAIN)
    assert not report.agree and report.symbolic is None
    assert report.max_rel_difference > 1e-3 and set(report.worst_point) == {"R_00", "Q_00", "T_00"}


def test_points_outside_the_real_domain_are_skipped_and_counted():
    x = sp.Symbol("x")
    report = tk.compare_expressions(sp.sqrt(x) + 1, 1 + x**0.5, {x: (-1, 1)}, samples=200, simplify=False)
    assert report.skipped > 50 and report.points + report.skipped == 200 and report.agree


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"domain": {R: (-1, 1)}}, "domain"),
        ({"samples": 0}, "samples"),
        ({"dps": 5}, "dps"),
        ({"domain": {**DOMAIN, R: (1, -1)}}, "domain"),
    ],
)
def test_bad_arguments_are_clean_errors(kwargs, field):
    args = {"domain": DOMAIN, **kwargs}
    with pytest.raises(tk.CaseError, match=field):
        tk.compare_expressions(MINE, MINE, **args)


def test_strings_are_refused():
    with pytest.raises(tk.CaseError, match="strings are not parsed"):
        tk.compare_expressions("__import__('os')", MINE, DOMAIN)
