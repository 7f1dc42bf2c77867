"""centering="auto": the closed-form choice, its numbers, and that the result is the same model."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from scipy import stats

from pymc_auxform import auxify, choose_centering, report
from pymc_auxform.reference_models import (
    dbn,
    eight_schools,
    simulate_hierarchical,
    varying_intercepts,
)
from pymc_auxform.reference_models.classic import EIGHT_SCHOOLS_SIGMA, EIGHT_SCHOOLS_Y
from tests.oracles import assert_same_logp

TAU, SIGMA = 0.5, 1.0
FAST = "FAST_COMPILE"  # these graphs are evaluated once: compiling is the cost


def known_scale_model(counts):
    """alpha_g ~ N(mu, TAU) with TAU known, n_g observations ~ N(alpha_g, SIGMA)."""
    group, y = simulate_hierarchical(len(counts), counts, tau=TAU, sigma=SIGMA, seed=3)
    with pm.Model(coords={"group": np.arange(len(counts))}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        alpha = pm.Normal("alpha", mu, TAU, dims="group")
        pm.Normal("y", alpha[group], SIGMA, observed=y)
    return model


def mixed_model(rich=3, poor=12, seed=2):
    counts = np.r_[np.full(rich, 200), np.full(poor, 1)]
    group, y = simulate_hierarchical(rich + poor, counts, seed=seed)
    return varying_intercepts(group, y)


def test_normal_normal_lam_is_closed_form():
    counts = np.array([1, 4, 16, 64])
    choice = choose_centering(known_scale_model(counts), snap=0.0)
    d = choice.decisions["alpha"]
    expected = counts * TAU**2 / SIGMA**2
    np.testing.assert_allclose(d.ratio, expected, rtol=1e-3)
    # lam = r / (1 + r), rounded to the 0.05 grid of intermediate values
    assert np.all(np.abs(d.lam - expected / (1 + expected)) <= 0.025 + 1e-9)
    np.testing.assert_allclose(d.lam / 0.05, np.round(d.lam / 0.05), atol=1e-9)
    assert d.prior_info == 1.0 and choice.converged


def test_informative_model_keeps_data_rich_latents_centered():
    group, y = simulate_hierarchical(8, 100, seed=1)
    aux = auxify(varying_intercepts(group, y), var_names=["alpha", "mu"], centering="auto")
    lam = report(aux).centering.decisions["alpha"].lam  # equal per group: a scalar
    assert np.all(np.asarray(lam) > 0.8)
    left = {lft.name: lft for lft in report(aux).left}
    assert "kept centered" in left["alpha"].reason and "info ratio" in left["alpha"].why
    mu = report(aux).centering.decisions["mu"]  # a root: any affine form only rescales it
    assert mu.lam == 1.0 and "constant parameters" in mu.why() and "kept" in left["mu"].reason
    assert "why (centering='auto')" in str(report(aux))


def test_eight_schools_auxifies_theta():
    aux = auxify(eight_schools(), centering="auto")
    rewritten = {r.name: r for r in report(aux).rewritten}
    lam = np.atleast_1d(report(aux).centering.decisions["theta"].lam)
    assert np.all(lam < 0.2)
    assert "theta" in rewritten and "info ratio" in rewritten["theta"].why


def test_mixed_model_chooses_per_group_and_is_the_same_model():
    model = mixed_model()
    aux = auxify(model, var_names=["alpha"], centering="auto")  # the roots as written
    lam = report(aux).centering.decisions["alpha"].lam
    assert np.all(lam[:3] > 0.8) and np.all(lam[3:] < 0.5)

    # prior draws of the original variables match (core oracle 1)
    names = ["mu", "tau", "alpha"]
    orig = pm.draw([model[n] for n in names], draws=2000, random_seed=1, mode=FAST)
    new = pm.draw([aux[n] for n in names], draws=2000, random_seed=2, mode=FAST)
    for a, b in [(orig[0], new[0]), (orig[1], new[1]), (orig[2][:, 0], new[2][:, 0])]:
        assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert stats.ks_2samp(orig[2][:, -1], new[2][:, -1]).pvalue > 1e-3

    # density: logp in noise space = original logp + log|dz/deta| (core oracle 2)
    rng = np.random.default_rng(0)
    mu, log_tau, eta = 0.3, np.log(0.7), rng.normal(size=15)
    tau = np.exp(log_tau)
    alpha = mu + tau ** (1 - lam) * (eta - lam * mu)
    new_logp = aux.compile_logp(mode=FAST)({"mu": mu, "tau_log__": log_tau, "alpha_eps": eta})
    orig_logp = model.compile_logp(mode=FAST)({"mu": mu, "tau_log__": log_tau, "alpha": alpha})
    np.testing.assert_allclose(new_logp, orig_logp + np.sum((1 - lam) * log_tau), rtol=1e-6)


def test_scale_family_uses_information_on_log_scale():
    rng = np.random.default_rng(4)
    with pm.Model() as model:
        s = pm.HalfNormal("s", 1.0)
        rich = pm.HalfNormal("rich", s, shape=3)
        poor = pm.HalfNormal("poor", s, shape=3)
        pm.Normal("y_rich", rich[:, None], 0.05, observed=1.0 + 0.05 * rng.normal(size=(3, 50)))
        pm.Normal("y_poor", poor, 5.0, observed=rng.normal(size=3))
    choice = choose_centering(model)
    rich, poor = choice.decisions["rich"], choice.decisions["poor"]
    assert np.all(rich.lam > 0.8) and np.all(poor.lam < 0.3)
    # Fisher information of log(eps) for eps ~ HalfNormal(1) is 2
    assert rich.prior_info == pytest.approx(2.0, rel=0.25)


def test_forms_without_partial_centering_choose_zero_or_one():
    rng = np.random.default_rng(5)
    chol = np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 1.0]]))
    with pm.Model() as model:
        sd = pm.HalfNormal("sd", 1.0)
        rich = pm.MvNormal("rich", mu=np.zeros(2), chol=sd * chol, shape=(3, 2))
        poor = pm.MvNormal("poor", mu=np.zeros(2), chol=sd * chol, shape=(3, 2))
        pm.Normal("y_rich", rich[..., None], 0.1, observed=rng.normal(size=(3, 2, 30)))
        pm.Normal("y_poor", poor, 10.0, observed=rng.normal(size=(3, 2)))
    aux = auxify(model, centering="auto")
    decisions = report(aux).centering.decisions
    assert not decisions["rich"].partial
    assert decisions["rich"].lam == 1.0 and decisions["poor"].lam == 0.0
    assert "rich" in {lft.name for lft in report(aux).left}
    assert "poor" in {r.name for r in report(aux).rewritten}


def test_deep_model_information_flows_through_the_chain():
    choice = choose_centering(dbn(steps=3, latent_dim=2))
    assert set(choice.decisions) == {"z_1", "z_2"}  # z_0 ~ N(0, 1) is already standard
    for d in choice.decisions.values():
        assert np.all(np.asarray(d.lam) < 0.2)  # sigma_z = 0.1: weak binary data -> auxiliary
    # z_1 is seen by x_1 directly and by x_2 through the chain: it has more information than z_2
    assert np.sum(choice.decisions["z_1"].likelihood_info) > np.sum(
        choice.decisions["z_2"].likelihood_info
    )


def informative_model():
    """Twenty groups of fifty rows: the data pin each group's intercept down."""
    return varying_intercepts(*simulate_hierarchical(20, 50, seed=1))


