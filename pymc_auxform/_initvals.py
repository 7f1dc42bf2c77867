"""Initial values (``initval=``) across the rewrite (internal).

PyMC's ``fgraph_from_model`` refuses models with custom initial values, so the rewrite takes them
off the model while it converts it (:func:`initvals_removed`) and puts them back on the new model
(:func:`restore_initvals`): unchanged for variables left as they were; for a rewritten variable
``z = g(eps)`` the initial value ``z0`` is mapped to its noise by solving ``g(eps0) = z0`` element
by element (bisection in the noise's unconstrained coordinates, the other variables at their own
initial values). Where that is not possible (several noises, a multivariate map, ``z0`` out of
reach) the initial value is dropped with a warning that names the variable.
"""

from __future__ import annotations

import warnings

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pymc as pm
import pytensor

from pytensor.compile.mode import Mode

from pymc_auxform._logp_terms import replace_rvs_by_values

_MODE = Mode(linker="py", optimizer="fast_compile")


@contextmanager
def initvals_removed(model: pm.Model) -> Iterator[dict]:
    """Take the custom initial values off ``model`` for the duration; yield them by name."""
    saved = dict(model.rvs_to_initial_values)
    found = {rv.name: v for rv, v in saved.items() if v is not None}
    try:
        for rv in saved:
            model.rvs_to_initial_values[rv] = None
        yield found
    finally:
        model.rvs_to_initial_values.update(saved)


def restore_initvals(new_model: pm.Model, initvals: dict, report) -> None:
    """Put the initial values on ``new_model`` (see the module docstring), in model order."""
    noises = {r.name: r for r in report.rewritten}
    for name, value in initvals.items():  # model order: parents first
        if name not in noises:
            new_model.set_initval(new_model[name], value)
            continue
        row = noises[name]
        if isinstance(value, str):
            for noise in row.noise:
                new_model.set_initval(new_model[noise], value)
            continue
        eps0, why = _solve_noise(new_model, name, row, np.asarray(value, dtype=float))
        if eps0 is None:
            warnings.warn(
                f"auxify: the initial value of {name!r} was dropped: {why}. Its noise "
                f"{row.noise[0]!r} starts at PyMC's default.",
                UserWarning,
                stacklevel=4,
            )
        else:
            new_model.set_initval(new_model[row.noise[0]], eps0)


def _solve_noise(model, name, row, z0, *, lo=-30.0, hi=30.0, steps=80):
    """Noise value ``eps0`` with ``g(eps0) = z0``, or ``(None, why)``."""
    if len(row.noise) != 1 or row.form not in ("affine", "scale", "log-affine", "icdf", "partial"):
        return None, f"its {row.form} form has no elementwise inverse"
    noise = model[row.noise[0]]
    value = model.rvs_to_values[noise]
    z = model[name]
    if noise.type.shape != z.type.shape and noise.ndim != z.ndim:
        return None, "its noise does not have its shape"
    others = [v for v in model.value_vars if v is not value]
    z_graph, eps_graph = replace_rvs_by_values(model, [z, noise])
    f = pytensor.function(
        [value, *others], [z_graph, eps_graph], mode=_MODE, on_unused_input="ignore"
    )
    start = model.initial_point()
    rest = [start[v.name] for v in others]
    shape = np.shape(start[value.name])
    a, b = np.full(shape, lo), np.full(shape, hi)
    try:
        z0 = np.broadcast_to(z0, f(a, *rest)[0].shape)
        increasing = f(b, *rest)[0] >= f(a, *rest)[0]
        for _ in range(steps):
            mid = (a + b) / 2
            above = (f(mid, *rest)[0] > z0) == increasing
            a, b = np.where(above, a, mid), np.where(above, mid, b)
        z_mid, eps0 = f((a + b) / 2, *rest)
    except Exception as err:
        return None, f"it could not be mapped to the noise ({type(err).__name__})"
    if not np.allclose(z_mid, z0, rtol=1e-6, atol=1e-8):
        return None, "it is out of the range of the map from its noise"
    return eps0, ""


__all__ = ["initvals_removed", "restore_initvals"]
