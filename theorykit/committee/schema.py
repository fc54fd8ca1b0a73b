"""The committee machine's case fields and the names the solvers dispatch on, declared once."""

from __future__ import annotations

import math

from ..core.schema import (
    DPS_RULE,
    MAX_SEED,
    TIME_ORIGIN,
    Field,
    Flag,
    Integer,
    Number,
    Numbers,
    OneOf,
    Schema,
)

#: Activations by registry name (:data:`theorykit.committee.derive.activations.REGISTRY` builds them).
ACTIVATIONS = ("erf", "linear", "relu")
SOLVER_METHODS = ("auto", "RK45", "DOP853", "BDF", "Radau", "LSODA", "exponential")
FLAVOURS = ("auto", "numpy", "numba", "mpmath", "c")
SGD_BACKENDS = ("auto", "numpy", "numba", "torch", "cuda")

COMMITTEE = Schema(
    "committee machine (theorykit solve / simulate / asymptotics / plateau)",
    {
        "model.K": Field(Integer(1, 1000), "student hidden units"),
        "model.M": Field(Integer(1, 1000), "teacher hidden units"),
        "model.activation": Field(OneOf(ACTIVATIONS), "activation g, by registry name (never evaluated)", "erf"),
        "model.normalization": Field(
            OneOf(("sqrt", "sum")), "second-layer weights 1/sqrt(K), 1/sqrt(M) or 1 (Saad & Solla)", "sqrt"
        ),
        "model.noise": Field(Number(0, 1e6), "standard deviation of the label noise", 0.0),
        "model.second_layer.student": Field(
            Numbers(1, max_size=1000),
            "read-out weights v_i of the K students (instead of normalization; their start when trained)",
            None,
            "omitted: c_K from normalization",
        ),
        "model.second_layer.teacher": Field(
            Numbers(1, max_size=1000),
            "read-out weights v*_n of the M teachers",
            None,
            "omitted: c_M from normalization",
        ),
        "model.second_layer.eta": Field(
            Number(0, 1e6), "learning rate eta_v of the students' read-out: v_i += (eta_v/N) g(a_i)(zeta - sigma)", 0.0
        ),
        "model.weight_decay": Field(
            Number(0, 1e6), "weight decay kappa: each SGD step also moves J_i by -(eta kappa / N) J_i", 0.0
        ),
        "small_lr": Field(Flag(), "keep only the O(eta) terms", False),
        "spectrum.kind": Field(OneOf(("power_law", "explicit")), "how the input spectrum is given", "power_law"),
        "spectrum.L": Field(Integer(1, 10**6), "number of distinct eigenvalues (power law)"),
        "spectrum.beta": Field(
            Number(-1, 1e3, lo_open=True), "power-law exponent, lambda_k ~ k^-(1+beta), sum_k f_k lambda_k = 1"
        ),
        "spectrum.eigenvalues": Field(
            Numbers(1, lo=0, lo_open=True, distinct=True, max_size=10**6), "explicit eigenvalues (used as given)"
        ),
        "spectrum.fractions": Field(
            Numbers(1, lo=0, lo_open=True, max_size=10**6),
            "multiplicity fractions f_k, one per eigenvalue, sum 1",
            None,
            "`1/L`",
        ),
        "eta": Field(Number(0, 1e6, lo_open=True), "learning rate; SGD moves J_i by (eta/sqrt(N)) delta_i x"),
        "alpha": Field(
            Numbers(1, lo=0, increasing=True, max_size=10**6),
            f"output times alpha = steps/N, {TIME_ORIGIN}",
        ),
        "init.kind": Field(
            OneOf(("random",)),
            "'random': overlaps of random weights at finite N",
            None,
            "omitted: give r, q, t instead",
        ),
        "init.N": Field(Integer(2, 10**8), "input dimension of the random weights"),
        "init.sigma_J": Field(Number(0, 1e3), "standard deviation of the initial student weights", 0.01),
        "init.seed": Field(Integer(0, MAX_SEED), "seed of the random weights", 0),
        "init.r": Field(Numbers(3), "student-teacher overlaps per mode, shape `[L][K][M]`"),
        "init.q": Field(Numbers(3), "student-student overlaps per mode, shape `[L][K][K]`"),
        "init.t": Field(Numbers(3), "teacher-teacher overlaps per mode, shape `[L][M][M]`"),
        "solver.method": Field(
            OneOf(SOLVER_METHODS),
            "integrator; 'auto': DOP853 unless the estimated explicit work is stiff, then LSODA (small systems); "
            "'exponential' (many modes and decades) only when named; the output records what ran",
            "auto",
        ),
        "solver.rtol": Field(Number(0, 1, lo_open=True, hi_open=True), "relative local tolerance", 1e-8),
        "solver.atol": Field(Number(0, 1, lo_open=True, hi_open=True), "absolute local tolerance", 1e-10),
        "solver.flavour": Field(OneOf(FLAVOURS), "generated-code flavour", "auto"),
        "solver.max_step": Field(
            Number(0, math.inf, lo_open=True, allow_inf=True), "largest step in alpha (SciPy methods)", math.inf
        ),
        "solver.max_rhs": Field(
            Integer(1, 10**10),
            "work budget in right-hand sides (SciPy methods); beyond it the run stops as stiff",
            2_000_000,
        ),
        "simulation.N": Field(Integer(2, 10**8), "input dimension of the simulated networks", 1000),
        "simulation.seeds": Field(Integer(1, 10_000), "number of independent SGD runs (seeds 0..seeds-1)", 4),
        "simulation.n_test": Field(Integer(1, 10**7), "test inputs per error estimate", 2000),
        "simulation.sigma_J": Field(Number(0, 1e3), "standard deviation of the initial student weights", 0.01),
        "simulation.backend": Field(
            OneOf(SGD_BACKENDS), "SGD backend ('auto' picks cuda on a GPU, then torch on CUDA, else numba)", "auto"
        ),
        "dps": Field(
            DPS_RULE,
            "decimal digits of the high-precision evaluations: linear and plateau (double precision without it), "
            "asymptotics (its default); --dps overrides it",
            30,
        ),
    },
)
