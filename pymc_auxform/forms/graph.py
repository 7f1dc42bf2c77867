"""Reading a random variable's graph: its parameters, shape and constants (used by the forms)."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from pymc.logprob.rewriting import early_measurable_ir_rewrites_db
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.raise_op import Assert
from pytensor.tensor import TensorVariable
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.type_other import NoneTypeT

from pymc_auxform._util import static_shape


def dist_params(rv: TensorVariable) -> tuple[Variable, ...]:
    """Distribution parameters of a random variable, read with the Op's own helper.

    Parameters
    ----------
    rv : TensorVariable
        The output of a ``RandomVariable`` (e.g. ``pm.Normal.dist(...)``).

    Returns
    -------
    tuple of Variable
        The parameters in the Op's order (without the RNG and size inputs).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms.base import dist_params

        mu, sigma = dist_params(pm.Normal.dist(1.0, 2.0))
        sigma.eval()  # 2.0
    """
    return tuple(rv.owner.op.dist_params(rv.owner))


def batch_shape(rv: TensorVariable) -> tuple | TensorVariable:
    """Shape of a univariate ``rv``, computed from its size and parameters (not from ``rv`` itself).

    A static shape is returned when known, so that the noise keeps static shape information;
    otherwise a symbolic shape built from the explicit size or the broadcast of the parameters.

    Parameters
    ----------
    rv : TensorVariable
        A univariate random variable.

    Returns
    -------
    tuple of int or TensorVariable
        The shape, to pass as ``size`` when building the noise.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.base import batch_shape

        batch_shape(pm.Normal.dist(0.0, 1.0, shape=(2, 3)))  # (2, 3)
        batch_shape(pm.Normal.dist(pt.vector("mu"), 1.0))  # symbolic: broadcast of the parameters
    """
    shape = static_shape(rv)
    if shape is not None:
        return shape
    size = rv.owner.op.size_param(rv.owner)
    if size is not None and not isinstance(size.type, NoneTypeT):
        return size
    return pt.broadcast_shape(*dist_params(rv), arrays_are_shapes=False)


def is_constant_value(var: Variable, value: float) -> bool:
    """Whether ``var`` is a constant equal to ``value`` everywhere (through broadcasts and casts)."""
    if isinstance(var, Constant):
        return bool(np.all(np.asarray(var.data) == value))
    try:
        found = pt.get_underlying_scalar_constant_value(var)
    except NotScalarConstantError:
        return False
    return bool(found == value)


def lam_tensor(lam, rv: TensorVariable) -> TensorVariable:
    """A centering ``lam`` as a constant of ``rv``'s dtype (scalar or per element).

    The constant carries no shape check: the noise's parameters do (:func:`check_lam_shape`).
    """
    return pt.as_tensor(np.asarray(lam, dtype=rv.dtype))


class LamShapeCheck(Assert):
    """An ``Assert`` that a variable still has the shape of its per-element centering.

    It guards the noise's parameters: it fires wherever the noise is drawn or its initial point
    is computed, and ``drop_lam_shape_check`` removes it from log densities (see
    :func:`check_lam_shape`).
    """


@node_rewriter([LamShapeCheck])
def drop_lam_shape_check(fgraph: FunctionGraph, node: Apply) -> list[Variable]:
    """Remove a :class:`LamShapeCheck` from a log density's graph (registered with PyMC)."""
    return [node.inputs[0]]


early_measurable_ir_rewrites_db.register("drop_lam_shape_check", drop_lam_shape_check, "basic")


