"""Derive the Gaussian kernels of erf, linear and ReLU activations and check them.

Checks: Price's theorem (symbolic), Saad & Solla's published I3 (symbolic at 40 digits),
Monte Carlo at 5 standard errors.
"""

import numpy as np
import sympy as sp
from _report import Report, arguments
from scipy.special import erf

from theorykit.committee.derive.activations import get_activation
from theorykit.committee.derive.gaussian import GaussianAverager, cov_symbols, z
from theorykit.committee.derive.kernels import KERNELS


def main() -> int:
    args = arguments(__doc__)
    report = Report("Gaussian kernels")
    rng = np.random.default_rng(0)
    samples = 200_000 if args.quick else 4_000_000
    funcs = {
        "erf": (lambda u: erf(u / np.sqrt(2)), lambda u: np.sqrt(2 / np.pi) * np.exp(-(u**2) / 2)),
        "linear": (lambda u: u, lambda u: np.ones_like(u)),
        "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0) * 1.0),
    }
    c00, c11, c01 = cov_symbols(2)
    for name in ("erf", "linear", "relu"):
        act = get_activation(name)
        gg, dgdg, d2g = (act.kernel_expr(KERNELS[k]) for k in ("gg", "dgdg", "d2g_g"))
        report.check(f"{name}: Price d<gg>/dC01 = <g'g'>", sp.simplify(sp.diff(gg, c01) - dgdg) == 0)
        report.check(f"{name}: Price d<gg>/dC00 = <g''g>/2", sp.simplify(sp.diff(gg, c00) - d2g / 2) == 0)
        for kname in ("gg", "dgdg", "dgdg_gg"):
            spec = KERNELS[kname]
            expr = act.kernel_expr(spec)
            if expr is None:
                report.check(f"{name}: {kname}", True, "no closed form: quadrature fallback")
                continue
            A = rng.standard_normal((spec.n_slots, spec.n_slots + 2))
            C = A @ A.T / (spec.n_slots + 2)
            exact = float(expr.evalf(30, subs={s: C[a, b] for s, (a, b) in zip(spec.args, spec.arg_pairs)}))
            u = rng.multivariate_normal(np.zeros(spec.n_slots), C, size=samples)
            prod = np.prod([funcs[name][o](u[:, s]) for s, o in enumerate(spec.orders)], axis=0)
            sem = prod.std() / np.sqrt(samples)
            report.check(
                f"{name}: {kname} vs Monte Carlo",
                abs(prod.mean() - exact) < 5 * sem + 1e-12,
                f"|diff| = {abs(prod.mean() - exact):.2e}, 5 s.e. = {5 * sem:.2e}",
            )
            report.equation(spec.latex(tuple("abcd"[: spec.n_slots])) + rf"_{{\mathrm{{{name}}}}}", sp.latex(expr))
    i3 = sp.simplify(GaussianAverager(sp.erf(z / sp.sqrt(2))).average((1, None, 0), poly=(1,)))
    a, b, c = sp.symbols("c00 c11 c22", positive=True)
    ab, ac, bc = sp.symbols("c01 c02 c12", real=True)
    published = 2 / sp.pi / sp.sqrt((1 + a) * (1 + c) - ac**2) * (bc * (1 + a) - ab * ac) / (1 + a)
    report.check("erf: I3 equals Saad & Solla (1995)", sp.simplify(i3 - published) == 0)
    report.equation(r"I_3 = \langle g'(u_a)\, u_b\, g(u_c)\rangle", sp.latex(i3))
    return report.finish(args.latex_dir)


if __name__ == "__main__":
    raise SystemExit(main())
