"""Cheap noise variables: build a standardized distribution once, then copy its node.

``pm.<Dist>.dist(...)`` costs about half a millisecond per call (parameter conversion, checks,
shape inference, a new RNG), as much as the rest of the rewrite of one scalar variable. The noise
of most forms is the same standardized distribution every time (``Normal(0, 1)`` of a given
shape), so :func:`standard_noise` builds it once per key and afterwards copies the node of that
template with a fresh RNG: the same Op, the same constant parameters and size, a new shared
random generator, for about a tenth of the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np

from pytensor.compile import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.type import RandomType
from pytensor.tensor.random.variable import shared_rng

_MAX_TEMPLATES = 1024
_TEMPLATES: dict[Hashable, TensorVariable | None] = {}


def fresh_rng() -> SharedVariable:
    """A new shared random generator (what ``pm.<Dist>.dist`` gives each variable)."""
    return shared_rng(np.random.default_rng(), borrow=True)


def constant_key(value) -> Hashable | None:
    """A hashable key for a constant parameter or size, or ``None`` if it is not constant.

    Python numbers, NumPy arrays and PyTensor constants qualify; symbolic variables do not.
    """
    if isinstance(value, Constant):
        value = value.data
    elif isinstance(value, Variable):
        return None
    if isinstance(value, tuple | list):
        keys = tuple(constant_key(v) for v in value)
        return None if any(k is None for k in keys) else (type(value).__name__, keys)
    if value is None or isinstance(value, bool | int | float | str):
        return (type(value).__name__, value)
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        return ("array", arr.dtype.str, arr.shape, arr.tobytes())
    return None


def standard_noise(build: Callable[[], TensorVariable], *key) -> TensorVariable:
    """A new noise variable equal to ``build()``, built by copying a cached template.

    Parameters
    ----------
    build : callable
        Builds the noise, e.g. ``lambda: pm.Normal.dist(0.0, 1.0, size=size)``; called once per
        key (and every time when the key is not constant or the result has no RNG inputs).
    *key
        Everything ``build`` depends on: typically the form, the other parameters and the size.
        Each must be constant (numbers, arrays, PyTensor constants, tuples of them, or hashable
        objects such as a form class); with a symbolic part ``build()`` is simply called.

    Returns
    -------
    TensorVariable
        A variable with the Op, parameters and size of the template and its own fresh RNG.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform._noise import standard_noise

        a = standard_noise(lambda: pm.Normal.dist(0.0, 1.0, size=3), "normal", (3,))
        b = standard_noise(lambda: pm.Normal.dist(0.0, 1.0, size=3), "normal", (3,))
        a.owner.inputs[0] is not b.owner.inputs[0]  # True: each has its own RNG
    """
    parts = []
    for part in key:
        if isinstance(part, Variable | np.ndarray | tuple | list | float | int | np.generic):
            part = constant_key(part)
            if part is None:
                return build()
        parts.append(part)
    full_key = tuple(parts)
    if full_key in _TEMPLATES:
        template = _TEMPLATES[full_key]
        return build() if template is None else _renew(template)
    template = build()
    if len(_TEMPLATES) >= _MAX_TEMPLATES:
        _TEMPLATES.clear()
    _TEMPLATES[full_key] = template if _copyable(template) else None
    return template if _TEMPLATES[full_key] is None else _renew(template)


def _copyable(var: TensorVariable) -> bool:
    """Whether every RNG of ``var``'s graph is a direct (shared) input of its own node."""
    node = var.owner
    if node is None:
        return False
    direct = {i for i in node.inputs if isinstance(i.type, RandomType)}
    if not direct or any(i.owner is not None for i in direct):
        return False
    rngs = {i for i in graph_inputs([var]) if isinstance(i.type, RandomType)}
    return rngs == direct


def _renew(template: TensorVariable) -> TensorVariable:
    """A copy of the template's node with a fresh RNG in place of each RNG input."""
    node = template.owner
    inputs = [fresh_rng() if isinstance(i.type, RandomType) else i for i in node.inputs]
    changed = [(new, old) for new, old in zip(inputs, node.inputs, strict=True) if new is not old]
    if any(new.type != old.type for new, old in changed):
        return node.clone_with_new_inputs(inputs).outputs[template.index]
    # only the RNG changes, to one of the same type: the outputs' types cannot change, so no
    # make_node (which a RandomVariable's clone_with_new_inputs always calls: a fifth of auxify's
    # time on a chain of scalar variables)
    new_node = node.clone()
    new_node.inputs = inputs
    return new_node.outputs[template.index]


__all__ = ["constant_key", "fresh_rng", "standard_noise"]
