"""EM-free learning (fit_mc_likelihood): the closed-form MLE, the bound tightening with L,
minibatches, refusals."""

import numpy as np
import pymc as pm
import pytest

from pymc_auxform import Minibatch
from pymc_auxform.mc_likelihood import fit_mc_likelihood

S = 0.5


def latent_gaussian(x, batch=None):
    """z_n ~ N(b, 1), x_n ~ N(z_n, S): the MLE of b is mean(x)."""
    n = len(x) if batch is None else batch
    with pm.Model(coords={"obs": np.arange(n)}) as model:
        data = pm.Data("xd", x[:n], dims="obs")
        b = pm.Data("b", -2.0)
        z = pm.Normal("z", b, 1.0, dims="obs")
        pm.Normal("x", z, S, observed=data, dims="obs")
    return model


def test_recovers_the_mle_and_the_bound_tightens_with_l():
    x = np.random.default_rng(0).normal(1.0, np.sqrt(1 + S**2), size=200)
    kw = dict(n_iter=200, random_seed=0, progressbar=False)
    res = fit_mc_likelihood(latent_gaussian(x), "b", n_noise=8, **kw)
    assert res.method == "mc-likelihood" and res.e_step_stats == {}
    assert res.final["b"] == pytest.approx(x.mean(), abs=0.1)
    exact = -0.5 * np.sum((x - x.mean()) ** 2) / (1 + S**2) - 100 * np.log(2 * np.pi * (1 + S**2))
    one = fit_mc_likelihood(latent_gaussian(x), "b", n_noise=1, **kw).objective[-50:].mean()
    many = fit_mc_likelihood(latent_gaussian(x), "b", n_noise=64, **kw).objective[-50:].mean()
    assert one < many < exact + 5  # a lower bound in expectation, tighter with more draws


def test_minibatches_scale_to_the_full_data():
    x = np.random.default_rng(1).normal(1.0, np.sqrt(1 + S**2), size=400)
    res = fit_mc_likelihood(
        latent_gaussian(x, batch=50),
        "b",
        n_iter=300,
        n_noise=8,
        random_seed=0,
        minibatch=Minibatch(data={"xd": x}, batch_size=50),
        progressbar=False,
    )
    assert res.final["b"] == pytest.approx(x.mean(), abs=0.1)
    assert res.objective[-50:].mean() < -400  # the full data's scale, not one batch's


def test_a_latent_without_auxiliary_form_is_refused():
    with pm.Model() as model:
        mu = pm.Data("mu", 3.0)
        k = pm.Poisson("k", mu)
        pm.Normal("x", k, 1.0, observed=np.array([2.0, 4.0]))
    with pytest.raises(ValueError, match="'k' has no auxiliary form"):
        fit_mc_likelihood(model, "mu", n_iter=2, progressbar=False)
