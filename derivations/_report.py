"""Tiny helper shared by the derivation scripts: a pass/fail table and LaTeX output."""

from __future__ import annotations

import argparse
from pathlib import Path


class Report:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, bool, str]] = []
        self.latex: list[tuple[str, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.rows.append((name, bool(ok), detail))

    def equation(self, lhs: str, rhs: str) -> None:
        self.latex.append((lhs, rhs))

    def finish(self, out_dir: str | None) -> int:
        print(f"== {self.title}")
        width = max(len(n) for n, _, _ in self.rows)
        for name, ok, detail in self.rows:
            print(f"  {'PASS' if ok else 'FAIL'}  {name.ljust(width)}  {detail}")
        if out_dir:
            path = Path(out_dir)
            path.mkdir(parents=True, exist_ok=True)
            stem = self.title.lower().replace(" ", "_").replace("/", "_")
            body = "\n".join(f"\\begin{{equation}}\n{lhs} = {rhs}\n\\end{{equation}}" for lhs, rhs in self.latex)
            (path / f"{stem}.tex").write_text(body + "\n")
            print(f"  LaTeX: {path / (stem + '.tex')}")
        failed = sum(not ok for _, ok, _ in self.rows)
        print(f"  {len(self.rows) - failed} passed, {failed} failed")
        return 1 if failed else 0


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller Monte Carlo / simulation sizes")
    parser.add_argument("--latex-dir", default="derivations/out", help="where to write the LaTeX")
    return parser.parse_args()
