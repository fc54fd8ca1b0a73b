"""The house rules of the package layout (docs/architecture.md), checked on the source itself.

* ``theorykit.core`` imports no model; no two modules import each other, directly or around a
  longer loop (module-level imports, where a cycle would break an import);
* no two modules share a file name, and no public name of a package shadows one of its modules;
* every public name resolves; ``import theorykit`` and ``theorykit --version`` load no heavy
  dependency (checked in a fresh interpreter, by the modules it ends up holding, not by a clock).
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from theorykit.core import c_build

PACKAGE = Path(__file__).resolve().parents[1] / "theorykit"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path, top_level_only: bool) -> set[str]:
    """The theorykit modules ``name`` imports (``from x import y`` counts y when y is a module)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks are not run
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


def test_every_internal_import_resolves():
    """Also the imports inside functions, which importing the modules does not run."""
    import re

    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not (node.level or (node.module or "").startswith("theorykit")):
                continue
            base = package.split(".")
            target = ".".join(
                base[: len(base) - node.level + 1] + [node.module]
                if node.level and node.module
                else base[: len(base) - node.level + 1]
                if node.level
                else [node.module]
            )
            assert target in MODULES, f"{name}: no module {target}"
            source = MODULES[target].read_text()
            for alias in node.names:
                found = f"{target}.{alias.name}" in MODULES or re.search(rf"\b{alias.name}\b", source)
                assert found, f"{name}: {target} has no {alias.name}"


def test_core_imports_no_model():
    for name, path in MODULES.items():
        if name.startswith("theorykit.core"):
            for target in _imports(name, path, top_level_only=False):
                assert target.startswith("theorykit.core") or target == "theorykit._version", f"{name} imports {target}"


def test_models_do_not_import_each_other_or_the_layers_above():
    above = ("theorykit.cli", "theorykit.figures")
    for name, path in MODULES.items():
        for target in _imports(name, path, top_level_only=False):
            if name.startswith("theorykit.committee"):
                assert not target.startswith(("theorykit.rf", *above)), f"{name} imports {target}"
            if name.startswith("theorykit.rf"):
                assert not target.startswith(("theorykit.committee", *above)), f"{name} imports {target}"


def test_no_import_cycles():
    graph = {name: _imports(name, path, top_level_only=True) for name, path in MODULES.items()}
    # a package's __init__ importing its own modules is not a cycle with them
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_file_names_are_unique_and_no_public_name_shadows_a_module():
    # each model has its own model.py, schema.py, case.py ... beside core's machinery of that
    # name (core/schema.py); nothing deeper repeats
    files = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    names = Counter(p.name for p in files)
    for name in [n for n, c in names.items() if c > 1]:
        where = [p.parts[:-1] for p in files if p.name == name]
        assert all(len(w) == 1 and w[0] in ("core", "committee", "rf") for w in where), (name, where)
    for package in ("theorykit", "theorykit.rf", "theorykit.committee", "theorykit.core"):
        module = importlib.import_module(package)
        shadowed = [n for n in getattr(module, "__all__", []) if f"{package}.{n}" in MODULES]
        assert shadowed in ([], ["rf"] if package == "theorykit" else []), f"{package}: {shadowed}"


@pytest.mark.parametrize("package", ["theorykit", "theorykit.rf", "theorykit.committee", "theorykit.core"])
def test_every_public_name_resolves(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_every_registered_figure_resolves():
    from theorykit.figures import FIGURES

    for name in FIGURES:
        assert callable(FIGURES[name]) and FIGURES[name].__name__ == name


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_theorykit_loads_no_heavy_dependency():
    loaded = _loaded_after("import theorykit")
    assert not loaded & {"sympy", "scipy", "matplotlib", "numba", "mpmath"}


def test_version_and_help_load_no_numpy():
    loaded = _loaded_after(
        "from theorykit.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['solve', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert not loaded & {"numpy", "sympy", "scipy", "matplotlib", "mpmath"}


def test_a_cached_dop853_solve_to_json_loads_neither_scipy_integrate_sympy_nor_xarray(tmp_path):
    """A small solve's process is mostly other packages' start-up: its DOP853 is theorykit's
    own port (core.dop853) and its JSON needs no Dataset (docs/performance.md)."""
    case = tmp_path / "case.json"
    case.write_text(
        '{"model": {"K": 2, "M": 2}, "eta": 0.5, "spectrum": {"kind": "power_law", "L": 1, "beta": 1.0},'
        ' "alpha": [0, 10], "init": {"kind": "random", "N": 100, "sigma_J": 0.01, "seed": 0},'
        ' "solver": {"method": "DOP853", "flavour": "numpy"}}'
    )
    run = f"from theorykit.cli import main\nassert main(['--quiet', 'solve', {str(case)!r}, '-o', {str(tmp_path / 'o.json')!r}]) == 0"
    _loaded_after(run)  # the first run derives and caches the code
    loaded = _loaded_after(run)
    assert not loaded & {"scipy.integrate", "sympy", "xarray", "pandas"}


@pytest.mark.skipif(c_build.compiler() is None, reason="no C compiler")
def test_a_cached_small_explicit_solve_runs_from_c_without_numba(tmp_path):
    """The default flavour of a small DOP853 solve is the C library: no numba start-up."""
    case = tmp_path / "case.json"
    case.write_text(
        '{"model": {"K": 2, "M": 3}, "eta": 0.3, "spectrum": {"kind": "power_law", "L": 2, "beta": 0.3},'
        ' "alpha": [1, 10], "init": {"kind": "random", "N": 100, "sigma_J": 0.01, "seed": 0},'
        ' "solver": {"method": "DOP853"}}'
    )
    out = tmp_path / "o.json"
    run = f"from theorykit.cli import main\nassert main(['--quiet', 'solve', {str(case)!r}, '-o', {str(out)!r}]) == 0"
    _loaded_after(run)  # the first run derives, translates and compiles
    loaded = _loaded_after(run)
    assert not loaded & {"numba", "scipy", "sympy", "mpmath", "xarray"}
    assert json.loads(out.read_text())["solver"]["flavour"] == "c"
