"""Lower stage of the committee machine: SymPy expressions -> Python source (numpy / numba / mpmath)."""
