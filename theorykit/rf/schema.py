"""Random-feature regression's case fields and method names, declared once."""

from __future__ import annotations

from ..core.schema import DPS_RULE, MAX_SEED, TIME_ORIGIN, Field, Integer, Number, Numbers, OneOf, Schema

RF_METHODS = ("laplace", "volterra", "decoupled")
RF_NORMALIZATIONS = ("sum", "first")
RF_LOSSES = ("sum", "mean")

RANDOM_FEATURES = Schema(
    "random-feature regression (theorykit rf)",
    {
        "N": Field(Integer(1, 10**7), "feature modes"),
        "P": Field(Integer(1, 10**7), "training samples"),
        "a": Field(Number(0, 1e3, lo_open=True), "kernel spectrum exponent, eta_k ~ k^-(1+a)", 0.5),
        "gamma": Field(Number(0, 1e12), "weight decay (summed-loss convention)", 0.0),
        "T": Field(Number(0, 1e12), "Langevin temperature", 0.0),
        "noise": Field(Number(0, 1e12), "label-noise standard deviation", 0.0),
        "teacher_exponent": Field(Number(0, 1e3), "teacher variances d_k = k^-b (0: the GP-prior teacher)", 0.0),
        "normalization": Field(OneOf(RF_NORMALIZATIONS), "sum_k eta_k = 1 ('sum') or eta_1 = 1 ('first')", "sum"),
        "loss": Field(OneOf(RF_LOSSES), "data term summed or averaged over samples", "sum"),
        "eigenvalues": Field(
            Numbers(1, lo=0, lo_open=True), "explicit kernel eigenvalues, length N", None, "power law"
        ),
        "times": Field(
            Numbers(1, lo=0, hi=1e15, increasing=True, max_size=100_000), f"output times of the dynamics, {TIME_ORIGIN}"
        ),
        "method": Field(OneOf(RF_METHODS), "DMFT route", "laplace"),
        "dps": Field(DPS_RULE, "decimal digits of the high-precision evaluation", None, "none (float)"),
        "simulation.draws": Field(Integer(2, 10**6), "independent draws of data and teacher", 50),
        "simulation.seed": Field(Integer(0, MAX_SEED), "seed of the draws", 0),
    },
)
