"""derive -> lower -> build for one model: the compiled numeric functions.

:func:`compile_model` is the seam between the symbolic stages and the solvers.  Its result
holds plain callables on NumPy (or mpmath object) arrays; nothing downstream touches SymPy.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..core.code_cache import cache_dir, load_source, recipe_lookup, recipe_store
from ..core.errors import CaseError
from ..core.optional import numba_available
from .model import CommitteeModel
from .schema import FLAVOURS as _FLAVOURS

FLAVOURS = _FLAVOURS


@dataclass(frozen=True)
class CompiledSystem:
    """Generated functions for one (activation, small_lr, flavour) and where they live.

    Attributes
    ----------
    module : module
        The generated module (``G_fn``, ``W_fn``, ``eps_fn``, ``*_tan``, ``drift_fn``, ``cov_fn``).
    path : pathlib.Path
        Its source file in the cache (open it to read the generated code).
    flavour : str
        ``"numpy"``, ``"numba"``, ``"mpmath"`` or ``"c"``.
    cache_hit : bool
        Whether a valid cached file was reused.
    timings : dict
        Seconds spent deriving, lowering (0 on a hit) and importing/building.
    """

    module: ModuleType
    path: Path
    flavour: str
    small_lr: bool
    cache_hit: bool
    timings: dict


def resolve_flavour(flavour: str, activation_name: object, small_lr: bool) -> str:
    if flavour not in FLAVOURS:
        raise CaseError("flavour", f"must be one of {list(FLAVOURS)}, got {flavour!r}")
    if flavour != "auto":
        return flavour
    from .derive.activations import get_activation
    from .derive.odes import derive_index_system

    activation = get_activation(activation_name)
    names = derive_index_system(small_lr).kernels_used()
    if numba_available() and activation.is_fully_symbolic(names):
        return "numba"
    return "numpy"


#: Compiled systems of this process, by (cache folder, activation, small_lr, flavour, cse): built once each.
_MEMO: dict[tuple, CompiledSystem] = {}


def forget_compiled() -> None:
    """Drop this process's compiled systems: the next :func:`compile_model` goes to the disk cache."""
    _MEMO.clear()


#: The code that decides what a generated module holds; its hash is part of every recipe.
_GENERATORS = ("derive", "lower")


@functools.cache  # the package's own source: fixed for the life of a process
def _generator_hash() -> str:
    here = Path(__file__).parent
    files = [here / "compiled.py"] + sorted(f for d in _GENERATORS for f in (here / d).glob("*.py"))
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def _recipe(model: CommitteeModel, flavour: str, cse: bool) -> str | None:
    """What the module of a registry activation is made from, known without deriving anything
    (None for an activation object: only its derivation can say what it holds)."""
    if not isinstance(model.activation, str):
        return None
    return (
        f"committee module\nactivation={model.activation}\nsmall_lr={model.small_lr}\nflavour={flavour}\n"
        f"cse={cse}\nnumba={numba_available()}\ngenerators={_generator_hash()}"
        + ("\nper_unit_readout=True" if model.per_unit_readout else "")
        + (f"\ntranslator={_translator_hash()}" if flavour == "c" else "")
    )


@functools.cache
def _translator_hash() -> str:
    from .lower.c_module import translator_fingerprint

    return translator_fingerprint()


def compile_model(model: CommitteeModel, flavour: str = "auto", cse: bool = True) -> CompiledSystem:
    """Derive the index system, lower it and build (or load) the generated module.

    Parameters
    ----------
    model : CommitteeModel
        Only ``activation``, ``small_lr`` and whether the read-out is per unit matter here: K, M,
        L, the spectrum and the read-out weights are run-time arguments of the generated code, so
        one module serves every size.
    flavour : {"auto", "numpy", "numba", "mpmath", "c"}
        ``"auto"`` picks numba when it is installed and every kernel has a closed form.  ``"c"``:
        the NumPy flavour with the one-call right-hand side compiled from C
        (:mod:`theorykit.committee.lower.c_module`; needs a C compiler and closed-form kernels;
        see :func:`compile_for_explicit_solve`).
    cse : bool
        Common-subexpression elimination in the kernels.

    Notes
    -----
    Within a process each (activation, small_lr, flavour, cse) is compiled once.  Across
    processes a registry activation's module is found through its *recipe* (names, settings and
    a hash of the derive/lower code; :func:`theorykit.core.code_cache.recipe_lookup`), so a warm
    run neither derives nor imports SymPy; ``timings`` then reads zero for derive and lower.
    """
    memo_key = (str(cache_dir()), model.activation, model.small_lr, model.per_unit_readout, flavour, cse)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    t0 = time.perf_counter()
    recipe = _recipe(model, flavour, cse)
    found = None if recipe is None else recipe_lookup(recipe)
    if found is not None and found[2].get("flavour") in FLAVOURS[1:]:  # a recipe says which flavour "auto" chose
        module, path, notes = found
        timings = {"derive": 0.0, "lower": 0.0, "build": time.perf_counter() - t0}
        compiled = CompiledSystem(module, path, notes["flavour"], model.small_lr, True, timings)
    else:
        compiled = _derive_and_build(model, flavour, cse)
        if recipe is not None and not compiled.module._INJECTED:
            recipe_store(recipe, compiled.path, {"flavour": compiled.flavour})
    _MEMO[memo_key] = compiled
    return compiled


