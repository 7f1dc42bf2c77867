"""Partial centering at a tiny scale: the powers' gradient stays finite where lam is 0 or 1.

With a per-element lam, ``scale_powers`` took ``scale ** 0`` (gradient ``0 * scale ** -1``, NaN
once that overflows: log scale below -709) and ``scale / scale`` (gradient divided by
``scale ** 2``, which underflows to 0: -inf at log scale = -700). A sampler's leapfrog step can
reach such a scale from its log; the log density stayed finite and its gradient was NaN.
"""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pymc_auxform import auxify, report
from pymc_auxform.forms.graph import scale_powers

LEVELS = np.array([0.0, 0.5, 1.0, 0.5, 0.0, 1.0])  # few distinct values: powers on the levels
CONTINUOUS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])  # all distinct: powers per element
OBSERVED = np.linspace(-1.0, 1.0, 6)


@pytest.mark.parametrize("vector_scale", [False, True], ids=["scalar-scale", "vector-scale"])
@pytest.mark.parametrize("lam", [LEVELS, CONTINUOUS], ids=["levels", "continuous"])
def test_powers_have_a_finite_gradient_at_a_tiny_scale(lam, vector_scale):
    log_tau = pt.vector("log_tau") if vector_scale else pt.scalar("log_tau")
    tau = pt.exp(log_tau)
    _, up, down = scale_powers(tau, lam, pm.Normal.dist(0.0, tau, size=6))
    weights = np.arange(1.0, 7.0)
    grads = pytensor.grad((weights * up).sum() + (weights * down).sum(), log_tau)
    f = pytensor.function([log_tau], [up, down, grads])
    for value in (-700.0, -720.0):
        up_v, down_v, grad_v = f(np.full(6, value) if vector_scale else value)
        assert np.all(up_v[lam == 0] == 1.0) and np.all(down_v[lam == 1] == 1.0)
        assert np.all(np.isfinite(grad_v)), (value, grad_v)


def _hierarchical() -> pm.Model:
    with pm.Model() as m:
        tau = pm.HalfNormal("tau", 1.0)
        z = pm.Normal("z", 0.0, tau, size=6)
        pm.Normal("y", z, 1.0, observed=OBSERVED)
    return m


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
@pytest.mark.parametrize(
    "lam",
    [np.array([0.0, 0.5, 0.0, 0.5, 0.0, 0.5]), np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])],
    ids=["levels", "continuous"],
)
def test_model_gradient_has_no_nan_at_a_tiny_scale(lam, mode):
    """The compiled log density and gradient at tau = exp(-720), with FAST_COMPILE's rewrites
    and with the full ones of the Numba backend nutpie compiles.

    With ``pow`` the gradient was NaN there: first with FAST_COMPILE (``1 / tau`` overflowed on
    the way), then, after switches at exponents 0 and 1, still for the levels with the full
    rewrites (the rewritten graph divided by tau: 2026-12-07, ad hoc, at log tau -720). With
    ``exp(lam * log(tau))`` (gradient ``lam * tau**lam / tau``, tau still above 0 at -720):
    finite in both modes.
    Below about -745 (tau exactly 0) the log density is -inf and its gradient NaN, as the model
    as written is NaN from log tau = -600. Elements with lam = 1 are left out: their noise is
    ``Normal(0, tau)``, whose gradient (PyMC's log density) is NaN at such a tau.
    """
    aux = auxify(_hierarchical(), centering={"z": lam})
    assert {r.name: r.form for r in report(aux).rewritten}["z"] == "partial"
    point = {"tau_log__": np.array(-720.0), "z_eps": np.zeros(6)}
    logp = aux.compile_logp(mode=mode)(point)
    grads = aux.compile_dlogp(mode=mode)(point)
    assert np.isfinite(logp) or logp == -np.inf
    assert not np.any(np.isnan(grads)), grads


def _by_hand(lam: np.ndarray) -> pm.Model:
    """The partially centered model written out: ``z_eps ~ Normal(0, tau**lam)``,
    ``z = tau**(1 - lam) * z_eps`` (location 0)."""
    with pm.Model() as m:
        tau = pm.HalfNormal("tau", 1.0)
        eta = pm.Normal("z_eps", 0.0, tau**lam, size=6)
        pm.Normal("y", tau ** (1 - lam) * eta, 1.0, observed=OBSERVED)
    return m


@pytest.mark.parametrize("lam", [LEVELS, CONTINUOUS], ids=["levels", "continuous"])
def test_same_logp_and_gradient_as_the_model_by_hand(lam):
    aux, hand = auxify(_hierarchical(), centering={"z": lam}), _by_hand(lam)
    fns = [(m.compile_logp(), m.compile_dlogp()) for m in (aux, hand)]
    rng = np.random.default_rng(3)
    for _ in range(4):
        point = {"tau_log__": rng.normal(), "z_eps": rng.normal(size=6)}
        (logp_a, dlogp_a), (logp_h, dlogp_h) = ((lp(point), dlp(point)) for lp, dlp in fns)
        np.testing.assert_allclose(logp_a, logp_h, rtol=1e-12)
        np.testing.assert_allclose(dlogp_a, dlogp_h, rtol=1e-10, atol=1e-12)
