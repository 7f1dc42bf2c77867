"""stochastic_em without tuning: MLE of the one-factor model and PPCA (closed forms), the
not-converged warning, constraints, refusals, error messages, Ctrl-C, checkpoints, results as data."""

import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from pytensor.compile.maker import FunctionMaker

from pymc_auxform.em import EStepError, stochastic_em
from pymc_auxform.em_result import EMResult, NotConvergedWarning

W_TRUE = np.array([[1.0, 0.8, 1.2, 0.6, 0.9, 0.7], [0.5, -1.0, 0.0, 0.9, -0.6, 0.3]]).T


def simulate(n=300, k=1, seed=0):
    rng = np.random.default_rng(seed)
    w = W_TRUE[:5, :k] if k == 1 else W_TRUE[:, :k]
    return 0.5 + rng.normal(size=(n, k)) @ w.T + rng.normal(size=(n, len(w)))


def factor_model(x, k=1):
    """x_n = W z_n + b + s * noise, z_n ~ N(0, I_k): probabilistic PCA."""
    n, d = x.shape
    coords = {"obs": np.arange(n), "feature": np.arange(d), "factor": np.arange(k)}
    with pm.Model(coords=coords) as model:
        w = pm.Data("w", np.full((d, k), 0.1) + 0.05 * np.eye(d, k), dims=("feature", "factor"))
        b = pm.Data("b", np.zeros(d), dims="feature")
        s = pm.Data("s", 2.0)
        z = pm.Normal("z", 0.0, 1.0, dims=("obs", "factor"))
        pm.Normal("x", z @ w.T + b, s, observed=x, dims=("obs", "feature"))
    return model


def ppca_mle(x, k):
    """Tipping & Bishop (1999): W = U_k (L_k - s^2 I)^(1/2), s^2 = mean of the other eigenvalues."""
    lam, u = np.linalg.eigh(np.cov(x.T, bias=True))
    lam, u = lam[::-1], u[:, ::-1]
    s2 = lam[k:].mean()
    return u[:, :k] * np.sqrt(lam[:k] - s2), np.sqrt(s2)


def run(model, **kw):
    kw = {"n_iter": 200, "random_seed": 1, "progressbar": False, **kw}
    return stochastic_em(model, ["w", "b", "s"], constraints={"s": "positive"}, **kw)


def test_defaults_reach_the_one_factor_mle():
    x = simulate()
    w_hat, s_hat = ppca_mle(x, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotConvergedWarning)  # a converged run does not warn
        res = run(factor_model(x))
    assert abs(np.linalg.norm(res.final["w"]) - np.linalg.norm(w_hat)) < 0.05
    assert abs(res.final["s"] - s_hat) < 0.05
    np.testing.assert_allclose(res.final["b"], x.mean(axis=0), atol=0.1)
    assert res.stationarity["gradient_ratio"] < 0.7


@pytest.mark.slow
def test_defaults_reach_the_ppca_subspace():
    x = simulate(k=2, seed=2)
    w_hat, _ = ppca_mle(x, 2)
    res = run(factor_model(x, k=2), n_iter=300)
    q_hat, q = np.linalg.qr(w_hat)[0], np.linalg.qr(res.final["w"])[0]
    cosines = np.linalg.svd(q_hat.T @ q, compute_uv=False)
    assert np.sqrt(1 - cosines.min() ** 2) < 0.02  # sin of the largest principal angle


def test_warns_when_the_run_stops_far_from_the_mle():
    """The issue's case: Adagrad at 0.05 creeps towards the MLE and stops short of it."""
    x = simulate()
    w_hat, _ = ppca_mle(x, 1)
    with pytest.warns(NotConvergedWarning, match="gradient points one way"):
        res = run(factor_model(x), optimizer="adagrad", anneal=False, n_iter=100)
    assert np.linalg.norm(w_hat) - np.linalg.norm(res.final["w"]) > 0.1  # really short of it
    assert res.stationarity["gradient_ratio"] > 0.7


def scale_model():
    x = np.random.default_rng(0).normal(size=20)
    with pm.Model() as model:
        s = pm.Data("s", -0.5)
        z = pm.Normal("z", 0.0, 1.0, shape=20)
        pm.Normal("x", z, s, observed=x)
    return model