def _choices(aux):
    """Per variable: its chosen lam (array) and whether auxify rewrote it."""
    rep = report(aux)
    rewritten = {r.name for r in rep.rewritten}
    return {
        name: (np.asarray(d.lam), name in rewritten) for name, d in rep.centering.decisions.items()
    }


@pytest.mark.parametrize("build", [eight_schools, informative_model])
def test_default_is_auto(build):
    default, auto = auxify(build()), auxify(build(), centering="auto")
    assert report(default).centering is not None  # the default ran the choice
    chosen, expected = _choices(default), _choices(auto)
    assert chosen.keys() == expected.keys() == {rv.name for rv in build().free_RVs}
    for name, (lam, rewritten) in expected.items():  # deterministic (seeded): equal, not close
        np.testing.assert_array_equal(chosen[name][0], lam)
        assert chosen[name][1] == rewritten
    assert report(default).all_noise_names == report(auto).all_noise_names
    assert "why (centering='auto')" in str(report(default))


def test_default_keeps_data_rich_intercepts_centered_and_auxifies_eight_schools():
    rich = report(auxify(informative_model()))
    lam = np.asarray(rich.centering.decisions["alpha"].lam)
    assert np.all(lam > 0.5)  # closer to the model as written than to the auxiliary form
    assert "info ratio" in str(rich) and {"mu", "tau"} <= {v.name for v in rich.left}
    assert rich.centering.decisions["mu"].lam == rich.centering.decisions["tau"].lam == 1.0
    poor = auxify(eight_schools())  # theta auxiliary, the roots as written
    assert [r.name for r in report(poor).rewritten] == ["theta"]
    assert {v.name for v in report(poor).left} == {"mu", "tau"}


