"""A Python-thunk linker with a lean call per elementwise node, for the pilot (internal).

The pilot's functions run as Python thunks (compiling C or Numba code cost far more than their
evaluations save on a first call). ``Elemwise.perform`` spends most of its time around the
NumPy ufunc it calls: a runtime-broadcast check per input, an ``errstate`` context and attribute
lookups, about 6 us a node (ad hoc profile). More than half of the 250-400 nodes of the pilot's
gradients on a radon-style model were such nodes (counted with its earlier reverse-over-reverse
products), evaluated tens to a few hundred times per choice.

:class:`LeanPerformLinker` is PyTensor's :class:`~pytensor.link.basic.PerformLinker` with the
thunk of each elementwise node that maps one-to-one onto a NumPy ufunc (same number of inputs,
one output, not in place, its output dtype that of the ufunc's result) replaced by a direct call
of that ufunc. Nodes with no ufunc of their own, which ``Elemwise.perform`` runs as Python scalar
code once per element, get NumPy code too: broadcast fills (``second``, many in gradients),
sums and products of more than two terms (the ufunc folded from the left, as the scalar code
adds), copies and casts. On a 919-row radon model these were about 280,000 scalar calls per
choice; on 10,000 groups, before, two thirds of the choice. Every other node runs its own
``perform``. The checks it drops hold by construction here: the graphs are built by PyTensor's
own differentiation, whose broadcasting is static, and the whole call runs under
``np.errstate(all="ignore")``, as ``Elemwise.perform`` runs each ufunc.
"""

from __future__ import annotations

import numpy as np
import pytensor.scalar.basic as ps

from pytensor.link.basic import PerformLinker
from pytensor.tensor.elemwise import Elemwise


class LeanPerformLinker(PerformLinker):
    """:class:`~pytensor.link.basic.PerformLinker` with direct ufunc calls for elementwise
    nodes (see the module docstring). The function it makes ignores floating-point errors, as
    ``Elemwise.perform`` does."""

    def make_all(self, input_storage=None, output_storage=None, storage_map=None):
        f, inputs, outputs, thunks, order = super().make_all(
            input_storage, output_storage, storage_map
        )
        lean_nodes = 0
        for k, node in enumerate(order):
            lean = _lean_thunk(node, f.storage_map)
            if lean is not None:
                thunks[k] = lean  # the streamlined function iterates this very list
                lean_nodes += 1

        def call():
            with np.errstate(all="ignore"):
                return f()

        call.allow_gc = f.allow_gc
        call.storage_map = f.storage_map
        call.lean_nodes = lean_nodes  # how many nodes call their ufunc directly
        return call, inputs, outputs, thunks, order


def _lean_thunk(node, storage_map):
    op = node.op
    if not isinstance(op, Elemwise) or op.inplace_pattern or len(node.outputs) != 1:
        return None
    if hasattr(node.tag, "sig") or len(node.inputs) + 1 > 32:
        return None
    ins = [storage_map[i] for i in node.inputs]
    out = storage_map[node.outputs[0]]
    dtype = np.dtype(node.outputs[0].dtype)
    thunk = _ufunc_thunk(op, node, ins, out, dtype) or _loop_free_thunk(op, node, ins, out, dtype)
    if thunk is not None:
        thunk.inputs = ins
        thunk.outputs = [out]
    return thunk


def _ufunc_thunk(op, node, ins, out, dtype):
    """The ufunc itself, or for more inputs than it takes (``add`` and ``mul`` of gradient
    terms) the ufunc folded from the left, as the scalar code sums or multiplies them."""
    spec = op.nfunc_spec
    if spec is None or spec[2] != 1:
        return None
    fold = len(node.inputs) > spec[1] and spec[1] == 2 and isinstance(op.scalar_op, _FOLDABLE)
    if spec[1] != len(node.inputs) and not fold:
        return None
    ufunc = getattr(np, spec[0], None)
    if not isinstance(ufunc, np.ufunc):
        return None
    dtypes = [np.dtype(i.dtype) for i in node.inputs]
    if fold and any(d != dtype for d in dtypes):  # mixed dtypes: leave it to its perform
        return None
    try:  # the dtype NumPy's own loop gives these inputs
        *_, result = ufunc.resolve_dtypes((*(dtypes[: spec[1]]), None))
    except TypeError:  # no loop for these dtypes: leave the node to its perform
        return None
    if result != dtype:
        return None
    asarray = np.asarray

    if fold:
        first, *rest = ins

        def thunk():
            acc = first[0]
            for s in rest:
                acc = ufunc(acc, s[0])
            out[0] = asarray(acc)

    elif len(ins) == 1:
        (a,) = ins

        def thunk():
            out[0] = asarray(ufunc(a[0]))

    elif len(ins) == 2:
        a, b = ins

        def thunk():
            out[0] = asarray(ufunc(a[0], b[0]))

    else:

        def thunk():
            out[0] = asarray(ufunc(*[s[0] for s in ins]))

    return thunk


def _loop_free_thunk(op, node, ins, out, dtype):
    """``second`` (broadcast fills), ``identity`` and casts, which have no ufunc."""
    scalar = op.scalar_op
    if isinstance(scalar, ps.Second):
        x, y = ins

        def thunk():
            filled = np.empty(np.broadcast_shapes(np.shape(x[0]), np.shape(y[0])), dtype)
            filled[...] = y[0]
            out[0] = filled

    elif isinstance(scalar, ps.Identity | ps.Cast):
        (a,) = ins

        def thunk():
            out[0] = np.array(a[0], dtype=dtype)  # a copy, as the scalar code makes

    else:
        return None
    return thunk


_FOLDABLE = (ps.Add, ps.Mul)


__all__ = ["LeanPerformLinker"]
