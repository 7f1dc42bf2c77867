"""log p(x) that says when it is wrong: PSIS k-hat, the independent dim found and checked."""

import numpy as np
import pymc as pm
import pytest

from scipy import stats

from pymc_auxform.marginal import estimate_log_marginal
from pymc_auxform.marginal_result import UnreliableEstimateWarning


def factor_model(n=200, d=6, k=2, seed=0):
    """The issue's linear-Gaussian factor model; exact log p(x) from the marginal Gaussian."""
    rng = np.random.default_rng(seed)
    w, b, s = rng.normal(size=(d, k)), rng.normal(size=d), 0.5
    x = rng.normal(size=(n, k)) @ w.T + b + s * rng.normal(size=(n, d))
    exact = stats.multivariate_normal(b, w @ w.T + s**2 * np.eye(d)).logpdf(x).sum()
    with pm.Model(coords={"obs": range(n), "factor": range(k), "feature": range(d)}) as model:
        z = pm.Normal("z", 0, 1, dims=("obs", "factor"))
        pm.Normal("x", z @ w.T + b, s, observed=x, dims=("obs", "feature"))
    return model, exact


def test_factor_model_default_finds_the_dim_and_is_right():
    model, exact = factor_model()
    res = estimate_log_marginal(model, random_seed=0)
    assert res.independent_dim == "obs" and res.method == "importance"
    assert res.khat <= 0.7 and 0 < res.se < 1
    assert abs(res.estimate - exact) < 3 * res.se
    df = res.to_dataframe()
    assert list(df.columns) == ["log_p", "khat"] and len(df) == 200
    assert "k-hat" in repr(res) and "<table" in res._repr_html_()


def test_a_400_dimensional_proposal_is_flagged_not_trusted():
    """Without the dim, one Student-t over all 400 latents: the issue's -2235.8 +/- 1.0."""
    model, exact = factor_model()
    with pytest.warns(UnreliableEstimateWarning, match="k-hat"):
        res = estimate_log_marginal(
            model,
            method="importance",
            independent_dim=False,
            n_samples=500,
            posterior_draws=200,
            tune=200,
            random_seed=0,
        )
    assert res.khat > 0.7 and np.isnan(res.se) and not res.reliable
    assert res.estimate < exact - 10  # wrong, and now it says so


def correlated_model():
    """z ~ MvNormal(0, C) along "i", x_i ~ N(z_i, 1): exact log p(x) = N(x; 0, C + I)."""
    i = np.arange(5)
    cov = 0.8 ** np.abs(i[:, None] - i[None, :])
    x = np.array([0.3, -0.5, 1.2, 0.8, -0.1])
    with pm.Model(coords={"i": i}) as model:
        z = pm.MvNormal("z", np.zeros(5), cov=cov, dims="i")
        pm.Normal("x", z, 1.0, observed=x, dims="i")
    return model, stats.multivariate_normal(np.zeros(5), cov + np.eye(5)).logpdf(x)


def test_a_coupled_dim_is_refused_and_never_picked():
    model, exact = correlated_model()
    with pytest.raises(ValueError, match="does not factorize.*point"):
        estimate_log_marginal(model, independent_dim="i", random_seed=0)
    with pytest.raises(ValueError, match="does not factorize.*core"):
        estimate_log_marginal(model, independent_dim="i", use_auxiliary=False, random_seed=0)
    res = estimate_log_marginal(model, method="importance", random_seed=0)
    assert res.independent_dim is None
    assert res.khat <= 0.7 and abs(res.estimate - exact) < 3 * res.se


def test_coupling_by_a_recursion_is_detected():
    """A random walk along "t" written with cumsum: every point depends on the earlier ones."""
    with pm.Model(coords={"t": range(6)}) as model:
        eps = pm.Normal("eps", 0, 1, dims="t")
        pm.Normal("x", pm.math.cumsum(eps), 1.0, observed=np.arange(6.0), dims="t")
    with pytest.raises(ValueError, match="changes the log density of"):
        estimate_log_marginal(model, independent_dim="t", random_seed=0)
