"""Every exact form: prior draws match, logp equals the hand-written model and the change of variables."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from pymc.distributions.transforms import LogTransform
from scipy import stats

from pymc_auxform import auxify, report

# family -> (centered z | mu, s; standard noise; z = forward(mu, s, eps); log|dz/deps|; form name)
FAMILIES = {
    "Normal": (
        lambda n, mu, s: pm.Normal(n, mu, s, dims="i"),
        lambda n: pm.Normal(n, 0, 1, dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "StudentT": (
        lambda n, mu, s: pm.StudentT(n, nu=4, mu=mu, sigma=s, dims="i"),
        lambda n: pm.StudentT(n, nu=4, mu=0, sigma=1, dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "Cauchy": (
        lambda n, mu, s: pm.Cauchy(n, mu, s, dims="i"),
        lambda n: pm.Cauchy(n, 0, 1, dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "Laplace": (
        lambda n, mu, s: pm.Laplace(n, mu, s, dims="i"),
        # float64 parameters: PyMC folds a constant scale 1 into a float32 log(2b) otherwise
        lambda n: pm.Laplace(n, np.array(0.0), np.array(1.0), dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "Logistic": (
        lambda n, mu, s: pm.Logistic(n, mu, s, dims="i"),
        lambda n: pm.Logistic(n, 0, 1, dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "Gumbel": (
        lambda n, mu, s: pm.Gumbel(n, mu, s, dims="i"),
        lambda n: pm.Gumbel(n, 0, 1, dims="i"),
        lambda mu, s, e: mu + s * e,
        lambda mu, s, e: pt.log(s),
        "affine",
    ),
    "HalfNormal": (
        lambda n, mu, s: pm.HalfNormal(n, s, dims="i"),
        lambda n: pm.HalfNormal(n, 1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "HalfCauchy": (
        lambda n, mu, s: pm.HalfCauchy(n, s, dims="i"),
        lambda n: pm.HalfCauchy(n, 1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "HalfStudentT": (
        lambda n, mu, s: pm.HalfStudentT(n, nu=3, sigma=s, dims="i"),
        lambda n: pm.HalfStudentT(n, nu=3, sigma=1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "Exponential": (
        lambda n, mu, s: pm.Exponential(n, lam=1 / s, dims="i"),
        lambda n: pm.Exponential(n, 1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "Gamma": (
        lambda n, mu, s: pm.Gamma(n, alpha=2.5, beta=1 / s, dims="i"),
        lambda n: pm.Gamma(n, alpha=2.5, beta=1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "InverseGamma": (
        lambda n, mu, s: pm.InverseGamma(n, alpha=3.0, beta=s, dims="i"),
        lambda n: pm.InverseGamma(n, alpha=3.0, beta=1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "Weibull": (
        lambda n, mu, s: pm.Weibull(n, alpha=1.7, beta=s, dims="i"),
        lambda n: pm.Weibull(n, alpha=1.7, beta=1, dims="i"),
        lambda mu, s, e: s * e,
        lambda mu, s, e: pt.log(s),
        "scale",
    ),
    "LogNormal": (
        lambda n, mu, s: pm.LogNormal(n, mu, s, dims="i"),
        lambda n: pm.Normal(n, 0, 1, dims="i"),
        lambda mu, s, e: pt.exp(mu + s * e),
        lambda mu, s, e: mu + s * e + pt.log(s),
        "log-affine",
    ),
}
N = 3


def make_model(family: str, *, noncentered: bool = False) -> pm.Model:
    """mu ~ N(0, 1), s ~ HalfNormal(1) (standard: left as they are), z | mu, s ~ family."""
    centered, noise, forward, _, _ = FAMILIES[family]
    with pm.Model(coords={"i": range(N)}) as m:
        mu = pm.Normal("mu", 0, 1)
        s = pm.HalfNormal("s", 1)
        if noncentered:
            pm.Deterministic("z", forward(mu, s, noise("z_eps")), dims="i")
        else:
            centered("z", mu, s)
    return m


def to_point(model, values):
    """Map constrained values (by variable name) to the model's value-variable point."""
    point = {}
    for rv in model.free_RVs:
        value = np.asarray(values[rv.name], dtype="float64")
        transform = model.rvs_to_transforms[rv]
        if isinstance(transform, LogTransform):
            value = np.log(value)
        elif transform is not None:
            value = transform.forward(pt.as_tensor(value), *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point


def prior_values(aux, seed):
    names = ["mu", "s", "z_eps"]
    return dict(zip(names, pm.draw([aux[n] for n in names], random_seed=seed), strict=True))


@pytest.mark.parametrize("family", FAMILIES)
def test_logp_equals_hand_written_noncentered(family):
    aux = auxify(make_model(family), centering=0.0)
    oracle = make_model(family, noncentered=True)
    assert sorted(v.name for v in aux.value_vars) == sorted(v.name for v in oracle.value_vars)
    logp_aux, logp_oracle = aux.compile_logp(), oracle.compile_logp()
    for seed in range(3):
        values = prior_values(aux, seed)
        point_aux, point_oracle = to_point(aux, values), to_point(oracle, values)
        np.testing.assert_allclose(logp_aux(point_aux), logp_oracle(point_oracle), rtol=1e-10)


@pytest.mark.parametrize("family", FAMILIES)
def test_logp_is_change_of_variables(family):
    """log p_aux(mu, s, eps) = log p(mu, s, z = g(eps)) + sum log|dz/deps| (densities, no Jacobian
    of the value transforms)."""
    _, _, forward, log_jac, form = FAMILIES[family]
    original = make_model(family)
    aux = auxify(original, centering=0.0)
    assert report(aux).rewritten[0].form == form
    assert [r.name for r in report(aux).rewritten] == ["z"]
    mu, s, e = pt.dscalar("mu"), pt.dscalar("s"), pt.dvector("e")
    g = pm.compile(
        [mu, s, e],
        [forward(mu, s, e), pt.sum(log_jac(mu, s, e) + pt.zeros_like(e))],
        on_unused_input="ignore",
    )
    logp_aux = aux.compile_logp(jacobian=False)
    logp_orig = original.compile_logp(jacobian=False)
    for seed in range(3):
        values = prior_values(aux, seed)
        z, jac = g(values["mu"], values["s"], values["z_eps"])
        orig_values = {"mu": values["mu"], "s": values["s"], "z": z}
        expected = logp_orig(to_point(original, orig_values)) + jac
        np.testing.assert_allclose(logp_aux(to_point(aux, values)), expected, rtol=1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_prior_draws_match_original(family):
    original = make_model(family)
    aux = auxify(original, centering=0.0)
    draws_orig = pm.draw(original["z"], draws=1500, random_seed=1)
    draws_aux = pm.draw(aux["z"], draws=1500, random_seed=2)
    assert draws_aux.shape == draws_orig.shape == (1500, N)
    for j in range(N):
        assert stats.ks_2samp(draws_orig[:, j], draws_aux[:, j]).pvalue > 1e-3


@pytest.mark.parametrize("family", ["HalfNormal", "Gamma", "Weibull", "Exponential"])
def test_positive_noise_gets_log_transform(family):
    aux = auxify(make_model(family), centering=0.0)
    noise = aux["z_eps"]
    assert isinstance(aux.rvs_to_transforms[noise], LogTransform)
    assert aux.rvs_to_values[noise].name == "z_eps_log__"


def test_standard_variables_are_left_with_reason():
    rep = report(auxify(make_model("Normal"), centering=0.0))
    left = {lft.name: lft.reason for lft in rep.left}
    assert set(left) == {"mu", "s"}
    assert "already standard" in left["mu"]


def test_parameters_depending_on_latents_broadcast_with_explicit_shape():
    with pm.Model() as m:
        mu = pm.Normal("mu", 0, 1, shape=3)
        s = pm.HalfNormal("s", 1, shape=(2, 1))
        pm.Normal("z", mu, s, shape=(4, 2, 3))
    aux = auxify(m, centering=0.0)
    assert aux["z_eps"].type.shape == (4, 2, 3)
    draws_orig = pm.draw(m["z"], draws=1000, random_seed=3)
    draws_aux = pm.draw(aux["z"], draws=1000, random_seed=4)
    assert draws_aux.shape == (1000, 4, 2, 3)
    np.testing.assert_allclose(draws_aux.std(0), draws_orig.std(0), rtol=0.15)
