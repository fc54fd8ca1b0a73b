"""Every input field's rule, declared once per model; case files and API arguments both check here.

The machinery lives here; each model declares its schema beside itself
(:data:`theorykit.committee.schema.COMMITTEE`, :data:`theorykit.rf.schema.RANDOM_FEATURES`).
A :class:`Schema` maps a field's dotted name (``model.K``, ``solver.rtol``) to a rule -- its
type, range and shape -- and a short description with units and conventions.  The model
classes (:class:`~theorykit.committee.model.CommitteeModel`, :class:`~theorykit.rf.RandomFeatureModel`,
:class:`~theorykit.committee.solve.integrate.SolverConfig` ...) call :meth:`Schema.check` on their
arguments, and the case-file parsers only map the file's tables onto those classes, so a range
is written in exactly one place.  :meth:`Schema.markdown` renders the table in ``docs/cases.md``
(a test keeps the page in step).

Rules that need other fields (fractions summing to one, overlap shapes that depend on L and
K, positive semi-definiteness) stay with the model that knows them.

Every failure is a :class:`~theorykit.core.errors.CaseError`: one line naming the field, what is
accepted and (shortened) what was given.

Examples
--------
>>> rules = Schema("example", {"eta": Field(Number(0, 1e6, lo_open=True), "learning rate")})
>>> rules.check("eta", 0.5)
0.5
>>> rules.check("eta", -1.0)
Traceback (most recent call last):
...
theorykit.core.errors.CaseError: eta: must be a number in (0, 1e+06] (learning rate), got -1.0
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import CaseError

# numpy is imported inside the checks, not here: the CLI's parser reads this module for --help,
# and ``theorykit --version`` must not pay for numpy.
if TYPE_CHECKING:
    import numpy as np

#: Longest shown repr of a rejected value (a megabyte string must not become the error line).
SHOWN_CHARS = 60


def shown(value: object) -> str:
    """``repr(value)`` shortened to :data:`SHOWN_CHARS` characters."""
    import numpy as np

    text = repr(value) if not isinstance(value, np.ndarray) else f"array of shape {value.shape}"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _bound(x: float) -> str:
    return f"{x:g}" if not float(x).is_integer() or abs(x) >= 1e6 else str(int(x))


@dataclass(frozen=True)
class Integer:
    """An integer (not a bool) in ``[lo, hi]``."""

    lo: int
    hi: int

    def check(self, value, name: str) -> int:
        import numpy as np

        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        if not self.lo <= int(value) <= self.hi:
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        return int(value)

    def describe(self) -> str:
        return f"an integer in [{self.lo}, {self.hi}]"


@dataclass(frozen=True)
class Number:
    """A real number in an interval; ``inf`` only where ``allow_inf`` (e.g. "no limit")."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    allow_inf: bool = False

    def check(self, value, name: str) -> float:
        import numpy as np

        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            raise CaseError(name, f"must be {self.describe()}, got an integer of {len(str(value))} digits") from None
        if math.isnan(number) or (math.isinf(number) and not (self.allow_inf and number == self.hi)):
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        below = number < self.lo or (self.lo_open and number == self.lo)
        above = number > self.hi or (self.hi_open and number == self.hi)
        if below or above:
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        return number

    def describe(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        kind = "a number" if not self.allow_inf else "a number (or inf)"
        return f"{kind} in {left}{_bound(self.lo)}, {_bound(self.hi)}{right}"


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of names."""

    options: tuple[str, ...]

    def check(self, value, name: str) -> str:
        if not isinstance(value, str) or value not in self.options:
            hint = difflib.get_close_matches(value, self.options, n=1) if isinstance(value, str) else []
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}{extra}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false`` (no 0/1, no strings)."""

    def check(self, value, name: str) -> bool:
        import numpy as np

        if not isinstance(value, (bool, np.bool_)):
            raise CaseError(name, f"must be true or false, got {shown(value)}")
        return bool(value)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Numbers:
    """A (nested) list of finite numbers: ``ndim`` dimensions, entries in ``[lo, hi]``.

    ``increasing`` asks for a strictly increasing 1-d list; ``distinct`` for no repeats.
    """

    ndim: int = 1
    lo: float = -math.inf
    lo_open: bool = False
    hi: float = math.inf
    increasing: bool = False
    distinct: bool = False
    max_size: int = 10**7

    def check(self, value, name: str) -> np.ndarray:
        import numpy as np

        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Iterable, np.ndarray)):
            raise CaseError(name, f"must be {self.describe()}, got {shown(value)}")
        try:
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise CaseError(name, f"must be {self.describe()} (a regular nested list of numbers)") from None
        if arr.ndim != self.ndim or arr.size == 0:
            raise CaseError(name, f"must be {self.describe()}, got shape {list(arr.shape)}")
        if arr.size > self.max_size:
            raise CaseError(name, f"must have at most {self.max_size} entries, got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise CaseError(name, f"must be {self.describe()}; holds NaN/inf")
        low = arr.min()
        if low < self.lo or (self.lo_open and low == self.lo):
            raise CaseError(name, f"must be {self.describe()}, got min {low:g}")
        if arr.max() > self.hi:
            raise CaseError(name, f"must be {self.describe()}, got max {arr.max():g}")
        if self.increasing and np.any(np.diff(arr) <= 0):
            raise CaseError(name, f"must be {self.describe()}; it does not increase strictly")
        if self.distinct and np.unique(arr).size != arr.size:
            raise CaseError(name, f"must be {self.describe()}; merge equal entries (and add their fractions)")
        return arr

    def describe(self) -> str:
        shape = "a non-empty list" if self.ndim == 1 else f"a non-empty {self.ndim}-d nested list"
        parts = [f"{shape} of finite numbers"]
        if self.lo > -math.inf:
            parts.append(f"{'>' if self.lo_open else '>='} {_bound(self.lo)}")
        if self.hi < math.inf:
            parts.append(f"<= {_bound(self.hi)}")
        if self.increasing:
            parts.append("strictly increasing")
        if self.distinct:
            parts.append("distinct")
        return ", ".join(parts)


#: The default of a field that must be given.
REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """A field's rule, what it means (units, conventions), and its default.

    ``default`` is the value used when the field is left out (:data:`REQUIRED` when it must be
    given); the model classes take their defaults from here.  ``shown`` replaces it in the docs
    where the default is a rule rather than a value (``1/L``, "the power law").
    """

    rule: Integer | Number | OneOf | Flag | Numbers
    meaning: str
    default: object = REQUIRED
    shown: str | None = None


class Schema:
    """The fields of one model: ``check`` a value, list a section's names, render the docs table."""

    def __init__(self, title: str, fields: dict[str, Field]) -> None:
        self.title = title
        self._fields = dict(fields)

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def names(self) -> list[str]:
        return list(self._fields)

    def default(self, name: str):
        """The value field ``name`` takes when left out (the model classes' defaults come from here)."""
        value = self._fields[name].default
        if value is REQUIRED:
            raise KeyError(f"{name} has no default: it is required")
        return value

    def section(self, prefix: str) -> set[str]:
        """Field names directly under ``prefix`` (``""`` for the top level), without the prefix."""
        start = f"{prefix}." if prefix else ""
        return {n[len(start) :].split(".")[0] for n in self._fields if n.startswith(start)}

    def check(self, name: str, value):
        """Validate ``value`` for field ``name``; returns the normalised value (int, float, array ...).

        The field's meaning is appended to a range error, so the message carries the units.
        """
        spec = self._fields[name]
        try:
            return spec.rule.check(value, name)
        except CaseError as exc:
            if spec.meaning and " got " in exc.message:
                head, _, tail = exc.message.partition(", got ")
                raise CaseError(name, f"{head} ({spec.meaning}), got {tail}") from None
            raise

    def markdown(self) -> str:
        """The schema as a Markdown table (field, accepted values, meaning, default)."""
        rows = ["| field | accepted | meaning | default |", "|---|---|---|---|"]
        for name, spec in self._fields.items():
            if spec.shown is not None:
                default = spec.shown
            elif spec.default is REQUIRED:
                default = "required"
            elif isinstance(spec.default, str):
                default = f"`{spec.default}`"
            elif spec.default == math.inf:
                default = "`inf`"
            else:
                default = f"`{json.dumps(spec.default)}`"
            rows.append(f"| `{name}` | {spec.rule.describe()} | {spec.meaning} | {default} |")
        return "\n".join(rows)


def reject_unknown(given: Mapping, allowed: Iterable[str], where: str) -> None:
    """Raise for the first key of ``given`` not in ``allowed``, with a "did you mean"."""
    allowed = sorted(allowed)
    for key in given:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; accepted: {allowed}"
            plain = isinstance(key, str) and key.isidentifier() and len(key) <= SHOWN_CHARS
            raise CaseError(f"{where}{key if plain else shown(key)}", f"unknown field{suggestion}")


def require(section: Mapping, key: str, where: str):
    """``section[key]``, or a CaseError naming the missing field."""
    if key not in section:
        raise CaseError(f"{where}{key}", "missing required field")
    return section[key]


def table(value, name: str) -> dict:
    """``value`` when it is a table/object, else a CaseError."""
    if not isinstance(value, dict):
        raise CaseError(name, f"must be a table/object, got {type(value).__name__}")
    return value


# -- rules shared by every model ----------------------------------------------------------------
MAX_SEED = 2**63 - 1

#: The one time axis of every command: initial conditions hold at alpha = 0 (t = 0 for random
#: features) and requested output times are absolute; a list need not start at 0.
TIME_ORIGIN = "absolute: the initial state holds at alpha = 0 (t = 0 for random features); the list need not start at 0"

#: The one sign convention of every reported power-law exponent (linear, asymptotics, rf).
EXPONENT_CONVENTION = "exponent = nu in y ~ x^(-nu): positive for a decaying quantity, negative for a growing one"

#: Digits accepted by every high-precision (``--dps``) evaluation.
DPS_RULE = Integer(15, 1000)
#: Bits of the ball arithmetic of ``--certify`` (:mod:`theorykit.core.balls`), and the default.
PREC_RULE = Integer(64, 100_000)
DEFAULT_PREC = 256
