"""Shape check of a per-element centering: on the noise's parameters, not in the log density.

With dims (a shape that ``pm.set_data`` can change), the noise of a partially centered variable
carries one :class:`~pymc_auxform.forms.graph.LamShapeCheck` per parameter built from ``lam``,
all on one condition; PyMC removes them from log densities, so that compiled log densities take
no dim length as input (one more input and its ``Assert`` cost nutpie a noticeable compile time).
After ``pm.set_data`` changes the number of groups (to 1 as well), the initial point and prior
draws raise the check's message, and a log density evaluated at values of the new shape raises
instead of broadcasting.
"""

import numpy as np
import pymc as pm
import pytest

from pytensor.compile.mode import Mode
from pytensor.graph.traversal import ancestors, graph_inputs
from pytensor.tensor.basic import ScalarFromTensor

from pymc_auxform import auxify
from pymc_auxform.forms.graph import LamShapeCheck

from .oracles import CHECKED

LAM = np.array([0.0, 0.5, 0.5, 1.0, 1.0, 0.0])  # levels: the gathered construction
CONTINUOUS = np.array([0.0, 0.1, 0.3, 0.6, 0.8, 1.0])  # per element: one pow each
OPTIMIZED = Mode(linker="py", optimizer="fast_run")
PARAMS_CHECKED = {"normal": 2, "lognormal": 2, "gamma": 1}  # loc and scale, or the scale only


def grouped(family: str) -> pm.Model:
    """A latent ``z`` of ``family`` with dims ``g`` (6 groups, a mutable length) and a scalar scale."""
    with pm.Model(coords={"g": range(6)}) as m:
        x = pm.Data("x", np.ones(6), dims="g")
        tau = pm.HalfNormal("tau")
        if family == "normal":
            z = pm.Normal("z", 0.5, tau, dims="g")
        elif family == "lognormal":
            z = pm.LogNormal("z", 0.5, tau, dims="g")
        else:
            z = pm.Gamma("z", alpha=2.0, beta=1.0 / tau, dims="g")
        pm.Normal("y", z, 1.0, observed=x, dims="g")
    return m


def checks(var) -> list:
    """The ``LamShapeCheck`` nodes in the graph of ``var``."""
    return [v.owner for v in ancestors([var]) if v.owner and isinstance(v.owner.op, LamShapeCheck)]


def condition(node):
    """The tensor condition of an ``Assert`` node (made scalar by ``Assert.make_node``)."""
    cond = node.inputs[1]
    return cond.owner.inputs[0] if isinstance(cond.owner.op, ScalarFromTensor) else cond


@pytest.mark.parametrize("lam", [LAM, CONTINUOUS], ids=["levels", "continuous"])
@pytest.mark.parametrize("family", list(PARAMS_CHECKED))
def test_one_check_per_parameter_and_none_in_the_log_density(family, lam):
    aux = auxify(grouped(family), centering={"z": lam})
    noise = aux.free_RVs[-1]
    found = checks(noise)
    assert len(found) == PARAMS_CHECKED[family]
    assert len({condition(node) for node in found}) == 1  # one condition per variable
    assert not checks(aux.logp())
    compiled = aux.compile_logp(mode=OPTIMIZED).f.maker.fgraph
    assert aux.dim_lengths["g"] not in set(graph_inputs(compiled.outputs))
    # the map at the values (nutpie's expand function) has none either
    (z_at_values,) = aux.replace_rvs_by_values([aux["z"]])
    assert not checks(z_at_values)


def test_static_shape_needs_no_check():
    with pm.Model() as m:
        tau = pm.HalfNormal("tau")
        z = pm.Normal("z", 0.5, tau, shape=6)
        pm.Normal("y", z, 1.0, observed=np.ones(6))
    aux = auxify(m, centering={"z": LAM})
    assert not checks(aux.free_RVs[-1])


@pytest.mark.parametrize("groups", [1, 4])
@pytest.mark.parametrize("family", list(PARAMS_CHECKED))
def test_set_data_to_another_number_of_groups_raises(family, groups):
    aux = auxify(grouped(family), centering={"z": LAM})
    logp = aux.compile_logp(mode=CHECKED)
    point = aux.initial_point()
    assert np.isfinite(logp(point))
    with aux:
        pm.set_data({"x": np.ones(groups)}, coords={"g": range(groups)})
    with pytest.raises(AssertionError, match=r"'z'.*centering"):
        aux.initial_point()
    with pytest.raises(AssertionError, match=r"'z'.*centering"):
        pm.draw(aux.free_RVs[-1])
    # values of the new shape, by hand: no silent broadcast against the constants of shape 6
    noise = aux.free_RVs[-1]
    value = aux.rvs_to_values[noise].name
    moved = {**point, value: np.resize(point[value], groups)}
    with pytest.raises(ValueError):
        aux.compile_logp(mode=CHECKED)(moved)
