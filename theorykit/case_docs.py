"""The case-file reference page, ``docs/cases.md``, generated from every model's schema."""

from __future__ import annotations

from .committee.schema import COMMITTEE
from .rf.schema import RANDOM_FEATURES


def cases_page() -> str:
    """``docs/cases.md``: every field of both schemas (a test keeps the page equal to this).

    Regenerate with ``python -c "import theorykit.case_docs as s; print(s.cases_page(), end='')" > docs/cases.md``.
    """
    parts = [
        "# Case-file fields",
        "",
        "Generated from `theorykit/committee/schema.py` and `theorykit/rf/schema.py`, where every",
        "field's rule is declared once; the model classes and the case-file readers both check",
        "against it (a test keeps this page in step).  A value outside its range is a one-line",
        "error naming the field, what is accepted and what was given (CLI exit code 2); a field",
        'not listed is rejected with a "did you mean".  Rules that relate fields (fractions',
        "summing to one, overlap shapes `[L][K][M]`, positive semi-definite overlaps) are checked",
        "by the model and listed in [the CLI page](cli.md).",
        "",
    ]
    for schema in (COMMITTEE, RANDOM_FEATURES):
        parts += [f"## {schema.title}", "", schema.markdown(), ""]
    return "\n".join(parts)