def _derive_and_build(model: CommitteeModel, flavour: str, cse: bool) -> CompiledSystem:
    # the symbolic stages load SymPy: imported here, where a module is actually derived
    from .derive.activations import NumericActivation, get_activation
    from .derive.kernels import KERNELS
    from .derive.odes import derive_index_system
    from .derive.quadrature import make_numeric_kernel
    from .lower.module import expression_fingerprint, module_source

    t0 = time.perf_counter()
    activation = get_activation(model.activation)
    flavour = resolve_flavour(flavour, model.activation, model.small_lr)
    system = derive_index_system(model.small_lr, model.per_unit_readout)
    names = system.kernels_used()
    for name in names:  # derive the kernels now, so the timing below is honest
        activation.kernel_expr(KERNELS[name])
    t1 = time.perf_counter()
    injected = {}
    missing = [n for n in names if activation.kernel_expr(KERNELS[n]) is None]
    if missing:
        numeric: NumericActivation = activation.numeric()
        for name in missing:
            value, tangent = make_numeric_kernel(KERNELS[name], numeric)
            injected[f"k_{name}"] = value
            injected[f"t_{name}"] = tangent
    fingerprint = expression_fingerprint(system, activation, flavour, cse)
    if flavour == "c":
        if injected:
            raise ValueError(f"the c flavour needs closed-form kernels; {missing} have none")
        fingerprint += f"\ntranslator={_translator_hash()}"
    lower_time = []

    def make_source() -> str:
        s = time.perf_counter()
        if flavour == "c":
            from .lower.c_module import c_module_source

            numpy_text = module_source(system, activation, "numpy", cse)
            text = c_module_source(numpy_text, module_source(system, activation, "numba", cse))
        else:
            text = module_source(system, activation, flavour, cse)
        lower_time.append(time.perf_counter() - s)
        return text

    module, path, hit = load_source(fingerprint, make_source, injected)
    t2 = time.perf_counter()
    timings = {"derive": t1 - t0, "lower": sum(lower_time), "build": t2 - t1 - sum(lower_time)}
    return CompiledSystem(module, path, flavour, model.small_lr, hit, timings)


def compile_for_explicit_solve(model: CommitteeModel, flavour: str = "auto") -> CompiledSystem:
    """The code an explicit solve (DOP853, RK45, RK23) of a small system runs.

    ``flavour = "auto"`` prefers ``"c"`` when a C compiler is there
    (:func:`theorykit.core.c_build.compiler`), the activation has closed-form kernels and the
    read-out is one weight per network: an explicit method needs only the right-hand side, and
    the C library loads in milliseconds where numba needs about a second per process.  When the
    c flavour cannot be had (no compiler, a kernel without closed form, a failed compile) this is
    :func:`compile_model` with ``"auto"``; a model whose c build failed with this compiler is
    remembered in the cache, so later processes do not derive it again.  Any other ``flavour`` is
    passed through.
    """
    if flavour != "auto" or model.per_unit_readout or not isinstance(model.activation, str):
        return compile_model(model, flavour)
    from ..core.c_build import compiler

    cc = compiler()
    if cc is None:
        return compile_model(model, "auto")
    from ..core.code_cache import derived_lookup, derived_store

    # a failure is remembered per compiler: the same model and compiler fail the same way in every
    # process (a kernel without closed form, a compiler without its headers); `cache clear` forgets
    failed_key = f"c flavour failed\ncompiler={cc}\n{_recipe(model, 'c', True)}"
    if derived_lookup(failed_key)[0]:
        return compile_model(model, "auto")
    from ..core.c_build import CompileError
    from ..core.c_translate import TranslationError

    try:
        return compile_model(model, "c")
    except (TranslationError, CompileError, ValueError) as error:
        derived_store(failed_key, str(error))
    return compile_model(model, "auto")
