"""auxify at scale: linear conversion, cheap noise variables, same results."""

import numpy as np
import pymc as pm
import pytest

from pytensor.graph.fg import FunctionGraph

from pymc_auxform import auxify, report
from pymc_auxform._noise import constant_key, standard_noise

FAST = "FAST_COMPILE"  # small graphs: compiling C would take longer than the test


def chain(n: int) -> pm.Model:
    with pm.Model() as model:
        z = pm.Normal("z_0", 0.0, 1.0)
        for i in range(1, n):
            z = pm.Normal(f"z_{i}", 0.9 * z, 2.0)
    return model


def chain_noncentered(n: int) -> pm.Model:
    with pm.Model() as model:
        z = pm.Normal("z_0", 0.0, 1.0)
        for i in range(1, n):
            eps = pm.Normal(f"z_{i}_eps", 0.0, 1.0)
            z = pm.Deterministic(f"z_{i}", 0.9 * z + 2.0 * eps)
    return model


def test_auxify_builds_no_function_graph(monkeypatch):
    """The quadratic steps (FunctionGraph import checks, remove_output) are gone."""

    def refuse(*args, **kwargs):
        raise AssertionError("auxify built a FunctionGraph")

    monkeypatch.setattr(FunctionGraph, "__init__", refuse)
    aux = auxify(chain(30), centering=0.0)
    assert len(report(aux).rewritten) == 29  # z_0 ~ N(0, 1) is already standard


def test_long_chain_same_density(rng):
    n = 25
    aux, oracle = auxify(chain(n), centering=0.0), chain_noncentered(n)
    assert {v.name for v in aux.free_RVs} == {v.name for v in oracle.free_RVs}
    logp_aux = aux.compile_logp(mode=FAST)
    logp_oracle = oracle.compile_logp(mode=FAST)
    for _ in range(3):
        point = {v.name: rng.normal() for v in oracle.value_vars}
        np.testing.assert_allclose(logp_aux(point), logp_oracle(point), rtol=1e-10)


def test_noises_have_their_own_rngs():
    aux = auxify(chain(12), centering=0.0)
    rngs = [rv.owner.inputs[0] for rv in aux.free_RVs]
    assert len({id(r) for r in rngs}) == len(rngs)
    assert len({id(r.get_value(borrow=True)) for r in rngs}) == len(rngs)
    draws = pm.draw([rv for rv in aux.free_RVs[1:]], draws=400, random_seed=1, mode=FAST)
    corr = np.corrcoef(np.array(draws))
    off_diagonal = corr[~np.eye(len(draws), dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 0.2  # independent noises (400 draws: sd 0.05)
    np.testing.assert_allclose(np.std(draws, axis=1).mean(), 1.0, atol=0.05)


def test_standard_noise_copies_template():
    build_calls = []

    def build():
        build_calls.append(1)
        return pm.StudentT.dist(nu=4.0, mu=0.0, sigma=1.0, size=(3,))

    a = standard_noise(build, "test-t", 4.0, (3,))
    b = standard_noise(build, "test-t", 4.0, (3,))
    assert len(build_calls) == 1
    assert a.owner.op == b.owner.op and a.type == b.type
    assert a.owner.inputs[0] is not b.owner.inputs[0]  # fresh RNG each
    assert a.owner.inputs[2:] == b.owner.inputs[2:]  # same constant parameters
    np.testing.assert_allclose(
        np.std(pm.draw(b, draws=2000, random_seed=2, mode=FAST)), np.sqrt(2.0), rtol=0.15
    )


def test_standard_noise_symbolic_key_builds_each_time():
    nu = pm.HalfNormal.dist()
    calls = []

    def build():
        calls.append(1)
        return pm.StudentT.dist(nu=nu, size=2)

    standard_noise(build, "test-t-sym", nu)
    standard_noise(build, "test-t-sym", nu)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("value", "constant"),
    [(1.0, True), (np.arange(3.0), True), ((2, 3), True), (pm.math.constant(2.0), True)],
)
def test_constant_key(value, constant):
    assert (constant_key(value) is not None) == constant
    assert constant_key(pm.Normal.dist()) is None
    assert constant_key((2, pm.Normal.dist())) is None


def test_parameter_checks_are_built_once_per_distribution(monkeypatch):
    """PyMC's log density (for the parameter checks) is built once per distribution and input
    types, not once per variable, and checks of constant parameters are evaluated without
    compiling: both per variable, they were two thirds of auxify's time on a chain of 1,000
    scalar variables (3.1 s against 0.8 s to build the model)."""
    import pytensor.graph.basic

    import pymc_auxform.forms.checks as checks

    monkeypatch.setattr(checks, "_TEMPLATES", {})
    built, compiled = [], []
    real_checks, real_eval = checks._checks, pytensor.graph.basic.Variable.eval
    monkeypatch.setattr(checks, "_checks", lambda *a: built.append(a) or real_checks(*a))
    monkeypatch.setattr(
        pytensor.graph.basic.Variable,
        "eval",
        lambda self, *a, **k: compiled.append(self) or real_eval(self, *a, **k),
    )
    aux = auxify(chain(40), centering=0.0)
    assert len(report(aux).rewritten) == 39
    assert len(built) <= 2  # z_0's and z_i's parameters may differ in type
    assert compiled == []


def test_kept_checks_share_no_nodes_with_the_cached_template():
    from pytensor.graph.traversal import ancestors

    import pymc_auxform.forms.checks as checks

    with pm.Model() as m:
        s = pm.Normal("s", 1.0, 1.0)  # may be <= 0: the checks are kept
        pm.Normal("a", 0.0, s)
        pm.Normal("b", 0.0, s)
    ca, msg = checks.parameter_checks(m["a"])
    cb, _ = checks.parameter_checks(m["b"])
    assert "sigma > 0" in msg

    def nodes(*outs):
        return {v.owner for v in ancestors(outs) if v.owner is not None}

    template = nodes(*(c for _, conds in checks._TEMPLATES.values() for _, c in conds))
    assert template and nodes(ca, cb).isdisjoint(template)
    own = nodes(s)  # the model's own graph above s, shared as it should be
    assert (nodes(ca) - own).isdisjoint(nodes(cb) - own)
    for value, holds in ((1.0, True), (-1.0, False), (0.0, False)):
        assert bool(ca.eval({s: value})) is holds


def test_eval_quick_matches_compiled_evaluation():
    import pytensor.tensor as pt

    from pymc_auxform._util import eval_quick

    x = pt.constant(np.arange(6.0).reshape(2, 3))
    h = pt.dscalar("h")
    for graph in (x.T.shape, pt.exp(x).sum(axis=0), pt.all(pt.gt(x, -1)), (x * 2)[1:, ::2]):
        np.testing.assert_array_equal(eval_quick(graph), graph.eval())
    np.testing.assert_array_equal(eval_quick(h * x, {h: 2.0}), 2.0 * np.arange(6.0).reshape(2, 3))
    out = eval_quick(x)
    out[0, 0] = 99.0  # a copy: the constant is unchanged
    assert x.data[0, 0] == 0.0
