"""What the commands share: reading a committee case, the --certify options, writing a result."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import CaseError
from ..core.schema import DEFAULT_PREC


def load_case(path: str, require_init: bool = True, require_alpha: bool = True):
    """The committee case in ``path``, checked against its schema."""
    from ..committee.case import parse_case, read_case_file

    raw = read_case_file(path)
    return parse_case(raw, require_init=require_init, require_alpha=require_alpha)


def case_dps(args, case, default: int | None = None) -> int | None:
    """Digits of a high-precision command: ``--dps``, else the case file's ``dps``, else ``default``."""
    from ..core.precision import check_dps

    if args.dps is not None:
        return check_dps(args.dps)
    return default if case.dps is None else case.dps


def certify_prec(args) -> int:
    """Bits of the ball arithmetic: ``--prec`` or the default."""
    return DEFAULT_PREC if args.prec is None else args.prec


def checked_output(name: str, formats: tuple) -> Path:
    """The ``-o`` path, refused up front (before any work) when its extension names no format."""
    output = Path(name)
    if output.suffix not in formats:
        raise CaseError("-o", f"the output's extension says its format: one of {list(formats)}, got {output.name!r}")
    return output


def write_result(command: str, case, output: Path, extra: dict, result, dataset=None) -> None:
    """``extra`` as the JSON document, or ``result.to_xarray()`` (``dataset`` when the caller has
    built it already) as NetCDF carrying ``extra``'s other entries (closed forms, enclosures, ...)
    as attributes, or as a CSV table along the command's axis (:data:`~theorykit.cli.parser.TABLE_ROWS`)."""
    from ..core.atomic import write_text_atomic
    from ..core.output import curve_table, provenance, provenance_attrs, write_json, write_netcdf
    from .parser import TABLE_COLUMNS, TABLE_ROWS

    if output.suffix == ".nc":
        dataset = result.to_xarray() if dataset is None else dataset
        rest = {k: v for k, v in extra.items() if k not in dataset.variables and k not in dataset.attrs}
        dataset.attrs.update(provenance_attrs(command, case.raw, rest))
        write_netcdf(dataset, output)
    elif output.suffix == ".csv":
        dataset = result.to_xarray() if dataset is None else dataset
        write_text_atomic(output, curve_table(dataset, TABLE_ROWS[command], TABLE_COLUMNS.get(command, ())))
    else:
        write_json(output, provenance(command, case.raw, extra))
