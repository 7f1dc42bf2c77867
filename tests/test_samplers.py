"""Auxified models work with every PyMC sampler; traces and metrics come out the same way."""

import importlib.util
import math

import numpy as np
import pymc as pm
import pytest

from pymc_auxform import auxify, compare_forms, original_trace, sampling_metrics
from pymc_auxform.reference_models import eight_schools
from pymc_auxform.trace import NOISE_GROUP


def _needs(module):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"
    )


NUTS_SAMPLERS = [
    "pymc",
    "nutpie",
    pytest.param("numpyro", marks=_needs("numpyro")),
    pytest.param("blackjax", marks=_needs("blackjax")),
]


def _check_trace(idata, original, aux):
    trace = original_trace(idata, aux, original=original)
    assert set(trace["posterior"].data_vars) == {"mu", "tau", "theta"}
    assert set(trace[NOISE_GROUP].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}
    assert trace["posterior"]["theta"].dims == ("chain", "draw", "school")
    # the Deterministic really is mu + tau * eps in every draw
    post, noise = trace["posterior"], trace[NOISE_GROUP]
    np.testing.assert_allclose(
        post["theta"].values,
        (post["mu"] + post["tau"] * noise["theta_eps"]).transpose(*post["theta"].dims).values,
        rtol=1e-5,
    )
    return trace


@pytest.mark.parametrize("nuts_sampler", NUTS_SAMPLERS)
def test_nuts_samplers(nuts_sampler):
    original = eight_schools()
    aux = auxify(original)
    with aux:
        idata = pm.sample(
            draws=150,
            tune=150,
            chains=2,
            cores=1,
            random_seed=3,
            nuts_sampler=nuts_sampler,
            progressbar=False,
            compute_convergence_checks=False,
        )
    trace = _check_trace(idata, original, aux)
    m = sampling_metrics(trace, var_names=["mu", "tau", "theta"])
    assert m.chains == 2 and m.draws == 150
    assert m.grad_evals >= 2 * 150  # at least one leapfrog step per draw
    assert math.isfinite(m.ess_per_grad) and m.ess_per_grad > 0
    assert math.isfinite(m.seconds) and m.seconds > 0
    assert m.sampler == ("pymc" if nuts_sampler == "pymc" else nuts_sampler)


def test_hamiltonian_mc_via_compare_forms():
    res = compare_forms(
        eight_schools(),
        draws=150,
        tune=150,
        chains=2,
        random_seed=5,
        step=pm.HamiltonianMC,
        cores=1,
        progressbar=False,
        warn=False,
    )
    for form in ("original", "auxiliary"):
        stats = res.traces[form]["sample_stats"]
        assert "path_length" in stats  # HMC, not NUTS
        assert res.metrics[form].grad_evals == float(stats["n_steps"].sum())
    _check_trace(res.traces["auxiliary"], eight_schools(), res.aux_model)
