"""Linear-time conversion between a PyMC model and its graph of ``ModelVar`` nodes.

PyMC's :func:`~pymc.model.fgraph.fgraph_from_model` and
:func:`~pymc.model.fgraph.model_from_fgraph` are quadratic in the number of model variables:
the first removes the value-variable outputs of its ``FunctionGraph`` one at a time
(``FunctionGraph.remove_output`` renumbers every later output, building a new ``Output`` node
each time: about 500,000 of them for 1,000 variables), and ``FunctionGraph`` itself checks every
node input against the *list* of graph inputs. At 5,000 variables the round trip takes minutes.

This module builds the same graph (the same ``ModelFreeRV``, ``ModelObservedRV``,
``ModelPotential``, ``ModelDeterministic`` and ``ModelNamed`` nodes, in the same output order,
with coords, dim lengths, value transforms, fresh copies of the RNGs and data) with one
topological clone, and turns it back into a model by rewiring the graph in place, never building a
``FunctionGraph``. Both steps are linear in the size of the graph. See ``docs/performance.md``.
"""

from __future__ import annotations

import copy
import warnings

from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor

from pymc.model.fgraph import (
    ModelDeterministic,
    ModelFreeRV,
    ModelNamed,
    ModelObservedRV,
    ModelPotential,
    ModelVar,
    model_deterministic,
    model_free_rv,
    model_named,
    model_observed_rv,
    model_potential,
)
from pytensor.compile import SharedVariable, ViewOp, view_op
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.traversal import toposort
from pytensor.tensor.random.type import RandomType


class ModelGraph:
    """The graph of a PyMC model, each model variable wrapped in its ``ModelVar`` node.

    The same content as the ``FunctionGraph`` of :func:`pymc.model.fgraph.fgraph_from_model`
    (``outputs`` in the same order, and the ``_coords`` / ``_dim_lengths`` attributes PyMC puts
    on it), without the bookkeeping of a ``FunctionGraph``: code that only reads ``outputs``,
    ``toposort()``, ``_coords`` and ``_dim_lengths`` works on either.

    Parameters
    ----------
    outputs : sequence of Variable
        Outputs of ``ModelVar`` nodes: free and observed variables, potentials, deterministics,
        data, in PyMC's order.
    coords : dict
        The model's coords.
    dim_lengths : dict
        The model's dim lengths (shared variables are the graph's own copies).
    """

    def __init__(self, outputs: Sequence[Variable], coords: dict, dim_lengths: dict):
        self.outputs = list(outputs)
        self._coords = coords
        self._dim_lengths = dim_lengths

    def toposort(self) -> list[Apply]:
        """Apply nodes of the graph in topological order (the order of ``FunctionGraph``)."""
        return list(toposort(self.outputs))

    def with_outputs(self, outputs: Sequence[Variable]) -> ModelGraph:
        """A graph with new ``outputs`` and the same coords and dim lengths."""
        return ModelGraph(outputs, self._coords, self._dim_lengths)

    def to_fgraph(self) -> FunctionGraph:
        """The same graph as a ``FunctionGraph`` (no copy; for PyMC's own model transforms)."""
        fgraph = FunctionGraph(outputs=self.outputs, clone=False)
        fgraph._coords = self._coords
        fgraph._dim_lengths = self._dim_lengths
        return fgraph

    def __repr__(self) -> str:
        return f"ModelGraph({len(self.outputs)} model variables)"


def copy_shared(var: SharedVariable) -> SharedVariable:
    """A new shared variable with a deep copy of ``var``'s value (RNG state, data).

    The same result as PyMC's ``deepcopy_shared_variable``, without deep-copying the container
    object (ten times faster, which matters with one RNG per random variable).
    """
    value = var.get_value(borrow=True)
    if isinstance(value, np.random.Generator):  # copy the state, not the object
        bit_generator = type(value.bit_generator)(0)
        bit_generator.state = value.bit_generator.state
        value = np.random.Generator(bit_generator)
    else:
        value = copy.deepcopy(value)
    new = type(var)(type=var.type, value=value, strict=False, name=var.name)
    new.tag = copy.copy(var.tag)
    return new


