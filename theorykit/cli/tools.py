"""Commands about the toolkit itself: figures, reproduce, the code cache."""

from __future__ import annotations

import math


def cmd_figure(args) -> int:
    from ..figures import FIGURES

    paths = FIGURES[args.name](full=args.full).save(args.output)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_reproduce(args) -> int:
    from ..figures.reproduce import reproduce

    def line(name: str, entry: dict) -> None:
        print(f"{name:18s} {entry['status']:6s} {entry['seconds']:7.1f} s  {entry['paths'][0].parent}", flush=True)

    reproduce(args.output, only=args.only, full=args.full, force=args.force, on_done=line)
    return 0


def cmd_cache(args) -> int:
    from ..core.code_cache import cache_dir, clear_cache

    if args.action == "clear":
        print(f"removed {clear_cache()} entries from {cache_dir()}")
    else:
        print(cache_dir())
    return 0


def cmd_sweep(args) -> int:
    from ..core.errors import CaseError
    from ..core.output import write_netcdf
    from ..core.progress import Progress
    from ..sweeps import read_sweep, run_sweep

    if not str(args.output).endswith(".nc"):
        raise CaseError("-o", f"the sweep's output is a NetCDF file, OUT.nc; got {args.output!r}")
    sweep = read_sweep(args.sweep)
    with Progress(total=math.prod(sweep.shape), label="sweep") as bar:
        dataset = run_sweep(
            sweep,
            workers=args.workers,
            scheduler=args.scheduler,
            address=args.address,
            on_point=lambda n, _: bar.update(n),
        )
    write_netcdf(dataset, args.output)
    statuses = dataset["status"].values.ravel().tolist()
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
    print(f"wrote {args.output}: {len(statuses)} points ({counts})")
    return 0
