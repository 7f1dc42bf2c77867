"""pymc_auxform.sample: auxify, pm.sample, and a trace that reads like the original model's."""

import importlib.util

import numpy as np
import pymc as pm
import pytest

import pymc_auxform as pax

from pymc_auxform.reference_models import eight_schools
from pymc_auxform.trace import NOISE_GROUP, REPORT_ATTR

FAST = dict(draws=100, tune=100, chains=1, cores=1, progressbar=False, random_seed=3)


def _noise_in_attrs(trace) -> list[str]:
    assert REPORT_ATTR in trace.attrs
    return pax.report(trace).all_noise_names


def test_sample_from_the_context_reads_like_the_original_model():
    with eight_schools() as original:
        trace = pax.sample(nuts_sampler="pymc", centering=0.0, **FAST)
    assert list(trace["posterior"].data_vars) == ["mu", "tau", "theta"]
    assert trace["posterior"]["theta"].dims == ("chain", "draw", "school")
    assert list(trace["posterior"]["school"].values) == list(original.coords["school"])
    assert set(trace[NOISE_GROUP].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}
    assert _noise_in_attrs(trace) == ["mu_eps", "tau_eps", "theta_eps"]
    # theta really is mu + tau * theta_eps in every draw
    post, noise = trace["posterior"], trace[NOISE_GROUP]
    np.testing.assert_allclose(
        post["theta"].values, (post["mu"] + post["tau"] * noise["theta_eps"]).values, rtol=1e-6
    )
    # the trace hands off to the original model
    pp = pm.sample_posterior_predictive(trace, model=original, progressbar=False, random_seed=1)
    assert pp["posterior_predictive"]["y"].dims == ("chain", "draw", "school")


def test_posterior_keeps_the_original_models_order():
    with pm.Model():
        a = pm.Normal("a", 0.0, 2.0)
        pm.Normal("z", 0.0, 1.0)  # already standard: left as it is, a free variable of aux
        pm.Normal("b", a, 1.0)
        trace = pax.sample(nuts_sampler="pymc", centering=0.0, **FAST)
    assert list(trace["posterior"].data_vars) == ["a", "z", "b"]
    assert list(trace[NOISE_GROUP].data_vars) == ["a_eps", "b_eps"]


def test_recurrent_chain_noise_is_listed_in_model_order():
    """A chain z_0 -> z_1 -> ... : noise in the order of the chain, in the raw trace too.

    The noise variables are independent of each other, and PyMC's graph-to-model conversion
    lists independent variables last first: the auxified model (and so a raw ``pm.sample`` trace
    and the sampler's variable list) had them as z_3_eps, z_2_eps, z_1_eps, z_0.
    """
    with pm.Model() as chain:
        z = pm.Normal("z_0", 0.0, 1.0)  # already standard: left, a free variable of aux
        for t in range(1, 4):
            z = pm.Normal(f"z_{t}", 0.9 * z, 0.5)
        pm.Normal("x", z, 1.0, observed=0.3)
    order = ["z_0", "z_1_eps", "z_2_eps", "z_3_eps"]
    aux = pax.auxify(chain, centering=0.0)
    assert [v.name for v in aux.free_RVs] == order
    assert [v.name for v in aux.value_vars] == order
    raw = pm.sample(model=aux, nuts_sampler="pymc", compute_convergence_checks=False, **FAST)
    assert list(raw["posterior"].data_vars) == [*order, "z_1", "z_2", "z_3"]
    trace = pax.sample(chain, nuts_sampler="pymc", centering=0.0, **FAST)
    assert list(trace["posterior"].data_vars) == ["z_0", "z_1", "z_2", "z_3"]
    assert list(trace[NOISE_GROUP].data_vars) == order[1:]


def test_auxify_options_pass_through():
    trace = pax.sample(eight_schools(), exclude="tau", centering=0.0, nuts_sampler="pymc", **FAST)
    assert _noise_in_attrs(trace) == ["mu_eps", "theta_eps"]
    assert list(trace["posterior"].data_vars) == ["mu", "tau", "theta"]
    trace = pax.sample(eight_schools(), var_names=["theta"], nuts_sampler="pymc", **FAST)
    assert _noise_in_attrs(trace) == ["theta_eps"]


@pytest.mark.skipif(importlib.util.find_spec("nutpie") is None, reason="nutpie not installed")
def test_sample_with_nutpie():
    trace = pax.sample(eight_schools(), nuts_sampler="nutpie", centering=0.0, **FAST)
    assert trace["posterior"].attrs["inference_library"] == "nutpie"
    assert list(trace["posterior"].data_vars) == ["mu", "tau", "theta"]
    assert set(trace[NOISE_GROUP].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}


def test_sample_uses_auxifys_default_auto_centering():
    """pax.sample(model) is auxify(model) (centering="auto"), then pm.sample: same choices."""
    trace = pax.sample(eight_schools(), nuts_sampler="pymc", **FAST)
    expected = pax.report(pax.auxify(eight_schools()))
    rep = pax.report(trace)  # read back from the trace's attrs
    assert "why (centering='auto')" in str(rep)
    assert rep.all_noise_names == expected.all_noise_names
    assert [v.name for v in rep.left] == [v.name for v in expected.left]
    assert set(trace[NOISE_GROUP].data_vars) == set(expected.all_noise_names)
    assert list(trace["posterior"].data_vars) == ["mu", "tau", "theta"]


def test_an_auxified_model_is_sampled_as_it_is():
    aux = pax.auxify(eight_schools(), centering=0.0)
    trace = pax.sample(aux, nuts_sampler="pymc", **FAST)
    assert set(trace["posterior"].data_vars) == {"mu", "tau", "theta"}
    with pytest.raises(ValueError, match="already auxified"):
        pax.sample(aux, exclude="tau")


def test_bad_input():
    with pytest.raises(TypeError, match="returns a DataTree"):
        pax.sample(eight_schools(), return_inferencedata=False)
    with pytest.raises(TypeError, match="No model on context stack"):
        pax.sample()
    with pytest.raises(TypeError, match="did you mean 'progressbar'"):
        pax.sample(eight_schools(), progress_bar=False)  # caught before auxify and sampling
