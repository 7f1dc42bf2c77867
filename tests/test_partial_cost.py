"""Partial centering with a per-element lam: powers of a scalar scale on the levels of lam only.

The gathered construction (:func:`pymc_auxform.forms.graph.scale_powers`) must give the same
model as one power per element: the change of variables holds, the log density equals the
per-element construction's, prior draws match, ``lam`` 0 gives powers exactly 1 and 1 the
scale (within rounding), and no power of the scale (``pow``, or ``exp`` of its log) of the size
of ``lam`` is left in the graph.
"""

from unittest import mock

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pytensor.graph.traversal import ancestors
from pytensor.scalar import Exp, Pow
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.exceptions import NotScalarConstantError

from pymc_auxform import auxify, report
from pymc_auxform.forms.graph import lam_levels, scale_powers

from . import oracles
from .oracles import CHECKED, FAST

N = 12
LEVELS = np.array([0.0, 0.25, 0.25, 1.0, 0.5, 0.0, 1.0, 0.5, 0.25, 0.0, 1.0, 0.5])
CONTINUOUS = np.r_[0.0, 1.0, np.linspace(0.03, 0.97, N - 2)]  # a user's lam, all distinct


def model(family: str, *, vector_scale: bool = False) -> pm.Model:
    """A latent scale ``s`` (scalar, or one per element) and ``x`` of ``family`` with scale ``s``."""
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1.0, shape=N if vector_scale else ())
        loc = pm.Normal("loc", 0.0, 1.0)
        if family == "normal":
            x = pm.Normal("x", loc, s, shape=N)
        elif family == "studentt":
            x = pm.StudentT("x", nu=4.0, mu=loc, sigma=s, shape=N)
        elif family == "logistic":
            x = pm.Logistic("x", loc, s, shape=N)
        elif family == "lognormal":
            x = pm.LogNormal("x", loc, s, shape=N)
        elif family == "halfnormal":
            x = pm.HalfNormal("x", s, shape=N)
        elif family == "exponential":
            x = pm.Exponential("x", scale=s, shape=N)
        elif family == "gamma":
            x = pm.Gamma("x", alpha=2.0, beta=1.0 / s, shape=N)
        pm.Normal("y", x, 1.0, observed=np.linspace(0.1, 2.0, N))
    return m


FAMILIES = ["normal", "studentt", "logistic", "lognormal", "halfnormal", "exponential", "gamma"]


def per_element_powers(m: pm.Model, lam) -> pm.Model:
    """``auxify`` with one power of the scale per element (the construction without levels)."""
    with mock.patch("pymc_auxform.forms.graph.lam_levels", return_value=None):
        return auxify(m, var_names=["x"], centering={"x": lam})


def _constant_exponent(node) -> bool:
    try:
        pt.get_underlying_scalar_constant_value(node.inputs[1])
    except NotScalarConstantError:
        return False
    return True


def power_sizes(lam) -> list[int]:
    """Output sizes of the powers of a scalar scale ``tau`` (``pow`` by a non-constant exponent,
    or ``exp``: the levels take ``exp(lam * log(tau))``) in the graph of ``scale_powers``'s two
    powers and their gradient with respect to ``log(tau)``."""
    log_tau = pt.scalar("log_tau")
    tau = pt.exp(log_tau)
    _, up, down = scale_powers(tau, lam, pm.Normal.dist(0.0, tau, size=N))
    weights = np.arange(1.0, N + 1.0)
    grads = pytensor.grad((weights * up).sum() + (weights * down).sum(), log_tau)
    sizes = []
    for var in ancestors([up, down, grads]):
        node = var.owner
        if not (node and isinstance(node.op, Elemwise)):
            continue
        scalar_op = node.op.scalar_op
        if (isinstance(scalar_op, Pow) and not _constant_exponent(node)) or isinstance(
            scalar_op, Exp
        ):
            if var is tau:  # the scale itself, read from its log
                continue
            shape = node.outputs[0].type.shape
            sizes.append(int(np.prod(shape)) if None not in shape else -1)
    return sizes


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("vector_scale", [False, True], ids=["scalar-scale", "vector-scale"])
@pytest.mark.parametrize("lam", [LEVELS, CONTINUOUS], ids=["levels", "continuous"])
def test_change_of_variables_and_same_logp_as_pow_per_element(family, vector_scale, lam):
    m = model(family, vector_scale=vector_scale)
    aux = auxify(m, var_names=["x"], centering={"x": lam})
    assert {r.name: r.form for r in report(aux).rewritten}["x"] == "partial"
    assert oracles.assert_change_of_variables(m, aux, n_points=4) > 0
    oracles.assert_same_logp(aux, per_element_powers(m, lam), n_points=3, rtol=1e-12)


