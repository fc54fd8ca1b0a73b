"""Parameter sweeps: one case command over a grid of case fields, on a local process pool or Dask.

A sweep file (TOML or JSON) names a ``command`` (any case command of the CLI: ``solve``,
``simulate``, ``linear``, ``plateau``, ``asymptotics``, ``rf``), a base case (an inline ``[case]``
table, or ``case = "path"`` relative to the sweep file) and a ``[grid]`` of dotted field names
with lists of values; the points are the Cartesian product of the grid axes, and a ``[zip]``
table holds axes that move together (equal lengths; one dimension named ``"a|b"``).  Each point
runs exactly what ``theorykit COMMAND case -o out.json`` runs, so a point's numbers are that
command's numbers.

Every point's result is cached under ``<cache>/sweeps/`` by the sha256 of its command, full
case and the theorykit version, written atomically: a re-run, or a run after the process was
killed at any moment, computes only the missing points and never reads a half-written entry.
A point that fails is recorded with its status and message (it is cached too: the same inputs
fail the same way), and the sweep goes on.

The result is one :class:`xarray.Dataset`: a dimension per grid axis with the grid values as
coordinates; a variable per numeric output (scalars over the grid, curves with their own
dimension, ``alpha``/``times`` as its coordinate when the points share it); ``status`` and
``message`` per point; the command, base case, grid and version in the attributes.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ._version import __version__
from .core.atomic import write_text_atomic
from .core.code_cache import cache_dir
from .core.errors import CaseError

#: Commands a sweep can run: each reads a case file and writes one JSON result.
COMMANDS = ("solve", "simulate", "linear", "plateau", "asymptotics", "rf")
SCHEDULERS = ("local", "dask")

#: Outputs that are curves over the output times ``alpha`` / ``times`` (solve, simulate, linear, rf).
_OVER_TIME = {
    "eps_g",
    "eps_resolution",
    "eps_g_std",
    "eps_g_from_overlaps",
    "eps_g_small_eta",
    "eps_g_standard_error",
    "bias",
    "variance",
}

#: Keys of a command's output that describe the run rather than its result (kept out of the dataset).
_NOT_RESULTS = {"theorykit_version", "command", "versions", "case", "solver", "settings", "seed", "seeds"}


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file.

    Attributes
    ----------
    command : str
    case : dict
        The base case.
    axes : list of (name, values)
        Dimension name and its values; a zipped group has the name ``"a|b"`` and tuples as values.
    """

    command: str
    case: dict
    axes: list = field(default_factory=list)

    def points(self) -> list[tuple[tuple[int, ...], dict]]:
        """Every grid point as (index per axis, full case)."""
        out = []
        ranges = [range(len(values)) for _, values in self.axes]
        for index in itertools.product(*ranges):
            case = copy.deepcopy(self.case)
            for (name, values), i in zip(self.axes, index):
                for part, value in zip(name.split("|"), values[i] if "|" in name else (values[i],)):
                    _set_dotted(case, part, value)
            out.append((index, case))
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(values) for _, values in self.axes)


def _set_dotted(case: dict, name: str, value) -> None:
    *tables, key = name.split(".")
    here = case
    for table in tables:
        here = here.setdefault(table, {})
        if not isinstance(here, dict):
            raise CaseError(f"grid.{name}", f"{table!r} is not a table in the base case")
    here[key] = value


