r"""The learned parameters :math:`\theta` of a model: which ``pm.Data`` they are, their constraints,
the unconstrained copies an optimizer works on, and the checks shared by every learning method.

A constrained parameter is optimized on an unconstrained scale :math:`u`:

* ``"positive"``: :math:`\theta = \exp(u)`;
* ``(lo, hi)``: :math:`\theta = lo + (hi - lo)\,\mathrm{sigmoid}(u)`.

The gradient w.r.t. :math:`u` is the gradient w.r.t. :math:`\theta` times
:math:`d\theta / du` (chain rule in NumPy, so the model's graph keeps :math:`\theta`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np
import pymc as pm
import pytensor

from pymc.data import MinibatchOp
from pymc.variational import updates as pm_updates
from pymc.variational.minibatch_rv import MinibatchRandomVariable
from pytensor.compile import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import ancestors
from scipy import special

OPTIMIZERS = ("adam", "adagrad", "adamax", "adadelta", "rmsprop", "sgd", "momentum")

#: Compilation mode of the inner loops, chosen by measurement (``benchmarks/bench_learning.py``,
#: ``benchmarks/results/learning.md``): on the factor model Numba beat PyTensor's C backend
#: (no BLAS here) by 1.4x per EM iteration, 1.3x on log p(x), 10x on compile time.
DEFAULT_MODE = "NUMBA"


def resolve_mode(mode: str | None) -> str:
    """The PyTensor mode for the inner loops: ``mode`` or :data:`DEFAULT_MODE`."""
    return DEFAULT_MODE if mode is None else mode


def param_names(model: pm.Model, params) -> list[str]:
    """Names of the ``pm.Data`` in ``params`` (names or variables), validated."""
    if isinstance(params, str | Variable):
        params = [params]
    data = {n for n, v in model.named_vars.items() if isinstance(v, SharedVariable)}
    names = []
    for p in params:
        name = p.name if isinstance(p, Variable) else p
        if not isinstance(name, str) or name not in data:
            raise ValueError(
                f"params: {p!r} is not a pm.Data (shared variable) of this model. "
                f"Its pm.Data are {sorted(data)}; wrap each parameter in pm.Data to learn it."
            )
        if isinstance(p, Variable) and model[name] is not p:
            raise ValueError(f"params: the variable {name!r} does not belong to this model.")
        if not model[name].dtype.startswith("float"):
            raise ValueError(
                f"params: {name!r} has dtype {model[name].dtype}; only float pm.Data can be "
                "learned. Create it with float values."
            )
        names.append(name)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"params must name distinct pm.Data, got {names}.")
    return names


def refuse_pymc_minibatch(model: pm.Model) -> None:
    """Raise if the model uses ``pm.Minibatch`` or ``total_size`` (PyMC's minibatch idiom)."""
    found = [rv.name for rv in model.basic_RVs if isinstance(rv.owner.op, MinibatchRandomVariable)]
    data = list(model.rvs_to_values.values()) + list(model.observed_RVs)
    if any(isinstance(a.owner.op, MinibatchOp) for a in ancestors(data) if a.owner is not None):
        found.append("pm.Minibatch data")
    if found:
        raise ValueError(
            f"The model uses PyMC's minibatch idiom ({', '.join(found)}): pm.Minibatch draws a "
            "new batch inside every gradient call, so persistent chains and the learning "
            "objective would be meaningless. Build the model on one batch held in pm.Data "
            "(no total_size) and pass minibatch=pymc_auxform.Minibatch(data=..., "
            "batch_size=...) instead."
        )


class Constraint:
    """An invertible map from the real line (``u``) to a parameter's domain (``theta``)."""

    def __init__(self, spec):
        self.spec = spec
        if spec is None:
            self.lo, self.hi = -np.inf, np.inf
        elif spec == "positive":
            self.lo, self.hi = 0.0, np.inf
        elif (
            isinstance(spec, tuple | list)
            and len(spec) == 2
            and all(np.isfinite(spec))
            and spec[0] < spec[1]
        ):
            self.lo, self.hi = float(spec[0]), float(spec[1])
        else:
            raise ValueError(
                f'constraints: {spec!r} is not "positive" or a finite (lo, hi) with lo < hi.'
            )

    def forward(self, u):
        if self.spec is None:
            return u
        if self.spec == "positive":
            return np.exp(u)
        return self.lo + (self.hi - self.lo) * special.expit(u)

    def inverse(self, theta):
        if self.spec is None:
            return theta
        if self.spec == "positive":
            return np.log(theta)
        return special.logit((theta - self.lo) / (self.hi - self.lo))

    def jacobian(self, u):
        """:math:`d\\theta / du`, elementwise."""
        if self.spec is None:
            return 1.0
        if self.spec == "positive":
            return np.exp(u)
        s = special.expit(u)
        return (self.hi - self.lo) * s * (1.0 - s)


class Theta:
    """The learned ``pm.Data`` of ``model`` with their constraints and an optimizer on them.

    The optimizer (one of :mod:`pymc.variational.updates`, compiled once) updates unconstrained
    shared copies :math:`u`; :meth:`step` takes gradients w.r.t. :math:`\\theta`, applies the
    chain rule, and writes :math:`\\theta = f(u)` back into the ``pm.Data``.
    """

    def __init__(self, model, names, constraints, optimizer, learning_rate, mode):
        constraints = dict(constraints or {})
        unknown = set(constraints) - set(names)
        if unknown:
            raise ValueError(f"constraints name {sorted(unknown)}, which are not in params.")
        self.names = list(names)
        self.shared = [model[n] for n in names]
        self.constraints = [Constraint(constraints.get(n)) for n in names]
        self.u = []
        for n, var, c in zip(names, self.shared, self.constraints, strict=True):
            value = np.asarray(var.get_value(), dtype=float)
            if not np.all((value > c.lo) & (value < c.hi)):
                raise ValueError(
                    f"params: {n!r} = {short(value)} is outside its constraint {c.spec!r}; "
                    "set a starting value inside it."
                )
            self.u.append(pytensor.shared(np.asarray(c.inverse(value), dtype=var.dtype), name=n))
        self.learning_rate = float(learning_rate)
        self.lr = pytensor.shared(np.asarray(learning_rate, dtype=pytensor.config.floatX), "lr")
        self.apply, self.opt_state = _compile_update(self.u, optimizer, self.lr, mode)

    def anneal(self, fraction: float | None) -> None:
        """Scale the learning rate for the point ``fraction`` in [0, 1] of the run: constant over
        the first half, then linearly down to a tenth (``None``: constant)."""
        f = 1.0 if fraction is None else 1.0 - 0.9 * np.clip(2.0 * fraction - 1.0, 0.0, 1.0)
        self.lr.set_value(np.asarray(self.learning_rate * f, dtype=self.lr.dtype))

    def values(self) -> dict[str, np.ndarray]:
        return {n: np.array(v.get_value()) for n, v in zip(self.names, self.shared, strict=True)}

    def set(self, values: Mapping[str, np.ndarray]) -> None:
        """Set theta (constrained values) into the model and the unconstrained copies."""
        for n, var, u, c in zip(self.names, self.shared, self.u, self.constraints, strict=True):
            value = np.asarray(values[n], dtype=var.dtype)
            var.set_value(value)
            u.set_value(np.asarray(c.inverse(value), dtype=var.dtype))

    def step(self, grads) -> None:
        """One ascent step given the gradients w.r.t. theta; checks every value stays finite."""
        for n, g in zip(self.names, grads, strict=True):
            if not np.all(np.isfinite(g)):
                raise FloatingPointError(
                    f"The gradient of the objective w.r.t. parameter {n!r} is NaN/inf at "
                    f"{n} = {short(self.values()[n])}. Lower learning_rate, constrain it "
                    "(constraints=...) or check the model at the current theta."
                )
        du = [
            np.asarray(g * c.jacobian(u.get_value()), dtype=u.dtype)
            for g, u, c in zip(grads, self.u, self.constraints, strict=True)
        ]
        self.apply(*du)
        for n, var, u, c in zip(self.names, self.shared, self.u, self.constraints, strict=True):
            value = np.asarray(c.forward(u.get_value()), dtype=var.dtype)
            if not np.all(np.isfinite(value)):
                raise FloatingPointError(f"The optimizer made parameter {n!r} NaN/inf.")
            var.set_value(value)

    @property
    def state(self) -> list[np.ndarray]:
        return [np.array(v.get_value()) for v in self.opt_state]

    @state.setter
    def state(self, values) -> None:
        for var, value in zip(self.opt_state, values, strict=True):
            var.set_value(value)

    def describe(self) -> str:
        return ", ".join(f"{n} = {short(v)}" for n, v in self.values().items())


def _compile_update(shared, optimizer, learning_rate, mode) -> tuple[Callable, list]:
    """One function: gradients -> ascent step of the optimizer (its state lives in shared vars)."""
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS} or a callable, got {optimizer!r}."
            )
        optimizer = getattr(pm_updates, optimizer)
    grads = [var.type(name=f"grad_{var.name}") for var in shared]
    updates = partial(optimizer, learning_rate=learning_rate)([-g for g in grads], shared)
    opt_state = [v for v in updates if v not in shared]
    fn = pytensor.function(grads, [], updates=updates, mode=mode)
    return fn, opt_state


def check_depends(logp, shared) -> None:
    """Raise if the log density does not depend on a learned parameter."""
    above = set(ancestors([logp]))
    for var in shared:
        if var not in above:
            raise ValueError(
                f"params: the log density does not depend on {var.name!r}; remove it from params."
            )


def check_int(**values: tuple[int, int]) -> None:
    """``name=(value, lowest allowed)``: raise unless each value is an integer >= its bound."""
    for arg, (value, low) in values.items():
        if not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{arg} must be an integer >= {low}, got {value!r}.")


def short(value) -> str:
    """A short text of an array value (the whole array if small, else its shape and range)."""
    value = np.asarray(value)
    if value.size <= 4:
        return np.array2string(value, precision=4, separator=", ")
    return f"array{value.shape} in [{value.min():.4g}, {value.max():.4g}]"


__all__ = [
    "DEFAULT_MODE",
    "OPTIMIZERS",
    "Constraint",
    "Theta",
    "check_depends",
    "check_int",
    "param_names",
    "refuse_pymc_minibatch",
    "resolve_mode",
    "short",
]
