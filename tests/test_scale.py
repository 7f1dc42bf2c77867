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