def graph_from_model(model: pm.Model) -> tuple[ModelGraph, dict[Variable, Variable]]:
    """Convert a model to a :class:`ModelGraph`, in time linear in the size of the graph.

    Equivalent to ``pymc.model.fgraph.fgraph_from_model(model)`` (with ``inlined_views=False``):
    the graph is a copy (value variables, RNGs, data and shared dim lengths are new variables;
    constants, immutable, are shared), ``ViewOp`` nodes are dropped, consumers of a random
    variable or potential read its ``ModelVar`` node, and consumers of a Deterministic or of data
    read the underlying expression.

    Parameters
    ----------
    model : pm.Model
        A model without custom initial values and without a parent model.

    Returns
    -------
    graph : ModelGraph
    memo : dict
        Each variable of ``model`` to its counterpart in ``graph`` (the ``ModelVar`` output for
        named variables).

    Raises
    ------
    NotImplementedError
        If a variable has a custom initial value (as PyMC's own conversion).
    """
    if any(v is not None for v in model.rvs_to_initial_values.values()):
        raise NotImplementedError("Cannot convert models with non-default initial_values")
    if model.parent is not None:
        raise ValueError(
            "Nested sub-models cannot be converted to fgraph. Convert the parent model instead"
        )
    if any("_rotated_" in n or "_hsgp_coeffs_" in n for n in model.named_vars):
        warnings.warn(
            "Detected variables likely created by GP objects. Further use of these old GP "
            "objects should be avoided as it may reintroduce variables from the old model.",
            UserWarning,
            stacklevel=2,
        )
    # Creation tracebacks of the new nodes cost more than the conversion itself.
    with pytensor.config.change_flags(traceback__limit=0):
        return _graph_from_model(model)


def _graph_from_model(model: pm.Model) -> tuple[ModelGraph, dict[Variable, Variable]]:
    rvs_to_values = model.rvs_to_values
    free, observed = set(model.free_RVs), set(model.observed_RVs)
    potentials, deterministics = list(model.potentials), list(model.deterministics)
    values = list(rvs_to_values.values())
    data_vars = list(model.data_vars)
    named_data = [d for d in data_vars if d not in set(values)] + [
        v for v in values if v in set(data_vars)
    ]
    transforms, dims_of = model.rvs_to_transforms, model.named_vars_to_dims

    memo: dict[Variable, Variable] = {}
    copied = [v for v in model.dim_lengths.values() if isinstance(v, SharedVariable)]
    copied += [v for v in model.named_vars.values() if isinstance(v, SharedVariable)]
    for var in copied:
        memo[var] = copy_shared(var)

    def get(var: Variable) -> Variable:
        new = memo.get(var)
        if new is None:  # a root: copy it like FunctionGraph(clone=True, copy_inputs=True)
            if isinstance(var, Constant):
                return var
            if isinstance(var, SharedVariable) and isinstance(var.type, RandomType):
                new = copy_shared(var)
            else:
                new = var.clone()
            memo[var] = new
        return new

    def wrap(var: Variable, new: Variable) -> Variable:
        name, dims = var.name, dims_of.get(var.name, ())
        if var in free:
            value = get(rvs_to_values[var])
            return model_free_rv(new, value, transforms[var], name, *dims)
        if var in observed:
            return model_observed_rv(new, get(rvs_to_values[var]), name, *dims)
        return model_potential(new, name, *dims)

    wrapped: dict[Variable, Variable] = {}
    to_wrap = free | observed | set(potentials)
    # Observed values first (they never depend on random variables), then everything else.
    for node in (*toposort(values), *toposort([*rvs_to_values, *potentials, *deterministics])):
        if node.outputs[0] in memo:
            continue
        if isinstance(node.op, ViewOp):
            memo[node.outputs[0]] = get(node.inputs[0])
            continue
        new_node = node.clone_with_new_inputs([get(i) for i in node.inputs])
        for old, new in zip(node.outputs, new_node.outputs):
            if old in to_wrap:
                new = wrapped[old] = wrap(old, new)
            memo[old] = new
    for var in potentials:  # a potential with no graph of its own (a constant)
        if var not in wrapped:
            wrapped[var] = memo[var] = wrap(var, get(var))

    dets = [model_deterministic(get(d), d.name, *dims_of.get(d.name, ())) for d in deterministics]
    named = [model_named(get(d), d.name, *dims_of.get(d.name, ())) for d in named_data]
    outputs = [wrapped[v] for v in (*rvs_to_values, *potentials)] + dets + named
    memo.update(zip(deterministics, dets))
    memo.update(zip(named_data, named))
    dim_lengths = {k: memo.get(v, v) for k, v in model._dim_lengths.items()}
    return ModelGraph(outputs, model._coords.copy(), dim_lengths), memo


