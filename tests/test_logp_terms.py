"""The pilot's log density terms (built without PyMC's intermediate representation where it is
not needed) and its initial point (compiled as the pilot's functions are) are PyMC's own, to the
last bit, on random models and their auxiliary forms."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytensor.graph.traversal import applys_between

from pymc_auxform import auxify
from pymc_auxform._logp_terms import _direct_terms, logp_terms, logp_terms_and
from pymc_auxform._pilot import initial_point
from pymc_auxform.reference_models import dbn, eight_schools, radon_style
from tests.oracles import CHECKED
from tests.test_fuzz import build_model


def _variables(model):
    return model.free_RVs + model.observed_RVs + model.potentials


def _assert_same_terms(model, seed=0):
    variables = _variables(model)
    names = [v.name for v in model.value_vars]
    ours = logp_terms(model, variables)
    pymcs = model.logp(vars=variables, sum=False)
    fn = pm.compile(  # PyMC's compile: parameter checks read -inf, as in sampling
        model.value_vars,
        [pt.sum(t) for t in ours] + [pt.sum(t) for t in pymcs],
        mode=CHECKED,
        on_unused_input="ignore",
    )
    rng = np.random.default_rng(seed)
    start = model.initial_point()
    for _ in range(3):
        point = {
            k: v + (rng.normal(size=np.shape(v)) if v.dtype.kind == "f" else rng.integers(0, 3))
            for k, v in start.items()
        }
        values = fn(*[point[v.name] for v in model.value_vars])
        n = len(variables)
        # PyMC's pass also simplifies some arithmetic (x.mean() / 3 -> sum(x) / 9; a truncated
        # Normal's normalization differs by up to 5e-10 relative)
        np.testing.assert_allclose(values[:n], values[n:], rtol=1e-8, atol=0)
    assert [v.name for v in model.value_vars] == names  # no value variable renamed


def _assert_own_graph(model):
    """No node of the terms is a node of the model's graph (the pilot rewrites them in place)."""
    variables = _variables(model)
    terms = logp_terms(model, variables)
    model_nodes = set(applys_between([], variables + model.deterministics))
    assert not model_nodes & set(applys_between([], terms))


@pytest.mark.parametrize(
    "build", [eight_schools, lambda: dbn(steps=5), lambda: radon_style("both", 300, 12, seed=1)]
)
def test_reference_models_take_the_direct_path_and_match_pymc(build):
    model = build()
    for m in (model, auxify(model, centering=0.0)):
        assert _direct_terms(m, _variables(m)) is not None  # no fallback on these
        _assert_same_terms(m)
        _assert_own_graph(m)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(st.integers(0, 2**31 - 1))
def test_random_models_and_their_auxiliary_forms_match_pymc(seed):
    model, _ = build_model(seed)
    _assert_same_terms(model, seed)
    _assert_own_graph(model)
    aux = auxify(model, centering=0.0)
    _assert_same_terms(aux, seed)
    _assert_own_graph(aux)


def test_a_derived_density_falls_back_to_pymc():
    """``CustomDist`` from ``dist``: PyMC derives the density (no ``_logprob`` of its own), so the
    terms come from ``Model.logp``, with the same numbers."""
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.CustomDist(
            "y",
            mu,
            dist=lambda m, size: pt.exp(pm.Normal.dist(m, 1, size=size)),
            observed=np.array([0.5, 2.0]),
        )
    assert _direct_terms(model, _variables(model)) is None
    _assert_same_terms(model)


def _derived_density_model():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        z = pm.Normal("z", mu, 1, shape=3)
        pm.Deterministic("w", pt.exp(z) + mu)
        pm.CustomDist(
            "y",
            z,
            dist=lambda m, size: pt.exp(pm.Normal.dist(m, 1, size=size)),
            observed=np.array([0.5, 2.0, 1.0]),
        )
    return model


@pytest.mark.parametrize(
    "build",
    [
        lambda: auxify(eight_schools(), centering=0.0),
        lambda: auxify(dbn(steps=5), centering=0.0),
        _derived_density_model,  # Model.logp's path: the graphs replaced on their own
    ],
)
def test_terms_and_graphs_from_one_replacement(build):
    """``logp_terms_and``: the terms of ``logp_terms`` and the graphs (the model's Deterministics
    here, as the pilot's slopes take the targets') with the variables replaced by their values,
    the same numbers as PyMC's replacement; on the direct path in the terms' copy of the graph
    (they share nodes), never in the model's own graph."""
    model = build()
    variables = _variables(model)
    graphs = list(model.deterministics)
    terms, replaced = logp_terms_and(model, variables, graphs)
    direct = _direct_terms(model, variables) is not None
    assert len(replaced) == len(graphs)
    theirs = model.replace_rvs_by_values(graphs)
    fn = pm.compile(
        model.value_vars,
        [pt.sum(t) for t in terms]
        + [pt.sum(t) for t in logp_terms(model, variables)]
        + replaced
        + theirs,
        mode=CHECKED,
        on_unused_input="ignore",
    )
    out = fn(*[model.initial_point()[v.name] + 0.3 for v in model.value_vars])
    n, k = len(terms), len(graphs)
    np.testing.assert_array_equal(out[:n], out[n : 2 * n])
    for a, b in zip(out[2 * n : 2 * n + k], out[2 * n + k :], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    model_nodes = set(applys_between([], variables + model.deterministics))
    assert not model_nodes & set(applys_between([], replaced))
    shared = set(applys_between([], terms)) & set(applys_between([], replaced))
    assert bool(shared) == direct


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_initial_point_is_pymcs(seed):
    for model in (eight_schools(), build_model(seed)[0]):
        for m in (model, auxify(model, centering=0.0)):
            ours, theirs = initial_point(m, seed), m.initial_point(random_seed=seed)
            assert list(ours) == list(theirs)
            for name in theirs:
                np.testing.assert_array_equal(ours[name], theirs[name])
                assert ours[name].dtype == np.asarray(theirs[name]).dtype


def test_no_value_variable_is_renamed():
    """``Model.replace_rvs_by_values`` names each back-transformed value after its variable; an
    observation of a truncated Normal whose interval transform hands back the value variable
    itself renamed the model's ``v5_interval__`` to ``v5`` (random model 249)."""
    model, _ = build_model(249)
    names = [v.name for v in model.value_vars]
    assert "v5_interval__" in names
    logp_terms(model, _variables(model))
    assert [v.name for v in model.value_vars] == names
    assert set(model.initial_point()) == set(names)
