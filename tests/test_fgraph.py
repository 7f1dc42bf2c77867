"""The linear-time model <-> graph conversion gives the same model as PyMC's own."""

import numpy as np
import pymc as pm
import pytest

from pymc.model.fgraph import fgraph_from_model, model_from_fgraph
from pytensor.compile import SharedVariable
from pytensor.graph.basic import Constant

from pymc_auxform._fgraph import clone_model, graph_from_model, model_from_graph
from pymc_auxform.reference_models import (
    dbn,
    eight_schools,
    simulate_hierarchical,
    varying_intercepts,
)


def everything_model():
    """Data (as input and as observed value), dims from data, a user transform, potentials
    (one constant), a Deterministic that is a random variable, an observed expression."""
    with pm.Model(coords={"g": ["a", "b", "c"]}) as model:
        x = pm.Data("x", np.array([1.0, 2.0, 0.5, 1.5]), dims="obs")
        y = pm.Data("y_data", np.array([0.3, -0.2, 0.1, 0.4]), dims="obs")
        s = pm.HalfNormal("s")
        b = pm.Normal("b", 0.0, s, dims="g")
        pm.Normal("o", 0.0, 1.0, transform=pm.distributions.transforms.ordered, shape=3)
        pm.Deterministic("b_view", b, dims="g")
        mean = pm.Deterministic("mean", b[np.array([0, 1, 2, 0])] * x, dims="obs")
        pm.Potential("pen", -(s**2))
        pm.Potential("const", pm.math.constant(0.0))
        pm.Normal("y", mean, s, observed=y, dims="obs")
        pm.Normal("y2", mean.sum(), 1.0, observed=2.0 * np.ones(2))
    return model


MODELS = {
    "eight schools": eight_schools,
    "DBN scan": lambda: dbn(3, 3, form="scan"),
    "DBN loop": lambda: dbn(3, 3, form="loop"),
    "varying intercepts": lambda: varying_intercepts(
        *simulate_hierarchical(n_groups=6, obs_per_group=3), sigma=None
    ),
    "everything": everything_model,
}


def same_graph(xs, ys) -> None:
    """Assert two graphs are the same, node by node (roots: equal constants, fresh copies)."""
    seen = {}
    stack = list(zip(xs, ys))
    while stack:
        x, y = stack.pop()
        if x in seen:
            assert seen[x] is y
            continue
        seen[x] = y
        assert x.type == y.type and x.name == y.name, (x, y)
        if x.owner is None:
            assert y.owner is None, (x, y)
            if isinstance(x, Constant):
                assert isinstance(y, Constant) and x.equals(y)
            elif isinstance(x, SharedVariable):
                assert isinstance(y, SharedVariable)
            continue
        assert y.owner is not None and x.owner.op == y.owner.op, (x.owner.op, y.owner)
        assert x.index == y.index and len(x.owner.inputs) == len(y.owner.inputs)
        stack.extend(zip(x.owner.inputs, y.owner.inputs))


@pytest.mark.parametrize("name", list(MODELS))
def test_graph_equals_pymc(name):
    model = MODELS[name]()
    fgraph, memo_pymc = fgraph_from_model(model)
    graph, memo = graph_from_model(model)
    same_graph(fgraph.outputs, graph.outputs)
    assert graph._coords == fgraph._coords
    assert set(graph._dim_lengths) == set(fgraph._dim_lengths)
    for var in model.named_vars.values():  # named variables map to their ModelVar nodes
        assert memo[var].owner.op == memo_pymc[var].owner.op
    assert [n.op for n in graph.toposort()] == [n.op for n in fgraph.toposort()]


@pytest.mark.parametrize("name", list(MODELS))
def test_model_equals_pymc(name, rng):
    model = MODELS[name]()
    ref = model_from_fgraph(fgraph_from_model(model)[0], mutate_fgraph=True)
    new = model_from_graph(graph_from_model(model)[0])
    for attr in ("free_RVs", "observed_RVs", "deterministics", "potentials", "data_vars"):
        assert [v.name for v in getattr(new, attr)] == [v.name for v in getattr(ref, attr)], attr
    assert [v.name for v in new.value_vars] == [v.name for v in ref.value_vars]
    assert new.named_vars_to_dims == ref.named_vars_to_dims
    assert new.coords == ref.coords
    assert {k: v.eval() for k, v in new.dim_lengths.items()} == {
        k: v.eval() for k, v in ref.dim_lengths.items()
    }
    assert [type(t) for t in new.rvs_to_transforms.values()] == [
        type(t) for t in ref.rvs_to_transforms.values()
    ]
    assert all(v is None for v in new.rvs_to_initial_values.values())
    logp_new = new.compile_logp(mode="FAST_COMPILE")
    logp_ref = ref.compile_logp(mode="FAST_COMPILE")
    start = ref.initial_point(random_seed=1)
    for _ in range(3):
        point = {k: v + rng.normal(scale=0.3, size=np.shape(v)) for k, v in start.items()}
        np.testing.assert_allclose(logp_new(point), logp_ref(point), rtol=1e-10)
    # a copy: new RNGs and data containers, the original model is untouched
    old_shared = {id(v) for v in model.named_vars.values() if isinstance(v, SharedVariable)}
    assert not old_shared & {id(v) for v in new.named_vars.values()}
    draws = pm.draw([new[v.name] for v in new.free_RVs], random_seed=2, mode="FAST_COMPILE")
    assert len(draws) == len(new.free_RVs)


def test_data_is_copied():
    model = everything_model()
    new = clone_model(model)
    new.set_data("x", np.zeros(4))
    assert np.all(model["x"].get_value() != 0)
    assert new.rvs_to_values[new["y"]] is new["y_data"]


def test_rngs_are_copies():
    model = eight_schools()
    _, memo = graph_from_model(model)
    theta = memo[model["theta"]].owner.inputs[0]
    old_rng = model["theta"].owner.inputs[0]
    new_rng = theta.owner.inputs[0]
    assert new_rng is not old_rng
    assert new_rng.get_value().random() == old_rng.get_value().random()


def test_initval_and_submodel_errors():
    with pm.Model() as model:
        pm.Normal("z", initval=1.0)
    with pytest.raises(NotImplementedError):
        graph_from_model(model)
    with pm.Model():
        with pm.Model(name="sub") as sub:
            pm.Normal("z")
    with pytest.raises(ValueError, match="Nested"):
        graph_from_model(sub)
