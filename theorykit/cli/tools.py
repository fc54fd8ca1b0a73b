"""Commands about the toolkit itself: figures, reproduce, the code cache."""

from __future__ import annotations


def cmd_figure(args) -> int:
    from ..figures import FIGURES

    paths = FIGURES[args.name](args.output, full=args.full)
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
