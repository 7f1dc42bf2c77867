"""Multivariate forms: MvNormal (cov / chol / tau), MvStudentT, ZeroSumNormal, with batch dims."""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pytensor.tensor.slinalg import Cholesky

from pymc_auxform import auxify, report

from . import oracles

MODE = "FAST_COMPILE"
C0 = np.array([[1.0, 0.6, 0.1], [0.6, 1.5, -0.3], [0.1, -0.3, 0.8]])
L0 = np.linalg.cholesky(C0)
Y = np.array([[0.5, -1.0, 0.2], [1.5, 0.3, -0.7]])
COORDS = {"grp": range(2), "dim": range(3)}


def mvnormal(param, *, hand=False):
    """Latent scale ``s`` and batched latent mean; theta has batch dim ``grp``."""
    with pm.Model(coords=COORDS) as m:
        s = pm.HalfNormal("s", 1.0)
        mu = pm.Normal("mu", 0.0, 1.0, dims="dim")
        if hand:
            e = pm.Normal("theta_eps", dims=("grp", "dim"))
            theta = pm.Deterministic("theta", mu + s * (e @ L0.T), dims=("grp", "dim"))
        elif param == "cov":
            theta = pm.MvNormal("theta", mu=mu, cov=s**2 * C0, dims=("grp", "dim"))
        elif param == "chol":
            theta = pm.MvNormal("theta", mu=mu, chol=s * L0, dims=("grp", "dim"))
        else:
            theta = pm.MvNormal("theta", mu=mu, tau=pt.linalg.inv(s**2 * C0), dims=("grp", "dim"))
        pm.Normal("y", theta, 1.0, observed=Y, dims=("grp", "dim"))
    return m


@pytest.mark.parametrize("param", ["cov", "chol", "tau"])
def test_mvnormal_logp_equals_hand_written(param):
    aux = auxify(mvnormal(param), centering=0.0)
    (row,) = [r for r in report(aux).rewritten if r.name == "theta"]
    assert row.form == "multivariate" and row.noise == ("theta_eps",)
    assert aux.named_vars_to_dims["theta_eps"] == ("grp", "dim")
    assert aux.named_vars_to_dims["theta"] == ("grp", "dim")
    oracles.assert_same_logp(aux, mvnormal(param, hand=True), mode=MODE)


def test_mvnormal_prior_matches():
    m = mvnormal("cov")
    oracles.assert_same_prior(auxify(m, centering=0.0), m, ["theta"], draws=1500, mode=MODE)


def test_mvnormal_broadcast_batch_of_covariances():
    """A batch of covariances (2, 3, 3) and one shared mean, with size from the parameters."""
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1.0, shape=2)
        cov = s[:, None, None] ** 2 * C0
        pm.MvNormal("theta", mu=np.zeros(3), cov=cov)
    aux = auxify(m, centering=0.0)
    assert aux["theta_eps"].type.ndim == 2
    with pm.Model() as hand:
        s = pm.HalfNormal("s", 1.0, shape=2)
        e = pm.Normal("theta_eps", shape=(2, 3))
        pm.Deterministic("theta", s[:, None] * (e @ L0.T))
    oracles.assert_same_logp(aux, hand, mode=MODE)
    oracles.assert_same_prior(aux, m, ["theta"], draws=1000, mode=MODE)


def test_chol_parametrization_needs_no_cholesky_at_runtime():
    """PyMC tags ``chol`` lower triangular, and PyTensor rewrites ``cholesky(L @ L.T)`` to ``L``."""

    def n_cholesky(model):
        fn = model.compile_dlogp(mode="FAST_RUN")
        nodes = fn.f.maker.fgraph.apply_nodes
        return sum(isinstance(getattr(n.op, "core_op", n.op), Cholesky) for n in nodes)

    assert n_cholesky(auxify(mvnormal("chol"), centering=0.0)) == 0
    assert n_cholesky(auxify(mvnormal("cov"), centering=0.0)) >= 1


def test_mvstudentt_logp_and_prior():
    with pm.Model(coords=COORDS) as m:
        s = pm.HalfNormal("s", 1.0)
        mu = pm.Normal("mu", 0.0, 1.0, dims="dim")
        pm.MvStudentT("theta", nu=5.0, mu=mu, scale=s**2 * C0, dims=("grp", "dim"))
    with pm.Model(coords=COORDS) as hand:
        s = pm.HalfNormal("s", 1.0)
        mu = pm.Normal("mu", 0.0, 1.0, dims="dim")
        e = pm.MvStudentT("theta_eps", nu=5.0, mu=np.zeros(3), scale=np.eye(3), dims=("grp", "dim"))
        pm.Deterministic("theta", mu + s * (e @ L0.T), dims=("grp", "dim"))
    aux = auxify(m, centering=0.0)
    assert {r.name: r.form for r in report(aux).rewritten}["theta"] == "multivariate"
    oracles.assert_same_logp(aux, hand, mode=MODE)
    oracles.assert_same_prior(aux, m, ["theta"], draws=1000, mode=MODE)


@pytest.mark.parametrize("n_axes", [1, 2])
def test_zerosumnormal_logp_prior_and_transform(n_axes):
    coords = {"a": range(3), "b": range(4)}
    with pm.Model(coords=coords) as m:
        s = pm.HalfNormal("s", 1.0)
        pm.ZeroSumNormal("z", sigma=s, dims=("a", "b"), n_zerosum_axes=n_axes)
    with pm.Model(coords=coords) as hand:
        s = pm.HalfNormal("s", 1.0)
        e = pm.ZeroSumNormal("z_eps", dims=("a", "b"), n_zerosum_axes=n_axes)
        pm.Deterministic("z", s * e, dims=("a", "b"))
    aux = auxify(m, centering=0.0)
    assert aux.named_vars_to_dims["z_eps"] == ("a", "b")
    transform = aux.rvs_to_transforms[aux["z_eps"]]
    assert type(transform).__name__ == "ZeroSumTransform"
    assert transform.zerosum_axes == hand.rvs_to_transforms[hand["z_eps"]].zerosum_axes
    oracles.assert_same_logp(aux, hand, mode=MODE)
    z = pm.draw(aux["z"], draws=200, random_seed=2, mode=MODE)
    np.testing.assert_allclose(z.sum(axis=tuple(range(-n_axes, 0))), 0.0, atol=1e-10)
    oracles.assert_same_prior(aux, m, ["z"], draws=1000, mode=MODE)


def test_zerosumnormal_with_standard_sigma_is_left():
    with pm.Model() as m:
        pm.ZeroSumNormal("z", shape=4)
    (left,) = report(auxify(m, centering=0.0)).left
    assert left.name == "z" and "already standard" in left.reason


def test_gradient_flows_to_latent_covariance_parameters():
    aux = auxify(mvnormal("cov"), centering=0.0)
    s_val = aux.rvs_to_values[aux["s"]]
    logp = aux.logp()
    grad = pytensor.function(aux.value_vars, pytensor.grad(logp, s_val), mode=MODE)
    assert np.isfinite(grad(**aux.initial_point()))
