"""Issue 15: no auxiliary model may differ silently from the original (one test per defect)."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from pymc.distributions.transforms import Interval

from pymc_auxform import auxify, report
from tests.oracles import CHECKED, FAST, assert_change_of_variables, assert_same_prior


def _left(aux):
    return {r.name: r.reason for r in report(aux).left}


# --- 1. TruncatedNormal with one bound, not scalar ------------------------------------------


def hierarchical_truncated(lower=0.0, upper=None, shape=8):
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 2)
        tau = pm.HalfNormal("tau", 1)
        pm.TruncatedNormal("z", mu=mu, sigma=tau, lower=lower, upper=upper, shape=shape)
        pm.Normal("y", m["z"], 1.0, observed=np.ones(shape))
    return m


@pytest.mark.parametrize(
    "lower, upper",
    [(0.0, None), (-1.0, 2.0), (np.array([0.0, -np.inf, 1.0]), None)],
    ids=["lower", "both", "partly-infinite"],
)
def test_truncated_normal_one_bound_is_finite_and_exact(lower, upper):
    m = hierarchical_truncated(lower, upper, shape=3)
    aux = auxify(m, centering=0.0)
    assert "z" in [r.name for r in report(aux).rewritten]
    assert np.isfinite(aux.compile_logp(mode=CHECKED)(aux.initial_point()))
    assert assert_change_of_variables(m, aux, n_points=6) >= 3
    draws = pm.draw(aux["z"], draws=200, random_seed=1, mode=FAST)
    assert np.all(np.isfinite(draws))


def test_truncated_normal_far_tails_are_finite_with_gradients():
    """Bounds 12 sigma into either tail: the map stays inside the bounds, gradients finite."""
    from pymc_auxform.forms.truncated import truncated_normal_map

    mu, eps = pt.dscalar("mu"), pt.dvector("eps")
    e = np.array([-8.0, -1.0, 0.0, 1.0, 8.0])
    bounds = [(12.0, np.inf), (-np.inf, -12.0), (12.0, 13.0), (-13.0, -12.0), (60.0, np.inf)]
    for lower, upper in bounds:
        z = truncated_normal_map(mu, 1.0, lower, upper, eps)
        grads = pt.grad(z.sum(), [mu, eps])
        out = pm.compile([mu, eps], [z, *grads], mode=FAST)(0.0, e)
        assert all(np.all(np.isfinite(x)) for x in out), (lower, upper, out)
        assert np.all((out[0] >= lower) & (out[0] <= upper))
        assert np.all(np.diff(out[0]) > 0)  # strictly increasing in eps: a bijection


def test_truncated_normal_prior_matches():
    m = hierarchical_truncated(0.0, None, shape=2)
    assert_same_prior(m, auxify(m, centering=0.0), ["z"], draws=1500)


# --- 2. parameter constraints --------------------------------------------------------------


def test_negative_scale_is_rejected_like_the_original():
    with pm.Model() as m:
        s = pm.Normal("s", 1, 1)
        mu = pm.Normal("mu", 0, 1)
        pm.Normal("z", mu, s)
    aux = auxify(m, exclude=["s"], centering=0.0)
    point = {"s": -1.0, "mu": 0.0, "z_eps": 0.3}
    assert np.isneginf(aux.compile_logp(mode=CHECKED)(point))
    assert np.isneginf(m.compile_logp(mode=CHECKED)({"s": -1.0, "mu": 0.0, "z": 0.3}))
    assert np.isfinite(aux.compile_logp(mode=CHECKED)({**point, "s": 1.0}))
    assert assert_change_of_variables(m, aux, n_points=8) >= 2


@pytest.mark.parametrize(
    "make",
    [
        lambda p: pm.StudentT("z", nu=p, mu=0.0, sigma=2.0, shape=2),
        lambda p: pm.Gamma("z", alpha=2.0, beta=p, shape=2),
        lambda p: pm.HalfCauchy("z", beta=p, shape=2),
        lambda p: pm.LogNormal("z", mu=0.0, sigma=p, shape=2),
        lambda p: pm.Pareto("z", alpha=3.0, m=p, shape=2),
        lambda p: pm.MvNormal("z", mu=np.zeros(2), cov=p * np.eye(2)),
    ],
    ids=["StudentT-nu", "Gamma-beta", "HalfCauchy", "LogNormal", "Pareto-icdf", "MvNormal"],
)
def test_checks_of_every_form_kind_are_kept(make):
    with pm.Model() as m:
        p = pm.Normal("p", 1.0, 1.0)
        make(p)
    aux = auxify(m, centering=0.0)
    assert "z" in [r.name for r in report(aux).rewritten]
    assert assert_change_of_variables(m, aux, n_points=10) >= 2


# --- 3. invalid icdf parameters: -inf, not an exception ------------------------------------


def test_uniform_with_latent_bounds_rejects_invalid_points():
    with pm.Model() as m:
        lo = pm.Normal("lo", 0, 1)
        hi = pm.Normal("hi", 1, 1)
        pm.Uniform("u", lo, hi)
    aux = auxify(m, exclude=["lo", "hi"], centering=0.0)
    assert np.isneginf(aux.compile_logp(mode=CHECKED)({"lo": 1.0, "hi": 0.0, "u_eps": 0.3}))
    assert assert_change_of_variables(m, aux, n_points=10) >= 2


# --- 4. a user-chosen transform is compared by value ---------------------------------------


def test_transform_with_other_bounds_is_not_dropped():
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1)
        pm.Uniform("u", 0, s, default_transform=Interval(0.0, 0.5))
    assert "transform" in _left(auxify(m, centering=0.0))["u"]
    with pm.Model() as m:  # the default transform, given explicitly: rewritten
        s = pm.HalfNormal("s", 1)
        pm.Uniform("u", 0, s)
    assert "u" in [r.name for r in report(auxify(m, centering=0.0)).rewritten]


# --- 5. noise names do not clash with dims -------------------------------------------------


def test_noise_name_does_not_clash_with_a_dim():
    with pm.Model(coords={"theta_eps": [1, 2]}) as m:
        mu = pm.Normal("mu")
        pm.Normal("theta", mu, 2.0, dims="theta_eps")
    with pytest.warns(UserWarning, match="theta_eps_1"):
        aux = auxify(m, centering=0.0)
    assert report(aux).rewritten[0].noise == ("theta_eps_1",)
    assert aux.named_vars_to_dims["theta_eps_1"] == ("theta_eps",)
    assert "theta_eps" in aux.coords
    assert np.isfinite(aux.compile_logp(mode=CHECKED)(aux.initial_point()))


# --- 6. per-element centering and pm.set_data ----------------------------------------------


def test_set_data_with_per_element_centering_says_what_to_do():
    with pm.Model(coords={"g": range(3)}) as m:
        x = pm.Data("x", np.ones(3), dims="g")
        mu = pm.Normal("mu")
        z = pm.Normal("z", mu, 2.0, dims="g")
        pm.Normal("y", z, 1.0, observed=x, dims="g")
    aux = auxify(m, centering={"z": np.array([0.0, 0.5, 1.0])})
    assert np.isfinite(aux.compile_logp(mode=CHECKED)(aux.initial_point()))
    with aux:
        pm.set_data({"x": np.ones(5)}, coords={"g": range(5)})
    with pytest.raises(Exception, match=r"'z'.*centering"):
        aux.compile_logp(mode=CHECKED)(aux.initial_point())


# --- 7. check_bounds=False -----------------------------------------------------------------


def test_check_bounds_false_behaves_like_the_original():
    with pm.Model(check_bounds=False) as m:
        s = pm.Normal("s", 1, 1)
        mu = pm.Normal("mu", 0, 1)
        pm.Normal("z", mu, s)
    aux = auxify(m, exclude=["s"], centering=0.0)
    assert aux.check_bounds is False
    # neither model checks sigma > 0: no -inf at s < 0 (the original's log(sigma) is NaN)
    lo = m.compile_logp(mode=CHECKED)({"s": -1.0, "mu": 0.0, "z": -0.3})
    la = aux.compile_logp(mode=CHECKED)({"s": -1.0, "mu": 0.0, "z_eps": 0.3})
    assert not np.isneginf(lo) and np.isfinite(la)
    assert assert_change_of_variables(m, aux, n_points=8) >= 2


# --- 8. pm.observe of a rewritten variable -------------------------------------------------


def test_observe_of_a_rewritten_variable_says_observe_the_original():
    with pm.Model() as m:
        mu = pm.Normal("mu")
        pm.Normal("theta", mu, 2.0)
    aux = auxify(m, centering=0.0)
    with pytest.raises(Exception, match="observe the original"):
        observed = pm.observe(aux, {"theta": 1.0})
        observed.compile_logp(mode=CHECKED)(observed.initial_point())


# --- coverage: initial values --------------------------------------------------------------


def test_initvals_are_kept_and_mapped_to_the_noise():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 3, initval=0.5)
        s = pm.HalfNormal("s", 1, initval=2.0)
        pm.Normal("theta", mu, s, initval=np.array([1.0, -1.0, 3.0]), shape=3)
        pm.LogNormal("w", mu, s, initval=np.array([0.1, 4.0]), shape=2)
    aux = auxify(m, exclude=["mu"], centering=0.0)
    point = aux.initial_point()
    assert point["mu"] == 0.5
    outs = aux.replace_rvs_by_values([aux["theta"], aux["w"], aux["s"]])
    f = pm.compile(aux.value_vars, outs, mode=FAST, on_unused_input="ignore")
    theta, w, s = f(*(point[v.name] for v in aux.value_vars))
    np.testing.assert_allclose(s, 2.0)
    np.testing.assert_allclose(theta, [1.0, -1.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(w, [0.1, 4.0], rtol=1e-6)


def test_initval_of_a_multivariate_form_is_dropped_with_a_warning():
    with pm.Model() as m:
        s = pm.HalfNormal("s")
        pm.MvNormal("z", mu=np.zeros(2), cov=s * np.eye(2), initval=np.ones(2))
    with pytest.warns(UserWarning, match="initial value of 'z' was dropped"):
        aux = auxify(m, centering=0.0)
    assert np.isfinite(aux.compile_logp(mode=CHECKED)(aux.initial_point()))


def test_left_reasons_name_user_facing_things():
    with pm.Model() as m:
        a = pm.HalfNormal("a")
        pm.Beta("p", a + 1, 2.0, shape=2)
    reason = _left(auxify(m, centering=0.0))["p"]
    assert "'a'" in reason and "{" not in reason and "ExpandDims" not in reason


def test_logitnormal_is_rewritten_exactly():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0.0, 2.0)
        s = pm.Normal("s", 1.0, 1.0)  # may be <= 0: the check must be kept
        pm.LogitNormal("p", mu=mu, sigma=s, shape=2)
    aux = auxify(m, exclude=["s"], centering=0.0)
    assert {r.name: r.form for r in report(aux).rewritten} == {"mu": "affine", "p": "logit-affine"}
    assert assert_change_of_variables(m, aux, n_points=8) >= 2
