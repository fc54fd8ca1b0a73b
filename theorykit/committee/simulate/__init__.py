"""SGD of the finite committee machine, on NumPy, numba or PyTorch."""
