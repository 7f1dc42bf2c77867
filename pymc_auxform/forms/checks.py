r"""Keep the original's parameter checks in the auxiliary model.

PyMC's log densities reject invalid parameters with ``check_parameters`` (e.g. ``sigma > 0``),
which becomes :math:`-\infty` in a compiled log density (or nothing with
``pm.Model(check_bounds=False)``). A forward map does not: :math:`z = \mu + s\epsilon` accepts
:math:`s < 0`. So the rewrite takes the conditions from PyMC's own log density of the original
variable (:func:`parameter_checks`, no list per family) and puts them into the log density of
its noise (:func:`guard_noise`):

.. math::

    \epsilon \sim F(\theta_0) \quad\text{becomes}\quad
    \epsilon \sim F\bigl(\theta_0 \text{ with one checked parameter } \theta_{0,k} \to
        \mathrm{switch}(c, \theta_{0,k}, \mathrm{NaN})\bigr),

where :math:`c` is the conjunction of the original's checks. Where :math:`c` holds, nothing
changes; where it fails, the noise's own check fails (every comparison with NaN is false) and its
log density is :math:`-\infty`, exactly where the original's is. The noise stays a root variable
in distribution (its density does not depend on the parents where they are valid).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc.logprob.basic import _logprob_helper
from pymc.logprob.utils import CheckParameterValue
from pymc.model.fgraph import ModelVar
from pytensor.gradient import disconnected_grad
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors, applys_between, graph_inputs, io_toposort
from pytensor.scalar.basic import Switch as ScalarSwitch
from pytensor.tensor.elemwise import DimShuffle, Elemwise

from pymc_auxform._util import eval_quick, is_discrete


def _checks(rv, value) -> list[tuple[str, Variable]]:
    """``(message, condition)`` of every parameter check in PyMC's logp of ``rv`` at ``value``."""
    try:
        logp = _logprob_helper(rv, value)
    except NotImplementedError:  # e.g. a CustomDist: PyMC derives its logp from its graph
        try:
            logp = pm.logp(rv, value, warn_rvs=False)
        except Exception:
            return []
    found = []
    for node in applys_between([value, *rv.owner.inputs], [logp]):
        if isinstance(node.op, CheckParameterValue):
            found.extend((node.op.msg, c) for c in node.inputs[1:])
    return [(msg, c) for msg, c in found if value not in ancestors([c])]


def _holds_for_constants(cond: Variable, inputs: dict | None = None) -> bool:
    """Whether the check ``cond`` reads constants only and holds everywhere, its placeholders
    replaced by ``inputs`` (evaluated on ``cond`` itself: no copy)."""
    inputs = inputs or {}
    values = {}
    for root in graph_inputs([cond]):
        value = inputs.get(root, root)
        if not isinstance(value, Constant):
            return False
        values[root] = value.data
    try:
        return bool(np.all(eval_quick(cond, values)))
    except Exception:
        return False


def _uncloned(cond: Variable, rv: Variable) -> Variable:
    """``cond`` with clones of the model's variables (made by a logp) mapped back to ``rv``'s."""
    own = {a.owner.op: a for a in ancestors([rv]) if a.owner and isinstance(a.owner.op, ModelVar)}
    found = [a for a in ancestors([cond]) if a.owner and isinstance(a.owner.op, ModelVar)]
    fix = {a: own[a.owner.op] for a in found if a.owner.op in own and own[a.owner.op] is not a}
    return _rebuild(cond, fix) if fix else cond


def parameter_checks(rv: Variable) -> tuple[Variable | None, str]:
    """The conjunction of the parameter checks of ``rv``'s log density, and their messages.

    Conditions that hold for constant parameters are dropped; ``(None, "")`` when nothing is left.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.checks import parameter_checks

        s = pt.dscalar("s")
        cond, msg = parameter_checks(pm.Normal.dist(0.0, s))  # s > 0, "sigma > 0"
    """
    # built on placeholders, then moved onto the real inputs: a logp that clones its inputs'
    # graphs (symbolic distributions) must not clone the model's variables into the checks
    node = rv.owner
    try:
        holders, template = _placeholder_checks(node, node.outputs.index(rv))
        to_inputs = dict(zip(holders, node.inputs, strict=True))
        # a whole copy: the cached template's nodes must not be shared by the models' graphs
        conds = [
            (msg, _rebuild(c, to_inputs, copy=True))
            for msg, c in template
            if not _holds_for_constants(c, to_inputs)
        ]
    except Exception:  # a logp that reads its inputs' graphs (AR's init_dist): use the real ones
        conds = [(msg, _uncloned(c, rv)) for msg, c in _checks(rv, rv.type())]
        conds = [(msg, c) for msg, c in conds if not _holds_for_constants(c)]
    if not conds:
        return None, ""
    msgs = list(dict.fromkeys(msg for msg, _ in conds))
    return pt.all([pt.all(c) for _, c in conds]), "; ".join(msgs)


