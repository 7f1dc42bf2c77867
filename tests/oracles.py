"""Shared test oracles: same log density at the same points, same prior in distribution."""

import numpy as np
import pymc as pm

from pytensor.compile.mode import Mode
from scipy import stats

# Python linker without graph rewrites: the test graphs are compiled once each, so skipping the
# C compilation and the rewrites is much faster than running them.
FAST = Mode(linker="py", optimizer=None)


def assert_same_logp(a, b, *, seed=0, n_points=3, rtol=1e-8, mode=FAST):
    """Both models have the same value variables and the same logp at random points."""
    f_a, f_b = a.compile_logp(mode=mode), b.compile_logp(mode=mode)
    assert {v.name for v in a.value_vars} == {v.name for v in b.value_vars}
    rng = np.random.default_rng(seed)
    start = a.initial_point()
    for _ in range(n_points):
        point = {name: rng.normal(size=np.shape(x)) for name, x in start.items()}
        np.testing.assert_allclose(f_a(point), f_b(point), rtol=rtol)


def assert_same_prior(m_a, m_b, names, *, seed=1, draws=1000, batch=None, mode=FAST):
    """Two-sample KS test per element of each named variable (p > 1e-3, seeded).

    ``batch=N``: the models are batched, one draw holds ``N`` iid prior draws on the first axis.
    """
    n = 1 if batch else draws
    a = pm.draw([m_a[k] for k in names], draws=n, random_seed=seed, mode=mode)
    b = pm.draw([m_b[k] for k in names], draws=n, random_seed=seed + 100, mode=mode)
    rows = batch or draws
    for name, xa, xb in zip(names, a, b, strict=True):
        xa, xb = np.reshape(xa, (rows, -1)), np.reshape(xb, (rows, -1))
        for j in range(xa.shape[1]):
            p = stats.ks_2samp(xa[:, j], xb[:, j]).pvalue
            assert p > 1e-3, f"{name}[{j}]: KS p-value {p:.2g}"
