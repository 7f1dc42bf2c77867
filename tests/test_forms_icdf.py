"""Inverse-CDF fallback form: oracles (prior, logp vs hand-written), gradients, report, tails."""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pytensor.compile.mode import Mode
from scipy import stats

from pymc_auxform import auxify, report
from pymc_auxform.forms import get_form

from .oracles import assert_same_logp, assert_same_prior

Y = np.array([0.3, 1.1, 0.7])


def phi(e):
    return 0.5 * pt.erfc(-e / np.sqrt(2.0))


# Python linker without graph rewrites: these graphs are large and compiled once each.
MODE = Mode(linker="py", optimizer=None)
KINDS = ["uniform", "kumaraswamy", "pareto", "truncated_normal", "truncated_gamma", "moyal"]


def zoo(*, hand: bool = False, batch: int = 1) -> pm.Model:
    """A latent ``a`` parametrizing six distributions that only have an inverse CDF.

    ``batch`` independent copies (one draw of the model is ``batch`` iid prior draws, which also
    exercises broadcasting of batched parameters). ``hand=True`` writes the inverse-CDF forms by
    hand from closed-form quantile functions.
    """
    with pm.Model() as m:
        a = pm.HalfNormal("a", 1.0, shape=(batch, 1))
        for kind in KINDS:
            name = f"x_{kind}"
            if hand:
                u = phi(pm.Normal(f"{name}_eps", shape=(batch, 2)))
                x = pm.Deterministic(name, _quantile(kind, a, u))
            else:
                x = _centered(kind, name, a, (batch, 2))
            pm.Normal(f"y_{kind}", x, 1.0, observed=np.broadcast_to(Y[:2], (batch, 2)))
    return m


def _centered(kind, name, a, shape):
    if kind == "uniform":
        return pm.Uniform(name, lower=-a, upper=a + 1.0, shape=shape)
    if kind == "kumaraswamy":
        return pm.Kumaraswamy(name, a=a + 0.5, b=2.0, shape=shape)
    if kind == "pareto":
        return pm.Pareto(name, alpha=a + 2.0, m=1.0, shape=shape)
    if kind == "truncated_normal":
        return pm.TruncatedNormal(name, mu=a, sigma=1.0, lower=-0.5, upper=2.0, shape=shape)
    if kind == "truncated_gamma":
        gamma = pm.Gamma.dist(2.0, 1.0 / (a + 0.5))
        return pm.Truncated(name, gamma, lower=0.5, upper=4.0, shape=shape)
    return pm.Moyal(name, mu=a, sigma=0.5, shape=shape)


def _quantile(kind, a, u):
    if kind == "uniform":
        return -a + (2 * a + 1.0) * u
    if kind == "kumaraswamy":
        return (1 - (1 - u) ** (1 / 2.0)) ** (1 / (a + 0.5))
    if kind == "pareto":
        return (1 - u) ** (-1 / (a + 2.0))
    if kind == "truncated_normal":
        lo, hi = phi(-0.5 - a), phi(2.0 - a)
        return a + np.sqrt(2.0) * pt.erfinv(2 * (lo + u * (hi - lo)) - 1)
    if kind == "truncated_gamma":
        scale = a + 0.5
        lo, hi = pt.gammainc(2.0, 0.5 / scale), pt.gammainc(2.0, 4.0 / scale)
        return scale * pt.gammaincinv(2.0, lo + u * (hi - lo))
    return a - 0.5 * pt.log(2 * pt.erfcinv(u) ** 2)


@pytest.fixture(scope="module")
def zoo_aux():
    return auxify(zoo(), centering=0.0)


def test_icdf_report_names_and_forms(zoo_aux):
    rows = {r.name: r for r in report(zoo_aux).rewritten}
    for kind in KINDS:
        assert rows[f"x_{kind}"].form == "icdf"
        assert rows[f"x_{kind}"].noise == (f"x_{kind}_eps",)


def test_icdf_logp_equals_hand_written(zoo_aux):
    assert_same_logp(zoo_aux, zoo(hand=True))


def test_icdf_prior_matches():
    """One draw of a 2000-fold batched model = 2000 iid prior draws per element."""
    m = zoo(batch=2000)
    names = [f"x_{k}" for k in KINDS]
    aux = auxify(m, centering=0.0)
    aux_draw = pm.draw([aux[n] for n in names], random_seed=1, mode=MODE)
    ref_draw = pm.draw([m[n] for n in names], random_seed=2, mode=MODE)
    for name, xa, xb in zip(names, aux_draw, ref_draw, strict=True):
        for j in range(2):
            p = stats.ks_2samp(xa[:, j], xb[:, j]).pvalue
            assert p > 1e-3, f"{name}[{j}]: KS p-value {p:.2g}"


