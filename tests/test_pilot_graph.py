"""The pilot's compiled graphs: one copy of the model's chain, whatever the number of
observations below it (each observation's log density carried its own copy: 81 ``tanh`` for the 9
transitions of the T=10 DBN, and the cost of the choice grew with the square of the steps); and
its estimate of coupled blocks' information, which settles over the pilot's modes."""

import warnings

import numpy as np
import pymc as pm
import pytest

from pytensor.graph.traversal import applys_between
from pytensor.scalar.basic import Second
from pytensor.tensor.elemwise import Elemwise

from pymc_auxform import choose_centering
from pymc_auxform._pilot import Pilot, noise_information
from pymc_auxform.reference_models import dbn, simulate_hierarchical, varying_intercepts
from pymc_auxform.reporting import AuxformInfo
from pymc_auxform.rewrite import rewrite_model


def _pilot(model):
    aux, rep = rewrite_model(model)
    targets = [(r.name, r.noise[0], True) for r in rep.rewritten]
    return Pilot(aux, model, targets, np.random.default_rng(0), None)


def _count(function, name):
    return sum(name in str(node.op) for node in function.fgraph.apply_nodes)


def test_each_transition_is_computed_once():
    pilot = _pilot(dbn(steps=10))
    assert _count(pilot._objective, "Tanh") == 9  # z_1 ... z_9, once each


def test_compiled_graphs_grow_linearly_with_the_steps():
    sizes = {}
    for steps in (5, 20):
        pilot = _pilot(dbn(steps=steps))
        sizes[steps] = len(pilot._objective.fgraph.apply_nodes)
        assert not any(
            isinstance(node.op, AuxformInfo) for node in pilot._objective.fgraph.apply_nodes
        )
    assert sizes[20] <= 4.5 * sizes[5], sizes  # 4x the steps; the square would be 16x


def test_model_graph_is_left_as_built():
    """The pilot rewrites its copy of the log density in place, never the model's graph."""
    model = dbn(steps=4)
    aux, rep = rewrite_model(model)
    before = {node: list(node.inputs) for node in applys_between([], aux.deterministics)}
    targets = [(r.name, r.noise[0], True) for r in rep.rewritten]
    Pilot(aux, model, targets, np.random.default_rng(0), None)
    after = {node: list(node.inputs) for node in applys_between([], aux.deterministics)}
    assert after == before


def test_estimated_blocks_settle_over_the_pilot_modes():
    """A chain whose information ratio is near 1 (lam near 1/2, where the recurrent form's
    decision flips): one or two probes per mode gave block means from 0.6 to 1.5 at modes 3e-5
    apart, and the fixed point took 7 iterations on seed 1. Pooled over the modes, the mean
    settles within 4 on every seed."""
    for seed in range(8):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            choice = choose_centering(
                dbn(20, sigma_z=0.5, form="scan"), max_iter=4, random_seed=seed
            )
        assert choice.converged, seed


@pytest.mark.parametrize("groups", [20, 200])
def test_no_elementwise_node_runs_scalar_code_per_element(groups, monkeypatch):
    """With Python thunks an elementwise node without a NumPy ufunc (``second``, the broadcast
    fills of gradients; sums of three or more gradient terms; casts) runs its scalar code once
    per element: two thirds of the choice on 10,000 groups, 280,000 scalar calls on a 919-row
    radon model. The pilot's linker must run none of them that way, on small data as on big."""
    group, y = simulate_hierarchical(n_groups=groups, obs_per_group=12, seed=0)
    looped = []
    perform = Elemwise.perform

    def spy(op, node, inputs, output_storage):
        if not (op.nfunc and len(inputs) == op.nfunc_spec[1]) and max(map(np.size, inputs)) > 1:
            looped.append(str(op))
        return perform(op, node, inputs, output_storage)

    monkeypatch.setattr(Elemwise, "perform", spy)  # before compiling: thunks bind perform
    pilot = _pilot(varying_intercepts(group, y))
    assert any(isinstance(getattr(n.op, "scalar_op", None), Second) for n in _nodes(pilot))
    looped.clear()  # the initial point's function (PyMC's, not the pilot's) ran while building
    pilot._objective(pilot.x)
    assert not looped


def _nodes(pilot):
    return pilot._objective.fgraph.apply_nodes


def test_noise_information_of_non_normal_noises():
    """The Fisher information of a noise that is not a standard Normal, in its value coordinates,
    is the exact one to Monte Carlo error (StudentT(4): (nu + 1) / (nu + 3); Exponential(1) on
    the log scale: E[exp(u)] = 1), and computing it leaves the model's graph as built."""
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        s = pm.HalfNormal("s", 1.0)
        pm.StudentT("a", nu=4, mu=mu, sigma=s, shape=5)
        pm.Exponential("b", 1 / s, shape=5)
    aux, _ = rewrite_model(model)
    before = {node: list(node.inputs) for node in applys_between([], aux.deterministics)}
    rng = np.random.default_rng(0)
    t = noise_information(aux, "a_eps", 4000, rng, None)
    e = noise_information(aux, "b_eps", 4000, rng, None)
    assert abs(t - 5 / 7) < 0.05 and abs(e - 1.0) < 0.08
    assert {node: list(node.inputs) for node in applys_between([], aux.deterministics)} == before