def check_lam_shape(rv: TensorVariable, lam, *params: Variable) -> tuple[Variable, ...]:
    """``params`` of ``rv``'s noise, checked against the shape of a per-element ``lam``.

    A per-element ``lam`` is fixed for the shape the variable had when it was rewritten; after
    ``pm.set_data`` changes that shape there is no ``lam`` for the new elements. When ``rv``'s
    shape is not static, each parameter is wrapped in a :class:`LamShapeCheck` that names the
    variable and says what to do: it fires where the noise is drawn or its initial point (or
    shape) computed, so before any sampling and in prior and posterior predictive draws. PyMC
    removes it from log densities (``drop_lam_shape_check``), whose compiled functions then
    take no dim length as input: there, values have the shapes of the initial point, and the
    constants of static shape cannot silently broadcast against another shape (PyTensor refuses
    a different length, and a length 1 known only at run time).

    Parameters
    ----------
    rv : TensorVariable
        The univariate random variable being rewritten.
    lam : float or numpy.ndarray
        Its centering, scalar or per element.
    *params : Variable
        The parameters of the noise that depend on ``lam``.

    Returns
    -------
    tuple of Variable
        ``params``, checked or as given (a scalar ``lam`` or a static shape).

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.graph import check_lam_shape

        n = pt.lscalar("n")
        z = pm.Normal.dist(0.0, 1.0, size=(n,))
        z.name = "z"
        (loc,) = check_lam_shape(z, np.array([0.0, 0.5, 1.0]), pt.zeros(3))
        loc.eval({n: 3})  # [0, 0, 0]; with n = 4: AssertionError naming 'z'
    """
    lam = np.asarray(lam)
    if lam.ndim == 0 or static_shape(rv) is not None:
        return params
    shape = batch_shape(rv)
    trailing = [shape[i] for i in range(-lam.ndim, 0)]
    ok = pt.all([pt.eq(s, n) for s, n in zip(trailing, lam.shape, strict=True) if n != 1])
    name = rv.name or "this variable"
    check = LamShapeCheck(
        f"The centering of {name!r} was given per element for shape {lam.shape}, and "
        f"{name!r} now has another shape (after pm.set_data?). Call auxify again on the "
        "original model after changing the data, or give a scalar centering."
    )
    return tuple(check(param, ok) for param in params)


