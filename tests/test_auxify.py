"""auxify on whole models: structure, hand-off, input untouched, and clear errors."""

import warnings

import numpy as np
import pymc as pm
import pytest

from pymc_auxform import auxify, report
from pymc_auxform.reference_models import eight_schools


def model_fingerprint(model):
    return (
        [v.name for v in model.free_RVs],
        [v.name for v in model.observed_RVs],
        [v.name for v in model.deterministics],
        [v.name for v in model.value_vars],
        dict(model.named_vars_to_dims),
        {k: tuple(v) for k, v in model.coords.items()},
        model.compile_logp()(model.initial_point()),
    )


def _by_name(model, grad, point):
    """Split a flat gradient (value variables in the model's order) by variable name."""
    names = [v.name for v in model.value_vars]
    cuts = np.cumsum([np.size(point[n]) for n in names])[:-1]
    return dict(zip(names, np.split(grad, cuts), strict=True))


def test_eight_schools_logp_equals_hand_written(rng):
    aux = auxify(eight_schools(), centering=0.0)
    oracle = eight_schools(noncentered=True)
    logp_aux, logp_oracle = aux.compile_logp(), oracle.compile_logp()
    dlogp_aux, dlogp_oracle = aux.compile_dlogp(), oracle.compile_dlogp()
    for _ in range(5):
        point = {
            "mu_eps": rng.normal(),
            "tau_eps_log__": rng.normal(),
            "theta_eps": rng.normal(size=8),
        }
        np.testing.assert_allclose(logp_aux(point), logp_oracle(point), rtol=1e-12)
        # the gradient is taken w.r.t. the value variables in model order
        grad_aux = _by_name(aux, dlogp_aux(point), point)
        grad_oracle = _by_name(oracle, dlogp_oracle(point), point)
        for name in point:
            np.testing.assert_allclose(grad_aux[name], grad_oracle[name], rtol=1e-10)


def test_structure_names_dims_coords_survive():
    original = eight_schools()
    aux = auxify(original, centering=0.0)
    assert {v.name for v in aux.deterministics} == {"mu", "tau", "theta"}
    assert {v.name for v in aux.free_RVs} == {"mu_eps", "tau_eps", "theta_eps"}
    assert aux.named_vars_to_dims["theta"] == ("school",)
    assert aux.named_vars_to_dims["theta_eps"] == ("school",)
    assert aux.named_vars_to_dims["y"] == ("school",)
    assert aux.coords == original.coords
    assert report(aux).noise_names == {
        "mu": ("mu_eps",),
        "tau": ("tau_eps",),
        "theta": ("theta_eps",),
    }


def test_input_model_is_not_modified():
    original = eight_schools()
    before = model_fingerprint(original)
    auxify(original, centering=0.0)
    after = model_fingerprint(original)
    assert before[:-1] == after[:-1]
    assert before[-1] == after[-1]


def test_eight_schools_divergences_vanish():
    """Small seeded NUTS run: the centered model diverges, the auxified one (almost) does not."""
    kwargs = dict(
        draws=400,
        tune=400,
        chains=2,
        cores=1,
        random_seed=8,
        progressbar=False,
        nuts_sampler="pymc",
        compute_convergence_checks=False,
    )
    with eight_schools():
        centered = pm.sample(**kwargs)
    with auxify(eight_schools(), centering=0.0):
        aux = pm.sample(**kwargs)
    div_centered = int(centered.sample_stats.diverging.sum())
    div_aux = int(aux.sample_stats.diverging.sum())
    assert div_centered >= 5
    assert div_aux <= 1
    post = aux.posterior
    assert set(post.data_vars) >= {"mu", "tau", "theta", "mu_eps", "tau_eps", "theta_eps"}
    assert post["theta"].dims == ("chain", "draw", "school")
    assert list(post["school"].values) == list(eight_schools().coords["school"])


def test_posterior_predictive_and_log_likelihood_on_auxified_model():
    aux = auxify(eight_schools(), centering=0.0)
    with aux:
        idata = pm.sample(
            draws=50,
            tune=50,
            chains=1,
            random_seed=3,
            progressbar=False,
            nuts_sampler="pymc",
            compute_convergence_checks=False,
        )
        pp = pm.sample_posterior_predictive(idata, random_seed=4, progressbar=False)
        ll = pm.compute_log_likelihood(idata, progressbar=False)
    assert pp.posterior_predictive["y"].shape == (1, 50, 8)
    assert ll.log_likelihood["y"].dims == ("chain", "draw", "school")


