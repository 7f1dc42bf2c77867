"""Auxified models work with every PyMC sampler; traces and metrics come out the same way."""

import importlib.util
import math
import os

import numpy as np
import pymc as pm
import pytensor
import pytest

from pymc.pytensorf import collect_default_updates

from pymc_auxform import auxify, compare_forms, original_trace, report, sampling_metrics
from pymc_auxform.reference_models import eight_schools
from pymc_auxform.trace import NOISE_GROUP


def _needs(module):
    """Skip when ``module`` is missing, except in CI (``make test`` installs the jax extra)."""
    missing = importlib.util.find_spec(module) is None and not os.environ.get("CI")
    return pytest.mark.skipif(missing, reason=f"{module} is not installed (pip install .[jax])")


NUTS_SAMPLERS = [
    "pymc",
    "nutpie",
    pytest.param("numpyro", marks=_needs("numpyro")),
    pytest.param("blackjax", marks=_needs("blackjax")),
]


def _check_trace(idata, original, aux):
    trace = original_trace(idata, aux, original=original)
    assert set(trace["posterior"].data_vars) == {"mu", "tau", "theta"}
    # the pure rewrite has mu_eps, tau_eps and theta_eps; compare_forms' default ("auto") at least
    # theta_eps; either way, the noise the report lists
    assert set(trace[NOISE_GROUP].data_vars) == set(report(aux).all_noise_names) >= {"theta_eps"}
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
    aux = auxify(original, centering=0.0)
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


# --- the JAX samplers on every form family -----------------------------------------------------

JAX_SAMPLERS = [
    pytest.param("numpyro", marks=_needs("numpyro")),
    pytest.param("blackjax", marks=_needs("blackjax")),
]
ZOO_FORMS = {  # variable -> form it must get
    "mu": "affine",
    "tau": "scale",
    "theta": "affine",
    "rate": "log-affine",
    "trunc_gamma": "icdf",  # gammainc / gammaincinv
    "trunc_normal": "icdf",  # erf / erfinv
    "mv": "multivariate",
    "walk": "innovations",  # GaussianRandomWalk
    "scan_walk": "innovations",  # a pytensor.scan CustomDist, rebuilt
    "partial": "partial",  # centering 0.5
}


def _scan_walk(z0, s, size):
    def step(z_prev, s):
        z = pm.StudentT.dist(nu=4.0, mu=0.8 * z_prev, sigma=s)
        return z, collect_default_updates([z])

    return pytensor.scan(
        step, outputs_info=[z0], non_sequences=[s], n_steps=4, strict=True, return_updates=True
    )[0]


def form_zoo() -> pm.Model:
    """One small model with a variable of every form family, each informed by data."""
    rng = np.random.default_rng(0)
    with pm.Model(coords={"i": range(3), "t": range(5)}) as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        tau = pm.HalfNormal("tau", 1.5)
        theta = pm.Normal("theta", mu, tau, dims="i")
        rate = pm.LogNormal("rate", 0.1 * mu, 0.5)
        tg = pm.Truncated("trunc_gamma", pm.Gamma.dist(2.0, 1.0 / (tau + 0.5)), lower=0.5, upper=4)
        tn = pm.TruncatedNormal("trunc_normal", mu=mu, sigma=1.0, lower=-0.5, upper=2.0)
        mv = pm.MvNormal("mv", mu=theta, cov=np.eye(3) + 0.5, dims="i")
        walk = pm.GaussianRandomWalk(
            "walk", sigma=tau, init_dist=pm.Normal.dist(0.0, 1.0), dims="t"
        )
        scan_walk = pm.CustomDist("scan_walk", mu, tau, dist=_scan_walk, shape=4)
        partial = pm.Normal("partial", mu, tau)
        mean = theta.sum() + rate + tg + tn + mv.sum() + walk.sum() + scan_walk.sum() + partial
        pm.Normal("y", mean, 3.0, observed=rng.normal(2.0, 3.0, size=4))
        pm.Normal("y_theta", theta, 1.0, observed=[0.5, -0.3, 1.2])
    return model


@pytest.fixture(scope="module")
def zoo():
    original = form_zoo()
    aux = auxify(original, centering={"partial": 0.5})
    forms = {r.name: r.form for r in report(aux).rewritten}
    assert forms == ZOO_FORMS, report(aux)
    return original, aux


@pytest.mark.parametrize("nuts_sampler", JAX_SAMPLERS)
def test_jax_samplers_every_form(zoo, nuts_sampler):
    """Every form family compiles and samples under JAX (special functions, scan, partial)."""
    original, aux = zoo
    with aux:
        idata = pm.sample(
            draws=50,
            tune=50,
            chains=2,
            random_seed=7,
            nuts_sampler=nuts_sampler,
            nuts={"chain_method": "vectorized"},  # one compiled program
            progressbar=False,
            compute_convergence_checks=False,
        )
    trace = original_trace(idata, aux, original=original)
    post = trace["posterior"]
    assert set(ZOO_FORMS) <= set(post.data_vars)
    for name in ZOO_FORMS:
        values = post[name].values
        assert values.shape[:2] == (2, 50) and np.all(np.isfinite(values)), name
        assert np.std(values) > 0, name  # the chains moved
    assert np.all(post["tau"] > 0) and np.all(post["rate"] > 0)
    assert np.all((post["trunc_gamma"] >= 0.5) & (post["trunc_gamma"] <= 4.0))
    assert np.all((post["trunc_normal"] >= -0.5) & (post["trunc_normal"] <= 2.0))
    noise = trace[NOISE_GROUP]
    np.testing.assert_allclose(  # the Deterministic is the affine map of its noise
        post["theta"].values,
        (post["mu"] + post["tau"] * noise["theta_eps"]).transpose(*post["theta"].dims).values,
        rtol=1e-5,
    )
    # a short, untuned run of a hard little model: some divergences, but it must move
    assert float(trace["sample_stats"]["diverging"].mean()) < 0.5
