"""Small idioms shared across the package, written once (internal)."""

from __future__ import annotations

import numpy as np

from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable

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


def eval_quick(var: Variable) -> np.ndarray:
    """Evaluate a small graph of constants now, without compiling it (Python thunks)."""
    return var.eval(mode=_QUICK)


__all__ = ["dist_name", "eval_quick", "is_discrete", "is_one_lam", "is_zero_lam", "static_shape"]
