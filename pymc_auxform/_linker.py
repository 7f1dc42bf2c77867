"""A Python-thunk linker with a lean call per elementwise node, for the pilot (internal).

The pilot's functions run as Python thunks (compiling C or Numba code cost far more than their
evaluations save on a first call). ``Elemwise.perform`` spends most of its time around the
NumPy ufunc it calls: a runtime-broadcast check per input, an ``errstate`` context and attribute
lookups, about 6 us a node (ad hoc profile). More than half of the 250-400 nodes of the pilot's
gradients on a radon-style model were such nodes (counted with its earlier reverse-over-reverse
products), evaluated tens to a few hundred times per choice.

:class:`LeanPerformLinker` is PyTensor's :class:`~pytensor.link.basic.PerformLinker` with the
thunk of each elementwise node that maps one-to-one onto the function ``Elemwise.perform`` calls
(a NumPy or SciPy ufunc, or ``numpy.where`` for a switch; same number of inputs, one output, not
in place; a ufunc's output dtype that of its result, or its loop forced to it as perform forces
it for an integer first input) replaced by a direct call of that function. Switches, sigmoids
and integer-first differences were a third of the T=10 DBN's elementwise calls (4,400 per
choice, 14 us each in perform): 0.89 of its choice time with them lean, 0.92 summed over six
models, the same decisions (ad hoc A/B, 2026-12-07). Nodes with no ufunc of their own, which
``Elemwise.perform`` runs as Python scalar code once per element, get NumPy code too: broadcast
fills (``second``, many in gradients), sums and products of more than two terms (the ufunc
folded from the left, as the scalar code adds) or of one (a copy), copies and casts. On a
919-row radon model these were about 280,000 scalar calls per choice; on 10,000 groups, before,
two thirds of the choice. Every other node runs its own
``perform``. The checks it drops hold by construction here: the graphs are built by PyTensor's
own differentiation, whose broadcasting is static, and the whole call runs under
``np.errstate(all="ignore")``, as ``Elemwise.perform`` runs each ufunc.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.scalar.basic as ps

from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.basic import MergeOptimizer
from pytensor.graph.traversal import graph_inputs
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


def lean_function(inputs: list, outputs: list):
    """``outputs`` as a Python function of ``inputs``, as ``pytensor.function(inputs, outputs,
    mode=Mode(linker=LeanPerformLinker(), optimizer="merge"))`` computes them, in half its time to
    compile (ad hoc: 6 for 13 ms on eight schools' pilot, 27 for 52 ms on the T=10 DBN's; a
    tenth of the choice there went to compiling): no copy of the graph (the caller builds it for
    this function alone, and it is merged in place), no ``Function`` around the thunks. Shared
    variables are read when the function is called; it returns a list of arrays that are not
    reused between calls. Every root of ``outputs`` must be one of ``inputs``, a shared variable
    or a constant. Inputs are filtered by their types, as ``pytensor.function`` filters them."""
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    fgraph = FunctionGraph(inputs=[*inputs, *shared], outputs=outputs, clone=False)
    MergeOptimizer().rewrite(fgraph)
    run, ins, outs, *_ = LeanPerformLinker().accept(fgraph).make_all()
    n = len(inputs)
    # an output that is an input or a constant (or the same variable twice) would hand back
    # storage that outlives the call: copied, as PyTensor's functions copy them
    outputs = fgraph.outputs
    copied = [o.owner is None or outputs.index(o) != k for k, o in enumerate(outputs)]

    def call(*args):
        for container, var, value in zip(ins, inputs, args, strict=False):
            container.storage[0] = var.type.filter(value)
        for container, var in zip(ins[n:], shared, strict=True):
            container.storage[0] = var.get_value(borrow=True)
        run()
        results = [
            np.array(o.storage[0]) if copy else o.storage[0]
            for o, copy in zip(outs, copied, strict=True)
        ]
        for o, copy in zip(outs, copied, strict=True):
            if not copy:  # the next call allocates its own (a node may reuse what it finds)
                o.storage[0] = None
        return results

    call.fgraph = fgraph
    return call


def compile_pilot(inputs: list, outputs, mode: Mode | None = None):
    """``pytensor.function(inputs, outputs, mode=mode)``, or by default :func:`lean_function`
    (then ``outputs`` must be a graph built for this function alone). A single output is
    returned alone, as PyTensor's functions return it."""
    if mode is not None:
        return pytensor.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    if isinstance(outputs, list | tuple):
        return lean_function(list(inputs), list(outputs))
    fn = lean_function(list(inputs), [outputs])

    def single(*args):
        return fn(*args)[0]

    single.fgraph = fn.fgraph
    return single


