"""The learning functions take the model from the ``with model:`` context, as PyMC does."""

import numpy as np
import pymc as pm
import pytest

from pymc_auxform import fit_mc_likelihood, stochastic_em

X = np.random.default_rng(0).normal(1.5, 1.0, size=30)


def model_with_mu():
    with pm.Model(coords={"obs": range(len(X))}) as model:
        mu = pm.Data("mu", 0.0)
        z = pm.Normal("z", mu, 1.0, dims="obs")
        pm.Normal("x", z, 0.5, observed=X, dims="obs")
    return model


@pytest.mark.parametrize("fit", [stochastic_em, fit_mc_likelihood])
def test_model_from_the_context_matches_the_explicit_model(fit):
    kw = dict(n_iter=5, random_seed=3, progressbar=False)
    if fit is stochastic_em:
        kw.update(tune=10, draws_per_iter=2)
    explicit = fit(model_with_mu(), "mu", **kw).final["mu"]
    with model_with_mu() as model:
        by_name = fit("mu", **kw).final["mu"]
        assert model["mu"].get_value() == by_name  # the final theta went into the context's model
        model["mu"].set_value(0.0)
        by_keyword = fit(params=["mu"], **kw).final["mu"]
    assert explicit != 0.0  # it moved
    assert by_name == explicit and by_keyword == explicit  # same run, same seed


@pytest.mark.parametrize("fit", [stochastic_em, fit_mc_likelihood])
def test_no_model_and_no_params_are_refused(fit):
    with pytest.raises(TypeError, match="No model on context stack"):
        fit("mu", n_iter=1, progressbar=False)
    with model_with_mu(), pytest.raises(TypeError, match="needs params"):
        fit(n_iter=1, progressbar=False)
    with pytest.raises(TypeError, match="expects a pymc.Model"):
        fit(object(), "mu", n_iter=1, progressbar=False)