# (op, input types, output index) -> (placeholders, [(message, condition on placeholders)]).
# The checks on placeholders depend on nothing else, and every variable of a model built from one
# distribution shares them: building PyMC's logp for each was a third of auxify's time on a
# chain of 1,000 scalar variables. Equal ops compute the same thing (PyTensor merges them).
_TEMPLATES: dict[tuple, tuple[list, list]] = {}
_MAX_TEMPLATES = 256


def _placeholder_checks(node, index: int) -> tuple[list, list]:
    key = (node.op, tuple(i.type for i in node.inputs), index)
    found = _TEMPLATES.get(key)
    if found is None:
        holders = [i.type() for i in node.inputs]
        held = node.clone_with_new_inputs(holders).outputs[index]
        found = (holders, _checks(held, held.type()))
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        _TEMPLATES[key] = found
    return found


_CHECKED_PARAM: dict[type, int | None] = {}


def _checked_param_index(eps) -> int | None:
    """Index (in ``dist_params``) of a float parameter that ``eps``'s own logp checks."""
    key = type(eps.owner.op)
    if key not in _CHECKED_PARAM:
        params = list(eps.owner.op.dist_params(eps.owner))
        checked = set()
        for _, cond in _checks(eps, eps.type()):
            checked |= set(ancestors([cond]))
        found = [i for i, p in enumerate(params) if p in checked and not is_discrete(p)]
        _CHECKED_PARAM[key] = found[-1] if found else None
    index = _CHECKED_PARAM[key]
    if index is not None and is_discrete(eps.owner.op.dist_params(eps.owner)[index]):
        return None
    return index


def guard_noise(eps: Variable, cond: Variable) -> Variable | None:
    """``eps`` rebuilt so that its log density is :math:`-\\infty` where ``cond`` fails.

    Returns ``None`` if ``eps`` has no scalar float parameter that its own log density checks.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.checks import guard_noise

        s = pt.dscalar("s")
        eps = guard_noise(pm.Normal.dist(size=3), s > 0)  # Normal(0, switch(s > 0, 1, nan))
    """
    index = _checked_param_index(eps)
    if index is None:
        return None
    node = eps.owner
    param = node.op.dist_params(node)[index]
    # no gradient through the check: the noise stays out of the parents' gradients
    # (in float64: a float32 constant 1 would make the noise's log density float32-accurate)
    guarded = pt.switch(disconnected_grad(cond), pt.cast(param, "float64"), np.nan)
    inputs = [guarded if i is param else i for i in node.inputs]
    try:
        new_node = node.op.make_node(*inputs)
    except Exception:  # an Op that insists on its input types
        inputs = [guarded.astype(param.dtype) if i is param else i for i in node.inputs]
        new_node = node.clone_with_new_inputs(inputs)
    return new_node.outputs[node.outputs.index(eps)]


def strip_guard(param: Variable) -> Variable:
    """The parameter a :func:`guard_noise` guard wraps, or ``param`` itself if it is not guarded.

    The guard only turns the noise's density to -inf where the original's parameter checks fail;
    where they hold the noise is the standard one, so code that asks "is this noise parent-free /
    standard?" looks through it.
    """
    var = param
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    node = var.owner
    if (
        node is not None
        and isinstance(node.op, Elemwise)
        and isinstance(node.op.scalar_op, ScalarSwitch)
        and _is_disconnected_grad(node.inputs[0])
    ):
        inner = node.inputs[1]
        while (
            inner.owner is not None
            and isinstance(inner.owner.op, DimShuffle | Elemwise)
            and (len(inner.owner.inputs) == 1)
        ):
            inner = inner.owner.inputs[0]
        return inner
    return param


def _is_disconnected_grad(cond: Variable) -> bool:
    while cond.owner is not None and isinstance(cond.owner.op, DimShuffle):
        cond = cond.owner.inputs[0]
    return cond.owner is not None and type(cond.owner.op).__name__ == "DisconnectedGrad"


def without_checks(var: Variable) -> Variable:
    """``var`` with every ``CheckParameterValue`` removed (they raise instead of giving -inf).

    Used on forward maps built from a library ``icdf``, whose parameter checks raise
    ``ParameterValueError``; the rewrite keeps those checks in the noise's density instead.
    Only the nodes downstream of a check are rebuilt (the model's variables are never cloned).
    """
    return _rebuild(var, {}, drop_checks=True)


def _rebuild(
    var: Variable, memo: dict, *, drop_checks: bool = False, copy: bool = False
) -> Variable:
    """``var`` with the variables in ``memo`` replaced; only the nodes downstream are rebuilt
    (every node with ``copy``: none of ``var``'s nodes is in the result)."""
    memo = dict(memo)
    for node in io_toposort(graph_inputs([var]), [var]):
        inputs = [memo.get(i, i) for i in node.inputs]
        if drop_checks and isinstance(node.op, CheckParameterValue):
            memo[node.outputs[0]] = inputs[0]
        elif copy or any(new is not old for new, old in zip(inputs, node.inputs, strict=True)):
            memo.update(zip(node.outputs, node.clone_with_new_inputs(inputs).outputs, strict=True))
    return memo.get(var, var)


__all__ = ["guard_noise", "parameter_checks", "strip_guard", "without_checks"]
