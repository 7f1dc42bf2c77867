"""Partial centering (Gorinova, Moore & Hoffman 2020): scalar and per-element lam, all forms."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from pytensor.compile.mode import Mode

from pymc_auxform import auxify, report
from pymc_auxform.reference_models import EIGHT_SCHOOLS_SIGMA, EIGHT_SCHOOLS_Y, eight_schools

from . import oracles

MODE = Mode(linker="py", optimizer=None)
N = 3000


def partial_eight_schools(lam):
    """Hand-written: mu, tau non-centered; theta partially centered with ``lam``."""
    lam = np.asarray(lam, dtype=float)
    with pm.Model(coords={"school": [f"s{i}" for i in range(8)]}) as m:
        mu = pm.Deterministic("mu", 5.0 * pm.Normal("mu_eps"))
        tau = pm.Deterministic("tau", 5.0 * pm.HalfCauchy("tau_eps", 1.0))
        eta = pm.Normal("theta_eps", lam * mu, tau**lam, dims="school")
        theta = pm.Deterministic("theta", mu + tau ** (1 - lam) * (eta - lam * mu), dims="school")
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y, dims="school")
    return m


@pytest.mark.parametrize(
    "lam", [0.5, 0.2, np.linspace(0.0, 1.0, 8)], ids=["scalar-0.5", "scalar-0.2", "per-element"]
)
def test_eight_schools_partial_logp_equals_hand_written(lam):
    aux = auxify(eight_schools(), centering={"theta": lam})
    rows = {r.name: r for r in report(aux).rewritten}
    assert rows["theta"].form == "partial"
    assert rows["mu"].form == "affine" and rows["mu"].centering == "0"
    if np.ndim(lam):
        assert rows["theta"].centering.startswith("per-element")
    else:
        assert rows["theta"].centering == f"{lam:g}"
    assert aux.named_vars_to_dims["theta_eps"] == ("school",)
    oracles.assert_same_logp(aux, partial_eight_schools(lam), n_points=4, rtol=1e-9)


def test_lam_zero_is_the_auxiliary_form():
    aux = auxify(eight_schools(), centering={"theta": 0.0})
    oracles.assert_same_logp(aux, eight_schools(noncentered=True), n_points=4, rtol=1e-9)


def test_lam_one_leaves_centered():
    m = eight_schools()
    aux = auxify(m, centering={"theta": 1.0})
    (left,) = [lft for lft in report(aux).left if lft.name == "theta"]
    assert "kept centered" in left.reason
    assert aux["theta"] in aux.free_RVs
    hand = auxify(m, exclude=["theta"], centering=0.0)
    oracles.assert_same_logp(aux, hand, n_points=4, rtol=1e-9)


def test_per_element_lam_with_ones_and_zeros_matches_hand_written():
    lam = np.array([0, 1, 0, 1, 0.5, 0.5, 1, 0])
    oracles.assert_same_logp(
        auxify(eight_schools(), centering={"theta": lam}),
        partial_eight_schools(lam),
        n_points=4,
        rtol=1e-9,
    )


def test_global_float_centering_applies_to_all():
    aux = auxify(eight_schools(), centering=0.3)
    rows = {r.name: r for r in report(aux).rewritten}
    assert all(r.form == "partial" and r.centering == "0.3" for r in rows.values())


def batched(kind, *, lam=None):
    """A latent scale ``s`` (N copies) and a child of family ``kind`` with that scale."""
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1.0, shape=(N, 1))
        loc = pm.Normal("loc", 0.0, 1.0, shape=(N, 1))
        if kind == "normal":
            pm.Normal("x", loc, s, shape=(N, 3))
        elif kind == "halfnormal":
            pm.HalfNormal("x", s, shape=(N, 3))
        elif kind == "gamma":
            pm.Gamma("x", alpha=2.0, beta=1.0 / s, shape=(N, 3))
        elif kind == "lognormal":
            pm.LogNormal("x", loc, s, shape=(N, 3))
        elif kind == "studentt":
            pm.StudentT("x", nu=4.0, mu=loc, sigma=s, shape=(N, 3))
    return m


@pytest.mark.parametrize("kind", ["normal", "halfnormal", "gamma", "lognormal", "studentt"])
def test_partial_prior_matches(kind):
    m = batched(kind)
    lam = np.array([0.25, 0.5, 0.9])  # per element, broadcast over the batch
    aux = auxify(m, centering={"x": lam})
    assert {r.name: r.form for r in report(aux).rewritten}["x"] == "partial"
    oracles.assert_same_prior(aux, m, ["x"], batch=N)


def test_scale_form_partial_logp_equals_hand_written():
    def model(hand):
        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            if hand:
                eta = pm.HalfNormal("w_eps", s**0.4, shape=2)
                w = pm.Deterministic("w", s**0.6 * eta)
            else:
                w = pm.HalfNormal("w", s, shape=2)
            pm.Normal("y", w, 1.0, observed=[0.5, 1.0])
        return m

    oracles.assert_same_logp(
        auxify(model(False), centering={"w": 0.4}), model(True), n_points=4, rtol=1e-9
    )


def test_partial_centering_errors():
    m = eight_schools()
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        auxify(m, centering={"theta": 1.5})
    with pytest.raises(ValueError, match="not free variables"):
        auxify(m, centering={"nope": 0.5})
    with pytest.raises(ValueError, match="does not broadcast"):
        auxify(m, centering={"theta": np.full(3, 0.5)})
    with pm.Model() as icdf_model:
        a = pm.HalfNormal("a")
        pm.Uniform("u", 0.0, a)
    (left,) = [lft for lft in report(auxify(icdf_model, centering=0.5)).left if lft.name == "u"]
    assert "no partial centering" in left.reason
    with pytest.raises(ValueError, match="'u'.*no partial centering"):
        auxify(icdf_model, var_names=["u"], centering={"u": 0.5})


def test_partial_funnel_keeps_gradients_finite():
    with pm.Model() as m:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pt.exp(v / 2), shape=9)
    aux = auxify(m, centering={"x": 0.5})
    dlogp = aux.compile_dlogp(mode=MODE)
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = {k: rng.normal(size=np.shape(x)) for k, x in aux.initial_point().items()}
        assert np.all(np.isfinite(dlogp(point)))