def test_default_on_eight_schools_is_the_hand_written_non_centered_model():
    """theta = mu + tau * theta_eps with mu and tau as the user wrote them: the classic
    non-centered eight schools, variable for variable and density for density."""
    with pm.Model(coords={"school": [f"s{i}" for i in range(8)]}) as hand:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_eps = pm.Normal("theta_eps", dims="school")
        theta = pm.Deterministic("theta", mu + tau * theta_eps, dims="school")
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y, dims="school")
    auto = auxify(eight_schools())
    assert [v.name for v in auto.value_vars] == [v.name for v in hand.value_vars]
    assert [v.name for v in auto.deterministics] == ["theta"]
    assert auto.named_vars_to_dims["theta"] == ("school",)
    assert_same_logp(auto, hand, n_points=5)


@pytest.mark.parametrize("build", [eight_schools, informative_model])
def test_centering_zero_is_still_the_pure_rewrite(build):
    model = build()
    rep = report(auxify(model, centering=0.0))
    assert rep.centering is None and "why (centering=" not in str(rep)  # no choice was run
    assert sorted(r.name for r in rep.rewritten) == sorted(rv.name for rv in model.free_RVs)
    assert all(r.lam_min == r.lam_max == 0.0 for r in rep.rewritten)
    assert sorted(rep.all_noise_names) == sorted(f"{rv.name}_eps" for rv in model.free_RVs)


def test_nothing_to_choose():
    with pm.Model() as model:
        x = pm.Normal("x")
        pm.Normal("y", x, 1.0, observed=[0.5])
    choice = choose_centering(model)
    assert choice.decisions == {} and choice.lam == {}
    assert report(auxify(model, centering="auto")).rewritten == []


def test_clear_errors():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Normal("z", mu, pt.exp(mu))
    with pytest.raises(TypeError, match="pymc.Model"):
        choose_centering("not a model")
    with pytest.raises(ValueError, match="method"):
        choose_centering(model, method="vip")
    with pytest.raises(ValueError, match="tol"):
        choose_centering(model, tol=2.0)
    with pytest.raises(ValueError, match="'auto'"):
        auxify(model, centering="automatic")


def _exact_posterior(counts):
    """Mean and sd of (mu, alpha) in the conjugate known-scale model (joint Gaussian)."""
    group, y = simulate_hierarchical(len(counts), counts, tau=TAU, sigma=SIGMA, seed=3)
    q = np.diag(np.r_[1 / 25 + len(counts) / TAU**2, 1 / TAU**2 + counts / SIGMA**2])
    q[0, 1:] = q[1:, 0] = -1 / TAU**2
    b = np.r_[0.0, np.bincount(group, weights=y) / SIGMA**2]
    cov = np.linalg.inv(q)
    return cov @ b, np.sqrt(np.diag(cov))


def test_posterior_of_auto_matches_conjugate_model():
    counts = np.array([1, 50])
    aux = auxify(known_scale_model(counts), centering="auto")
    assert 0 < report(aux).centering.decisions["alpha"].lam[0] < 0.5  # one partial, one
    assert report(aux).centering.decisions["alpha"].lam[1] > 0.9  # nearly centered group
    with aux:
        post = pm.sample(
            draws=500,
            tune=500,
            chains=2,
            cores=1,
            random_seed=7,
            nuts_sampler="pymc",
            progressbar=False,
            compute_convergence_checks=False,
        ).posterior
    mean, sd = _exact_posterior(counts)
    draws = np.c_[post["mu"].values.reshape(-1), post["alpha"].values.reshape(-1, 2)]
    # 5 standard errors, counting only 200 effective draws of the 1000
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 5 * sd / np.sqrt(200))
    np.testing.assert_allclose(draws.std(0), sd, rtol=0.2)


@pytest.mark.slow
def test_posterior_of_auto_matches_on_mixed_model():
    model = mixed_model()
    aux = auxify(model, centering="auto")
    kwargs = dict(draws=1000, tune=1000, chains=2, cores=1, random_seed=8, nuts_sampler="pymc")
    kwargs |= dict(progressbar=False, compute_convergence_checks=False)
    with model:
        ref = pm.sample(**kwargs).posterior
    with aux:
        new = pm.sample(**kwargs).posterior
    for n in ["mu", "tau", "alpha"]:
        a = ref[n].values.reshape(-1, *ref[n].shape[2:])
        b = new[n].values.reshape(-1, *new[n].shape[2:])
        se = np.sqrt(a.var(0) / 100 + b.var(0) / 100)  # >= 100 effective draws in each
        assert np.all(np.abs(a.mean(0) - b.mean(0)) < 5 * se)