def test_negative_scale_is_named_in_the_error():
    with pytest.raises(EStepError, match=r"undefined at s = -0\.5"):
        stochastic_em(scale_model(), "s", n_iter=2, tune=10, progressbar=False)
    model = scale_model()
    model["s"].set_value(50.0)  # one SGD step of 200 * (-20 / 50) takes it to about -30
    with pytest.raises(EStepError, match=r"sampler failed at s = -.*'x' \(depends on s\)"):
        stochastic_em(
            model,
            "s",
            n_iter=3,
            tune=10,
            optimizer="sgd",
            learning_rate=200.0,
            random_seed=0,
            progressbar=False,
        )


def test_positive_constraint_keeps_a_scale_positive():
    """Data less spread than z alone: the MLE of s is 0, on the boundary."""
    x = 0.5 * np.random.default_rng(1).normal(size=20)
    with pm.Model() as model:
        s = pm.Data("s", 1.0)
        z = pm.Normal("z", 0.0, 1.0, shape=20)
        pm.Normal("x", z, s, observed=x)
    kw = dict(n_iter=40, tune=20, learning_rate=0.5, random_seed=0, progressbar=False)
    with pytest.raises(EStepError, match="s = -"):
        stochastic_em(model, "s", **kw)
    model["s"].set_value(1.0)
    res = stochastic_em(model, "s", constraints={"s": "positive"}, **kw)
    assert np.all(res.theta["s"].values > 0) and res.final["s"] < 0.2
    with pytest.raises(ValueError, match="outside its constraint"):
        stochastic_em(model, "s", n_iter=1, constraints={"s": (2.0, 3.0)}, progressbar=False)
    with pytest.raises(ValueError, match="not .positive. or a finite"):
        stochastic_em(model, "s", n_iter=1, constraints={"s": "huge"}, progressbar=False)


def test_pymc_minibatch_is_refused_with_a_pointer():
    data = np.random.default_rng(0).normal(size=(100, 2))
    with pm.Model() as model:
        batch = pm.Minibatch(data, batch_size=10)
        m = pm.Data("m", 0.0)
        z = pm.Normal("z", m, 1.0, shape=(10, 2))
        pm.Normal("x", z, 1.0, observed=batch, total_size=data.shape)
    with pytest.raises(ValueError, match="pymc_auxform.Minibatch"):
        stochastic_em(model, "m", n_iter=1, progressbar=False)


def test_ctrl_c_returns_the_partial_result_and_checkpoints(tmp_path):
    x = simulate(n=50)
    path = tmp_path / "ckpt.pkl"

    def interrupt(progress):
        if progress.iteration == 7:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="Interrupted after 7 iterations"):
        res = run(
            factor_model(x),
            n_iter=100,
            tune=20,
            callback=interrupt,
            checkpoint_every=3,
            checkpoint_path=path,
        )
    assert res.interrupted and res.n_iter == 7 and res.theta.sizes["iteration"] == 8
    saved = EMResult.load(path)
    assert saved.n_iter == 6 and not saved.interrupted
    more = run(factor_model(x), n_iter=3, tune=20, resume_from=res)
    assert more.n_iter == 10


def test_results_are_data_and_nothing_recompiles(monkeypatch):
    x = simulate(n=40)
    compiled = []
    real = FunctionMaker.create
    monkeypatch.setattr(
        FunctionMaker,
        "create",
        lambda self, *a, **k: compiled.append(1) or real(self, *a, **k),
    )
    counts = []
    res = run(factor_model(x), n_iter=20, tune=20, callback=lambda p: counts.append(len(compiled)))
    assert counts[0] == counts[-1]  # no function compiled inside the loop
    assert isinstance(res.theta, xr.Dataset)
    assert res.theta["w"].dims == ("iteration", "feature", "factor")
    assert res.theta.sizes["iteration"] == 21
    df = res.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 20 and "s" in df and "w" not in df
    assert all(np.issubdtype(t, np.number) for t in df.dtypes)
    assert np.issubdtype(df["divergences"].dtype, np.integer)
    assert len(repr(res)) < 300 and "20 iterations" in repr(res)
    assert "<table" in res._repr_html_()
    ax = res.plot()
    assert ax.get_xlabel() == "iteration" and len(ax.lines) == 2
