"""Tests of stochastic_em: recovery of a closed-form MLE, minibatches, resume, errors."""

import numpy as np
import pymc as pm
import pytest

from pymc_auxform import EMResult, Minibatch, stochastic_em

S = 0.5  # known observation noise


def simulate(n=200, b=1.0, w=1.5, seed=0):
    rng = np.random.default_rng(seed)
    return b + w * rng.normal(size=n) + S * rng.normal(size=n)


def latent_gaussian(x, *, b0=0.0, w0=0.5):
    """z_n ~ N(b, w), x_n ~ N(z_n, S): marginally x_n ~ N(b, sqrt(w^2 + S^2))."""
    with pm.Model() as model:
        b = pm.Data("b", b0)
        w = pm.Data("w", w0)
        z = pm.Normal("z", b, w, shape=len(x))
        pm.Normal("x", z, S, observed=x)
    return model


def mle(x):
    """Closed-form MLE of (b, w) of the marginal N(b, w^2 + S^2)."""
    return x.mean(), np.sqrt(x.var() - S**2)


@pytest.mark.parametrize("use_auxiliary", [True, False])
def test_recovers_closed_form_mle(use_auxiliary):
    x = simulate()
    model = latent_gaussian(x)
    res = stochastic_em(
        model,
        ["b", "w"],
        n_iter=150,
        draws_per_iter=5,
        tune=100,
        optimizer="adam",
        learning_rate=0.05,
        use_auxiliary=use_auxiliary,
        random_seed=1,
        progressbar=False,
    )
    b_hat, w_hat = mle(x)
    # Polyak average of the last iterations removes most of the Monte Carlo jitter
    assert res.theta["b"][-50:].mean() == pytest.approx(b_hat, abs=0.05)
    assert res.theta["w"][-50:].mean() == pytest.approx(w_hat, abs=0.07)
    # started far away, so the objective must have improved
    assert res.objective[-20:].mean() > res.objective[:5].mean()
    # the learned theta is left in the original model's pm.Data
    assert model["w"].get_value() == res.final["w"]
    assert res.theta["b"].shape == (151,)
    assert res.timings["e_step"].shape == (150,) and res.timings["compile"] > 0
    assert np.all(res.e_step_stats["accept"] > 0.3)


def test_minibatch_recovers_mle():
    x = simulate(n=400, seed=3)
    batch = 50
    with pm.Model() as model:
        xd = pm.Data("xd", x[:batch])
        b = pm.Data("b", 0.0)
        w = pm.Data("w", 0.5)
        z = pm.Normal("z", b, w, shape=batch)
        pm.Normal("x", z, S, observed=xd)
    res = stochastic_em(
        model,
        ["b", "w"],
        n_iter=300,
        draws_per_iter=5,
        tune=100,
        optimizer="adam",
        learning_rate=0.03,
        minibatch=Minibatch(data={"xd": x}, batch_size=batch, latents=["z"]),
        random_seed=2,
        progressbar=False,
    )
    b_hat, w_hat = mle(x)
    assert res.theta["b"][-100:].mean() == pytest.approx(b_hat, abs=0.1)
    assert res.theta["w"][-100:].mean() == pytest.approx(w_hat, abs=0.12)
    # the objective estimates the full-data one (scaled by N / batch), not a batch's
    full = res.objective[-50:].mean()
    assert full < 2 * (-batch * 1.0)  # a batch alone would be ~8x smaller in magnitude


def test_save_and_resume_continue_the_run(tmp_path):
    x = simulate(n=50)
    model = latent_gaussian(x)
    kw = dict(draws_per_iter=3, tune=50, random_seed=4, progressbar=False, learning_rate=0.1)
    first = stochastic_em(model, ["b", "w"], n_iter=20, **kw)
    path = tmp_path / "em.pkl"
    first.save(path)
    loaded = EMResult.load(path)
    assert loaded.model is None and loaded.n_iter == 20
    model["b"].set_value(-5.0)  # must be ignored: the resumed run starts from the saved theta
    more = stochastic_em(model, ["b", "w"], n_iter=10, resume_from=path, **kw)
    assert more.n_iter == 30
    assert more.theta["b"].shape == (31,)
    np.testing.assert_array_equal(more.theta["b"][:21], first.theta["b"])
    assert abs(more.theta["b"][21] - first.final["b"]) < 0.5  # one optimizer step away
    assert more.timings["e_step"].shape == (30,)


def test_callback_and_tolerance_stop_early():
    x = simulate(n=50)
    seen = []

    def stop_at_5(progress):
        seen.append(progress.iteration)
        return progress.iteration >= 5

    kw = dict(draws_per_iter=2, tune=20, random_seed=0, progressbar=False)
    res = stochastic_em(latent_gaussian(x), "b", n_iter=50, callback=stop_at_5, step="hmc", **kw)
    assert seen == [1, 2, 3, 4, 5] and res.n_iter == 5
    assert np.all(res.e_step_stats["n_grad"] > 0)  # HMC leapfrog steps were counted
    res = stochastic_em(latent_gaussian(x), "b", n_iter=200, tol=1.0, patience=5, **kw)
    assert res.converged and res.n_iter == 10


def test_nonfinite_gradient_names_the_parameter():
    x = simulate(n=20)
    with pm.Model() as model:
        b = pm.Data("b", 0.0)
        w = pm.Data("w", 0.0)
        z = pm.Normal("z", b, 1.0, shape=20)
        # the density is finite at w = 0, but d sqrt(w) / dw is infinite there
        pm.Normal("x", z + pm.math.sqrt(w), S, observed=x)
    with pytest.raises(FloatingPointError, match="parameter 'w'"):
        stochastic_em(model, ["b", "w"], n_iter=3, tune=0, random_seed=0, progressbar=False)
    assert model["w"].get_value() == 0.0  # theta keeps its last finite value


def test_bad_params_are_reported():
    model = latent_gaussian(simulate(n=10))
    with pytest.raises(ValueError, match="not a pm.Data"):
        stochastic_em(model, "z", n_iter=1, progressbar=False)
    with model:
        pm.Data("unused", 1.0)
    with pytest.raises(ValueError, match="does not depend on 'unused'"):
        stochastic_em(model, ["b", "unused"], n_iter=1, tune=0, progressbar=False)
    with pytest.raises(ValueError, match="optimizer"):
        stochastic_em(model, "b", n_iter=1, tune=0, optimizer="newton", progressbar=False)
    with pytest.raises(ValueError, match="one batch"):
        stochastic_em(
            model,
            "b",
            n_iter=1,
            minibatch=Minibatch(data={"b": np.zeros(4)}, batch_size=2),
            progressbar=False,
        )
