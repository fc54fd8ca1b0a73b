"""The committee machine (soft committee, two layers, power-law input spectrum): model, derivation,
code generation, solvers, plateaus, the late phase, the linear network and SGD."""