def lam_levels(lam) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values of a per-element ``lam`` and the index of each element's value.

    Returns ``(levels, index)`` with ``levels[index] == lam`` when ``lam`` has at most half as
    many distinct values as elements (then powers of a scale are cheaper on the levels), else
    ``None`` (a scalar ``lam``, or a continuous one with (almost) all values distinct).
    """
    lam = np.asarray(lam)
    if lam.ndim == 0:
        return None
    levels, index = np.unique(lam, return_inverse=True)
    if 2 * levels.size > lam.size:
        return None
    return levels, index.reshape(lam.shape)


def _is_scalar_like(var: Variable) -> bool:
    """Whether ``var`` has one element whatever the data (a scalar, or every dim broadcastable)."""
    return all(var.type.broadcastable)


def scale_powers(
    scale: Variable, lam, rv: TensorVariable
) -> tuple[TensorVariable, TensorVariable, TensorVariable]:
    r"""The centering and the two powers of the scale used by partial centering.

    Returns ``(lam, scale**lam, scale**(1 - lam))``. With a per-element :math:`\lambda` taking
    few values :math:`\ell_1 < \dots < \ell_L` (``lam == levels[index]``) and a scale
    :math:`\sigma` with one element (a scalar hyperparameter), the powers are taken on the
    levels only and gathered,

    .. math::

        \sigma^{\lambda_i} = \bigl(e^{\ell_1 \log\sigma}, \dots,
            e^{\ell_L \log\sigma}\bigr)_{k_i}, \qquad \lambda_i = \ell_{k_i},

    and the same for :math:`\sigma^{1-\lambda_i}` on the levels :math:`1 - \ell_k`. A ``pow``
    per element dominated the gradient of a model with 10,000 groups. For a scale the sampler
    reaches from its log (:math:`\sigma = e^v`) the compiled log density and gradient then hold
    :math:`e^{\ell \log e^v}` and its derivative, with no ``pow`` (PyTensor's rewrite of
    :math:`\log e^v` to :math:`v` does not apply there: the log's input is the broadcast
    :math:`e^v` of the distribution's parameter, which other nodes read too; checked on the
    Numba graph of a 6-element model, 2026-12-07). Built before
    with ``pow`` on the levels, a quotient :math:`\sigma / \sigma^{\lambda_i}` and switches at
    0 and 1, the same model took longer in every ``pm.sample`` call with nutpie (its compile:
    PyTensor's rewrites and Numba): on radon_both_3k 1.29x the model as written's call against
    1.18x now (ad hoc: three pairs of alternating processes, medians of 4 calls each; 4.12 s
    for 3.98 s in absolute terms, the machine's noise as large), and as long per gradient
    (``benchmarks/results/partial_cost.md``: 0.285 ms for 0.297 on 10,000 groups; 0.046 for
    0.048 on radon 10,000 rows).
    Otherwise (a scalar ``lam``, a continuous ``lam``, or a scale that varies per element) the
    powers are taken per element, as exponentials too (``partial_cost.md``, continuous ``lam``
    on 10,000 groups: 0.395 ms for 0.793 with one ``pow`` per element).

    At exponent 0 the power is exactly 1 (while :math:`\log\sigma` is finite) and at 1 the
    scale within rounding. Per element, the
    power at exponent 0 is taken at exponent 1 and replaced by 1 (``pt.switch`` on a constant
    mask): exactly 1 even where :math:`\log\sigma` is not finite. The compiled log
    density and gradient of a partial model are finite at :math:`\log\sigma = -720` with
    FAST_COMPILE's rewrites and with the full ones (Numba), where the ``pow`` construction's
    gradient was NaN with the full rewrites (``tests/test_partial_gradient.py``). Below about
    :math:`-745` (:math:`\sigma` exactly 0) the log density is :math:`-\infty` and its gradient
    NaN, as the model as written is NaN from :math:`\log\sigma = -600` (with Numba). The
    constants carry no shape check (see :func:`check_lam_shape`).

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.graph import scale_powers

        tau = pt.scalar("tau")
        z = pm.Normal.dist(0.0, tau, size=6)
        lam, up, down = scale_powers(tau, np.array([0, 0.5, 1, 0.5, 0, 1]), z)
        up.eval({tau: 4.0})  # [1, 2, 4, 2, 1, 4]
    """
    lam_t = lam_tensor(lam, rv)
    found = lam_levels(lam)
    if found is None or not _is_scalar_like(scale):
        lam_np = np.asarray(lam, dtype=rv.dtype)
        return lam_t, _pow(scale, lam_np), _pow(scale, 1 - lam_np)
    levels, index = found
    scalar = scale.reshape(()) if scale.ndim else scale
    index_t = pt.as_tensor(index.astype("int64"))
    levels = np.asarray(levels, dtype=rv.dtype)
    return lam_t, _level_powers(scalar, levels)[index_t], _level_powers(scalar, 1 - levels)[index_t]


def _level_powers(scale: Variable, exponents: np.ndarray) -> TensorVariable:
    """``scale ** exponents`` for constant exponents in [0, 1], as ``exp(e * log(scale))``:
    exactly 1 at 0 while ``log(scale)`` is finite, the scale within rounding at 1."""
    return pt.exp(pt.as_tensor(exponents) * pt.log(scale))


def _pow(scale: Variable, exponent: np.ndarray) -> TensorVariable:
    """``scale ** exponent`` per element for a constant exponent in [0, 1], as
    ``exp(exponent * log(scale))``, exactly 1 where the exponent is 0.

    Where the exponent is 0 the power is taken with exponent 1 and replaced by 1 (a switch on a
    constant mask): exactly 1 even where ``log(scale)`` is not finite (a scale of exactly 0).
    """
    zero = exponent == 0
    log_scale = pt.log(scale)
    if not zero.any():
        return pt.exp(pt.as_tensor(exponent) * log_scale)
    return pt.switch(zero, 1, pt.exp(pt.as_tensor(np.where(zero, 1, exponent)) * log_scale))


def is_standard_normal(rv: Variable) -> bool:
    """Whether ``rv`` is a ``Normal(0, 1)`` random variable (constants, any shape)."""
    from pytensor.tensor.random.basic import NormalRV

    if rv.owner is None or not isinstance(rv.owner.op, NormalRV):
        return False
    mu, sigma = dist_params(rv)
    return is_constant_value(mu, 0) and is_constant_value(sigma, 1)


__all__ = [
    "LamShapeCheck",
    "batch_shape",
    "check_lam_shape",
    "dist_params",
    "drop_lam_shape_check",
    "is_constant_value",
    "is_standard_normal",
    "lam_levels",
    "lam_tensor",
    "scale_powers",
]