def test_icdf_gradient_finite(zoo_aux):
    aux = zoo_aux
    rng = np.random.default_rng(3)
    dlogp = aux.compile_dlogp(mode=MODE)
    start = aux.initial_point()
    for _ in range(3):
        point = {name: rng.normal(size=np.shape(x)) for name, x in start.items()}
        assert np.all(np.isfinite(dlogp(point)))


def test_truncated_icdf_is_stable_in_the_tails():
    with pm.Model() as m:
        a = pm.HalfNormal("a")
        pm.Truncated("w", pm.Gamma.dist(2.0, 1.0), lower=a, upper=a + 3.0, shape=4)
        pm.Uniform("u", 0.0, a, shape=4)
    aux = auxify(m, centering=0.0)
    eps = np.array([-38.0, -8.0, 0.0, 8.0])
    f = pytensor.function([aux["w_eps"], aux["u_eps"], aux["a"]], [aux["w"], aux["u"]], mode=MODE)
    w, u = f(eps, eps, 0.7)
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(u))
    assert np.all((w >= 0.7) & (w <= 3.7)) and np.all((u >= 0) & (u <= 0.7))
    # monotone; at eps = -38 the value is the bound to within float precision, not NaN
    assert np.all(np.diff(w) >= 0) and np.all(np.diff(u) >= 0)
    assert w[2] > 0.7 and u[0] > 0
    grads = pytensor.function(  # default mode: PyTensor's stabilizing rewrites are part of it
        [aux["w_eps"], aux["a"]],
        pytensor.grad(aux["w"].sum(), [aux["w_eps"], aux["a"]]),
    )(eps, 0.7)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_icdf_batched_and_broadcast_params():
    with pm.Model(coords={"r": range(2), "c": range(3)}) as m:
        lo = pm.Normal("lo", 0.0, 1.0, dims="c")
        x = pm.Uniform("x", lower=lo, upper=lo + 2.0, dims=("r", "c"))
        pm.Normal("y", x.sum(0), 1.0, observed=Y)
    aux = auxify(m, centering=0.0)
    assert aux.named_vars_to_dims["x_eps"] == ("r", "c")
    assert aux.named_vars_to_dims["x"] == ("r", "c")
    with pm.Model(coords={"r": range(2), "c": range(3)}) as hand:
        lo = pm.Normal("lo", 0.0, 1.0, dims="c")
        e = pm.Normal("x_eps", dims=("r", "c"))
        x = pm.Deterministic("x", lo + 2.0 * phi(e), dims=("r", "c"))
        pm.Normal("y", x.sum(0), 1.0, observed=Y)
    assert_same_logp(aux, hand)
    assert_same_prior(aux, m, ["x"])


def test_exact_forms_win_over_icdf():
    assert get_form(pm.Normal.dist().owner.op).kind == "affine"
    assert get_form(pm.Gamma.dist(2, 1).owner.op).kind == "scale"
    assert get_form(pm.Beta.dist(2, 3).owner.op).kind == "icdf"
    assert get_form(pm.Truncated.dist(pm.Gamma.dist(2, 1), lower=1).owner.op).kind == "icdf"
    assert get_form(pm.Poisson.dist(2).owner.op) is None  # discrete: no icdf fallback


def test_missing_gradient_leaves_variable_with_reason():
    with pm.Model() as m:
        a = pm.HalfNormal("a")
        pm.Beta("b", alpha=a + 1.0, beta=2.0)
        pm.Beta("c", alpha=2.0, beta=3.0)
        pm.SkewStudentT("s", a=2.0, b=2.0, mu=a, sigma=1.0)
    aux = auxify(m, centering=0.0)
    left = {lft.name: lft.reason for lft in report(aux).left}
    assert "no gradient" in left["b"] and "Beta" in left["b"]
    assert "do not depend on other latent" in left["c"]
    assert {r.name: r.form for r in report(aux).rewritten}["s"] == "icdf"
    with pytest.raises(ValueError, match="'b'.*gradient"):
        auxify(m, var_names=["b"])


def test_user_transform_still_blocks_icdf():
    with pm.Model() as m:
        a = pm.HalfNormal("a")
        pm.Uniform("u", 0.0, a, default_transform=None)
    left = {lft.name: lft.reason for lft in report(auxify(m, centering=0.0)).left}
    assert "user-chosen value transform" in left["u"]
