"""A model's log density terms without PyMC's intermediate representation, where it is not
needed (internal, for the pilot).

``Model.logp`` builds every term through :func:`~pymc.logprob.basic.conditional_logp`, which
first rewrites the whole model graph into PyMC's intermediate representation of measurable
variables: a pass of graph rewrites over every node. For a variable whose distribution
registers its log density (``pm.Normal``, ``pm.HalfCauchy``, ...: ``_logprob`` has an entry for
its exact op type) that pass only simplifies some arithmetic (``x.mean() / 3`` becomes
``sum(x) / 9``), and :func:`~pymc.logprob.basic.conditional_logp` then calls that same function
with the variables in its parameters replaced by their values. :func:`logp_terms` calls it
directly, with the value transform's Jacobian added as :mod:`pymc.logprob.transform_value` adds
it, in a graph of its own as ``Model.logp``'s (``Model.replace_rvs_by_values`` copies the graphs
it replaces in). It is 2-3x faster (ad hoc: 0.023 -> 0.009 s on eight schools' auxiliary form,
0.14 -> 0.05 s on the T=10 DBN's, where building it was a fifth of the choice) and gives the
same numbers: to the last bit on the 17 centering models and their auxiliary forms, to 1e-8
relative on random models (``tests/test_logp_terms.py``; a truncated Normal's normalization
differs most). Any other variable (one whose density PyMC derives: ``CustomDist`` from
``dist``, an observed transformation), or a random variable left in the terms, sends the whole
model to ``Model.logp``.
"""

from __future__ import annotations

import numpy as np
import pymc as pm

from pymc.logprob.abstract import _logprob
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.op import RNGConsumerOp


def logp_terms(model: pm.Model, variables: list) -> list:
    """The log density term of each of ``variables`` (free or observed random variables, or
    potentials of ``model``), elementwise, as ``model.logp(vars=variables, sum=False)`` returns
    them (summed, the same numbers)."""
    return logp_terms_and(model, variables, [])[0]


def logp_terms_and(model: pm.Model, variables: list, graphs: list) -> tuple[list, list]:
    """:func:`logp_terms`, and ``graphs`` with the model's random variables replaced by their
    values (:func:`replace_rvs_by_values`), from one replacement where the terms are built
    directly: each replacement copies the graphs it is given, and two copied the model's graph
    twice (the T=10 DBN's pilot: 14-24 ms a copy, ad hoc)."""
    direct = _direct_terms(model, variables, graphs)
    if direct is not None:
        return direct
    terms = model.logp(vars=variables, sum=False)
    return terms, replace_rvs_by_values(model, graphs) if graphs else []


def _direct_terms(
    model: pm.Model, variables: list, graphs: list | tuple = ()
) -> tuple[list, list] | None:
    potentials = set(model.potentials)
    rvs = [v for v in variables if v not in potentials]
    if not model.rvs_to_transforms or not all(type(rv.owner.op) in _logprob.registry for rv in rvs):
        # (PyMC's replacement copies the graphs only when the model has free variables)
        return None
    # one replacement over every parameter graph: each call copies the graphs it is given
    flat = [i for rv in rvs for i in rv.owner.inputs]
    own = [v for v in variables if v in potentials]
    replaced = iter(replace_rvs_by_values(model, flat + own + list(graphs)))
    inputs = {rv: [next(replaced) for _ in rv.owner.inputs] for rv in rvs}
    terms = [next(replaced) if v in potentials else _term(model, v, inputs[v]) for v in variables]
    if any(v.owner is not None and isinstance(v.owner.op, RNGConsumerOp) for v in ancestors(terms)):
        return None  # a random variable without a value in the terms: PyMC's path says which
    # a graph of its own: the replacement copies the parameters' graphs
    return terms, list(replaced)


def replace_rvs_by_values(model: pm.Model, graphs: list) -> list:
    """``model.replace_rvs_by_values(graphs)`` (copies of ``graphs``), without its side effect:
    PyMC names the back-transformed value of each transformed variable after the variable, and
    where the transform's ``backward`` returns the value variable itself (an ``Interval`` whose
    bounds are both infinite) that renamed the model's value variable (``"v5_interval__"`` became
    ``"v5"``; the model's initial point then had no entry for it)."""
    names = [(v, v.name) for v in model.value_vars]
    try:
        return model.replace_rvs_by_values(graphs)
    finally:
        for v, name in names:
            v.name = name


def _term(model: pm.Model, rv, params: list):
    value = model.rvs_to_values[rv]
    transform = model.rvs_to_transforms.get(rv)
    natural = value if transform is None else transform.backward(value, *params)
    logp = _logprob(rv.owner.op, [natural], *params)
    if transform is None:
        return logp
    # as pymc.logprob.transform_value.transformed_value_logprob: a multivariate transform of a
    # univariate distribution sums the logp's trailing dimensions first
    jacobian = transform.log_jac_det(value, *params)
    if jacobian.ndim < logp.ndim:
        logp = logp.sum(axis=tuple(np.arange(jacobian.ndim - logp.ndim, 0)))
    return logp + jacobian


__all__ = ["logp_terms", "logp_terms_and", "replace_rvs_by_values"]