def pilot_mode() -> Mode:
    """The pilot's PyTensor mode where a ``Mode`` is needed (``pm.draw``; ``choose_centering(...,
    mode=pilot_mode())`` computes what its default computes): Python thunks with only duplicate
    merging (compiling is most of the cost on small data), elementwise nodes run without
    ``Elemwise.perform`` (:class:`LeanPerformLinker`: evaluations 2-5x faster, ad hoc; the same
    numbers). FAST_COMPILE's rewrites on top cost more to run than they saved in the evaluations
    (ad hoc, same decisions and evaluation counts: 0.58 -> 0.42 s on radon-style 10,000 rows,
    0.89 -> 0.77 s on 5,000 rows; on small data they took twice as long on the DBN)."""
    return Mode(linker=LeanPerformLinker(), optimizer="merge")


def _lean_thunk(node, storage_map):
    op = node.op
    if not isinstance(op, Elemwise) or op.inplace_pattern or len(node.outputs) != 1:
        return None
    if len(node.inputs) + 1 > 32:
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
    """The function ``Elemwise.perform`` calls (its ``nfunc``: a NumPy or SciPy ufunc, or
    ``numpy.where`` for ``switch``), or for more inputs than it takes (``add`` and ``mul`` of
    gradient terms) the ufunc folded from the left, as the scalar code sums or multiplies them.
    A ufunc given an integer first input computes in the output's dtype (``perform``'s
    signature, ``node.tag.sig``: ``"dd->d"``)."""
    spec = op.nfunc_spec
    if spec is None or spec[2] != 1:
        return None
    fold = len(node.inputs) > spec[1] and spec[1] == 2 and isinstance(op.scalar_op, _FOLDABLE)
    if spec[1] != len(node.inputs) and not fold:
        return None
    ufunc = getattr(op, "nfunc", None)  # set by prepare_node, which making the thunks ran
    if ufunc is None:
        return None
    if not isinstance(ufunc, np.ufunc):
        return None if fold else _function_thunk(ufunc, ins, out, dtype)
    signature = getattr(node.tag, "sig", None)
    dtypes = [np.dtype(i.dtype) for i in node.inputs]
    if fold and (signature is not None or any(d != dtype for d in dtypes)):
        return None  # mixed dtypes: leave it to its perform
    if signature is not None:
        return _signature_thunk(ufunc, signature, ins, out, dtype)
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


def _function_thunk(function, ins, out, dtype):
    """A function that is not a ufunc (``numpy.where``), called and cast as ``perform`` does."""
    asarray = np.asarray

    def thunk():
        value = asarray(function(*[s[0] for s in ins]), dtype=dtype)
        out[0] = value if value.flags.owndata else value.copy()

    return thunk


def _signature_thunk(ufunc, signature, ins, out, dtype):
    """A ufunc run in the loop ``signature`` names (``"dd->d"``), as ``perform`` runs it."""
    asarray = np.asarray

    def thunk():
        out[0] = asarray(ufunc(*[s[0] for s in ins], sig=signature), dtype=dtype)

    return thunk


def _loop_free_thunk(op, node, ins, out, dtype):
    """``second`` (broadcast fills), ``identity``, casts, and sums or products of one term,
    which run no ufunc."""
    scalar = op.scalar_op
    if isinstance(scalar, ps.Second):
        x, y = ins

        def thunk():
            filled = np.empty(np.broadcast_shapes(np.shape(x[0]), np.shape(y[0])), dtype)
            filled[...] = y[0]
            out[0] = filled

    elif isinstance(scalar, ps.Identity | ps.Cast) or (
        isinstance(scalar, _FOLDABLE) and len(ins) == 1  # a sum or product of one term
    ):
        (a,) = ins

        def thunk():
            out[0] = np.array(a[0], dtype=dtype)  # a copy, as the scalar code makes

    else:
        return None
    return thunk


_FOLDABLE = (ps.Add, ps.Mul)


__all__ = ["LeanPerformLinker", "compile_pilot", "lean_function", "pilot_mode"]