def test_data_deterministics_potentials_and_set_data():
    x = np.linspace(-1, 1, 10)
    with pm.Model(coords={"obs": range(10)}) as m:
        xd = pm.Data("x", x, dims="obs")
        a = pm.Normal("a", 0, 2)
        s = pm.HalfNormal("s", 1)
        b = pm.Normal("b", a, s)
        mean = pm.Deterministic("mean", a + b * xd, dims="obs")
        pm.Potential("pen", -(b**2))
        pm.Normal("y", mean, 0.5, observed=2 * x, dims="obs", shape=xd.shape)
    aux = auxify(m, centering=0.0)
    assert {v.name for v in aux.deterministics} >= {"mean", "a", "b"}
    assert [p.name for p in aux.potentials] == ["pen"]
    point = {"a_eps": 0.3, "s_log__": -0.2, "b_eps": 0.7}
    a_v, s_v = 2 * 0.3, np.exp(-0.2)
    b_v = a_v + s_v * 0.7
    [mean_graph] = aux.replace_rvs_by_values([aux["mean"]])
    mean = aux.compile_fn(mean_graph, inputs=aux.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(mean, a_v + b_v * x)
    with aux:
        pm.set_data({"x": np.zeros(4)}, coords={"obs": range(4)})
        draws = pm.draw(aux["y"], draws=2, random_seed=1)
    assert draws.shape == (2, 4)


def test_var_names_exclude_and_report():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfCauchy("tau", 5)
        k = pm.Poisson("k", 3)
        pm.Normal("theta", mu + k, tau, shape=4)
    aux = auxify(m, var_names=["theta", m["mu"]], centering=0.0)
    assert {r.name for r in report(aux).rewritten} == {"theta", "mu"}
    assert "tau" in {v.name for v in aux.free_RVs}

    aux = auxify(m, exclude="tau", centering=0.0)
    rep = report(aux)
    assert {r.name for r in rep.rewritten} == {"mu", "theta"}
    reasons = {lft.name: lft.reason for lft in rep.left}
    assert reasons["tau"] == "excluded by the user"
    assert "discrete" in reasons["k"]
    text = str(rep)
    assert "theta" in text and "discrete" in text and "affine" in text


def test_new_model_keeps_the_original_order():
    """Each noise takes its variable's place, before it; data, Deterministics in order."""
    with pm.Model() as m:
        w = pm.Data("w", 0.5)
        a = pm.Normal("a", 0.0, 2.0)
        b = pm.HalfNormal("b", 2.0)  # independent of a: PyMC's order would put it first
        ab = pm.Deterministic("ab", a * b)
        pm.Poisson("k", 3.0)  # left (discrete)
        c = pm.Normal("c", w * ab, b)
        pm.Normal("y", c, 1.0, observed=0.1)
    aux = auxify(m, centering=0.0)
    assert list(aux.named_vars) == ["w", "a_eps", "a", "b_eps", "b", "ab", "k", "c_eps", "c", "y"]
    assert [v.name for v in aux.value_vars] == ["a_eps", "b_eps_log__", "k", "c_eps"]
    assert [v.name for v in aux.deterministics] == ["a", "b", "ab", "c"]
    assert list(aux.initial_point()) == ["a_eps", "b_eps_log__", "k", "c_eps"]


def test_noise_name_clash_is_resolved_not_overwritten():
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1)
        z = pm.Normal("z", 0, s)
        pm.Deterministic("z_eps", 2 * z)
    with pytest.warns(UserWarning, match="z_eps"):
        aux = auxify(m, centering=0.0)
    assert report(aux).noise_names["z"] == ("z_eps_1",)
    draws = pm.draw([aux["z"], aux["z_eps"]], draws=5, random_seed=1)
    np.testing.assert_allclose(draws[1], 2 * draws[0])


def test_partial_centering_scalar_keeps_distribution():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 1)
        s = pm.HalfNormal("s", 1)
        pm.Normal("z", mu, s, shape=3)
    aux = auxify(m, centering={"z": 0.5})
    assert report(aux).rewritten[0].form == "partial"
    d0 = pm.draw(m["z"], draws=1000, random_seed=1)
    d1 = pm.draw(aux["z"], draws=1000, random_seed=2)
    np.testing.assert_allclose(d0.std(0), d1.std(0), rtol=0.15)
    rep = report(auxify(m, centering={"z": 1.0}))
    assert "kept centered" in {lft.name: lft.reason for lft in rep.left}["z"]


# --- bad input -------------------------------------------------------------------------------


def small_model():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 5)
        k = pm.Poisson("k", 2)
        pm.Deterministic("d", mu * 2)
        pm.Normal("y", mu + k, 1, observed=[0.1, 0.2])
        pm.CustomDist("c", logp=lambda v: -(v**2))
    return m


@pytest.mark.parametrize(
    "names, match",
    [
        ("nope", r"'nope' is not a variable of this model.*Free variables"),
        ("y", r"'y' is observed"),
        ("k", r"'k' is discrete"),
        ("d", r"'d' is a Deterministic"),
        ("c", r"'c' .* cannot be rewritten: no auxiliary form"),
    ],
)
def test_clear_errors_for_bad_var_names(names, match):
    with pytest.raises(ValueError, match=match):
        auxify(small_model(), var_names=names)


def test_other_bad_input():
    with pytest.raises(TypeError, match="expects a pymc.Model"):
        auxify("not a model")
    m = small_model()
    with pytest.raises(ValueError, match="both in var_names and in exclude"):
        auxify(m, var_names="mu", exclude="mu")
    with pytest.raises(ValueError, match=r"centering\['mu'\] must lie in \[0, 1\]"):
        auxify(m, centering={"mu": 1.5})
    with pytest.raises(ValueError, match="not free variables"):
        auxify(m, centering={"zz": 0.5})
    with pm.Model() as with_init:  # initial values are kept (mapped to the noise, a = 2 * a_eps)
        pm.Normal("a", 0, 2, initval=1.0)
    np.testing.assert_allclose(auxify(with_init, centering=0.0).initial_point()["a_eps"], 0.5)
    with pytest.raises(ValueError, match="not made by pymc_auxform.auxify"):
        report(m)


def test_unsupported_variables_are_left_and_listed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aux = auxify(small_model(), centering=0.0)
    reasons = {lft.name: lft.reason for lft in report(aux).left}
    assert "no auxiliary form" in reasons["c"]
    assert "discrete" in reasons["k"]
    assert [r.name for r in report(aux).rewritten] == ["mu"]