def read_sweep(path: str | Path) -> Sweep:
    """Parse and check a sweep file (the points' own fields are checked when each runs)."""
    from .committee.case import read_case_file

    path = Path(path)
    raw = read_case_file(path)
    allowed = {"command", "case", "grid", "zip"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise CaseError(unknown[0], f"unknown sweep field; accepted: {sorted(allowed)}")
    command = raw.get("command")
    if command not in COMMANDS:
        raise CaseError("command", f"must be one of {list(COMMANDS)}, got {command!r}")
    case = raw.get("case")
    if isinstance(case, str):
        case = read_case_file(path.parent / case)
    if not isinstance(case, dict):
        raise CaseError("case", "must be a table (the base case) or the path of a case file")
    axes = []
    grid = raw.get("grid", {})
    if not isinstance(grid, dict):
        raise CaseError("grid", "must be a table of dotted field names and lists of values")
    for name, values in grid.items():
        axes.append((name, _values(f"grid.{name}", values)))
    zipped = raw.get("zip", {})
    if not isinstance(zipped, dict):
        raise CaseError("zip", "must be a table of dotted field names and lists of equal length")
    if zipped:
        lists = [_values(f"zip.{name}", values) for name, values in zipped.items()]
        if len({len(v) for v in lists}) != 1:
            raise CaseError("zip", f"lists must have equal lengths, got {[len(v) for v in lists]}")
        axes.append(("|".join(zipped), list(zip(*lists))))
    if not axes:
        raise CaseError("grid", "give at least one axis ([grid] or [zip])")
    names = [part for name, _ in axes for part in name.split("|")]
    if len(set(names)) != len(names):
        raise CaseError("grid", "a field appears on two axes")
    return Sweep(command, case, axes)


def _values(name: str, values) -> list:
    if not isinstance(values, list) or not values:
        raise CaseError(name, "must be a non-empty list of values")
    if len(values) > 10_000:
        raise CaseError(name, f"must have at most 10000 values, got {len(values)}")
    return values


def point_key(command: str, case: dict) -> str:
    """Content hash of one point: command, canonical case JSON, theorykit version."""
    text = json.dumps({"command": command, "case": case, "version": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_path(key: str) -> Path:
    folder = cache_dir() / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def cached_point(command: str, case: dict) -> dict | None:
    """The cached record of a point, or None (a missing or unreadable entry is recomputed)."""
    path = _entry_path(point_key(command, case))
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "status" in record else None


def run_point(command: str, case: dict) -> dict:
    """Run one point as the CLI would, cache its record atomically and return it.

    The record is ``{"status": "ok" | "bad_input" | "numerical_failure", "message", "result"}``;
    a point's failure is data here, not an exception: the sweep goes on.
    """
    import contextlib
    import io

    from .cli import main

    with tempfile.TemporaryDirectory() as tmp:
        case_path, out_path = Path(tmp) / "case.json", Path(tmp) / "out.json"
        case_path.write_text(json.dumps(case))
        stderr, stdout = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
                code = main([command, str(case_path), "-o", str(out_path)])
        except Exception as exc:  # a bug, not a result: recorded for this run, never cached
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}", "result": None}
        lines = stderr.getvalue().strip().splitlines()
        message = lines[-1] if lines else ""
        if code == 0:
            record = {"status": "ok", "message": "", "result": json.loads(out_path.read_text())}
        else:
            record = {"status": "bad_input" if code == 2 else "numerical_failure", "message": message, "result": None}
    write_text_atomic(_entry_path(point_key(command, case)), json.dumps(record, allow_nan=False))
    return record


def run_sweep(
    sweep: Sweep,
    workers: int = 1,
    scheduler: str = "local",
    address: str | None = None,
    on_point: Callable[[int, int], None] | None = None,
):
    """Run every point not yet cached, then assemble the :class:`xarray.Dataset`.

    Parameters
    ----------
    sweep : Sweep
    workers : int
        Processes of the local pool, or of the Dask ``LocalCluster`` started without ``address``.
    scheduler : {"local", "dask"}
    address : str, optional
        A running Dask scheduler to connect to (``scheduler="dask"`` only).
    on_point : callable, optional
        Called with (points done, points in all) as points finish (cached ones first).
    """
    if scheduler not in SCHEDULERS:
        raise CaseError("scheduler", f"must be one of {list(SCHEDULERS)}, got {scheduler!r}")
    if not isinstance(workers, int) or workers < 1:
        raise CaseError("workers", f"must be an integer >= 1, got {workers!r}")
    if address is not None and scheduler != "dask":
        raise CaseError("address", "only with scheduler 'dask'")
    points = sweep.points()
    records: dict[tuple, dict] = {}
    missing = []
    for index, case in points:
        record = cached_point(sweep.command, case)
        if record is None:
            missing.append((index, case))
        else:
            records[index] = record
    total = len(points)
    if on_point is not None:
        on_point(len(records), total)
    missing = largest_first(sweep, missing)
    for index, record in _execute(sweep.command, missing, workers, scheduler, address):
        records[index] = record
        if on_point is not None:
            on_point(len(records), total)
    return assemble(sweep, records)


def largest_first(sweep: Sweep, points: list) -> list:
    """The points in the order the workers should take them: largest first.

    Points are handed out in this order to whichever worker is free, so the last point to run
    should be a short one: a large point left to the end runs alone while the other workers idle
    (on the 16-point benchmark grid, in grid order, 3.6 s of a 57 s ideal; the
    longest-processing-time-first rule).  A point's size is estimated as the product of the
    integer values it takes on the grid axes (``spectrum.L``, ``model.K``, ``N``, ...; fields
    named ``seed`` are labels, not sizes); floats and strings do not rank.  Equal sizes keep the
    grid order, and the order changes nothing in any point's numbers.
    """
    names = [part for name, _ in sweep.axes for part in name.split("|")]

    def size(point) -> int:
        _, case = point
        product = 1
        for name in names:
            value = _get_dotted(case, name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0 and "seed" not in name:
                product *= value
        return product

    return sorted(points, key=size, reverse=True)


def _get_dotted(case: dict, name: str):
    here = case
    for part in name.split("."):
        if not isinstance(here, dict):
            return None
        here = here.get(part)
    return here


#: Environment of a worker process: the points are the parallelism, so each worker computes on one
#: thread (BLAS and numba threads of several workers would contend for the same cores).
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def _one_thread_each() -> None:
    """Initializer of a local-pool worker, run before it imports NumPy or numba."""
    os.environ.update(ONE_THREAD)


def _execute(command: str, missing: list, workers: int, scheduler: str, address: str | None) -> Iterable:
    if not missing:
        return
    if scheduler == "dask":
        yield from _execute_dask(command, missing, workers, address)
        return
    if workers == 1:
        for index, case in missing:
            yield index, run_point(command, case)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked child inherits BLAS and numba thread pools mid-state
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_one_thread_each) as pool:
        futures = {pool.submit(run_point, command, case): index for index, case in missing}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _execute_dask(command: str, missing: list, workers: int, address: str | None) -> Iterable:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CaseError("scheduler", 'the dask scheduler needs pip install "theorykit[dask]"') from None
    cluster = None
    if address is None:
        import dask

        # One point per worker thread at a time, the rest queued on the scheduler (the local pool's
        # pull order): at the default saturation 1.1 a second point waits on a busy worker while
        # the other may run dry at the end (measured: the 16-point benchmark grid 1.05-1.1x the
        # pool's time instead of 1.15-1.3x).  A cluster given by address keeps its own setting.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, env=ONE_THREAD
            )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = {client.submit(run_point, command, case, pure=False): index for index, case in missing}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def assemble(sweep: Sweep, records: dict):
    """The labelled dataset of a sweep's records (index per axis -> record)."""
    import numpy as np
    import xarray as xr

    dims = [name for name, _ in sweep.axes]
    coords = {}
    for name, values in sweep.axes:
        coords[name] = [json.dumps(v) for v in values] if "|" in name else values
    shape = sweep.shape
    status = np.empty(shape, dtype=object)
    message = np.empty(shape, dtype=object)
    flat: dict[tuple, dict] = {}
    for index, record in records.items():
        status[index] = record["status"]
        message[index] = record["message"]
        flat[index] = _numbers(record["result"]) if record["result"] is not None else {}
    data_vars = {"status": (dims, status.astype(str)), "message": (dims, message.astype(str))}
    names = sorted({name for values in flat.values() for name in values})
    shared = _shared_axes(flat)
    for name in names:
        values = [flat[i].get(name) for i in flat]
        lengths = {len(v) for v in values if isinstance(v, list)}
        if any(isinstance(v, list) for v in values):
            if len(lengths) != 1 or not all(v is None or isinstance(v, list) for v in values):
                continue  # curves of different lengths at different points: kept in the per-point cache only
            (length,) = lengths
            if name in shared:
                continue  # the coordinate itself
            # a curve over the output times only when the commands say so: equal lengths alone could mislead
            axis = next((a for a in shared if name in _OVER_TIME and len(shared[a]) == length), None)
            extra = axis or f"{name}_index"
            strings = any(isinstance(x, str) for v in values if v for x in v)
            array = np.full((*shape, length), "" if strings else np.nan, dtype=object if strings else float)
            for index in flat:
                v = flat[index].get(name)
                if v is not None:
                    array[index] = [("" if strings else np.nan) if x is None else x for x in v]
            data_vars[name] = ([*dims, extra], array.astype(str) if strings else array)
        elif any(isinstance(v, str) for v in values):  # decimal strings: missing points are ""
            array = np.full(shape, "", dtype=object)
            for index in flat:
                v = flat[index].get(name)
                if v is not None:
                    array[index] = str(v)
            data_vars[name] = (dims, array.astype(str))
        else:
            array = np.full(shape, np.nan)
            for index in flat:
                v = flat[index].get(name)
                if v is not None:
                    array[index] = float(v)
            data_vars[name] = (dims, array)
    coords.update({axis: np.asarray(values, dtype=float) for axis, values in shared.items()})
    coords = {name: (name, values, _axis_attrs(sweep.command, name)) for name, values in coords.items()}
    attrs = {
        "command": sweep.command,
        "base_case": json.dumps(sweep.case),
        "grid": json.dumps([[name, values] for name, values in sweep.axes]),
        "theorykit_version": __version__,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _axis_attrs(command: str, name: str) -> dict:
    """``long_name`` of a sweep axis (``a|b`` for a zipped group) from the case schema of the
    command -- what each field means, with its units and conventions (one source with the docs
    and the errors); the output-time axes are the case's ``alpha`` / ``times``."""
    if command == "rf":
        from .rf.schema import RANDOM_FEATURES as schema
    else:
        from .committee.schema import COMMITTEE as schema
    parts = name.split("|")
    meanings = [
        f"{part}: {schema[part].meaning}" if len(parts) > 1 else schema[part].meaning
        for part in parts
        if part in schema
    ]
    return {"long_name": "; ".join(meanings)} if meanings else {}


def _numbers(result: dict, prefix: str = "") -> dict:
    """Numeric leaves of a command's output: scalars, and flat lists of numbers (curves)."""
    out = {}
    for key, value in result.items():
        if not prefix and key in _NOT_RESULTS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, (int, float)) or value is None:
            out[name] = value
        elif _is_decimal(value):  # a high-precision value: kept as the string written, never rounded
            out[name] = value
        elif isinstance(value, dict):
            out.update(_numbers(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, (int, float)) or v is None for v in value):
            out[name] = value
        elif isinstance(value, list) and value and all(_is_decimal(v) for v in value):
            out[name] = value
    return out


def _is_decimal(value) -> bool:
    """Whether ``value`` is a decimal string (how high-precision outputs are written)."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _shared_axes(flat: dict) -> dict:
    """``alpha`` / ``times`` lists equal at every point: curve dimensions with coordinates."""
    axes = {}
    for axis in ("alpha", "times"):
        values = [v.get(axis) for v in flat.values() if v]
        if values and all(isinstance(v, list) and v == values[0] for v in values):
            axes[axis] = values[0]
    return axes
