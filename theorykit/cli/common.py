"""What the commands share: reading a committee case, the --certify options."""

from __future__ import annotations

from ..core.schema import DEFAULT_PREC


def load_case(path: str, require_init: bool = True, require_alpha: bool = True):
    """The committee case in ``path``, checked against its schema."""
    from ..committee.case import parse_case, read_case_file

    raw = read_case_file(path)
    return parse_case(raw, require_init=require_init, require_alpha=require_alpha)


def certify_prec(args) -> int:
    """Bits of the ball arithmetic: ``--prec`` or the default."""
    return DEFAULT_PREC if args.prec is None else args.prec