def test_no_power_per_element_with_a_scalar_scale():
    sizes = power_sizes(LEVELS)
    levels = np.unique(LEVELS).size
    assert sizes and all(0 <= n <= levels for n in sizes), sizes
    # the construction without levels has them: the test would see them
    with mock.patch("pymc_auxform.forms.graph.lam_levels", return_value=None):
        assert N in power_sizes(LEVELS)


@pytest.mark.parametrize("family", ["normal", "logistic", "halfnormal", "gamma"])
def test_every_family_takes_its_powers_on_the_levels(family):
    """The forms reach ``scale_powers``'s levels for a scalar scale (two powers of one exponent
    per level), and not with the levels disabled."""
    from pymc_auxform.forms import graph

    with mock.patch.object(graph, "_level_powers", wraps=graph._level_powers) as spy:
        auxify(model(family), var_names=["x"], centering={"x": LEVELS})
    sizes = [np.size(c.args[1]) for c in spy.call_args_list]
    assert sizes == [np.unique(LEVELS).size] * 2, sizes
    with mock.patch.object(graph, "_level_powers", wraps=graph._level_powers) as spy:
        per_element_powers(model(family), LEVELS)
    assert spy.call_count == 0


def test_levels_only_when_they_are_few():
    assert lam_levels(0.5) is None
    assert lam_levels(CONTINUOUS) is None
    levels, index = lam_levels(LEVELS)
    np.testing.assert_array_equal(levels, [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(levels[index], LEVELS)


def test_lam_zero_and_one_give_powers_one_and_the_scale():
    """Exactly 1 where the exponent is 0 (``exp(0 * log(tau))``); the scale within rounding where
    it is 1 (``exp(log(tau))``; exactly the scale in a bare graph of ``exp(log_tau)``, where
    PyTensor rewrites ``log(exp(log_tau))`` to ``log_tau``)."""
    tau = pt.scalar("tau")
    rv = pm.Normal.dist(0.0, tau, size=N)
    lam, up, down = scale_powers(tau, LEVELS, rv)
    up, down = (v.eval({tau: 3.7}, mode=FAST) for v in (up, down))
    lam = lam.eval(mode=FAST)
    np.testing.assert_array_equal(lam, LEVELS)
    assert np.all(up[LEVELS == 0] == 1.0) and np.all(down[LEVELS == 1] == 1.0)
    np.testing.assert_allclose(up, 3.7**LEVELS, rtol=1e-15)
    np.testing.assert_allclose(down, 3.7 ** (1 - LEVELS), rtol=1e-15)
    log_tau = pt.scalar("log_tau")
    _, up, down = scale_powers(pt.exp(log_tau), LEVELS, rv)
    up, down = pytensor.function([log_tau], [up, down])(np.log(3.7))
    assert np.all(up[LEVELS == 1] == np.exp(np.log(3.7))) and np.all(up[LEVELS == 0] == 1.0)
    assert np.all(down[LEVELS == 0] == np.exp(np.log(3.7))) and np.all(down[LEVELS == 1] == 1.0)


def test_scale_with_broadcastable_dims_takes_levels():
    tau = pt.tensor("tau", shape=(1, 1))
    rv = pm.Normal.dist(0.0, tau, size=(2, N))
    _, up, down = scale_powers(tau, LEVELS, rv)
    assert up.type.shape == down.type.shape == (N,)
    np.testing.assert_allclose(up.eval({tau: [[2.0]]}, mode=FAST), 2.0**LEVELS, rtol=1e-15)


@pytest.mark.parametrize("family", ["normal", "studentt", "halfnormal", "gamma"])
def test_prior_matches_with_a_scalar_scale(family):
    m = model(family)
    aux = auxify(m, var_names=["x"], centering={"x": LEVELS})
    oracles.assert_same_prior(aux, m, ["x"], draws=1000)


def test_set_data_with_levels_says_what_to_do():
    lam = np.array([0.0, 0.5, 0.5, 1.0, 1.0, 0.0])
    with pm.Model(coords={"g": range(6)}) as m:
        x = pm.Data("x", np.ones(6), dims="g")
        tau = pm.HalfNormal("tau")
        z = pm.Normal("z", 0.5, tau, dims="g")
        pm.Normal("y", z, 1.0, observed=x, dims="g")
    aux = auxify(m, centering={"z": lam})
    assert np.isfinite(aux.compile_logp(mode=CHECKED)(aux.initial_point()))
    with aux:
        pm.set_data({"x": np.ones(4)}, coords={"g": range(4)})
    with pytest.raises(Exception, match=r"'z'.*centering"):
        aux.compile_logp(mode=CHECKED)(aux.initial_point())


def _scatters(m: pm.Model) -> int:
    """Scatter-adds (``inc_subtensor`` of any kind) in the compiled log density and gradient."""
    fn = m.logp_dlogp_function(ravel_inputs=True)._pytensor_function
    return sum("IncSubtensor" in type(n.op).__name__ for n in fn.maker.fgraph.apply_nodes)


def _predictor_model(partial_by_hand=None) -> pm.Model:
    """Varying intercepts around a group-level predictor, indexed per row in the likelihood.
    ``partial_by_hand``: lam for a hand-written partial form ``mu + tau**(1-lam) * (e - lam*mu)``
    (the construction before the gradient was scattered once)."""
    rng = np.random.default_rng(5)
    groups, rows = 30, 300
    idx = rng.integers(groups, size=rows)
    u = rng.normal(size=groups)
    with pm.Model() as m:
        idx = pm.Data("idx", idx)
        gamma = pm.Normal("gamma", 0.0, 10.0, shape=2)  # scalars: no scatter in either form
        tau = pm.HalfNormal("tau", 1.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        mu = gamma[0] + gamma[1] * u
        if partial_by_hand is None:
            alpha = pm.Normal("alpha", mu, tau, shape=groups)
        else:
            lam = pt.as_tensor(partial_by_hand)
            eta = pm.Normal("eta", lam * mu, tau**lam, shape=groups)
            alpha = mu + tau ** (1 - lam) * (eta - lam * mu)
        pm.Normal("y", alpha[idx], sigma, observed=rng.normal(size=rows))
    return m


def test_the_likelihood_gradient_is_scattered_once_in_the_partial_form():
    """The per-row gradient is scattered to the groups once, as in the auxiliary form: written as
    ``mu + down * (e - lam * mu)``, PyTensor folded ``mu``'s two gradient terms into a second
    scatter-add over every row (1.6x the auxiliary form's time per gradient on 10,000 rows with a
    group-level predictor)."""
    lam = np.tile([0.0, 0.5, 1.0], 10)
    base = _predictor_model()
    aux = auxify(base, centering=0.0)
    partial = auxify(base, centering={"alpha": lam})
    assert {r.name: r.form for r in report(partial).rewritten}["alpha"] == "partial"
    assert _scatters(partial) <= _scatters(aux)
    # the old construction has the extra scatters: the count would see a regression
    assert _scatters(_predictor_model(partial_by_hand=lam)) > _scatters(aux)
