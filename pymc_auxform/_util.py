"""Small idioms shared across the package, written once (internal)."""

from __future__ import annotations

import numpy as np

from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import graph_inputs, io_toposort

# Python thunks, no rewrites: for the small constant graphs the rewrite evaluates while it builds
# (shapes, parameter checks). PyTensor's default (Numba) linker costs 1-2 s on first use.
_QUICK = Mode(linker="py", optimizer=None)


def is_discrete(var: Variable) -> bool:
    """Whether a variable (or an Op with a ``dtype``) holds integers or booleans."""
    dtype = var.type.dtype if hasattr(var, "type") else getattr(var, "dtype", "float")
    return str(dtype).startswith(("int", "uint", "bool"))


def dist_name(rv: Variable) -> str:
    """The user-facing name of a random variable's distribution (``"Normal"``, ...)."""
    op = rv.owner.op
    printed = getattr(op, "_print_name", None)
    return printed[0] if printed else type(op).__name__


def static_shape(var: Variable) -> tuple[int, ...] | None:
    """The shape of ``var`` if it is known without running anything, else ``None``."""
    shape = var.type.shape
    if all(s is not None for s in shape):
        return tuple(int(s) for s in shape)
    return None


def is_zero_lam(lam) -> bool:
    """Whether a centering ``lam`` (scalar or per element) is 0 everywhere: full auxiliary form."""
    return bool(np.all(np.asarray(lam) == 0))


def is_one_lam(lam) -> bool:
    """Whether a centering ``lam`` is 1 everywhere: the variable stays centered."""
    return bool(np.all(np.asarray(lam) == 1))


def eval_quick(var: Variable, values: dict | None = None) -> np.ndarray:
    """Evaluate a small graph of constants now, without compiling it; ``values``: the values of
    some of its inputs (placeholders).

    Each node's Python ``perform`` runs once, in order. ``var.eval`` built a compiled function
    per call (~2 ms): called for every variable of a model (its parameter checks), it was a
    third of ``auxify``'s time on a chain of 1,000 scalar variables (profiled). Graphs with other inputs, or ops
    whose ``perform`` fails, fall back to ``var.eval`` with Python thunks."""
    try:
        return _perform_all(var, dict(values or {}))
    except Exception:  # not constant, or an op's perform needs more: the compiled way
        return var.eval(values or {}, mode=_QUICK)


def _perform_all(var: Variable, values: dict):
    for root in graph_inputs([var]):
        if root in values:
            continue
        if isinstance(root, Constant):
            values[root] = root.data
        elif isinstance(root, SharedVariable):
            values[root] = root.get_value(borrow=True)
        else:
            raise ValueError(f"{root} is not a constant")
    for node in io_toposort(list(values), [var]):
        node.op.prepare_node(node, None, None, "py")
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [values[i] for i in node.inputs], storage)
        values.update((out, cell[0]) for out, cell in zip(node.outputs, storage, strict=True))
    out = values[var]
    return out.copy() if isinstance(out, np.ndarray) else out


__all__ = ["dist_name", "eval_quick", "is_discrete", "is_one_lam", "is_zero_lam", "static_shape"]
