"""Derive stage of the committee machine: Gaussian kernels, the index-form order-parameter ODEs,
the symmetric plateau, the late-phase expansion and the linear network, in SymPy."""