def output_order(outputs: Sequence[Variable]) -> list[Apply]:
    """Apply nodes of the graph of ``outputs`` in a topological order that follows ``outputs``.

    A depth-first post-order from each output in turn (inputs in order), so each node comes
    right after the nodes it needs: independent variables keep the order of ``outputs``, where
    PyTensor's ``toposort`` (and PyMC's ``model_from_fgraph``) reverses them. Linear time, no
    recursion.

    Parameters
    ----------
    outputs : sequence of Variable

    Returns
    -------
    list of Apply
    """
    order: list[Apply] = []
    seen: set[Apply] = set()
    for out in outputs:
        if out.owner is None or out.owner in seen:
            continue
        seen.add(out.owner)
        stack = [(out.owner, iter(out.owner.inputs))]
        while stack:
            node, inputs = stack[-1]
            for inp in inputs:
                if inp.owner is not None and inp.owner not in seen:
                    seen.add(inp.owner)
                    stack.append((inp.owner, iter(inp.owner.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def model_from_graph(graph: ModelGraph, *, order: Sequence[str] | None = None) -> pm.Model:
    """Build a model from a :class:`ModelGraph`, in time linear in the size of the graph.

    Equivalent to ``pymc.model.fgraph.model_from_fgraph(fgraph, mutate_fgraph=True)``: the
    graph is consumed (its nodes are rewired in place to skip the ``ModelVar`` nodes).

    Parameters
    ----------
    graph : ModelGraph
        E.g. from :func:`graph_from_model`, possibly rewritten.
    order : sequence of str, optional
        Names of model variables in the wanted order (e.g. those of the model the graph was
        made from). The variables are then added in the :func:`output_order` of the outputs
        sorted by it (other names last): each after the ones it depends on, otherwise in this
        order. Default: PyMC's order, which lists independent variables last first.

    Returns
    -------
    pm.Model
        A new model with the graph's variables, coords and dim lengths.
    """
    model = pm.Model(model=None)  # do not inherit from the model in the context manager
    model._coords = graph._coords
    model._dim_lengths = graph._dim_lengths

    def under(var: Variable) -> Variable:
        while var.owner is not None and isinstance(var.owner.op, ModelVar):
            var = var.owner.inputs[0]
        return var

    if order is None:
        nodes = graph.toposort()
    else:
        position = {name: i for i, name in enumerate(order)}
        last = len(position)
        outputs = sorted(graph.outputs, key=lambda out: position.get(out.owner.op.name, last))
        nodes = output_order(outputs)
    model_nodes = []
    for node in nodes:
        inputs = node.inputs
        for i, inp in enumerate(inputs):
            if inp.owner is not None and isinstance(inp.owner.op, ModelVar):
                inputs[i] = under(inp)
        if isinstance(node.op, ModelVar):
            model_nodes.append(node)

    basic = set()
    for node in model_nodes:
        op = node.op
        var = node.inputs[0]
        if isinstance(op, ModelFreeRV):
            model.free_RVs.append(var)
            model.create_value_var(
                var, transform=op.transform, default_transform=None, value_var=node.inputs[1]
            )
            model.set_initval(var, initval=None)
            basic.add(var)
        elif isinstance(op, ModelObservedRV):
            model.observed_RVs.append(var)
            model.create_value_var(
                var, transform=None, default_transform=None, value_var=node.inputs[1]
            )
            basic.add(var)
        elif isinstance(op, ModelPotential):
            model.potentials.append(var)
        elif isinstance(op, ModelDeterministic):
            if var in basic:  # a Deterministic that is a random variable itself: view it
                var = view_op(var)
            model.deterministics.append(var)
        elif isinstance(op, ModelNamed):
            model.data_vars.append(var)
        else:
            raise TypeError(f"Unexpected ModelVar type {type(op)}")
        var.name = op.name
        model.add_named_variable(var, dims=tuple(op.dims) if op.dims else None)
    return model


def clone_model(model: pm.Model) -> pm.Model:
    """A copy of ``model`` (like :func:`pymc.model.fgraph.clone_model`, in linear time)."""
    return model_from_graph(graph_from_model(model)[0])


__all__ = [
    "ModelGraph",
    "clone_model",
    "copy_shared",
    "graph_from_model",
    "model_from_graph",
    "output_order",
]
