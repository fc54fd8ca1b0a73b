"""Lower stage of the committee machine: SymPy expressions -> Python source (numpy / numba / mpmath)."""

#: Kernel evaluations per call above which the generated code takes its threaded variant (here,
#: free of SymPy, so that solvers can read it at solve time).
PARALLEL_THRESHOLD = 20000
