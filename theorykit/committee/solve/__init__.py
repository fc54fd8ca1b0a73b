"""Solve stage of the committee machine: integrators, fixed points and escape on compiled systems (no SymPy)."""
