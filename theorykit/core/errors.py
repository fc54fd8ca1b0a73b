"""Exceptions shared by every stage.

Two families, because users react to them differently:

* :class:`CaseError` -- the input is wrong (a field out of range, a shape that does not
  match).  The message is one line and names the field and the accepted range.  The CLI
  turns it into exit code 2 without a traceback.
* :class:`NumericalFailure` -- the input was valid but the numbers went wrong (NaN, an
  overlap matrix that lost positive-definiteness, a solver that gave up).  Exit code 1.
"""

from __future__ import annotations


class TheorykitError(Exception):
    """Base class of all theorykit errors."""


class CaseError(TheorykitError, ValueError):
    """Invalid input: ``field`` names the offending entry, ``message`` says what is accepted."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NumericalFailure(TheorykitError, ArithmeticError):
    """A valid computation failed numerically; the message says where and why."""


class DerivationError(TheorykitError):
    """The symbolic stage met something it cannot handle (e.g. an undeclared symbol)."""
